// Firewall backends under load, each in its own throw-away namespaces (LAN client, gateway with
// `iptables -P FORWARD DROP`, WAN host), removed at the end even on failure or timeout:
//   - packet arrival to rule in kernel: the real `spagate start` on the gateway; one SPA packet
//     (a new grant each: FORWARD_ALL for another allow-IP) sent from the LAN namespace; time
//     from the datagram leaving the client to the daemon's "grant installed" line (logged after
//     nft / iptables-restore exited, so the rule is in the kernel). With a handful of live
//     grants and with 10,000.
//   - install and remove of 10,000 grants (MAC-bound FORWARD_ALL + MASQUERADE, what the
//     published gateway stanza makes) in one Firewall call each, as the start-up restore and a
//     sweep hand them to the backend; and the daemon's own sweep of 10,000 grants falling due
//     together (firewall, database and events), timed from their expiry to its log line.
//   - TCP connections per second from the LAN client to the WAN host through the gateway, for
//     the client granted last, with 1 live grant and with 10,001 (no daemon running in either).
// Prints figures only (no assertion); root only. Bounded: the whole run stops after 5 minutes.
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { defaultDbFile, SqliteStore } from '../../src/adapters/sqlite-store.js';
import type { Grant, GrantRules } from '../../src/core/model.js';
import { CLI, DaemonRun, type LogLine } from '../../test/helpers/daemon.js';
import { gatewayFirewall, type Backend } from '../../test/helpers/firewall-view.js';
import { isRoot } from '../../test/helpers/netns.js';
import { startTcpListener, TCP_TOOLS, tcpRate, type RateResult } from '../../test/helpers/tcp.js';
import { buildTopology, type Topology } from '../../test/helpers/topology.js';
import { spaPacket } from './lib/scale-lib.js';

const N = 10_000;
const WAN_PORT = 8022;
const SPA_PORT = 62201;
const RATE_MS = 1000;
const RATE_ROUNDS = 3;
const RATE_PARALLEL = 4;
const LATENCY_SAMPLES = 7;
/** When the 10,000 fall due, from their install; leaves time for step 3's start and knocks. */
const SWEEP_AFTER_MS = 35_000;
const WATCHDOG_MS = 5 * 60_000;
const BACKENDS: readonly Backend[] = ['iptables', 'nftables'];

if (!existsSync(CLI)) {
  console.error(`firewall bench: ${CLI} is missing; run npm run build first`);
  process.exit(1);
}
if (!isRoot()) {
  console.log('*** NOT ROOT: firewall benchmark skipped (needs network namespaces)');
  process.exit(0);
}

const open: { t: Topology | null; d: DaemonRun | null; backend: Backend | null } = {
  t: null,
  d: null,
  backend: null,
};

async function cleanup(): Promise<void> {
  const { t, d, backend } = open;
  await d?.stop('SIGKILL');
  d?.cleanup();
  // Deleting the namespace drops its firewall state with it; flushing first is just tidy.
  if (t && backend)
    await gatewayFirewall(t.gw, backend)
      .stop({ flush: true })
      .catch(() => undefined);
  await t?.ns.cleanup();
  open.t = open.d = open.backend = null;
}

const watchdog = setTimeout(() => {
  console.error(`firewall bench: still running after ${WATCHDOG_MS / 1000} s; stopping`);
  void cleanup().finally(() => process.exit(1));
}, WATCHDOG_MS);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => void cleanup().finally(() => process.exit(130)));
}

const KEY = randomBytes(32);
const HMAC_KEY = randomBytes(64);

/** One fresh SPA packet asking for `allowIp` (fwknop's -a): a new grant each time. */
const packet = (allowIp: string): string => spaPacket({ key: KEY, hmacKey: HMAC_KEY }, allowIp);

