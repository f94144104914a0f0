import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallError } from '../../../src/core/errors.js';
import { jumpArgv, portalFilterRestore, portalFlushRestore, portalJumps, portalNatRestore } from '../../../src/core/rules/portal-iptables.js';

const SPEC = { lanIf: 'eth1', portalPort: 8081, portalTlsPort: 8443, spaUdpPort: null, walledGarden: ['192.0.2.10', '198.51.100.0/24'] };
const EXEMPT = [
  { ip: '10.0.0.5', mac: '02:00:00:00:00:05' },
  { ip: '10.0.0.6', mac: null },
  { ip: '10.0.0.5', mac: '02:00:00:00:00:05' },
];

test('filter chains: exemptions first (deduplicated), then DHCP, DNS, portal, then rejects', () => {
  const text = portalFilterRestore(SPEC, EXEMPT);
  const lines = text.split('\n');
  assert.equal(lines[0], '*filter');
  assert.ok(lines.includes(':SPAGATE_PORTAL_IN - [0:0]') && lines.includes(':SPAGATE_PORTAL_FWD - [0:0]'));
  const inRules = lines.filter((l) => l.startsWith('-A SPAGATE_PORTAL_IN '));
  assert.deepEqual(inRules, [
    '-A SPAGATE_PORTAL_IN -s 10.0.0.5/32 -m mac --mac-source 02:00:00:00:00:05 -j RETURN',
    '-A SPAGATE_PORTAL_IN -s 10.0.0.6/32 -j RETURN',
    '-A SPAGATE_PORTAL_IN -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
    '-A SPAGATE_PORTAL_IN -p udp -m udp --dport 67 -j ACCEPT',
    '-A SPAGATE_PORTAL_IN -p udp -m udp --dport 53 -j ACCEPT',
    '-A SPAGATE_PORTAL_IN -p tcp -m tcp --dport 53 -j ACCEPT',
    '-A SPAGATE_PORTAL_IN -p tcp -m tcp --dport 8081 -j ACCEPT',
    '-A SPAGATE_PORTAL_IN -p tcp -m tcp --dport 8443 -j ACCEPT',
    '-A SPAGATE_PORTAL_IN -p tcp -j REJECT --reject-with tcp-reset',
    '-A SPAGATE_PORTAL_IN -j REJECT --reject-with icmp-admin-prohibited',
  ]);
  const fwd = lines.filter((l) => l.startsWith('-A SPAGATE_PORTAL_FWD '));
  assert.deepEqual(fwd.slice(2), [
    '-A SPAGATE_PORTAL_FWD -d 192.0.2.10 -j ACCEPT',
    '-A SPAGATE_PORTAL_FWD -d 198.51.100.0/24 -j ACCEPT',
    '-A SPAGATE_PORTAL_FWD -p tcp -j REJECT --reject-with tcp-reset',
    '-A SPAGATE_PORTAL_FWD -j REJECT --reject-with icmp-admin-prohibited',
  ]);
  assert.deepEqual(lines.filter((l) => l.startsWith('-A SPAGATE_PORTAL_RET ')), [
    '-A SPAGATE_PORTAL_RET -m conntrack --ctstate ESTABLISHED,RELATED --ctorigdst 192.0.2.10 -j ACCEPT',
    '-A SPAGATE_PORTAL_RET -m conntrack --ctstate ESTABLISHED,RELATED --ctorigdst 198.51.100.0/24 -j ACCEPT',
  ]);
  assert.ok(text.endsWith('COMMIT\n'));
});

test('UDP-server mode opens the SPA port to the gateway', () => {
  assert.match(portalFilterRestore({ ...SPEC, spaUdpPort: 62201 }, []), /--dport 62201 -j ACCEPT/);
});

test('nat chain: exemptions and walled garden return, HTTP is redirected to the portal', () => {
  const lines = portalNatRestore(SPEC, EXEMPT).split('\n');
  assert.deepEqual(lines, [
    '*nat',
    ':SPAGATE_PORTAL_NAT - [0:0]',
    ':SPAGATE_PORTAL_POST - [0:0]',
    '-A SPAGATE_PORTAL_NAT -s 10.0.0.5/32 -m mac --mac-source 02:00:00:00:00:05 -j RETURN',
    '-A SPAGATE_PORTAL_NAT -s 10.0.0.6/32 -j RETURN',
    '-A SPAGATE_PORTAL_NAT -d 192.0.2.10 -j RETURN',
    '-A SPAGATE_PORTAL_NAT -d 198.51.100.0/24 -j RETURN',
    '-A SPAGATE_PORTAL_NAT -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 8081',
    '-A SPAGATE_PORTAL_POST -d 192.0.2.10 -j MASQUERADE',
    '-A SPAGATE_PORTAL_POST -d 198.51.100.0/24 -j MASQUERADE',
    'COMMIT',
    '',
  ]);
});

test('jumps match the LAN interface and share their argv between check, append and delete', () => {
  const [j] = portalJumps();
  const c = jumpArgv('-C', j, 'eth1');
  const d = jumpArgv('-D', j, 'eth1');
  assert.deepEqual(c.slice(5), d.slice(5));
  assert.deepEqual(c, ['-w', '5', '-t', 'filter', '-C', 'INPUT', '-i', 'eth1', '-m', 'comment', '--comment', 'spagate-portal', '-j', 'SPAGATE_PORTAL_IN']);
  assert.equal(portalJumps().length, 5);
  assert.deepEqual(jumpArgv('-A', portalJumps()[2], 'eth1').slice(4, 8), ['-A', 'FORWARD', '-o', 'eth1']);
  assert.deepEqual(jumpArgv('-A', portalJumps()[4], 'eth1').slice(4, 8), ['-A', 'POSTROUTING', '!', '-o']);
  assert.match(portalFlushRestore('nat'), /^\*nat\n:SPAGATE_PORTAL_NAT - \[0:0\]\n:SPAGATE_PORTAL_POST - \[0:0\]\nCOMMIT\n$/);
  assert.match(portalNatRestore({ ...SPEC, snatTo: '203.0.113.1' }, []), /-A SPAGATE_PORTAL_POST -d 192\.0\.2\.10 -j SNAT --to-source 203\.0\.113\.1/);
});

test('malformed input is refused before anything reaches iptables', () => {
  assert.throws(() => portalFilterRestore({ ...SPEC, lanIf: 'eth1 -j ACCEPT' }, []), FirewallError);
  assert.throws(() => portalFilterRestore({ ...SPEC, walledGarden: ['example.com'] }, []), FirewallError);
  assert.throws(() => portalNatRestore({ ...SPEC, portalPort: 70000 }, []), FirewallError);
  assert.throws(() => portalNatRestore(SPEC, [{ ip: '10.0.0.300', mac: null }]), FirewallError);
  assert.throws(() => portalNatRestore(SPEC, [{ ip: '10.0.0.3', mac: '02:00:00:00:00:0g' }]), FirewallError);
  assert.throws(() => jumpArgv('-A', portalJumps()[0], 'a'.repeat(16)), FirewallError);
  assert.throws(() => portalNatRestore({ ...SPEC, snatTo: 'x' }, []), FirewallError);
});
