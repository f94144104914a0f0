/**
 * Pure builders for spagate's nftables table. The table holds a fixed set of base chains
 * with a fixed, small number of rules; every grant is a handful of elements in sets and
 * maps, each with its own kernel timeout, so access ends on time even when the daemon is
 * dead and the cost per packet does not grow with the number of grants.
 *
 * Grants get through a default-drop policy elsewhere (iptables' FORWARD DROP, another
 * table) by a packet mark: every accept here also sets `mark`, and the adapter keeps one
 * accept-the-mark rule in the iptables INPUT/FORWARD/OUTPUT chains (see nftables-gate.ts
 * and docs/firewall-nftables.md).
 *
 * Element text is canonical (numeric protocols, lower-case MACs, decimal ports) so the
 * same string identifies an element in a batch and in `nft -j -n` listings.
 */
import { FirewallError } from '../errors.js';
import { isIpv4 } from '../ipv4.js';
import type { GrantRules, Proto } from '../model.js';

export const DEFAULT_NFT_TABLE = 'spagate';
/** Default packet/connection mark bit of granted traffic. */
export const DEFAULT_NFT_MARK = 0x02000000;

/** Options of the table layout. */
export interface NftLayout {
  /** Table name in family `ip`. */
  table: string;
  /** Mark bit(s) set on granted packets (and connections when conntrackAccept). */
  mark: number;
  /** Accept ESTABLISHED,RELATED packets of connections a grant opened (ct mark). */
  conntrackAccept: boolean;
}

type ChainName = 'filter_input' | 'filter_forward' | 'filter_output' | 'nat_prerouting' | 'nat_postrouting';

/** How a set or map is declared and which rule of which chain reads it. */
interface SetSpec {
  readonly chain: ChainName;
  /** nft types of the key parts. */
  readonly type: readonly string[];
  /** The packet expression that forms the key. */
  readonly keyExpr: string;
  /** Data type for maps; null for sets. */
  readonly dataType: string | null;
  /** The rule text: `KEY` stands for the key expression, `SET` for `@name`. */
  readonly rule: string;
  /** Per-element packet/byte counters (filter sets: they count the grant's traffic). */
  readonly counter: boolean;
}

const IP = 'ipv4_addr';
const MAC = 'ether_addr';
const PROTO = 'inet_proto';
const SERVICE = 'inet_service';

const SRC = 'ip saddr';
const SRC_MAC = 'ip saddr . ether saddr';

function accessSpec(chain: ChainName, keyParts: string[], types: string[]): SetSpec {
  return { chain, type: types, keyExpr: keyParts.join(' . '), dataType: null, rule: 'accept', counter: true };
}

/**
 * Every set and map of the table, in rule order. Names say what they hold: `_m` variants
 * add the source MAC, `_d` variants the destination address (ENABLE_DESTINATION_RULE).
 */
