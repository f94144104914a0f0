/**
 * Issue 3 end to end: the fwknop 2.6.6 "SPA gateway" stanza on a gateway with a default-drop
 * FORWARD policy, real iptables, the real fwknop client and spagate's own, replay, MAC
 * binding, kill -9 recovery and test mode. Three namespaces per test, removed afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isRoot } from '../helpers/netns.js';
import { buildTopology, connectFrom, NET_TOOLS, startListener, type Topology } from '../helpers/topology.js';
import { DaemonRun } from '../helpers/daemon.js';
import { fwknopKnock, randomKeys, spagateKnock, type KnockKeys } from '../helpers/spa-client.js';

const WAN_PORT = 8022;
const skip = isRoot() ? false : 'NOT ROOT: privileged end-to-end tests skipped';
if (skip) console.warn(`*** ${skip}`);

function confs(t: Topology, keys: KnockKeys, o: { snatIp?: string | null; timeout?: number; extra?: string } = {}) {
  const snat = o.snatIp === undefined ? t.addr.gwWan : o.snatIp;
  return {
    fwknopdConf: [`PCAP_INTF ${t.gwLanIf}`, 'ENABLE_IPT_FORWARDING Y', 'ENABLE_IPT_SNAT Y', snat ? `SNAT_TRANSLATE_IP ${snat}` : '', 'FIREWALL_BACKEND iptables', 'DASHBOARD_LISTEN off', o.extra ?? ''].join('\n') + '\n',
    accessConf: `SOURCE ANY\nKEY_BASE64 ${keys.key}\nHMAC_KEY_BASE64 ${keys.hmac}\nFW_ACCESS_TIMEOUT ${o.timeout ?? 4}\nFORWARD_ALL Y\nDISABLE_DNAT Y\n`,
  };
}

function grantRules(t: Topology): string[] {
  const out = t.ns.exec(t.gw, '/usr/sbin/iptables-save', []);
  return out.split('\n').filter((l) => l.includes('spagate:') && l.includes(t.addr.client));
}

describe('gateway FORWARD_ALL + SNAT on iptables', { skip, timeout: 120_000 }, () => {
  let t: Topology;
  let d: DaemonRun | null = null;
  before(async () => {
    t = buildTopology();
    await startListener(t, t.wan, WAN_PORT);
  });
  after(async () => {
    await d?.stop('SIGKILL');
    d?.cleanup();
    await t.ns.cleanup();
  });

  test('the published stanza grants forward-all and SNAT to the real fwknop client, then expires', async () => {
    const keys = randomKeys();
    d = new DaemonRun(t.ns, t.gw, confs(t, keys, { timeout: 4 }));
    await d.start();
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null, 'blocked before SPA');

    const saved = fwknopKnock(t.ns, t.lan, t.addr.gwLan, keys);
    await d.waitFor((l) => l.msg === 'grant installed');
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan, 'the WAN host sees the SNAT address');
    const rules = grantRules(t);
    assert.ok(rules.some((r) => r.includes('-A FWKNOP_FORWARD') && r.includes('-j ACCEPT') && r.includes('--mac-source')), rules.join('\n'));
    assert.ok(rules.some((r) => r.includes('-A FWKNOP_POSTROUTING') && r.includes(`--to-source ${t.addr.gwWan}`)), rules.join('\n'));
    assert.equal(rules.length, 2, 'exactly the FORWARD ALL and SNAT ALL rules');

    // Replayed as captured: refused, and nothing new is opened.
    t.ns.exec(t.lan, process.execPath, [NET_TOOLS, 'udp-file', t.addr.gwLan, '62201', saved]);
    await d.waitFor((l) => l.msg === 'SPA packet rejected' && l.reason === 'replay');

    await d.waitFor((l) => l.msg === 'expired grants removed', 8000);
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null, 'blocked after expiry');
    assert.deepEqual(grantRules(t), [], 'no rule of the grant is left');

    // After a restart the replay cache still knows the packet.
    await d.stop();
    await d.start();
    t.ns.exec(t.lan, process.execPath, [NET_TOOLS, 'udp-file', t.addr.gwLan, '62201', saved]);
    await d.waitFor((l) => l.reason === 'replay');
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null, 'replay after restart opens nothing');
    await d.stop();
    d.cleanup();
    d = null;
  });

  test('MASQUERADE is used without a translate address, with spagate knock as the client', async () => {
    const keys = randomKeys();
    d = new DaemonRun(t.ns, t.gw, confs(t, keys, { snatIp: null, timeout: 4 }));
    await d.start();
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null);
    spagateKnock(t.ns, t.lan, t.addr.gwLan, keys);
    await d.waitFor((l) => l.msg === 'grant installed');
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan);
    assert.ok(grantRules(t).some((r) => r.includes('FWKNOP_MASQUERADE') && r.includes('-j MASQUERADE')));

    // A second knock extends the grant instead of adding rules.
    spagateKnock(t.ns, t.lan, t.addr.gwLan, keys);
    await d.waitFor((l) => l.msg === 'grant extended');
    assert.equal(grantRules(t).length, 2, 'no duplicate rules after a re-knock');

    await d.waitFor((l) => l.msg === 'expired grants removed', 10_000);
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null);
    await d.stop();
    d.cleanup();
    d = null;
  });

  test('a second host that takes the granted IP with another MAC gets nothing', async () => {
    const keys = randomKeys();
    d = new DaemonRun(t.ns, t.gw, confs(t, keys, { timeout: 30 }));
    await d.start();
    spagateKnock(t.ns, t.lan, t.addr.gwLan, keys);
    await d.waitFor((l) => l.msg === 'grant installed');
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan);
    const mac = t.ns.exec(t.lan, '/usr/sbin/ip', ['-br', 'link', 'show', t.lanIf]).trim().split(/\s+/)[2];
    try {
      t.ns.exec(t.lan, '/usr/sbin/ip', ['link', 'set', t.lanIf, 'address', '02:00:00:00:be:ef']);
      t.ns.exec(t.gw, '/usr/sbin/ip', ['neigh', 'flush', 'dev', t.gwLanIf]);
      assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null, 'another MAC with the same IP is blocked');
    } finally {
      t.ns.exec(t.lan, '/usr/sbin/ip', ['link', 'set', t.lanIf, 'address', mac]);
      t.ns.exec(t.gw, '/usr/sbin/ip', ['neigh', 'flush', 'dev', t.gwLanIf]);
    }
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan, 'the granted MAC still gets through');
    await d.stop();
    d.cleanup();
    d = null;
  });

  test('after kill -9 a live grant survives a restart and still expires on time; an expired one is removed at start', async () => {
    const keys = randomKeys();
    d = new DaemonRun(t.ns, t.gw, confs(t, keys, { timeout: 6 }));
    await d.start();
    spagateKnock(t.ns, t.lan, t.addr.gwLan, keys);
    const granted = await d.waitFor((l) => l.msg === 'grant installed');
    const expiresAt = Date.parse(String(granted.expiresAt));
    await d.stop('SIGKILL');
    assert.equal(grantRules(t).length, 2, 'rules stay while the daemon is dead');
    await d.start();
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), t.addr.gwWan, 'the grant works after the restart');
    await d.waitFor((l) => l.msg === 'expired grants removed', 10_000);
    assert.ok(Date.now() >= expiresAt, 'not removed early');
    assert.ok(Date.now() - expiresAt < 2500, `removed on time (${Date.now() - expiresAt} ms late)`);
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null);

    // A grant that expires while the daemon is down is gone right after start.
    spagateKnock(t.ns, t.lan, t.addr.gwLan, keys);
    await d.waitFor((l) => l.msg === 'grant installed' && l.grant !== granted.grant);
    await d.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 7000));
    assert.equal(grantRules(t).length, 2, 'the dead daemon left its rules');
    await d.start();
    assert.deepEqual(grantRules(t), [], 'removed during start-up reconciliation');
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null);
    await d.stop();
    d.cleanup();
    d = null;
  });

  test('test mode verifies and logs but changes no rule', async () => {
    const keys = randomKeys();
    d = new DaemonRun(t.ns, t.gw, confs(t, keys));
    // Chain policy counters move with any traffic; compare the rules only.
    const rulesNow = (): string => t.ns.exec(t.gw, '/usr/sbin/iptables-save', []).replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, '');
    const beforeRules = rulesNow();
    await d.start(['-t']);
    spagateKnock(t.ns, t.lan, t.addr.gwLan, keys);
    await d.waitFor((l) => l.msg === 'SPA accepted (test mode: no rules)');
    assert.equal(rulesNow(), beforeRules);
    assert.equal(connectFrom(t, t.lan, t.addr.wan, WAN_PORT), null);
    await d.stop();
    d.cleanup();
    d = null;
  });
});
