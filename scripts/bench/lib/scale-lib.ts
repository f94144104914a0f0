// Measuring tools of scale.ts: asynchronous commands in a namespace, SPA packets and config
// files, /proc readings of the daemon, the count of grants in the kernel, iperf3, and the
// daemon's event table. Everything that runs while the daemon works is asynchronous: a
// synchronous child process would stall the reading of the daemon's log pipe, and a full pipe
// blocks the daemon's own logging, which would distort what is being measured.
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { cpus } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { parseTableListing } from '../../../src/core/rules/nftables-listing.js';
import { encodeSpa } from '../../../src/core/spa/encode.js';
import type { SpaKeys } from '../../../src/core/spa/types.js';
import type { Backend } from '../../../test/helpers/firewall-view.js';
import { IP } from '../../../test/helpers/netns.js';

export const SPA_BURST = fileURLToPath(new URL('../tools/spa-burst.mjs', import.meta.url));
export const NFT = '/usr/sbin/nft';
export const IPTABLES_SAVE = '/usr/sbin/iptables-save';
export const NFT_TABLE = 'spagate';

/** `file args` inside namespace `ns`, without a shell; rejects on a non-zero exit or timeout. */
export function nsRun(
  ns: string,
  file: string,
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      IP,
      ['netns', 'exec', ns, file, ...args],
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err)
          reject(
            Object.assign(new Error(`${file} ${args.join(' ')}: ${err.message} ${stderr.slice(-500)}`), {
              stdout,
            }),
          );
        else resolve(stdout);
      },
    );
  });
}

