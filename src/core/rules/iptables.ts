/**
 * Pure builders for fwknopd's iptables layout (spec 12.2-12.4): the rules of a grant,
 * the jumps into the owned chains, the conntrack accept and the probe rule, and the
 * `iptables-restore` text they become. Add and delete share these builders: a rule is
 * `{ table, chain, args }` without `-A`/`-D`/`-I`, and only rendering picks the verb.
 */
import type { ChainSpec, ServerConfig } from '../config-model.js';
import { FirewallError } from '../errors.js';
import { isIpv4 } from '../ipv4.js';
import type { GrantRules, Proto } from '../model.js';

/** The configured chains (null = not configured), as ServerConfig holds them. */
export type IptChains = ServerConfig['chains'];
export type ChainRole = keyof IptChains;

/** One rule: the table, the chain it lives in, and the match/target arguments. */
export interface IptRule {
  readonly table: string;
  readonly chain: string;
  readonly args: readonly string[];
}

/** fwknop's expiry marker (fw_util.h EXPIRE_COMMENT_PREFIX): `_exp_<epoch seconds>`. */
export const EXPIRE_COMMENT_PREFIX = '_exp_';
/** Follows the expiry in our comments, separated by one blank: `spagate:<grant id>`. */
export const OWNER_TAG_PREFIX = 'spagate:';
/** Comment of the ESTABLISHED,RELATED accept at the top of the FORWARD chain. */
export const CONNTRACK_COMMENT = 'spagate-conntrack';
/** Comment of the start-up probe rule (fwknopd's ENABLE_IPT_COMMENT_CHECK). */
export const PROBE_COMMENT = '__TMPCOMMENT__';

/** Mac matching is only valid where packets still carry their Ethernet source. */
const MAC_HOOKS = new Set(['PREROUTING', 'INPUT', 'FORWARD']);
const PROTO_NUMBER: Record<Proto, string> = { tcp: '6', udp: '17' };
const GRANT_ID = /^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const CHAIN_NAME = /^[A-Za-z0-9_-]{1,28}$/;
const ANY_DST = '0.0.0.0/0';

/** Epoch seconds written into `_exp_`: rounded up, so a rule never expires early. */
export function expirySeconds(expiresAtMs: number): number {
  return Math.ceil(expiresAtMs / 1000);
}

export function isValidGrantId(id: string): boolean {
  return GRANT_ID.test(id);
}

/** `_exp_<seconds> spagate:<id>`: fwknopd's tools read the digits up to the blank. */
export function grantComment(id: string, expiresAtMs: number): string {
  if (!isValidGrantId(id))
    throw new FirewallError(`grant id ${JSON.stringify(id)} cannot be written into a rule comment`);
  return `${EXPIRE_COMMENT_PREFIX}${expirySeconds(expiresAtMs)} ${OWNER_TAG_PREFIX}${id}`;
}

/** The owner and expiry (epoch ms) of one of our comments, or null for any other comment. */
export function parseGrantComment(comment: string): { id: string; expiresAt: number } | null {
  const m = /^_exp_(\d{1,12}) spagate:(\S+)$/.exec(comment);
  if (!m || !isValidGrantId(m[2])) return null;
  return { id: m[2], expiresAt: Number(m[1]) * 1000 };
}

function need(chains: IptChains, role: ChainRole, what: string): ChainSpec {
  const spec = chains[role];
  if (!spec) throw new FirewallError(`${what} needs the ${role} chain, which is not configured`);
  return spec;
}

function checkIp(ip: string, what: string): string {
  if (!isIpv4(ip)) throw new FirewallError(`${what} ${JSON.stringify(ip)} is not an IPv4 address`);
  return ip;
}

function checkPort(port: number, what: string): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new FirewallError(`${what} ${port} is not a port`);
  return String(port);
}

