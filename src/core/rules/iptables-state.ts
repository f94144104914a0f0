/**
 * Reading `iptables-save [-c]` output and planning changes against it. Everything here is
 * pure: the adapter lists the rules, hands the text in, and runs the planned
 * `iptables-restore` lines. Planning from the listed state (rather than from what we
 * believe we added) is what makes deletes exact after a restart, an extend, or an
 * operator's manual edit.
 */
import { FirewallError } from '../errors.js';
import {
  appendLine,
  CONNTRACK_COMMENT,
  conntrackAcceptRule,
  deleteChainLine,
  deleteLine,
  flushChainLine,
  insertLine,
  jumpRule,
  newChainLine,
  ownedChainSpecs,
  parseGrantComment,
  type IptChains,
  type IptRule,
  type RestoreLine,
} from './iptables.js';

/** A rule as listed, with its counters (0 when listed without `-c`). */
export interface SavedRule extends IptRule {
  readonly packets: number;
  readonly bytes: number;
}

/** One listing: the chains of every table and their rules, in order. */
export class IptablesState {
  private readonly chains = new Map<string, SavedRule[]>();

  private static key(table: string, chain: string): string {
    return `${table}\u0000${chain}`;
  }

  addChain(table: string, chain: string): void {
    const k = IptablesState.key(table, chain);
    if (!this.chains.has(k)) this.chains.set(k, []);
  }

  addRule(r: SavedRule): void {
    this.addChain(r.table, r.chain);
    this.chains.get(IptablesState.key(r.table, r.chain))!.push(r);
  }

  hasChain(table: string, chain: string): boolean {
    return this.chains.has(IptablesState.key(table, chain));
  }

  rules(table: string, chain: string): readonly SavedRule[] {
    return this.chains.get(IptablesState.key(table, chain)) ?? [];
  }
}

const BACKSLASH = 0x5c;
const QUOTE = 0x22;
/**
 * ASCII whitespace. iptables-restore itself splits on space, tab and newline only; iptables-save
 * prints no other blank outside quotes, so the wider set changes nothing it reads back.
 */
const isBlank = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/**
 * Splits one rule line the way iptables-restore does: blanks separate, double quotes group, `\`
 * escapes. Tokens are cut with slice, not built a character at a time: a string grown by `+=`
 * is a rope of one node per character, and 20,000 listed rules held that way took 30 MB.
 */
export function tokenizeRule(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let from = 0;
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < line.length) {
      cur += line.slice(from, i) + line[i + 1];
      from = ++i + 1;
      inToken = true;
    } else if (c === QUOTE) {
      cur += line.slice(from, i);
      from = i + 1;
      quoted = !quoted;
      inToken = true;
    } else if (!quoted && isBlank(c)) {
      if (inToken) out.push(cur + line.slice(from, i));
      cur = '';
      from = i + 1;
      inToken = false;
    } else {
      inToken = true;
    }
  }
  if (quoted) throw new FirewallError(`unbalanced quote in iptables-save line: ${line}`);
  if (inToken) out.push(cur + line.slice(from));
  return out;
}

/** Parses the whole of `iptables-save` (with or without `-c`). */
export function parseIptablesSave(text: string): IptablesState {
  const state = new IptablesState();
  let table: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      table = line.slice(1);
      continue;
    }
    if (line === 'COMMIT') {
      table = null;
      continue;
    }
    if (table === null) throw new FirewallError(`iptables-save line outside a table: ${line}`);
    if (line.startsWith(':')) {
      state.addChain(table, line.slice(1).split(/\s+/)[0]);
      continue;
    }
    let rest = line;
    let packets = 0;
    let bytes = 0;
    const counters = /^\[(\d+):(\d+)\]\s+/.exec(rest);
    if (counters) {
      packets = Number(counters[1]);
      bytes = Number(counters[2]);
      rest = rest.slice(counters[0].length);
    }
    const tokens = tokenizeRule(rest);
    if (tokens[0] !== '-A' || tokens.length < 2)
      throw new FirewallError(`unexpected iptables-save line: ${line}`);
    state.addRule({ table, chain: tokens[1], args: tokens.slice(2), packets, bytes });
  }
  return state;
}

/** The `--comment` value of a rule, or null. */
export function ruleComment(args: readonly string[]): string | null {
  const i = args.indexOf('--comment');
  return i >= 0 && i + 1 < args.length ? args[i + 1] : null;
}

