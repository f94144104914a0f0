// The two timed phases of scale.ts against a running daemon: a burst of knocks (each asking
// for another allow IP) until the daemon has installed what it is going to install, and the
// expiry of those grants watched from the kernel and from the daemon's log.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, type DaemonRun, type LogLine } from '../../../test/helpers/daemon.js';
import type { Backend } from '../../../test/helpers/firewall-view.js';
import type { Topology } from '../../../test/helpers/topology.js';
import {
  cpuTicks,
  kernelTimeouts,
  kernelGrantIds,
  NFT,
  nsRun,
  nsRunInput,
  packetEvents,
  setsHolding,
  sleep,
  SPA_BURST,
  spaPacket,
  type StanzaKeys,
} from './scale-lib.js';

export const SPA_PORT = 62201;

export interface Ctx {
  t: Topology;
  d: DaemonRun;
  pid: number;
  backend: Backend;
  dbFile: string;
  keys: StanzaKeys;
  tmp: string;
}

export interface Round {
  label: string;
  asked: number;
  sent: number;
  sendErrors: number;
  firstSentAt: number;
  lastSentAt: number;
  installed: number;
  lastInstalledAt: number | null;
  /** Nominal expiry of every grant installed, ascending (from the daemon's log). */
  expiries: number[];
  ids: Set<string>;
  /** The daemon's stored expiry of each grant (its "grant installed" line). */
  expiryById: Map<string, number>;
  clientGranted: boolean;
  /** SPA datagrams that reached the gateway's IP layer during the round. */
  rx: number;
  /** Packet outcomes the daemon recorded for the sender, `outcome:reason` → count. */
  events: Map<string, number>;
  /** Index of the daemon's first log line after the round: where its sweeps are looked for. */
  logMark: number;
}

/** The settle rule: this long without a new grant, and the daemon idle for the last second. */
const QUIET_MS = 4000;
const ROUND_CAP_MS = 90_000;

const isInstall = (l: LogLine): boolean => l.msg === 'grant installed' || l.msg === 'grant extended';
// The daemon's pino logs ISO times (ms precision).
const timeOf = (l: LogLine): number => (typeof l.time === 'number' ? l.time : Date.parse(String(l.time)));

/**
 * Sends one packet per allow IP (pre-encoded before the clock starts) from the LAN namespace,
 * `pps` 0 meaning as fast as one socket goes, then waits until every grant is in or the daemon
 * has gone quiet. The daemon logs "grant installed" after nft / iptables-restore returned, so
 * the time of the last such line is when the last rule was in the kernel.
 */
export async function burstRound(c: Ctx, label: string, ips: readonly string[], pps: number): Promise<Round> {
  const file = join(c.tmp, `burst-${Date.now()}.txt`);
  writeFileSync(file, ips.map((ip) => spaPacket(c.keys, ip)).join('\n') + '\n');
  await countKnocks(c, 'start');
  const since = Date.now();
  const mark = c.d.lines.length;
  const lines = (): LogLine[] => c.d.lines.slice(mark).filter(isInstall);
  const maxSendMs = pps > 0 ? Math.ceil((ips.length / pps) * 1000) + 30_000 : 30_000;
  // Filled in by the sender's callbacks while the loop below watches the daemon.
  const send: { out: string; err: Error | null; doneAt: number | null } = {
    out: '',
    err: null,
    doneAt: null,
  };
  const sender = nsRun(
    c.t.lan,
    process.execPath,
    [SPA_BURST, c.t.addr.gwLan, String(SPA_PORT), file, String(pps), String(maxSendMs)],
    maxSendMs + 10_000,
  ).then(
    (out) => {
      send.out = out;
      send.doneAt = Date.now();
    },
    (e: unknown) => {
      send.err = e instanceof Error ? e : new Error(String(e));
      send.doneAt = Date.now();
    },
  );
  let n = 0;
  let lastChange = Date.now();
  let cpuPrev = cpuTicks(c.pid);
  let cpuAt = Date.now();
  let busy = true;
  for (;;) {
    await sleep(250);
    const now = Date.now();
    const k = lines().length;
    if (k !== n) [n, lastChange] = [k, now];
    if (now - cpuAt >= 1000) {
      const cpu = cpuTicks(c.pid);
      // More than 5 ticks (50 ms) a second of its own or its children's CPU: still at work.
      busy = cpu.self - cpuPrev.self + (cpu.children - cpuPrev.children) > 5;
      [cpuPrev, cpuAt] = [cpu, now];
    }
    if (n >= ips.length) break;
    if (send.doneAt !== null && now - Math.max(lastChange, send.doneAt) > QUIET_MS && !busy) break;
    if (now - since > ROUND_CAP_MS) break;
  }
  await sender;
  if (send.err) throw send.err;
  const s = JSON.parse(send.out.trim().split('\n').pop() ?? '{}') as {
    sent: number;
    errors: number;
    firstAt: number;
    lastAt: number;
  };
  await sleep(600); // the daemon writes events every 200 ms
  const got = lines();
  const clientIp = c.t.addr.client;
  return {
    label,
    asked: ips.length,
    sent: s.sent,
    sendErrors: s.errors,
    firstSentAt: s.firstAt,
    lastSentAt: s.lastAt,
    installed: got.length,
    lastInstalledAt: got.length ? Math.max(...got.map(timeOf)) : null,
    expiries: got.map((l) => Date.parse(String(l.expiresAt))).sort((a, b) => a - b),
    ids: new Set(got.map((l) => String(l.grant))),
    expiryById: new Map(got.map((l) => [String(l.grant), Date.parse(String(l.expiresAt))])),
    clientGranted: got.some((l) => l.src === clientIp),
    rx: await countKnocks(c, 'read'),
    events: packetEvents(c.dbFile, clientIp, since),
    logMark: c.d.lines.length,
  };
}