function checkSpec(spec: ChainSpec): void {
  for (const name of [spec.table, spec.fromChain, spec.toChain, spec.target]) {
    if (!CHAIN_NAME.test(name))
      throw new FirewallError(`chain setting ${JSON.stringify(name)} is not a valid iptables name`);
  }
}

/**
 * The rules of one grant in fwknopd's order (input [+output] per proto/port, then
 * forward, DNAT, SNAT/MASQUERADE) and shapes (spec 12.4), each tagged with
 * `-m comment --comment "_exp_<s> spagate:<id>"`. With `rules.mac`, rules in chains
 * reached from PREROUTING, INPUT or FORWARD also match `-m mac --mac-source`.
 * Throws FirewallError when a rule needs a chain that is not configured or a value is malformed.
 */
export function buildGrantRules(
  id: string,
  rules: GrantRules,
  expiresAt: number,
  chains: IptChains,
): IptRule[] {
  const comment = ['-m', 'comment', '--comment', grantComment(id, expiresAt)];
  const src = checkIp(rules.src, 'source');
  const dst = rules.dst === null ? ANY_DST : checkIp(rules.dst, 'destination');
  if (rules.mac !== null && !MAC.test(rules.mac))
    throw new FirewallError(`MAC ${JSON.stringify(rules.mac)} is malformed`);
  const out: IptRule[] = [];
  const push = (spec: ChainSpec, match: string[], targetArgs: string[] = []): void => {
    checkSpec(spec);
    const mac =
      rules.mac !== null && MAC_HOOKS.has(spec.fromChain) ? ['-m', 'mac', '--mac-source', rules.mac] : [];
    out.push({
      table: spec.table,
      chain: spec.toChain,
      args: [...match, ...mac, ...comment, '-j', spec.target, ...targetArgs],
    });
  };

  for (const pp of rules.input) {
    const port = checkPort(pp.port, 'port');
    push(need(chains, 'input', 'an access rule'), [
      '-p',
      PROTO_NUMBER[pp.proto],
      '-s',
      src,
      '-d',
      dst,
      '--dport',
      port,
    ]);
    if (rules.output) {
      push(need(chains, 'output', 'an OUTPUT rule'), [
        '-p',
        PROTO_NUMBER[pp.proto],
        '-d',
        src,
        '-s',
        dst,
        '--sport',
        port,
      ]);
    }
  }
  const fwd = rules.forward;
  if (fwd) {
    const spec = need(chains, 'forward', 'a forward rule');
    if (fwd.all) push(spec, ['-s', src]);
    else
      push(spec, ['-p', PROTO_NUMBER[fwd.proto], '-s', src, '--dport', checkPort(fwd.port, 'forward port')]);
  }
  const dnat = rules.dnat;
  if (dnat) {
    const spec = need(chains, 'dnat', 'a DNAT rule');
    const toIp = checkIp(dnat.toIp, 'DNAT address');
    if (dnat.all) push(spec, ['-s', src, '-d', dst], ['--to-destination', toIp]);
    else {
      const match = [
        '-p',
        PROTO_NUMBER[dnat.proto],
        '-s',
        src,
        '-d',
        dst,
        '--dport',
        checkPort(dnat.port, 'DNAT port'),
      ];
      push(spec, match, ['--to-destination', `${toIp}:${checkPort(dnat.toPort, 'DNAT port')}`]);
    }
  }
  const snat = rules.snat;
  if (snat) {
    const spec =
      snat.kind === 'SNAT'
        ? need(chains, 'snat', 'an SNAT rule')
        : need(chains, 'masquerade', 'a MASQUERADE rule');
    const targetArgs =
      snat.kind === 'SNAT'
        ? ['--to-source', checkIp(snat.toSource, 'SNAT address')]
        : snat.all
          ? []
          : ['--to-ports', checkPort(snat.toPorts, 'MASQUERADE port')];
    if (snat.all) push(spec, ['-s', src], targetArgs);
    else
      push(
        spec,
        [
          '-p',
          PROTO_NUMBER[snat.proto],
          '-d',
          checkIp(snat.ip, 'SNAT match address'),
          '--dport',
          checkPort(snat.port, 'SNAT port'),
        ],
        targetArgs,
      );
  }
  return out;
}