export const NFT_SETS = {
  in4: accessSpec('filter_input', [SRC, 'meta l4proto', 'th dport'], [IP, PROTO, SERVICE]),
  in4_d: accessSpec('filter_input', [SRC, 'ip daddr', 'meta l4proto', 'th dport'], [IP, IP, PROTO, SERVICE]),
  in4_m: accessSpec('filter_input', [SRC_MAC, 'meta l4proto', 'th dport'], [IP, MAC, PROTO, SERVICE]),
  in4_md: accessSpec(
    'filter_input',
    [SRC_MAC, 'ip daddr', 'meta l4proto', 'th dport'],
    [IP, MAC, IP, PROTO, SERVICE],
  ),
  fwd_all: accessSpec('filter_forward', [SRC], [IP]),
  fwd_all_m: accessSpec('filter_forward', [SRC_MAC], [IP, MAC]),
  fwd_port: accessSpec('filter_forward', [SRC, 'meta l4proto', 'th dport'], [IP, PROTO, SERVICE]),
  fwd_port_m: accessSpec('filter_forward', [SRC_MAC, 'meta l4proto', 'th dport'], [IP, MAC, PROTO, SERVICE]),
  out4: accessSpec('filter_output', ['ip daddr', 'meta l4proto', 'th sport'], [IP, PROTO, SERVICE]),
  out4_d: accessSpec(
    'filter_output',
    ['ip daddr', 'ip saddr', 'meta l4proto', 'th sport'],
    [IP, IP, PROTO, SERVICE],
  ),
  dnat_port: natSpec(
    'nat_prerouting',
    [SRC, 'meta l4proto', 'th dport'],
    [IP, PROTO, SERVICE],
    `${IP} . ${SERVICE}`,
    'dnat ip addr . port to KEY map SET',
  ),
  dnat_port_d: natSpec(
    'nat_prerouting',
    [SRC, 'ip daddr', 'meta l4proto', 'th dport'],
    [IP, IP, PROTO, SERVICE],
    `${IP} . ${SERVICE}`,
    'dnat ip addr . port to KEY map SET',
  ),
  dnat_port_m: natSpec(
    'nat_prerouting',
    [SRC_MAC, 'meta l4proto', 'th dport'],
    [IP, MAC, PROTO, SERVICE],
    `${IP} . ${SERVICE}`,
    'dnat ip addr . port to KEY map SET',
  ),
  dnat_port_md: natSpec(
    'nat_prerouting',
    [SRC_MAC, 'ip daddr', 'meta l4proto', 'th dport'],
    [IP, MAC, IP, PROTO, SERVICE],
    `${IP} . ${SERVICE}`,
    'dnat ip addr . port to KEY map SET',
  ),
  dnat_all: natSpec('nat_prerouting', [SRC], [IP], IP, 'dnat to KEY map SET'),
  dnat_all_d: natSpec('nat_prerouting', [SRC, 'ip daddr'], [IP, IP], IP, 'dnat to KEY map SET'),
  dnat_all_m: natSpec('nat_prerouting', [SRC_MAC], [IP, MAC], IP, 'dnat to KEY map SET'),
  dnat_all_md: natSpec('nat_prerouting', [SRC_MAC, 'ip daddr'], [IP, MAC, IP], IP, 'dnat to KEY map SET'),
  snat_all: natSpec('nat_postrouting', [SRC], [IP], IP, 'snat to KEY map SET'),
  masq_all: natSpec('nat_postrouting', [SRC], [IP], null, 'KEY SET masquerade'),
  snat_flow: natSpec(
    'nat_postrouting',
    ['ip daddr', 'meta l4proto', 'th dport'],
    [IP, PROTO, SERVICE],
    IP,
    'snat to KEY map SET',
  ),
  masq_flow: natSpec(
    'nat_postrouting',
    ['ip daddr', 'meta l4proto', 'th dport'],
    [IP, PROTO, SERVICE],
    SERVICE,
    'meta l4proto { tcp, udp } masquerade to : KEY map SET',
  ),
} as const satisfies Record<string, SetSpec>;

export type NftSetName = keyof typeof NFT_SETS;
export const NFT_SET_NAMES = Object.keys(NFT_SETS) as NftSetName[];

function natSpec(
  chain: ChainName,
  keyParts: string[],
  types: string[],
  dataType: string | null,
  rule: string,
): SetSpec {
  return { chain, type: types, keyExpr: keyParts.join(' . '), dataType, rule, counter: false };
}

export function isCounterSet(name: NftSetName): boolean {
  return NFT_SETS[name].counter;
}

/** One element of a grant: which set, its key and (for maps) its data, as canonical nft text. */
export interface NftElement {
  readonly set: NftSetName;
  readonly key: string;
  readonly value: string | null;
}

/** Identifies an element across batches and listings. */
export function elementId(set: NftSetName, key: string): string {
  return `${set}|${key}`;
}

const PROTO_NUMBER: Record<Proto, number> = { tcp: 6, udp: 17 };
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const GRANT_ID = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,79}$/;
const TABLE_RE = /^[A-Za-z][A-Za-z0-9_]{0,30}$/;

export function isValidGrantId(id: string): boolean {
  return GRANT_ID.test(id);
}

export function checkTableName(name: string): string {
  if (!TABLE_RE.test(name))
    throw new FirewallError(`nftables table name ${JSON.stringify(name)} is not valid`);
  return name;
}

function ip(v: string, what: string): string {
  if (!isIpv4(v)) throw new FirewallError(`${what} ${JSON.stringify(v)} is not an IPv4 address`);
  return v;
}

function port(p: number, what: string): string {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new FirewallError(`${what} ${p} is not a port`);
  return String(p);
}

function proto(p: Proto): string {
  const n = PROTO_NUMBER[p];
  if (n === undefined) throw new FirewallError(`protocol ${JSON.stringify(p)} is not tcp or udp`);
  return String(n);
}

function mac(m: string): string {
  if (!MAC_RE.test(m))
    throw new FirewallError(`MAC ${JSON.stringify(m)} is not lower-case aa:bb:cc:dd:ee:ff`);
  return m;
}

