/**
 * DHCP lease files as a table of IPv4 leases: dnsmasq's lease file, ISC dhcpd's
 * dhcpd.leases and Kea's memfile CSV. The parsers never throw: a line or block they cannot
 * use is reported with its line number and a reason, and the rest of the file still counts.
 * Only leases that are in force are returned (ISC `binding state active`, Kea state 0);
 * released, freed and deleted ones are left out, so "absent" means "not leased".
 */
import { parseIpv4 } from './ipv4.js';

export type LeaseFormat = 'dnsmasq' | 'isc' | 'kea';

export const LEASE_FORMATS: readonly LeaseFormat[] = ['dnsmasq', 'isc', 'kea'];

export interface Lease {
  /** Dotted IPv4. */
  ip: string;
  /** Lower-case `aa:bb:cc:dd:ee:ff`. */
  mac: string;
  /** As the client sent it, control characters removed; null when none. Untrusted text. */
  hostname: string | null;
  /** Epoch ms; null for an infinite lease. */
  expiresAt: number | null;
}

export interface LeaseProblem {
  line: number;
  reason: string;
}

export interface LeaseParseResult {
  leases: Lease[];
  problems: LeaseProblem[];
}

const MAX_HOSTNAME = 255;

/** `aa:bb:cc:dd:ee:ff` (also `-` separated, any case) to lower-case colon form, or null. */
export function normalizeMac(s: string): string | null {
  const parts = s.trim().split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => /^[0-9A-Fa-f]{1,2}$/.test(p))) return null;
  return parts.map((p) => p.toLowerCase().padStart(2, '0')).join(':');
}

function cleanHostname(s: string): string | null {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what goes
  const t = s.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, MAX_HOSTNAME);
  return t === '' || t === '*' ? null : t;
}

function isCanonicalIpv4(s: string): boolean {
  return parseIpv4(s) !== null;
}

/** Last entry per address wins: every format appends newer state after older. */
function lastPerIp(leases: Lease[]): Lease[] {
  const m = new Map<string, Lease>();
  for (const l of leases) {
    m.delete(l.ip);
    m.set(l.ip, l);
  }
  return [...m.values()];
}

/** The table the policy reads: address to lease. */
export function leaseTable(leases: readonly Lease[]): Map<string, Lease> {
  return new Map(leases.map((l) => [l.ip, l]));
}

export function parseLeaseFile(format: LeaseFormat, text: string): LeaseParseResult {
  switch (format) {
    case 'dnsmasq':
      return parseDnsmasqLeases(text);
    case 'isc':
      return parseIscLeases(text);
    case 'kea':
      return parseKeaLeases(text);
  }
}

// ---------------------------------------------------------------------------------------
// dnsmasq: `<expiry epoch s> <mac> <ip> <hostname|*> <client-id|*>`, expiry 0 = infinite.
// DHCPv6 leases follow a `duid ...` line and carry an IPv6 address; they are skipped.

export function parseDnsmasqLeases(text: string): LeaseParseResult {
  const leases: Lease[] = [];
  const problems: LeaseProblem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) return;
    const f = t.split(/\s+/);
    if (f[0] === 'duid') return;
    if (f.length < 4) {
      problems.push({ line, reason: 'expected "<expiry> <mac> <ip> <hostname> [<client-id>]"' });
      return;
    }
    const [exp, hw, ip, host] = f;
    if (ip.includes(':')) return; // DHCPv6
    if (!/^\d{1,12}$/.test(exp)) {
      problems.push({ line, reason: `expiry '${exp.slice(0, 20)}' is not a Unix time` });
      return;
    }
    if (!isCanonicalIpv4(ip)) {
      problems.push({ line, reason: `'${ip.slice(0, 40)}' is not an IPv4 address` });
      return;
    }
    const mac = normalizeMac(hw);
    if (mac === null) {
      problems.push({ line, reason: `'${hw.slice(0, 60)}' is not an Ethernet MAC address` });
      return;
    }
    const e = Number(exp);
    leases.push({ ip, mac, hostname: cleanHostname(host), expiresAt: e === 0 ? null : e * 1000 });
  });
  return { leases: lastPerIp(leases), problems };
}

// ---------------------------------------------------------------------------------------
// Kea memfile CSV (lease4): a header names the columns; rows are appended as leases change,
// the last row of an address is its state. valid_lifetime 0 marks a deleted lease; state 0
// is an assigned lease (1 declined, 2 expired-reclaimed, 3 released).