/** Configured chain specs, without repeats of the same owned chain. */
export function ownedChainSpecs(chains: IptChains): ChainSpec[] {
  const seen = new Set<string>();
  const out: ChainSpec[] = [];
  for (const spec of [
    chains.input,
    chains.output,
    chains.forward,
    chains.dnat,
    chains.snat,
    chains.masquerade,
  ]) {
    if (!spec) continue;
    checkSpec(spec);
    const key = `${spec.table} ${spec.fromChain} ${spec.toChain}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(spec);
  }
  return out;
}

/** The jump from the built-in chain into an owned chain (`-t T -I FROM <pos> -j TO`). */
export function jumpRule(spec: ChainSpec): IptRule {
  return { table: spec.table, chain: spec.fromChain, args: ['-j', spec.toChain] };
}

/** Lets return traffic of granted flows through a default-drop FORWARD policy. */
export function conntrackAcceptRule(forward: ChainSpec): IptRule {
  return {
    table: forward.table,
    chain: forward.toChain,
    args: [
      '-m',
      'conntrack',
      '--ctstate',
      'ESTABLISHED,RELATED',
      '-m',
      'comment',
      '--comment',
      CONNTRACK_COMMENT,
      '-j',
      'ACCEPT',
    ],
  };
}

/** fwknopd's comment-match probe (12.3 step 4), placed in our own INPUT chain rather than the built-in one. */
export function commentProbeRule(input: ChainSpec): IptRule {
  return {
    table: input.table,
    chain: input.toChain,
    args: ['-s', '127.0.0.2', '-p', '17', '-m', 'comment', '--comment', PROBE_COMMENT, '-j', input.target],
  };
}

/** One line of `iptables-restore` input, bound to its table. */
export interface RestoreLine {
  readonly table: string;
  readonly text: string;
}

/** Quotes an argument for iptables-restore's tokenizer (blanks need double quotes). */
export function quoteArg(a: string): string {
  if (/["\\\n\r]/.test(a))
    throw new FirewallError(`argument ${JSON.stringify(a)} cannot be passed to iptables-restore`);
  return a === '' || /\s/.test(a) ? `"${a}"` : a;
}

export function appendLine(r: IptRule): RestoreLine {
  return { table: r.table, text: ['-A', r.chain, ...r.args].map(quoteArg).join(' ') };
}

export function insertLine(r: IptRule, position: number): RestoreLine {
  return { table: r.table, text: ['-I', r.chain, String(position), ...r.args].map(quoteArg).join(' ') };
}

export function deleteLine(r: IptRule): RestoreLine {
  return { table: r.table, text: ['-D', r.chain, ...r.args].map(quoteArg).join(' ') };
}

export function newChainLine(table: string, chain: string): RestoreLine {
  return { table, text: `:${chain} - [0:0]` };
}

export function flushChainLine(table: string, chain: string): RestoreLine {
  return { table, text: `-F ${chain}` };
}

export function deleteChainLine(table: string, chain: string): RestoreLine {
  return { table, text: `-X ${chain}` };
}

/**
 * `iptables-restore --noflush` input: one section per table, chain declarations first,
 * then the lines in the order given. Each table commits as a unit.
 */
export function renderRestore(lines: readonly RestoreLine[]): string {
  const tables = new Map<string, { decl: string[]; body: string[] }>();
  for (const l of lines) {
    let t = tables.get(l.table);
    if (!t) tables.set(l.table, (t = { decl: [], body: [] }));
    (l.text.startsWith(':') ? t.decl : t.body).push(l.text);
  }
  let s = '';
  for (const [table, t] of tables)
    s += `*${table}\n${[...t.decl, ...t.body].map((x) => `${x}\n`).join('')}COMMIT\n`;
  return s;
}