function join(...parts: string[]): string {
  return parts.join(' . ');
}

/**
 * The elements a grant's rules become. Throws FirewallError for values that cannot be
 * written into the ruleset (so nothing malformed ever reaches nft). Duplicates collapse.
 */
export function grantElements(r: GrantRules): NftElement[] {
  const src = ip(r.src, 'source');
  const m = r.mac === null ? null : mac(r.mac);
  const dst = r.dst === null ? null : ip(r.dst, 'destination');
  const out: NftElement[] = [];
  const add = (set: NftSetName, key: string, value: string | null = null): void => {
    if (!out.some((e) => e.set === set && e.key === key)) out.push({ set, key, value });
  };
  // Source part and set-name suffix shared by the MAC/destination variants.
  const head = m === null ? src : join(src, m);
  const headDst = dst === null ? head : join(head, dst);
  const sfx = (base: string): string =>
    `${base}${m !== null || dst !== null ? '_' : ''}${m !== null ? 'm' : ''}${dst !== null ? 'd' : ''}`;

  for (const pp of r.input)
    add(sfx('in4') as NftSetName, join(headDst, proto(pp.proto), port(pp.port, 'input port')));
  if (r.output) {
    for (const pp of r.input) {
      add(
        dst === null ? 'out4' : 'out4_d',
        dst === null
          ? join(src, proto(pp.proto), port(pp.port, 'output port'))
          : join(src, dst, proto(pp.proto), port(pp.port, 'output port')),
      );
    }
  }
  if (r.forward) {
    if (r.forward.all) add(m === null ? 'fwd_all' : 'fwd_all_m', head);
    else
      add(
        m === null ? 'fwd_port' : 'fwd_port_m',
        join(head, proto(r.forward.proto), port(r.forward.port, 'forward port')),
      );
  }
  if (r.dnat) {
    if (r.dnat.all) add(sfx('dnat_all') as NftSetName, headDst, ip(r.dnat.toIp, 'DNAT address'));
    else {
      add(
        sfx('dnat_port') as NftSetName,
        join(headDst, proto(r.dnat.proto), port(r.dnat.port, 'DNAT port')),
        join(ip(r.dnat.toIp, 'DNAT address'), port(r.dnat.toPort, 'DNAT target port')),
      );
    }
  }
  const s = r.snat;
  if (s) {
    if (s.all && s.kind === 'SNAT') add('snat_all', src, ip(s.toSource, 'SNAT address'));
    else if (s.all) add('masq_all', src);
    else {
      const flow = join(ip(s.ip, 'SNAT flow address'), proto(s.proto), port(s.port, 'SNAT flow port'));
      if (s.kind === 'SNAT') add('snat_flow', flow, ip(s.toSource, 'SNAT address'));
      else add('masq_flow', flow, port(s.toPorts, 'MASQUERADE to-ports'));
    }
  }
  return out;
}

const EXP = '_exp_';
const OWNER = 'spagate:';

/** Element comment, like the iptables backend's: `_exp_<epoch seconds, rounded up> spagate:<id>`. */
export function elementComment(id: string, expiresAtMs: number): string {
  if (!isValidGrantId(id))
    throw new FirewallError(`grant id ${JSON.stringify(id)} cannot be written into an element comment`);
  return `${EXP}${Math.ceil(expiresAtMs / 1000)} ${OWNER}${id}`;
}