/** A rule in one of our chains, classified. */
export interface OwnedRule extends SavedRule {
  /** Set when the comment is ours (`_exp_<s> spagate:<id>`). */
  readonly owner: { id: string; expiresAt: number } | null;
  readonly conntrack: boolean;
}

/** Every rule inside the owned chains (not the jumps into them). */
export function ownedRules(state: IptablesState, chains: IptChains): OwnedRule[] {
  const seen = new Set<string>();
  const out: OwnedRule[] = [];
  for (const spec of ownedChainSpecs(chains)) {
    const k = `${spec.table} ${spec.toChain}`;
    if (seen.has(k)) continue;
    seen.add(k);
    for (const r of state.rules(spec.table, spec.toChain)) {
      const c = ruleComment(r.args);
      out.push({ ...r, owner: c === null ? null : parseGrantComment(c), conntrack: c === CONNTRACK_COMMENT });
    }
  }
  return out;
}

/** Owned, tagged rules grouped by grant id, in listing order. */
export function rulesByGrant(state: IptablesState, chains: IptChains): Map<string, OwnedRule[]> {
  const m = new Map<string, OwnedRule[]>();
  for (const r of ownedRules(state, chains)) {
    if (!r.owner) continue;
    const list = m.get(r.owner.id);
    if (list) list.push(r);
    else m.set(r.owner.id, [r]);
  }
  return m;
}