const COUNTER_TABLE = 'scalebench';

/**
 * Counts knocks reaching the gateway in a table of the bench's own (a prerouting counter for
 * the SPA port; libpcap taps the same frames just before), so losses can be placed before or
 * after the capture. It exists only during a burst: the forwarding runs never pass it.
 */
async function countKnocks(c: Ctx, step: 'start' | 'read'): Promise<number> {
  if (step === 'start') {
    const script = [
      `table ip ${COUNTER_TABLE} {`,
      '  chain pre {',
      '    type filter hook prerouting priority -400; policy accept;',
      `    udp dport ${SPA_PORT} counter`,
      '  }',
      '}',
      '',
    ].join('\n');
    await nsRunInput(c.t.gw, NFT, ['-f', '-'], script);
    return 0;
  }
  const out = await nsRun(c.t.gw, NFT, ['list', 'table', 'ip', COUNTER_TABLE]);
  await nsRun(c.t.gw, NFT, ['delete', 'table', 'ip', COUNTER_TABLE]);
  return Number(/counter packets (\d+)/.exec(out)?.[1] ?? NaN);
}

/** One knock for the client's own address; resolves once it is installed. */
export async function knockClient(c: Ctx): Promise<void> {
  const r = await burstRound(c, 'client', [c.t.addr.client], 0);
  if (!r.clientGranted) throw new Error('the client knock was not granted');
}

/** Ends the client's grant through the daemon's control socket (`spagate grants revoke`). */
export async function revokeClient(c: Ctx): Promise<void> {
  const mark = c.d.lines.length;
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, 'grants', 'revoke', c.t.addr.client, '--data-dir', c.d.dataDir],
      { timeout: 20_000 },
      (err, _out, stderr) => (err ? reject(new Error(`grants revoke: ${err.message} ${stderr}`)) : resolve()),
    );
  });
  for (let i = 0; i < 100 && !c.d.lines.slice(mark).some((l) => l.msg === 'grant revoked'); i++)
    await sleep(50);
}

export interface Expiry {
  grants: number;
  spreadMs: number;
  /** ms after the last nominal expiry when a poll first found none left; and the poll before. */
  emptyAfterMs: number | null;
  emptyPrevPollMs: number | null;
  /** ms after the first nominal expiry when a poll first found one missing. */
  firstRemovalMs: number | null;
  firstRemovalPrevPollMs: number | null;
  /** Grants missing from the kernel while their nominal expiry was still ahead (worst poll). */
  early: number;
  /** Worst lag of a grant behind its nominal expiry, assuming removal in expiry order. */
  worstLagMs: number;
  pollMs: number;
  sweepAfterMs: number | null;
  sweeps: number;
  swept: number;
  /**
   * nftables: kernel timeout minus the daemon's stored expiry per grant, read before any is
   * due, as [lower, upper] bounds (negative: the kernel ends access before the daemon's time).
   */
  kernelVsDaemon: {
    min: [number, number];
    median: [number, number];
    surelyBefore: number;
    maybeBefore: number;
    of: number;
  } | null;
}