function confFiles(t: Topology, backend: Backend): { fwknopdConf: string; accessConf: string } {
  const lines = (xs: string[]): string => xs.join('\n') + '\n';
  return {
    fwknopdConf: lines([
      `PCAP_INTF ${t.gwLanIf}`,
      'ENABLE_IPT_FORWARDING Y',
      'ENABLE_IPT_SNAT Y',
      `FIREWALL_BACKEND ${backend}`,
      'DASHBOARD_LISTEN off',
    ]),
    accessConf: lines([
      'SOURCE ANY',
      `KEY_BASE64 ${KEY.toString('base64')}`,
      `HMAC_KEY_BASE64 ${HMAC_KEY.toString('base64')}`,
      'FW_ACCESS_TIMEOUT 900',
      'FORWARD_ALL Y',
      'DISABLE_DNAT Y',
    ]),
  };
}

/** Sends one packet from the LAN namespace; ms from the datagram leaving to "grant installed". */
async function knockLatency(t: Topology, d: DaemonRun, allowIp: string): Promise<number> {
  const installed = (): LogLine[] => d.lines.filter((l) => l.msg === 'grant installed');
  const before = installed().length;
  const sentAt = Number(
    t.ns
      .exec(t.lan, process.execPath, [TCP_TOOLS, 'udp', t.addr.gwLan, String(SPA_PORT)], packet(allowIp))
      .trim(),
  );
  await d.waitFor(() => installed().length > before, 30_000);
  return Date.parse(String(installed()[before].time)) - sentAt;
}

function grantFor(id: string, src: string, mac: string, now: number, expiresAt: number): Grant {
  const rules: GrantRules = {
    src,
    mac,
    dst: null,
    input: [],
    output: false,
    forward: { all: true },
    dnat: null,
    snat: { all: true, kind: 'MASQUERADE' },
  };
  return { id, stanzaId: 'bench', user: 'bench', rules, grantedAt: now, expiresAt };
}

