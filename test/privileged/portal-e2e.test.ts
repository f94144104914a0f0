/**
 * Issue 6 end to end: a real DHCP server (dnsmasq) on the gateway's LAN bridge, real
 * dhclient in two client namespaces, spagate with the captive portal, the walled garden
 * and lease following, and the real fwknop client with the stanza the portal handed out.
 *
 *   c1 (02:5a:..:01) ─┐
 *                     ├─ br 10.77.1.1/24  gw  203.0.113.1/24 ─── 203.0.113.2/24  wan
 *   c2 (02:5a:..:02) ─┘
 *
 * dnsmasq reserves 10.77.1.50 for both MACs (`dhcp-host=MAC1,MAC2,IP`), which tells it to
 * move the lease to whichever asks last: that is how the second client takes the address.
 * dhclient runs with its own script (no /etc/resolv.conf changes) and state files in a temp
 * folder. Everything is removed afterwards; dnsmasq and dhclient are children of the test.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, DaemonRun } from '../helpers/daemon.js';
import { IP, Netns, requireRoot, sh } from '../helpers/netns.js';
import { randomKeys } from '../helpers/spa-client.js';
import { NET_TOOLS } from '../helpers/topology.js';

const HTTP_TOOLS = fileURLToPath(new URL('../helpers/http-tools.mjs', import.meta.url));
const MAC1 = '02:5a:00:00:00:01';
const MAC2 = '02:5a:00:00:00:02';
const GW = '10.77.1.1';
const LEASED = '10.77.1.50';
const WAN = '203.0.113.2';
const WAN_PORT = 9000;
const GARDEN = '203.0.113.3'; // a second address of the WAN host, in WALLED_GARDEN
const PORTAL = `http://${GW}:8081/`;
const API = `${PORTAL}api/captive`;
const DASH_PORT = 18431;

interface HttpResult {
  status?: number;
  location?: string | null;
  contentType?: string | null;
  body?: string;
  error?: string;
}

async function until<T>(what: string, ms: number, f: () => T | null | undefined): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function unescapeHtml(s: string): string {
  return s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n))).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

for (const backend of ['iptables', 'nftables'] as const) {
  test(`captive portal (${backend}): DHCP lease, walled garden, enrollment, fwknop, RFC 8908, lease taken over`, { timeout: 180_000 }, (t) => run(t, backend));
}

async function run(t: TestContext, backend: 'iptables' | 'nftables'): Promise<void> {
  if (!requireRoot(t)) return;
  const ns = new Netns();
  const dir = mkdtempSync(join(tmpdir(), 'spagate-portal-'));
  let d: DaemonRun | null = null;
  try {
    const p = ns.prefix;
    const gw = ns.add('gw');
    const c1 = ns.add('c1');
    const c2 = ns.add('c2');
    const wan = ns.add('wan');
    const br = `${p}br`;
    ns.exec(gw, IP, ['link', 'add', br, 'type', 'bridge']);
    ns.exec(gw, IP, ['addr', 'add', `${GW}/24`, 'dev', br]);
    ns.exec(gw, IP, ['link', 'set', br, 'up']);
    const clients: [string, string, string][] = [
      [c1, `${p}c1`, MAC1],
      [c2, `${p}c2`, MAC2],
    ];
    for (const [nsName, ifName, mac] of clients) {
      sh(IP, ['link', 'add', ifName, 'netns', nsName, 'address', mac, 'type', 'veth', 'peer', 'name', `${ifName}p`, 'netns', gw]);
      ns.exec(gw, IP, ['link', 'set', `${ifName}p`, 'master', br, 'up']);
      ns.exec(nsName, IP, ['link', 'set', ifName, 'up']);
    }
    const w = ns.link(gw, 'g1', '203.0.113.1/24', wan, 'w0', `${WAN}/24`);
    ns.exec(wan, IP, ['addr', 'add', `${GARDEN}/24`, 'dev', w.b]);
    ns.exec(gw, '/usr/sbin/sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    ns.exec(gw, '/usr/sbin/iptables', ['-P', 'FORWARD', 'DROP']);
    const listener = ns.spawn(wan, process.execPath, [NET_TOOLS, 'listen', String(WAN_PORT)]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('WAN listener did not start')), 5000);
      listener.stdout?.on('data', () => {
        clearTimeout(timer);
        resolve();
      });
    });

    // dnsmasq on the bridge: DHCP with the portal API in option 114, DNS with no upstream.
    const leaseFile = join(dir, 'dnsmasq.leases');
    writeFileSync(leaseFile, '');
    let dnsmasqLog = '';
    const dnsmasq = ns.spawn(gw, '/usr/sbin/dnsmasq', [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      `--interface=${br}`,
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--dhcp-authoritative',
      `--dhcp-range=10.77.1.50,10.77.1.60,255.255.255.0,10m`,
      `--dhcp-host=${MAC1},${MAC2},${LEASED}`,
      `--dhcp-option=114,${API}`,
      `--dhcp-leasefile=${leaseFile}`,
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
      '--user=root',
      '--group=root',
      '--log-facility=-',
      '--log-dhcp',
    ]);
    dnsmasq.stderr?.on('data', (b: Buffer) => (dnsmasqLog += b.toString()));
    await until('dnsmasq started', 5000, () => (existsSync(join(dir, 'dnsmasq.pid')) || dnsmasq.exitCode !== null ? true : null));
    assert.equal(dnsmasq.exitCode, null, `dnsmasq exited: ${dnsmasqLog}`);

    const keys = randomKeys();
    d = new DaemonRun(ns, gw, {
      fwknopdConf:
        [
          `PCAP_INTF ${br}`,
          'ENABLE_IPT_FORWARDING Y',
          'ENABLE_IPT_SNAT Y',
          'SNAT_TRANSLATE_IP 203.0.113.1',
          `FIREWALL_BACKEND ${backend}`,
          `DASHBOARD_LISTEN 127.0.0.1:${DASH_PORT}`,
          `PORTAL_LISTEN ${GW}:8081`,
          `LEASE_FILE ${leaseFile}`,
          'LEASE_FORMAT dnsmasq',
          `WALLED_GARDEN ${GARDEN}`,
        ].join('\n') + '\n',
      // A hand-written stanza for another network: enrolled users come from the database.
      accessConf: `SOURCE 192.0.2.0/24\nKEY_BASE64 ${keys.key}\nHMAC_KEY_BASE64 ${keys.hmac}\nFORWARD_ALL Y\nDISABLE_DNAT Y\n`,
    });
    await d.start();
    await d.waitFor((l) => l.msg === 'walled garden rules installed');

    // Client 1 gets its lease (and the portal API URL with it).
    const dhclients: ChildProcess[] = [];
    const dhclient = (nsName: string, ifName: string, tag: string): string => {
      const state = join(dir, `${tag}.state`);
      const script = join(dir, `${tag}.sh`);
      writeFileSync(
        script,
        [
          '#!/bin/sh',
          'case "$reason" in',
          `  PREINIT) ${IP} link set dev "$interface" up ;;`,
          `  BOUND|RENEW|REBIND|REBOOT) ${IP} addr flush dev "$interface"; ${IP} addr add "$new_ip_address/24" dev "$interface"; ${IP} route replace default via "$new_routers" dev "$interface"; echo "$new_ip_address $new_captive_portal" > "${state}" ;;`,
          `  EXPIRE|FAIL|RELEASE|STOP) ${IP} addr flush dev "$interface" ;;`,
          'esac',
          'exit 0',
          '',
        ].join('\n'),
      );
      chmodSync(script, 0o700);
      const conf = join(dir, `${tag}.conf`);
      writeFileSync(conf, `option captive-portal code 114 = text;\nsend host-name "${tag}-laptop";\nrequest subnet-mask, routers, domain-name-servers, captive-portal;\n`);
      dhclients.push(ns.spawn(nsName, '/usr/sbin/dhclient', ['-d', '-4', '-v', '-sf', script, '-cf', conf, '-lf', join(dir, `${tag}.leases`), '-pf', join(dir, `${tag}.pid`), ifName]));
      return state;
    };
    const state1 = dhclient(c1, `${p}c1`, 'one');
    const got1 = await until('client 1 lease', 30_000, () => (existsSync(state1) ? readFileSync(state1, 'utf8').trim() : null));
    assert.equal(got1, `${LEASED} ${API}`, 'client 1 leased the reserved address and was told the portal API (option 114)');
    await until('lease in the lease file', 5000, () => (readFileSync(leaseFile, 'utf8').includes(MAC1) ? true : null));

    const http = (nsName: string, args: string[]): HttpResult => {
      const r = ns.try(nsName, process.execPath, [HTTP_TOOLS, ...args]);
      return JSON.parse(r.stdout.trim() || '{}') as HttpResult;
    };
    const grantRules = (): string[] => {
      const ruleset = backend === 'iptables' ? ns.exec(gw, '/usr/sbin/iptables-save', []) : ns.exec(gw, '/usr/sbin/nft', ['list', 'table', 'ip', 'spagate']);
      return ruleset.split('\n').filter((l) => l.includes('spagate:') && l.includes(LEASED));
    };
    const tcp = (nsName: string, host = WAN): string | null => {
      const r = ns.try(nsName, process.execPath, [NET_TOOLS, 'connect', host, String(WAN_PORT), '1500']);
      return r.status === 0 ? r.stdout.trim() : null;
    };

    // Walled garden: HTTP anywhere is the portal, other TCP is refused, the API says captive.
    const captured = http(c1, ['get', `http://${WAN}/generate_204`]);
    assert.ok(captured.status === 302 || captured.status === 511, JSON.stringify(captured));
    if (captured.status === 302) assert.equal(captured.location, PORTAL);
    assert.equal(tcp(c1), null, 'TCP to the WAN host is refused before SPA');
    assert.equal(tcp(c1, GARDEN), '203.0.113.1', 'the walled garden is reachable (translated) before SPA');
    const before = http(c1, ['get', API]);
    assert.equal(before.status, 200, JSON.stringify(before));
    assert.match(before.contentType ?? '', /^application\/captive\+json/);
    assert.deepEqual(JSON.parse(before.body ?? ''), { captive: true, 'user-portal-url': PORTAL });
    const page = http(c1, ['get', PORTAL]);
    assert.equal(page.status, 200);
    assert.ok(page.body?.includes(LEASED) && page.body.includes(MAC1), 'status page shows the client address and MAC');

    // An admin issues an enrollment code through the dashboard's JSON API, with an API token.
    const tokenOut = ns.exec(gw, process.execPath, [CLI, 'admin', 'token', 'create', '--label', 'e2e', '--data-dir', d.dataDir]);
    const token = tokenOut.trim().split('\n').pop() ?? '';
    const issuedRun = ns.try(gw, process.execPath, [
      HTTP_TOOLS,
      'post-json',
      `http://127.0.0.1:${DASH_PORT}/api/enrollments`,
      JSON.stringify({ user: 'phone', source: '10.77.1.0/24', options: { FORWARD_ALL: 'Y', DISABLE_DNAT: 'Y', FW_ACCESS_TIMEOUT: '600' } }),
      token,
    ]);
    const issued = JSON.parse(issuedRun.stdout.trim() || '{}') as HttpResult;
    assert.equal(issued.status, 201, `enrollment code via the dashboard API: ${issuedRun.stdout}`);
    const code = (JSON.parse(issued.body ?? '{}') as { code: string }).code;

    // The client enrolls at the portal and saves the stanza it is shown.
    const enrolled = http(c1, ['post-form', `${PORTAL}enroll`, `code=${code}`]);
    assert.equal(enrolled.status, 200, enrolled.body);
    const m = /<pre id="stanza">([\s\S]*?)<\/pre>/.exec(enrolled.body ?? '');
    assert.ok(m, 'the enrolled page shows the stanza');
    const stanza = unescapeHtml(m[1]);
    assert.match(stanza, /^\[phone\]/);
    assert.match(stanza, new RegExp(`SPA_SERVER\\s+${GW.replace(/\./g, '\\.')}`));
    const rc = join(dir, 'fwknoprc');
    writeFileSync(rc, stanza);
    chmodSync(rc, 0o600);
    const again = http(c1, ['post-form', `${PORTAL}enroll`, `code=${code}`]);
    assert.equal(again.status, 400, 'a code works once');

    // The real fwknop client with that stanza gets the client online.
    ns.exec(c1, '/usr/bin/fwknop', ['--rc-file', rc, '-n', 'phone', '--no-save-args']);
    const granted = await d.waitFor((l) => l.msg === 'grant installed', 10_000);
    assert.equal(granted.src ?? (granted.grant as { src?: string } | undefined)?.src ?? LEASED, LEASED);
    await until('walled garden exemption', 5000, () => (ns.exec(gw, '/usr/sbin/iptables-save', ['-t', 'nat']).includes(`-s ${LEASED}/32`) ? true : null));
    assert.equal(tcp(c1), '203.0.113.1', 'online: the WAN host sees the SNAT address');
    assert.ok(grantRules().length > 0, 'the grant has rules');
    const after = JSON.parse(http(c1, ['get', API]).body ?? '{}') as Record<string, unknown>;
    assert.equal(after.captive, false, JSON.stringify(after));
    assert.equal(after['user-portal-url'], PORTAL);
    assert.ok(typeof after['seconds-remaining'] === 'number' && after['seconds-remaining'] > 500 && after['seconds-remaining'] <= 600, JSON.stringify(after));
    const online = http(c1, ['get', PORTAL]);
    assert.ok(online.body?.includes('You are online') && online.body.includes('fwknop -n phone'), 'status page: online, with the command for its stanza');

    // Client 1 disappears without releasing; client 2 (another MAC) takes the address.
    dhclients[0].kill('SIGKILL');
    ns.exec(c1, IP, ['addr', 'flush', 'dev', `${p}c1`]);
    const state2 = dhclient(c2, `${p}c2`, 'two');
    const got2 = await until('client 2 lease', 30_000, () => (existsSync(state2) ? readFileSync(state2, 'utf8').trim() : null));
    assert.equal(got2.split(' ')[0], LEASED, `client 2 took the address; dnsmasq: ${dnsmasqLog.slice(-1500)}`);
    const ended = await d.waitFor((l) => l.msg === 'grant ended', 10_000).catch((e: unknown) => {
      throw new Error(`${String(e).slice(0, 100)}\n${d?.lines.filter((l) => /lease/i.test(JSON.stringify(l))).map((l) => JSON.stringify(l)).join('\n')}\nlease file: ${readFileSync(leaseFile, 'utf8')}\ndnsmasq: ${dnsmasqLog.slice(-1500)}`);
    });
    assert.match(String(ended.detail), /lease_other_mac/);
    assert.match(String(ended.detail), new RegExp(MAC2));
    assert.equal(tcp(c2), null, 'the new holder of the address is not online');
    assert.deepEqual(grantRules(), [], 'the grant rules are gone');
    const api2 = JSON.parse(http(c2, ['get', API]).body ?? '{}') as Record<string, unknown>;
    assert.equal(api2.captive, true);
  } finally {
    await d?.stop('SIGTERM');
    d?.cleanup();
    await ns.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}
