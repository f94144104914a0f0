// Turns the harness's results.jsonl of each daemon into the side-by-side table:
// figure | fwknopd 2.6.10 | spagate | spagate ÷ fwknopd | target. Figures are the harness's own
// (median (min..max) over runs); nothing here measures anything.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Rec = Record<string, unknown>;

export interface RunResult {
  records: Rec[];
  meta: Rec;
}

export function loadRun(dir: string): RunResult | null {
  try {
    const records = readFileSync(join(dir, 'results.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Rec);
    let meta: Rec = {};
    try {
      meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Rec;
    } catch {
      // meta.json is written early; a run killed before it has none
    }
    return { records, meta };
  } catch {
    return null;
  }
}

function get(o: unknown, path: string): unknown {
  let x: unknown = o;
  for (const k of path.split('.')) {
    if (x === null || typeof x !== 'object') return undefined;
    x = (x as Rec)[k];
  }
  return x;
}

function num(o: unknown, path: string): number | null {
  const v = get(o, path);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function nums(rs: readonly Rec[], path: string): number[] {
  return rs.map((r) => num(r, path)).filter((v): v is number => v !== null);
}

export function median(v: readonly number[]): number | null {
  if (v.length === 0) return null;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A JSON value as text, or `dflt` for anything that is not a string, number or boolean. */
export function text(v: unknown, dflt: string): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : dflt;
}

const fix = (x: number | null, d = 1): string => (x === null ? '–' : x.toFixed(d));

function spread(v: readonly number[], d = 1, unit = ''): string {
  if (v.length === 0) return '–';
  if (v.length === 1) return `${fix(v[0], d)}${unit}`;
  return `${fix(median(v), d)}${unit} (${fix(Math.min(...v), d)}..${fix(Math.max(...v), d)})`;
}

/** One figure of one daemon: the text shown and the number the ratio uses. */
interface Cell {
  text: string;
  value: number | null;
}
const cell = (text: string, value: number | null = null): Cell => ({ text, value });
const none = cell('–');

interface Row {
  figure: string;
  target: string;
  of: (r: RunResult) => Cell;
  /** How to state the comparison; default: spagate ÷ fwknopd of the values. */
  ratio?: 'div' | 'inverse' | 'none';
}

const sel = (r: RunResult, pred: (x: Rec) => boolean): Rec[] => r.records.filter(pred);
const phase = (p: string) => (x: Rec) => x.phase === p;

function grantRow(r: RunResult): Cell {
  const g = sel(r, phase('grant'));
  const v = nums(g, 'connect_ms');
  if (g.length === 0) return none;
  return cell(`${spread(v)} ms, ${g.filter((x) => x.granted).length}/${g.length} granted`, median(v));
}

function expiryRow(r: RunResult): Cell {
  const g = sel(r, (x) => x.phase === 'grant' && x.expiry_s != null);
  const fail = nums(g, 'fail_after_nominal_ms');
  if (fail.length === 0) return none;
  const del = nums(g, 'del_after_exp_ts_ms');
  const extra = del.length ? `; rule removed ${spread(del, 0)} ms after its own _exp_ stamp` : '';
  return cell(
    `first refused connect ${spread(fail, 0)} ms vs grant seen + ${String(g[0].expiry_s)} s (negative = early)${extra}`,
    median(fail),
  );
}

function floodRow(mode: string, rate: string) {
  return (r: RunResult): Cell => {
    const f = sel(r, (x) => x.phase === 'flood' && x.mode === mode && String(x.rate) === rate);
    const lg = sel(r, (x) => x.phase === 'flood_grant' && x.mode === mode && String(x.rate) === rate);
    if (f.length === 0) return none;
    const ok = lg.filter((x) => x.granted);
    const lat = nums(ok, 'connect_ms');
    const pps = median(nums(f, 'flood.achieved_pps'));
    const cpu = median(nums(f, 'cpu.total_pct'));
    return cell(
      `${ok.length} of ${lg.length}` +
        (lat.length ? `, ${spread(lat, 0)} ms` : '') +
        ` (sent ${pps === null ? '?' : Math.round(pps).toLocaleString('en-US')} pps; daemon CPU ${fix(cpu, 0)} %)`,
      lg.length ? ok.length / lg.length : null,
    );
  };
}

function stanzaLatencyRow(n: number) {
  return (r: RunResult): Cell => {
    const s = sel(r, (x) => x.phase === 'stanzas' && x.stanzas === n);
    const v = nums(s, 'connect_ms');
    if (s.length === 0) return none;
    return cell(`${spread(v)} ms, ${s.filter((x) => x.granted).length}/${s.length} granted`, median(v));
  };
}

/** CPU ms per junk packet above idle, as ../shared/bench/js/report.js computes it. */
function junkCost(r: RunResult, n: number): number | null {
  const j = r.records.find((x) => x.phase === 'stanzas_junk' && x.stanzas === n);
  const idle = r.records.find(phase('idle_cpu'));
  if (!j) return null;
  const idlePct = num(idle, 'cpu.total_pct') ?? 0;
  const pk = num(j, 'daemon_saw') ?? num(j, 'flood.sent');
  const cpuS = num(j, 'cpu.cpu_s');
  const secs = num(j, 'cpu.seconds') ?? 0;
  if (cpuS === null || !pk) return null;
  return Math.max(0, (1000 * (cpuS - (idlePct / 100) * secs)) / pk);
}

function junkRow(n: number) {
  return (r: RunResult): Cell => {
    const v = junkCost(r, n);
    // /proc CPU ticks are 10 ms: with 250 packets the resolution is 0.04 ms per packet.
    return v === null ? none : cell(`${fix(v, 2)} ms`, v);
  };
}

function manyRec(r: RunResult): Rec | undefined {
  return r.records.find(phase('many'));
}

function burstRow(r: RunResult): Cell {
  const m = manyRec(r);
  if (!m) return none;
  const last = num(m, 'last_rule_ms');
  const cpu = num(m, 'install_cpu.self_pct');
  const ch = num(m, 'install_cpu.children_pct');
  return cell(
    `${String(m.installed)}/${String(m.n)} in ${fix(last === null ? null : last / 1000, 2)} s` +
      ` (${fix(num(m, 'rules_per_s'), 0)} grants/s; CPU ${fix(cpu, 0)} % + ${fix(ch, 0)} % children)`,
    last === null ? null : last / 1000,
  );
}

function burstExpiryRow(r: RunResult): Cell {
  const m = manyRec(r);
  if (!m) return none;
  const open = num(m, 'verify_after_sweep.ok');
  const tried = num(m, 'verify_after_sweep.tried');
  const after = num(m, 'verify_after_sweep.seconds_after_last_nominal_expiry');
  const removed = num(m, 'removed');
  const events = removed ? `; ${removed} removal events` : '';
  return cell(
    `${fix(open, 0)}/${fix(tried, 0)} sampled sources still open ${fix(after, 1)} s after the last nominal expiry${events}`,
    open,
  );
}

function fwdRow(label: (r: RunResult) => string) {
  return (r: RunResult): Cell => {
    const rs = sel(r, (x) => x.phase === 'fwd' && x.label === label(r));
    const v = nums(rs, 'result.udp64_rcvd_pps');
    return v.length ? cell(`${spread(v, 0)} pps`, median(v)) : none;
  };
}

function fwdRatioRow(r: RunResult): Cell {
  const n = manyRec(r)?.n;
  const many = median(nums(sel(r, (x) => x.phase === 'fwd' && x.label === `daemon_${String(n)}_grants_last`), 'result.udp64_rcvd_pps'));
  const one = median(nums(sel(r, (x) => x.phase === 'fwd' && x.label === 'daemon_1_grant'), 'result.udp64_rcvd_pps'));
  if (many === null || one === null) return none;
  return cell(`${fix(many / one, 2)} (${String(n)} live grants vs 1)`, many / one);
}

function idleRow(r: RunResult): Cell {
  const i = r.records.find(phase('idle_cpu'));
  if (!i) return none;
  return cell(
    `${fix(num(i, 'cpu.total_pct'), 2)} % of a core, ${fix(num(i, 'cpu.wakeups_per_s'), 1)} wakeups/s (${fix(num(i, 'cpu.seconds'), 0)} s)`,
    num(i, 'cpu.total_pct'),
  );
}

function memRow(r: RunResult): Cell {
  const l = r.records.find(phase('many_log'));
  const kb = num(l, 'vmhwm_kb');
  const anon = num(l, 'rss_anon_kb');
  const n = manyRec(r)?.n;
  const priv = anon === null ? '' : `, ${fix(anon / 1024, 1)} MB private (RssAnon) at the end`;
  return kb === null ? none : cell(`${fix(kb / 1024, 0)} MB peak RSS${priv} (${String(n)} grants, 1 stanza)`, kb / 1024);
}

function startupRow(n: number) {
  return (r: RunResult): Cell => {
    const s = r.records.find((x) => x.phase === 'startup' && x.stanzas === n);
    const v = num(s, 'startup_ms');
    return v === null ? none : cell(`${v} ms`, v);
  };
}

function rowsFor(spagate: RunResult | null, fwknopd: RunResult | null): Row[] {
  const any = [spagate, fwknopd].filter((x): x is RunResult => x !== null);
  const floods: [string, string][] = [];
  for (const r of any) {
    for (const f of sel(r, phase('flood'))) {
      const k: [string, string] = [String(f.mode), String(f.rate)];
      if (!floods.some(([m, x]) => m === k[0] && x === k[1])) floods.push(k);
    }
  }
  const manyN = any.map((r) => manyRec(r)?.n).find((n) => n !== undefined);
  const rows: Row[] = [
    { figure: 'SPA packet sent → first LAN→WAN TCP connect succeeds (FORWARD_ALL)', target: '≤ 15 ms', of: grantRow },
    { figure: 'expiry (FW_ACCESS_TIMEOUT 5 s)', target: 'never early; ≤ 1 s late (iptables), ≤ 50 ms (nftables)', of: expiryRow, ratio: 'none' },
    ...floods.map(([mode, rate]): Row => ({
      figure: `${mode === 'junk' ? 'junk' : 'wrong-HMAC'} flood at ${rate === 'max' ? 'max' : Number(rate).toLocaleString('en-US')} pps: legitimate packets granted, latency`,
      target: rate === 'max' ? '≥ 9 of 10, median ≤ 100 ms' : '10 of 10, median ≤ 100 ms',
      of: floodRow(mode, rate),
      ratio: 'none',
    })),
    { figure: 'grant latency, matching stanza is the 1st of 1', target: '–', of: stanzaLatencyRow(1) },
    { figure: 'grant latency, matching stanza is the last of 1,000', target: '≤ 2× the 1-stanza figure', of: stanzaLatencyRow(1000) },
    { figure: 'CPU per junk packet, 1 stanza', target: '–', of: junkRow(1) },
    { figure: 'CPU per junk packet, 1,000 stanzas', target: '≤ 1 ms', of: junkRow(1000) },
    { figure: 'startup, 1,000 stanzas', target: '–', of: startupRow(1000) },
    { figure: `${text(manyN, 'N')} grants sent as one burst: time until the last is installed`, target: '≤ 2 s (1,000); 10,000 ≤ 10 s', of: burstRow },
    { figure: `${text(manyN, 'N')} grants at expiry`, target: 'all removed within 2 s of their expiry', of: burstExpiryRow, ratio: 'none' },
    { figure: 'UDP 64-byte forwarding, static 1-rule reference (no daemon)', target: '–', of: fwdRow(() => 'static_1_rule'), ratio: 'none' },
    { figure: 'UDP 64-byte forwarding, 1 grant', target: '–', of: fwdRow(() => 'daemon_1_grant') },
    { figure: `UDP 64-byte forwarding, client granted last of ${text(manyN, 'N')}`, target: '–', of: fwdRow((r) => `daemon_${String(manyR(r))}_grants_last`) },
    { figure: 'UDP forwarding ratio, many live grants vs 1', target: '≥ 0.95 with 10,000 grants (nftables)', of: fwdRatioRow },
    { figure: 'idle CPU, no grants', target: '≤ 0.6 %', of: idleRow },
    { figure: 'peak resident memory during the burst', target: '≤ 200 MB with 10,000 grants, 1,000 stanzas', of: memRow },
  ];
  return rows;
}

function manyR(r: RunResult): string {
  return text(manyRec(r)?.n, 'N');
}

function ratioText(row: Row, s: Cell, f: Cell): string {
  if (row.ratio === 'none' || s.value === null || f.value === null || f.value === 0) return '';
  const q = s.value / f.value;
  return q >= 0.1 ? q.toFixed(2) : q.toPrecision(2);
}

const esc = (t: string) => t.replace(/\|/g, '\\|');

/** The Markdown table: one row per figure, both daemons side by side. */
export function sideBySide(spagate: RunResult | null, fwknopd: RunResult | null): string {
  const lines = [
    '| figure | fwknopd 2.6.10 | spagate | spagate ÷ fwknopd | target |',
    '|---|---|---|---|---|',
  ];
  for (const row of rowsFor(spagate, fwknopd)) {
    const s = spagate ? row.of(spagate) : none;
    const f = fwknopd ? row.of(fwknopd) : none;
    if (s === none && f === none) continue;
    lines.push(`| ${esc(row.figure)} | ${esc(f.text)} | ${esc(s.text)} | ${ratioText(row, s, f)} | ${esc(row.target)} |`);
  }
  return lines.join('\n');
}