function unescapeKea(s: string): string {
  return s.replace(/&#x([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export function parseKeaLeases(text: string): LeaseParseResult {
  const problems: LeaseProblem[] = [];
  const rows = text.split('\n');
  let header: string[] | null = null;
  let headerLine = 0;
  // Per address, the last row decides (a later deletion removes an earlier lease).
  const last = new Map<string, Lease | null>();
  rows.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.replace(/\r$/, '');
    if (t.trim() === '') return;
    const cols = t.split(',');
    if (header === null) {
      header = cols.map((c) => c.trim());
      headerLine = line;
      for (const need of ['address', 'hwaddr', 'expire']) {
        if (!header.includes(need)) problems.push({ line, reason: `header has no '${need}' column` });
      }
      return;
    }
    const h = header;
    const col = (name: string): string | undefined => {
      const k = h.indexOf(name);
      return k < 0 ? undefined : cols[k];
    };
    if (cols.length !== h.length) {
      problems.push({ line, reason: `${cols.length} columns where the header (line ${headerLine}) has ${h.length}` });
      return;
    }
    const ip = (col('address') ?? '').trim();
    if (!isCanonicalIpv4(ip)) {
      problems.push({ line, reason: `'${ip.slice(0, 40)}' is not an IPv4 address` });
      return;
    }
    const lifetime = col('valid_lifetime');
    const state = col('state');
    if ((lifetime !== undefined && lifetime.trim() === '0') || (state !== undefined && state.trim() !== '' && state.trim() !== '0')) {
      last.set(ip, null);
      return;
    }
    const hw = (col('hwaddr') ?? '').trim();
    const mac = normalizeMac(hw);
    if (mac === null) {
      problems.push({ line, reason: hw === '' ? 'no hardware address' : `'${hw.slice(0, 60)}' is not an Ethernet MAC address` });
      return;
    }
    const exp = (col('expire') ?? '').trim();
    if (!/^\d{1,12}$/.test(exp)) {
      problems.push({ line, reason: `expire '${exp.slice(0, 20)}' is not a Unix time` });
      return;
    }
    const host = col('hostname');
    last.delete(ip);
    last.set(ip, { ip, mac, hostname: host === undefined ? null : cleanHostname(unescapeKea(host)), expiresAt: Number(exp) * 1000 });
  });
  if (header === null && problems.length === 0 && text.trim() !== '') problems.push({ line: 1, reason: 'no header line' });
  const leases = [...last.values()].filter((l): l is Lease => l !== null);
  return { leases, problems };
}

// ---------------------------------------------------------------------------------------
// ISC dhcpd.leases: `lease <ip> { <statement>; ... }` blocks appended as state changes, with
// other top-level declarations (server-duid, failover, host, lease6/ia-na for DHCPv6) mixed
// in. Times are UTC `W YYYY/MM/DD HH:MM:SS`, `epoch <n>` (db-time-format local) or `never`.

interface Token {
  kind: 'word' | 'string' | 'punct';
  text: string;
  line: number;
}