export function parseElementComment(c: string): { id: string; expiresAt: number } | null {
  const m = /^_exp_(\d{1,12}) spagate:(\S+)$/.exec(c);
  if (!m || !isValidGrantId(m[2])) return null;
  return { id: m[2], expiresAt: Number(m[1]) * 1000 };
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function checkMark(mark: number): string {
  if (!Number.isInteger(mark) || mark <= 0 || mark > 0xffffffff)
    throw new FirewallError(`mark ${mark} is not a non-zero 32-bit value`);
  return hex(mark);
}

const CHAINS: Record<ChainName, string> = {
  filter_input: 'type filter hook input priority filter - 10; policy accept;',
  filter_forward: 'type filter hook forward priority filter - 10; policy accept;',
  filter_output: 'type filter hook output priority filter - 10; policy accept;',
  nat_prerouting: 'type nat hook prerouting priority dstnat - 10; policy accept;',
  nat_postrouting: 'type nat hook postrouting priority srcnat - 10; policy accept;',
};

function ruleText(name: NftSetName, layout: NftLayout): string {
  const spec: SetSpec = NFT_SETS[name];
  if (spec.rule !== 'accept') return spec.rule.replace('KEY', spec.keyExpr).replace('SET', `@${name}`);
  const mark = checkMark(layout.mark);
  const ct = layout.conntrackAccept ? ` ct mark set ct mark | ${mark}` : '';
  return `${spec.keyExpr} @${name} meta mark set meta mark | ${mark}${ct} accept`;
}

/**
 * The table, its sets and chains, and the chains' rules. Sets are only ever added (an
 * existing set keeps its elements); chains are flushed and refilled, in one transaction.
 * With `flush`, the whole table is deleted first (the add-then-delete pair makes the
 * delete succeed when the table is absent).
 */
export function buildSetupScript(layout: NftLayout, flush: boolean): string {
  const t = `ip ${checkTableName(layout.table)}`;
  const mark = checkMark(layout.mark);
  const lines: string[] = [`add table ${t}`];
  if (flush) lines.push(`delete table ${t}`, `add table ${t}`);
  for (const name of NFT_SET_NAMES) {
    const spec: SetSpec = NFT_SETS[name];
    const kind = spec.dataType === null ? 'set' : 'map';
    const type = spec.type.join(' . ') + (spec.dataType === null ? '' : ` : ${spec.dataType}`);
    lines.push(`add ${kind} ${t} ${name} { type ${type}; flags timeout;${spec.counter ? ' counter;' : ''} }`);
  }
  for (const [chain, hook] of Object.entries(CHAINS) as [ChainName, string][]) {
    lines.push(`add chain ${t} ${chain} { ${hook} }`, `flush chain ${t} ${chain}`);
    for (const name of NFT_SET_NAMES)
      if (NFT_SETS[name].chain === chain) lines.push(`add rule ${t} ${chain} ${ruleText(name, layout)}`);
    // Replies and related packets of connections a grant opened (its ct mark), after the
    // set rules so that a grant's own packets are still counted by its elements.
    if (layout.conntrackAccept && chain.startsWith('filter_')) {
      lines.push(
        `add rule ${t} ${chain} ct state established,related ct mark & ${mark} == ${mark} meta mark set meta mark | ${mark} accept`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

export function buildTeardownScript(table: string): string {
  const t = `ip ${checkTableName(table)}`;
  return `add table ${t}\ndelete table ${t}\n`;
}

/** One element change of a batch. */
export type NftElementChange =
  | {
      kind: 'upsert';
      element: NftElement;
      comment: string;
      /** Milliseconds, > 0. */
      timeoutMs: number;
      /** The data the element may hold now (maps refuse an add with different data). */
      currentValue: string | null;
      /** Carried over from the element being replaced, so extension keeps the counts. */
      counter: { packets: number; bytes: number } | null;
    }
  | { kind: 'delete'; element: NftElement; currentValue: string | null };

function elem(key: string, value: string | null, extra = ''): string {
  return `{ ${key}${extra}${value === null ? '' : ` : ${value}`} }`;
}

/**
 * The transaction for a batch of element changes. Each change first adds the element in
 * whatever state it may be in (a no-op when present, a temporary element when the kernel
 * already expired it), then deletes it: so the delete never fails. An upsert then adds it
 * again with its new timeout and comment. Applied atomically: no packet sees the gap.
 */
export function buildElementScript(table: string, changes: readonly NftElementChange[]): string {
  const t = `ip ${checkTableName(table)}`;
  const lines: string[] = [];
  for (const c of changes) {
    const { set, key } = c.element;
    const isMap = NFT_SETS[set].dataType !== null;
    const current = isMap ? (c.currentValue ?? c.element.value) : null;
    lines.push(
      `add element ${t} ${set} ${elem(key, current)}`,
      `delete element ${t} ${set} ${elem(key, null)}`,
    );
    if (c.kind === 'upsert') {
      if (!Number.isInteger(c.timeoutMs) || c.timeoutMs <= 0)
        throw new FirewallError(`element timeout ${c.timeoutMs} ms is not positive`);
      const counter =
        c.counter && NFT_SETS[set].counter
          ? ` counter packets ${c.counter.packets} bytes ${c.counter.bytes}`
          : '';
      if (!/^[A-Za-z0-9 _.:@+-]+$/.test(c.comment))
        throw new FirewallError(`element comment ${JSON.stringify(c.comment)} is not safe`);
      lines.push(
        `add element ${t} ${set} ${elem(key, isMap ? c.element.value : null, `${counter} timeout ${c.timeoutMs}ms comment "${c.comment}"`)}`,
      );
    }
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}