function sameArgs(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** 12.3 step 2 / 12.9: remove every jump into an owned chain, then flush and delete the chains. */
export function planTeardown(state: IptablesState, chains: IptChains): RestoreLine[] {
  const jumps: RestoreLine[] = [];
  const drops: RestoreLine[] = [];
  const dropped = new Set<string>();
  for (const spec of ownedChainSpecs(chains)) {
    const jump = jumpRule(spec);
    for (const r of state.rules(spec.table, spec.fromChain))
      if (sameArgs(r.args, jump.args)) jumps.push(deleteLine(jump));
    const k = `${spec.table} ${spec.toChain}`;
    if (state.hasChain(spec.table, spec.toChain) && !dropped.has(k)) {
      dropped.add(k);
      drops.push(flushChainLine(spec.table, spec.toChain), deleteChainLine(spec.table, spec.toChain));
    }
  }
  return [...jumps, ...drops];
}

/**
 * 12.3 step 3, idempotent: create missing owned chains, insert missing jumps at their
 * configured position (clamped to the chain's length), and keep the conntrack accept at
 * the top of the FORWARD chain when wanted (or remove it when not).
 */
export function planSetup(
  state: IptablesState,
  chains: IptChains,
  opts: { conntrackAccept: boolean },
): RestoreLine[] {
  const lines: RestoreLine[] = [];
  const declared = new Set<string>();
  const lengths = new Map<string, number>();
  for (const spec of ownedChainSpecs(chains)) {
    const k = `${spec.table} ${spec.toChain}`;
    if (!state.hasChain(spec.table, spec.toChain) && !declared.has(k)) {
      declared.add(k);
      lines.push(newChainLine(spec.table, spec.toChain));
    }
    const jump = jumpRule(spec);
    const from = state.rules(spec.table, spec.fromChain);
    if (from.some((r) => sameArgs(r.args, jump.args))) continue;
    const fk = `${spec.table} ${spec.fromChain}`;
    const len = lengths.get(fk) ?? from.length;
    lines.push(insertLine(jump, Math.max(1, Math.min(spec.jumpPosition, len + 1))));
    lengths.set(fk, len + 1);
  }
  const fwd = chains.forward;
  if (fwd) {
    const ct = conntrackAcceptRule(fwd);
    const present = state
      .rules(fwd.table, fwd.toChain)
      .filter((r) => ruleComment(r.args) === ruleComment(ct.args));
    if (opts.conntrackAccept && present.length === 0) lines.push(insertLine(ct, 1));
    if (!opts.conntrackAccept) for (const r of present) lines.push(deleteLine(r));
  }
  return lines;
}

/** True when, after planSetup, the FORWARD chain starts with the conntrack accept (prepends go below it). */
export function conntrackOnTop(state: IptablesState, chains: IptChains, conntrackAccept: boolean): boolean {
  const fwd = chains.forward;
  if (!fwd || !conntrackAccept) return false;
  const rules = state.rules(fwd.table, fwd.toChain);
  const isCt = (r: IptRule): boolean => ruleComment(r.args) === ruleComment(conntrackAcceptRule(fwd).args);
  return rules.length === 0 || !rules.some(isCt) || isCt(rules[0]);
}

export type GrantChange =
  { kind: 'install'; id: string; rules: readonly IptRule[] } | { kind: 'remove'; id: string };

/**
 * Lines that apply the changes in order against the listed state: every install first
 * deletes whatever the id has (as listed, or as added earlier in the same batch), then
 * adds its rules; a remove deletes what the id has. So an extend is one transaction
 * without a gap or a duplicate, and removing an absent id is a no-op.
 */
export function planGrantChanges(
  state: IptablesState,
  chains: IptChains,
  changes: readonly GrantChange[],
  opts: { prepend: boolean; conntrackOnTop: boolean },
): RestoreLine[] {
  return planGrantChangesOnto(new Map(rulesByGrant(state, chains)), chains, changes, opts);
}

/**
 * planGrantChanges against a map of each grant's rules (from a listing, or kept since one),
 * which it updates to what the lines leave in place. Counters are carried only from listed
 * rules (SavedRule); rules kept since a listing have none.
 */
export function planGrantChangesOnto(
  current: Map<string, readonly IptRule[]>,
  chains: IptChains,
  changes: readonly GrantChange[],
  opts: { prepend: boolean; conntrackOnTop: boolean },
): RestoreLine[] {
  const lines: RestoreLine[] = [];
  const fwd = chains.forward;
  for (const ch of changes) {
    const old = current.get(ch.id) ?? [];
    for (const r of old) lines.push(deleteLine(r));
    if (ch.kind === 'remove') {
      current.delete(ch.id);
      continue;
    }
    const carried = carriedCounters(old, ch.rules);
    ch.rules.forEach((r, i) => {
      let line: RestoreLine;
      if (!opts.prepend) line = appendLine(r);
      else {
        const belowCt =
          opts.conntrackOnTop && fwd !== null && r.table === fwd.table && r.chain === fwd.toChain;
        line = insertLine(r, belowCt ? 2 : 1);
      }
      const c = carried[i];
      lines.push(c ? { table: line.table, text: `${line.text} -c ${c.packets} ${c.bytes}` } : line);
    });
    current.set(ch.id, ch.rules);
  }
  return lines;
}

/**
 * A re-installed grant (re-knock extension) gets new rules that differ from the old ones
 * only in their `_exp_` comment: give each new rule the counts of the old rule at the same
 * place in the same chain, so the grant's packet and byte counts do not drop to zero.
 * Listed and built arguments are spelt differently (`/32`), hence matching by position;
 * when a chain's rule count changed, nothing is carried for that chain.
 */
function carriedCounters(
  old: readonly IptRule[],
  fresh: readonly IptRule[],
): ({ packets: number; bytes: number } | null)[] {
  const where = (r: IptRule): string => `${r.table}\u0000${r.chain}`;
  const oldBy = new Map<string, IptRule[]>();
  for (const r of old) oldBy.set(where(r), [...(oldBy.get(where(r)) ?? []), r]);
  const freshCount = new Map<string, number>();
  for (const r of fresh) freshCount.set(where(r), (freshCount.get(where(r)) ?? 0) + 1);
  const seen = new Map<string, number>();
  return fresh.map((r) => {
    const k = where(r);
    const i = seen.get(k) ?? 0;
    seen.set(k, i + 1);
    const list = oldBy.get(k) ?? [];
    if (list.length !== freshCount.get(k)) return null;
    const o = list[i] as Partial<SavedRule>;
    const packets = o.packets ?? 0;
    const bytes = o.bytes ?? 0;
    return packets > 0 || bytes > 0 ? { packets, bytes } : null;
  });
}

/** Deletes every rule in the owned chains that is neither the conntrack accept nor tagged with a kept id. */
export function planOrphanRemoval(
  state: IptablesState,
  chains: IptChains,
  keep: ReadonlySet<string>,
  opts: { conntrackAccept: boolean },
): { lines: RestoreLine[]; ids: string[]; untagged: number } {
  const lines: RestoreLine[] = [];
  const ids = new Set<string>();
  let untagged = 0;
  for (const r of ownedRules(state, chains)) {
    if (r.conntrack && opts.conntrackAccept) continue;
    if (r.owner && keep.has(r.owner.id)) continue;
    if (r.owner) ids.add(r.owner.id);
    else untagged += 1;
    lines.push(deleteLine(r));
  }
  return { lines, ids: [...ids], untagged };
}