/** Like nsRun, with `input` on standard input (an `nft -f -` script). */
export function nsRunInput(
  ns: string,
  file: string,
  args: readonly string[],
  input: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      IP,
      ['netns', 'exec', ns, file, ...args],
      { encoding: 'utf8', timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(' ')}: ${err.message} ${stderr.slice(-500)}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(input);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- SPA packets and configuration ------------------------------------------------------

export interface StanzaKeys {
  key: Buffer;
  hmacKey: Buffer;
}

export function randomStanzaKeys(): StanzaKeys {
  return { key: randomBytes(32), hmacKey: randomBytes(64) };
}

/** One fresh packet asking for `allowIp` (fwknop's -a), as firewall.ts's packet() builds it. */
export function spaPacket(k: StanzaKeys, allowIp: string): string {
  const keys: SpaKeys = { key: k.key, hmacKey: k.hmacKey, hmacType: 'sha256', mode: 'cbc' };
  return encodeSpa(
    {
      random_value: `${randomInt(1e7, 1e8)}${randomInt(1e7, 1e8)}`,
      username: 'bench',
      timestamp: Math.floor(Date.now() / 1000),
      version: '3.0.0',
      message_type: 1,
      message: `${allowIp},tcp/22`,
      nat_access: null,
      server_auth: null,
      client_timeout: 0,
    },
    keys,
    { digestType: 'sha256', random: { bytes: (n: number) => randomBytes(n) } },
  );
}

/** Allow IPs of one round: `10.<net>.x.y`, never a .0 or .255 host byte. */
export function allowIps(net: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${net}.${Math.floor(i / 250)}.${(i % 250) + 1}`);
}

export function fwknopdConf(pcapIntf: string, backend: Backend): string {
  return [
    `PCAP_INTF ${pcapIntf}`,
    'ENABLE_IPT_FORWARDING Y',
    'ENABLE_IPT_SNAT Y',
    `FIREWALL_BACKEND ${backend}`,
    'DASHBOARD_LISTEN off',
    '',
  ].join('\n');
}

/** The published gateway stanza once per key set, in order: the client's keys go last. */
export function accessConf(stanzas: readonly StanzaKeys[], timeoutS: number): string {
  return stanzas
    .map((s) =>
      [
        'SOURCE ANY',
        `KEY_BASE64 ${s.key.toString('base64')}`,
        `HMAC_KEY_BASE64 ${s.hmacKey.toString('base64')}`,
        `FW_ACCESS_TIMEOUT ${timeoutS}`,
        'FORWARD_ALL Y',
        'DISABLE_DNAT Y',
        '',
      ].join('\n'),
    )
    .join('\n');
}

// --- the daemon's process ---------------------------------------------------------------

function statusField(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  return m ? Number(m[1]) : NaN;
}

export interface Memory {
  hwmKb: number;
  rssKb: number;
  anonKb: number;
}

export function memoryOf(pid: number): Memory {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    hwmKb: statusField(s, 'VmHWM'),
    rssKb: statusField(s, 'VmRSS'),
    anonKb: statusField(s, 'RssAnon'),
  };
}

/** CPU ticks of the daemon: its own (all threads) and its reaped children's (nft, iptables-restore). */
export function cpuTicks(pid: number): { self: number; children: number } {
  // The command name may hold spaces and parentheses: count fields after the last ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14..17 of stat(5); f[0] is field 3.
  return { self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
}

/** Voluntary context switches: the main thread's, and all threads' together. */
export function voluntarySwitches(pid: number): { main: number; all: number } {
  const main = statusField(readFileSync(`/proc/${pid}/status`, 'utf8'), 'voluntary_ctxt_switches');
  let all = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      all += statusField(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'), 'voluntary_ctxt_switches');
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { main, all };
}

export const TICKS_PER_S = 100; // getconf CLK_TCK on Linux

export interface IdleSample {
  seconds: number;
  cpuPct: number;
  wakeupsPerS: number;
  allThreadsSwitchesPerS: number;
}

export async function idleSample(pid: number, ms: number): Promise<IdleSample> {
  const c0 = cpuTicks(pid).self;
  const v0 = voluntarySwitches(pid);
  const t0 = performance.now();
  await sleep(ms);
  const c1 = cpuTicks(pid).self;
  const v1 = voluntarySwitches(pid);
  const s = (performance.now() - t0) / 1000;
  return {
    seconds: s,
    cpuPct: ((c1 - c0) / TICKS_PER_S / s) * 100,
    wakeupsPerS: (v1.main - v0.main) / s,
    allThreadsSwitchesPerS: (v1.all - v0.all) / s,
  };
}

// --- the kernel ---------------------------------------------------------------------------

const OWNER = /spagate:([A-Za-z0-9._:@+-]+)/g;

/**
 * Grant ids holding anything in the gateway's kernel: for nftables, in the given sets only
 * (listed concurrently; a whole-table listing is slower to poll); for iptables, any rule in
 * `iptables-save`.
 */
export async function kernelGrantIds(
  gw: string,
  backend: Backend,
  sets: readonly string[],
): Promise<Set<string>> {
  const texts =
    backend === 'iptables'
      ? [await nsRun(gw, IPTABLES_SAVE, [])]
      : await Promise.all(
          sets.map((s) => nsRun(gw, NFT, ['list', 'set', 'ip', NFT_TABLE, s]).catch(() => '')),
        );
  const ids = new Set<string>();
  for (const t of texts) for (const m of t.matchAll(OWNER)) ids.add(m[1]);
  return ids;
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** nft's `1m2s345ms` to milliseconds. */
function nftDuration(text: string): number {
  let ms = 0;
  for (const m of text.matchAll(/(\d+)(ms|d|h|m|s)/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}

/**
 * When the kernel will time out each grant's elements (its earliest), from one listing of
 * `sets`, as epoch ms bounds: the kernel took the listing somewhere between the command's start
 * (`lo`) and its end (`hi`).
 */
export async function kernelTimeouts(
  gw: string,
  sets: readonly string[],
): Promise<Map<string, { lo: number; hi: number }>> {
  const out = new Map<string, { lo: number; hi: number }>();
  for (const set of sets) {
    const a = Date.now();
    const text = await nsRun(gw, NFT, ['list', 'set', 'ip', NFT_TABLE, set]);
    const b = Date.now();
    for (const m of text.matchAll(/expires ([0-9dhms]+) comment "[^"]*spagate:([A-Za-z0-9._:@+-]+)"/g)) {
      const left = nftDuration(m[1]);
      const had = out.get(m[2]);
      if (!had || a + left < had.lo) out.set(m[2], { lo: a + left, hi: b + left });
    }
  }
  return out;
}

/** The nftables sets that hold elements of the given grants (read once, outside the timed polls). */
export async function setsHolding(gw: string, ids: ReadonlySet<string>): Promise<string[]> {
  const listing = parseTableListing(
    await nsRun(gw, NFT, ['-j', '-n', 'list', 'table', 'ip', NFT_TABLE]),
    NFT_TABLE,
  );
  return [
    ...new Set(listing.elements.filter((e) => e.owner && ids.has(e.owner.id)).map((e) => e.set)),
  ].sort();
}

// --- iperf3 -------------------------------------------------------------------------------

export interface Udp64 {
  rcvdPps: number;
  sentPps: number;
  lossPct: number;
}

interface IperfJson {
  error?: string;
  end?: { sum?: { packets?: number; lost_packets?: number; seconds?: number; lost_percent?: number } };
}

/** CPU for the iperf3 client and server (0 and 1) on a multi-core box, so the two never share one. */
export function pinned(cpu: number, argv: readonly string[]): string[] {
  return cpus().length >= 2 ? ['/usr/bin/taskset', '-c', String(cpu), ...argv] : [...argv];
}

/** One iperf3 run of 64-byte UDP datagrams at full speed from `lan` to the WAN server. */
export async function udp64(lan: string, server: string, port: number, seconds: number): Promise<Udp64> {
  const iperf = [
    '/usr/bin/iperf3',
    '-c',
    server,
    '-p',
    String(port),
    '-u',
    '-l',
    '64',
    '-b',
    '0',
    '-t',
    String(seconds),
    '-J',
  ];
  let out: string;
  try {
    out = await nsRun(
      lan,
      '/usr/bin/timeout',
      [String(seconds + 10), ...pinned(0, iperf)],
      (seconds + 15) * 1000,
    );
  } catch (e) {
    // iperf3 -J exits non-zero on errors but still prints its JSON; keep what it said.
    out = String((e as { stdout?: string }).stdout ?? '');
    if (out === '') throw e;
  }
  const j = JSON.parse(out) as IperfJson;
  const s = j.end?.sum;
  if (!s?.seconds || s.packets === undefined) throw new Error(`iperf3: ${j.error ?? 'no summary'}`);
  const lost = s.lost_packets ?? 0;
  return {
    rcvdPps: (s.packets - lost) / s.seconds,
    sentPps: s.packets / s.seconds,
    lossPct: s.lost_percent ?? 0,
  };
}

// --- the daemon's event table ---------------------------------------------------------------

/** Packet outcomes the daemon recorded for `src` since `since` (epoch ms), by reason. */
export function packetEvents(dbFile: string, src: string, since: number): Map<string, number> {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare(
        `SELECT outcome || ':' || reason AS k, COUNT(*) AS n FROM events
         WHERE src_ip = ? AND at >= ? AND outcome IN ('accepted', 'rejected') GROUP BY k`,
      )
      .all(src, since) as { k: string; n: number }[];
    return new Map(rows.map((r) => [r.k, r.n]));
  } finally {
    db.close();
  }
}