function fillers(now: number, expiresAt: number): Grant[] {
  return Array.from({ length: N }, (_, i) => {
    const hi = (i >> 8) & 0xff;
    const lo = i & 0xff;
    const h = (x: number): string => x.toString(16).padStart(2, '0');
    return grantFor(`bench${i}`, `10.80.${hi}.${lo}`, `02:00:00:00:${h(hi)}:${h(lo)}`, now, expiresAt);
  });
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const ms = (x: number): string => `${Math.round(x)} ms`;
const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)].toFixed(1)} ms (min ${s[0].toFixed(1)}, max ${s[s.length - 1].toFixed(1)}, n=${s.length})`;
};

/**
 * Connection rate from the LAN client to the WAN host: the best of RATE_ROUNDS short rounds
 * (other work on a shared machine only ever lowers a round), each with the gateway's conntrack
 * table emptied first.
 */
function rate(t: Topology): { best: RateResult; all: RateResult[] } {
  const all: RateResult[] = [];
  for (let i = 0; i < RATE_ROUNDS; i++) {
    t.ns.try(t.gw, '/usr/sbin/conntrack', ['-F']);
    all.push(tcpRate(t.ns, t.lan, t.addr.wan, WAN_PORT, RATE_MS, RATE_PARALLEL));
  }
  const best = all.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  return { best, all };
}

async function benchBackend(backend: Backend): Promise<void> {
  console.log(`\n-- ${backend}`);
  const t = buildTopology({ forwardPolicy: 'DROP' });
  open.t = t;
  open.backend = backend;
  // Many short connections: plenty of ports, and few TIME_WAIT sockets left behind, so the
  // second measurement does not start with the first one's leftovers.
  for (const host of [t.lan, t.wan]) {
    t.ns.exec(host, '/usr/sbin/sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65000']);
    t.ns.exec(host, '/usr/sbin/sysctl', ['-qw', 'net.ipv4.tcp_tw_reuse=1']);
    t.ns.exec(host, '/usr/sbin/sysctl', ['-qw', 'net.ipv4.tcp_max_tw_buckets=256']);
  }
  await startTcpListener(t.ns, t.wan, WAN_PORT);
  const withBackend = confFiles(t, backend);
  const fw = (): ReturnType<typeof gatewayFirewall> => gatewayFirewall(t.gw, backend);

  // 1. The real daemon with few grants: packet arrival to rule in kernel.
  let d = new DaemonRun(t.ns, t.gw, withBackend);
  open.d = d;
  await d.start();
  const few: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) few.push(await knockLatency(t, d, `10.77.1.${100 + i}`));
  await d.stop('SIGKILL');
  d.cleanup();
  open.d = null;
  await fw().stop({ flush: true });

  // 2. The backend alone: 10,000 grants in one call, then the client's grant last. The 10,000
  // expire together SWEEP_AFTER_MS from now, for the daemon's own sweep in step 3.
  const now = Date.now();
  const due = now + SWEEP_AFTER_MS;
  const mac = t.ns
    .exec(t.lan, '/usr/sbin/ip', ['-br', 'link', 'show', t.lanIf])
    .trim()
    .split(/\s+/)[2]
    .toLowerCase();
  const client = grantFor('benchclient', t.addr.client, mac, now, now + 900_000);
  const many = fillers(now, due);
  const a = fw();
  await a.start({ flush: true });
  // The client alone first (1 live grant), with no daemon running in either measurement.
  await a.install([client]);
  const rate1 = rate(t);
  await a.remove([client]);
  const installN = await timed(() => a.install(many));
  const oneMore = await timed(() => a.install([client]));
  const rateN = rate(t);
  // What a sweep hands the backend: one remove() of all that is due. Then back in for step 3.
  const removeN = await timed(() => a.remove(many));
  await a.install(many);

  // 3. The real daemon again, with the 10,001 grants in its database (as after a restart);
  // then its sweep of the 10,000 when they are due (firewall, database, events).
  d = new DaemonRun(t.ns, t.gw, withBackend);
  open.d = d;
  const store = SqliteStore.open(defaultDbFile(d.dataDir));
  for (const g of [...many, client]) await store.saveGrant(g);
  await store.close();
  const startMs = await timed(() => d.start());
  const loaded = await d.waitFor((l) => l.msg === 'state loaded');
  const busy: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES && Date.now() < due - 1000; i++)
    busy.push(await knockLatency(t, d, `10.77.1.${150 + i}`));
  let sweep = 'not measured: the grants fell due before the daemon was ready';
  if (Date.now() < due - 500) {
    const done = await d.waitFor((l) => l.msg === 'expired grants removed', due - Date.now() + 60_000);
    sweep = `${ms(Date.parse(String(done.time)) - due)} after the expiry (${String(done.count)} grants in one sweep)`;
  }
  await d.stop('SIGKILL');
  d.cleanup();
  open.d = null;

  console.log(
    `packet arrival to rule in kernel, ${LATENCY_SAMPLES} knocks, few live grants:   ${stats(few)}`,
  );
  console.log(
    `packet arrival to rule in kernel, ${LATENCY_SAMPLES} knocks, ${N.toLocaleString('en-US')} live grants: ${stats(busy)}`,
  );
  console.log(`install ${N.toLocaleString('en-US')} grants (one install call):  ${ms(installN)}`);
  console.log(`install 1 more grant with ${N.toLocaleString('en-US')} live:     ${ms(oneMore)}`);
  console.log(
    `daemon start with ${String(loaded.liveGrants)} live grants in the database (reconcile included): ${ms(startMs)}`,
  );
  console.log(`remove ${N.toLocaleString('en-US')} grants (one remove call):   ${ms(removeN)}`);
  console.log(`daemon sweep of ${N.toLocaleString('en-US')} grants due together:  ${sweep}`);
  const r = (x: { best: RateResult; all: RateResult[] }): string =>
    `${x.best.perSecond} conn/s (best of ${x.all.map((a) => a.perSecond).join(', ')}; failed ${x.all.reduce((n, a) => n + a.failed, 0)})`;
  console.log(
    `TCP connections through the gateway, client granted last, ${RATE_PARALLEL} in parallel, ${RATE_ROUNDS} rounds of ${RATE_MS / 1000} s:`,
  );
  console.log(`  1 live grant:       ${r(rate1)}`);
  console.log(`  ${(N + 1).toLocaleString('en-US')} live grants:  ${r(rateN)}`);
  await cleanup();
}

try {
  console.log(
    `node ${process.version}; ${N.toLocaleString('en-US')} MAC-bound FORWARD_ALL + MASQUERADE grants; namespaces removed afterwards`,
  );
  for (const backend of BACKENDS) await benchBackend(backend);
} catch (e) {
  console.error('firewall bench failed:', e);
  process.exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