function tokenize(text: string): { tokens: Token[]; error: LeaseProblem | null } {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ kind: 'punct', text: c, line });
      i++;
    } else if (c === '"') {
      const start = line;
      let s = '';
      i++;
      for (;;) {
        if (i >= text.length) return { tokens, error: { line: start, reason: 'unterminated string' } };
        const d = text[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\n') line++;
        if (d === '\\' && i + 1 < text.length) {
          const oct = /^[0-7]{3}/.exec(text.slice(i + 1, i + 4));
          if (oct) {
            s += String.fromCharCode(parseInt(oct[0], 8));
            i += 4;
          } else {
            s += text[i + 1];
            i += 2;
          }
          continue;
        }
        s += d;
        i++;
      }
      tokens.push({ kind: 'string', text: s, line: start });
    } else {
      let s = '';
      while (i < text.length && !/[\s{};"#]/.test(text[i])) s += text[i++];
      tokens.push({ kind: 'word', text: s, line });
    }
  }
  return { tokens, error: null };
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** UTC `YYYY/MM/DD` and `HH:MM:SS` to epoch ms, or null when not a real date and time. */
export function utcDateTimeMs(date: string, time: string): number | null {
  const dm = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(date);
  const tm = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(time);
  if (!dm || !tm) return null;
  const [y, mo, d] = [Number(dm[1]), Number(dm[2]), Number(dm[3])];
  const [h, mi, s] = [Number(tm[1]), Number(tm[2]), Number(tm[3])];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return null;
  const monthDays = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (d > monthDays[mo - 1]) return null;
  return ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60_000 + s * 1000;
}

/** The words of an `ends` statement to epoch ms, `null` for never, or a reason string. */
function iscTime(words: string[]): { at: number | null } | { bad: string } {
  if (words.length === 1 && words[0] === 'never') return { at: null };
  if (words.length === 2 && words[0] === 'epoch' && /^\d{1,12}$/.test(words[1])) return { at: Number(words[1]) * 1000 };
  if (words.length === 3 && /^[0-6]$/.test(words[0])) {
    const at = utcDateTimeMs(words[1], words[2]);
    if (at !== null) return { at };
  }
  return { bad: `'${words.join(' ').slice(0, 60)}' is not a lease time` };
}

interface Statement {
  words: Token[];
  block: Statement[] | null;
  line: number;
}

/** Statements up to the matching `}` (or the end); returns the index after it. */
function parseStatements(
  tokens: Token[],
  start: number,
  nested: boolean,
  problems: LeaseProblem[],
  truncated: boolean,
): { list: Statement[]; next: number; closed: boolean } {
  const list: Statement[] = [];
  let i = start;
  let words: Token[] = [];
  while (i < tokens.length) {
    const t = tokens[i];
    if (t.kind === 'punct' && t.text === ';') {
      if (words.length > 0) list.push({ words, block: null, line: words[0].line });
      words = [];
      i++;
    } else if (t.kind === 'punct' && t.text === '{') {
      const inner = parseStatements(tokens, i + 1, true, problems, truncated);
      // A block cut off by the end of the file is half a lease: leave it out.
      if (inner.closed) list.push({ words, block: inner.list, line: words[0]?.line ?? t.line });
      words = [];
      i = inner.next;
    } else if (t.kind === 'punct' && t.text === '}') {
      if (words.length > 0) problems.push({ line: words[0].line, reason: 'statement without ";" before "}"' });
      if (nested) return { list, next: i + 1, closed: true };
      problems.push({ line: t.line, reason: 'unexpected "}"' });
      words = [];
      i++;
    } else {
      words.push(t);
      i++;
    }
  }
  // After an unterminated string the tokenizer has already said what is wrong.
  if (!truncated) {
    if (nested) problems.push({ line: tokens[start - 1]?.line ?? 0, reason: 'block not closed with "}"' });
    else if (words.length > 0) problems.push({ line: words[0].line, reason: 'statement without ";" at end of file' });
  }
  return { list, next: i, closed: false };
}

export function parseIscLeases(text: string): LeaseParseResult {
  const problems: LeaseProblem[] = [];
  const { tokens, error } = tokenize(text);
  if (error) problems.push(error);
  const top = parseStatements(tokens, 0, false, problems, error !== null).list;
  const last = new Map<string, Lease | null>();
  for (const st of top) {
    if (st.block === null || st.words[0]?.text !== 'lease') continue;
    const ip = st.words[1]?.text ?? '';
    if (st.words.length !== 2 || !isCanonicalIpv4(ip)) {
      problems.push({ line: st.line, reason: `'lease ${ip.slice(0, 40)}' does not name one IPv4 address` });
      continue;
    }
    let state: string | null = null;
    let mac: string | null = null;
    let macText = '';
    let hostname: string | null = null;
    let ends: { at: number | null } | { bad: string } | null = null;
    for (const s of st.block) {
      const w = s.words.map((x) => x.text);
      if (w[0] === 'binding' && w[1] === 'state' && w.length === 3) state = w[2];
      else if (w[0] === 'hardware' && w.length === 3) {
        macText = w[2];
        mac = w[1] === 'ethernet' ? normalizeMac(w[2]) : null;
        if (w[1] !== 'ethernet') macText = `${w[1]} ${w[2]}`;
      } else if (w[0] === 'client-hostname' && s.words[1]?.kind === 'string') hostname = cleanHostname(s.words[1].text);
      else if (w[0] === 'ends') ends = iscTime(w.slice(1));
    }
    // A lease without a binding state comes from dhcpd before failover existed: in force.
    if (state !== null && state !== 'active') {
      last.delete(ip);
      last.set(ip, null);
      continue;
    }
    if (mac === null) {
      problems.push({ line: st.line, reason: macText === '' ? `lease ${ip} has no hardware address` : `lease ${ip}: '${macText.slice(0, 60)}' is not an Ethernet MAC address` });
      continue;
    }
    if (ends !== null && 'bad' in ends) {
      problems.push({ line: st.line, reason: `lease ${ip}: ends ${ends.bad}` });
      continue;
    }
    last.delete(ip);
    last.set(ip, { ip, mac, hostname, expiresAt: ends === null ? null : ends.at });
  }
  return { leases: [...last.values()].filter((l): l is Lease => l !== null), problems };
}