const EXPIRY_CAP_MS = 30_000;
const POLL_MS = 100;

/**
 * Polls the kernel every POLL_MS from just before the first nominal expiry until none of the
 * round's grants is left, and reads the daemon's "expired grants removed" lines until their
 * counts cover the round.
 */
export async function watchExpiry(c: Ctx, r: Round): Promise<Expiry> {
  const exp = r.expiries;
  const first = exp[0];
  const last = exp[exp.length - 1];
  const sets = c.backend === 'nftables' ? await setsHolding(c.t.gw, r.ids) : [];
  const kernelVsDaemon = c.backend === 'nftables' ? await compareTimeouts(c, r, sets) : null;
  const wait = first - 1500 - Date.now();
  if (wait > 0) await sleep(wait);
  const e: Expiry = {
    grants: r.ids.size,
    spreadMs: last - first,
    emptyAfterMs: null,
    emptyPrevPollMs: null,
    firstRemovalMs: null,
    firstRemovalPrevPollMs: null,
    early: 0,
    worstLagMs: 0,
    pollMs: NaN,
    sweepAfterMs: null,
    sweeps: 0,
    swept: 0,
    kernelVsDaemon,
  };
  let prevA: number | null = null;
  let polls = 0;
  const pollStart = Date.now();
  while (Date.now() < last + EXPIRY_CAP_MS) {
    const a = Date.now();
    const inKernel = await kernelGrantIds(c.t.gw, c.backend, sets);
    const b = Date.now();
    polls++;
    let present = 0;
    for (const id of r.ids) if (inKernel.has(id)) present++;
    const mustBe = exp.length - upperBound(exp, b);
    e.early = Math.max(e.early, mustBe - present);
    // The next to go, in expiry order, is the (removed + 1)-th: still here at `a` means late.
    const removed = r.ids.size - present;
    if (removed < exp.length && exp[removed] < a) e.worstLagMs = Math.max(e.worstLagMs, a - exp[removed]);
    if (present < r.ids.size && e.firstRemovalMs === null) {
      e.firstRemovalMs = b - first;
      e.firstRemovalPrevPollMs = prevA === null ? null : prevA - first;
    }
    if (present === 0) {
      e.emptyAfterMs = b - last;
      e.emptyPrevPollMs = prevA === null ? null : prevA - last;
      break;
    }
    prevA = a;
    await sleep(Math.max(0, POLL_MS - (Date.now() - a)));
  }
  e.pollMs = (Date.now() - pollStart) / Math.max(1, polls);
  // The sweep lines may trail the kernel (nftables times elements out by itself).
  for (;;) {
    const sweeps = c.d.lines.slice(r.logMark).filter((l) => l.msg === 'expired grants removed');
    let sum = 0;
    for (const l of sweeps) {
      sum += Number(l.count);
      if (sum >= r.ids.size && e.sweepAfterMs === null) {
        e.sweepAfterMs = timeOf(l) - last;
        e.sweeps = sweeps.indexOf(l) + 1;
      }
    }
    e.swept = sum;
    if (e.sweepAfterMs !== null || Date.now() > last + EXPIRY_CAP_MS) break;
    await sleep(100);
  }
  return e;
}

async function compareTimeouts(c: Ctx, r: Round, sets: readonly string[]): Promise<Expiry['kernelVsDaemon']> {
  const kernel = await kernelTimeouts(c.t.gw, sets);
  const lo: number[] = [];
  const hi: number[] = [];
  for (const [id, at] of r.expiryById) {
    const k = kernel.get(id);
    if (k === undefined) continue;
    lo.push(k.lo - at);
    hi.push(k.hi - at);
  }
  if (lo.length === 0) return null;
  const sorted = (xs: number[]): number[] => xs.sort((a, b) => a - b);
  const [l, h] = [sorted(lo), sorted(hi)];
  return {
    min: [l[0], h[0]],
    median: [l[l.length >> 1], h[h.length >> 1]],
    surelyBefore: h.filter((x) => x < 0).length,
    maybeBefore: l.filter((x) => x < 0).length,
    of: l.length,
  };
}

/** Number of elements of ascending `xs` that are <= x. */
function upperBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
