import { CommandError, FirewallError } from '../core/errors.js';
import type { Grant, GrantCounters } from '../core/model.js';
import type { Firewall, InstalledGrant, Logger } from '../core/ports.js';
import {
  appendLine,
  buildGrantRules,
  commentProbeRule,
  deleteLine,
  PROBE_COMMENT,
  renderRestore,
  type IptChains,
  type IptRule,
  type RestoreLine,
} from '../core/rules/iptables.js';
import {
  conntrackOnTop,
  ownedRules,
  parseIptablesSave,
  planGrantChangesOnto,
  planOrphanRemoval,
  planSetup,
  planTeardown,
  ruleComment,
  rulesByGrant,
  type GrantChange,
  type IptablesState,
  type OwnedRule,
} from '../core/rules/iptables-state.js';
import type { CommandRunner } from './command-runner.js';

export interface IptablesFirewallOptions {
  chains: IptChains;
  /** FIREWALL_EXE; `<exe>-restore` and `<exe>-save` beside it do the work unless given. */
  iptables: string;
  runner: CommandRunner;
  logger: Logger;
  /** ENABLE_RULE_PREPEND: insert grant rules at the top of their chain instead of appending. */
  rulePrepend: boolean;
  /** Keep `-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT` at the top of the FORWARD chain. */
  conntrackAccept: boolean;
  /** ENABLE_IPT_COMMENT_CHECK (default true). */
  commentCheck?: boolean;
  restoreExe?: string;
  saveExe?: string;
  /** Per command; default 30 s. */
  timeoutMs?: number;
}

interface PendingOp {
  changes: GrantChange[];
  ids: string[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * How long the rules known from the last listing are trusted for new grants and removals.
 * Listing and parsing 20,000 rules took most of a batch's time with 10,000 grants live; a
 * listing at least this often still puts back jumps someone deleted by hand.
 */
const KNOWN_RULES_TTL_MS = 10_000;

/**
 * fwknopd's iptables layout driven through `iptables-save` and `iptables-restore --noflush`.
 * Calls run one at a time; install/remove calls that arrive while a restore runs are merged
 * into the next restore, and if a merged restore fails each call is retried on its own so
 * only the bad one fails. A restore commits table by table, so when one fails half-way the
 * touched grants are put back to their listed state before the error is thrown.
 *
 * A batch of new grants and removals is planned from the rules known since the last listing
 * (kept up to date by each restore) instead of listing again; a re-install (an extension)
 * lists, with counters, so the grant's counts carry over. If such a batch fails, what it
 * committed is undone and it runs again from a fresh listing.
 */
export class IptablesFirewall implements Firewall {
  readonly backend = 'iptables' as const;
  private readonly restoreExe: string;
  private readonly saveExe: string;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private tail: Promise<unknown> = Promise.resolve();
  private pending: PendingOp[] = [];
  private drainQueued = false;
  private started = false;
  /** Restores run so far (for tests and metrics). */
  restores = 0;
  /** Each grant's rules as of the last listing and the restores since; null: list first. */
  private known: Map<string, readonly IptRule[]> | null = null;
  private knownAt = 0;
  private knownCtOnTop = false;

  constructor(private readonly opts: IptablesFirewallOptions) {
    this.restoreExe = opts.restoreExe ?? `${opts.iptables}-restore`;
    this.saveExe = opts.saveExe ?? `${opts.iptables}-save`;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.log = opts.logger;
  }

  start(o: { flush: boolean }): Promise<void> {
    return this.serial(async () => {
      this.known = null;
      if (o.flush) await this.teardown();
      const lines = planSetup(await this.list(), this.opts.chains, {
        conntrackAccept: this.opts.conntrackAccept,
      });
      if (lines.length > 0) await this.restore(lines, 'create chains and jumps');
      if (this.opts.commentCheck ?? true) await this.checkCommentMatch();
      this.started = true;
      this.log.info({ flush: o.flush, created: lines.length }, 'iptables chains ready');
    });
  }

  stop(o: { flush: boolean }): Promise<void> {
    return this.serial(async () => {
      this.started = false;
      this.known = null;
      if (o.flush) await this.teardown();
    });
  }

  install(grants: readonly Grant[]): Promise<void> {
    let changes: GrantChange[];
    try {
      this.needStarted();
      changes = grants.map((g) => ({
        kind: 'install',
        id: g.id,
        rules: buildGrantRules(g.id, g.rules, g.expiresAt, this.opts.chains),
      }));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new FirewallError(String(e)));
    }
    return this.enqueue(changes);
  }

  remove(grants: readonly Grant[]): Promise<void> {
    if (!this.started) return Promise.reject(notStarted());
    return this.enqueue(grants.map((g) => ({ kind: 'remove', id: g.id })));
  }

  listInstalled(): Promise<InstalledGrant[]> {
    return this.serial(async () => {
      const out: InstalledGrant[] = [];
      for (const [id, rules] of rulesByGrant(await this.list(), this.opts.chains)) {
        out.push({ id, expiresAt: Math.min(...rules.map((r) => r.owner!.expiresAt)) });
      }
      return out;
    });
  }

  removeOrphans(keep: ReadonlySet<string>): Promise<string[]> {
    return this.serial(async () => {
      this.needStarted();
      this.known = null;
      const plan = planOrphanRemoval(await this.list(), this.opts.chains, keep, {
        conntrackAccept: this.opts.conntrackAccept,
      });
      if (plan.lines.length > 0) await this.restore(plan.lines, 'remove orphan rules');
      if (plan.untagged > 0)
        this.log.warn(
          { rules: plan.untagged },
          'removed rules without a spagate owner tag from owned chains',
        );
      return plan.ids;
    });
  }

  counters(): Promise<Map<string, GrantCounters>> {
    return this.serial(async () => {
      const m = new Map<string, GrantCounters>();
      for (const [id, rules] of rulesByGrant(await this.list(true), this.opts.chains)) {
        m.set(id, {
          packets: rules.reduce((s, r) => s + r.packets, 0),
          bytes: rules.reduce((s, r) => s + r.bytes, 0),
        });
      }
      return m;
    });
  }

  /** Like fwknopd, changes need start() first: it creates the chains and checks the comment match. */
  private needStarted(): void {
    if (!this.started) throw notStarted();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private enqueue(changes: GrantChange[]): Promise<void> {
    if (changes.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ changes, ids: changes.map((c) => c.id), resolve, reject });
      if (this.drainQueued) return;
      this.drainQueued = true;
      void this.serial(() => this.drain());
    });
  }

  private async drain(): Promise<void> {
    this.drainQueued = false;
    const ops = this.pending;
    this.pending = [];
    try {
      await this.applyChanges(ops.flatMap((o) => o.changes));
      for (const o of ops) o.resolve();
      return;
    } catch (e) {
      if (ops.length === 1) {
        ops[0].reject(e);
        return;
      }
      this.log.warn(
        { calls: ops.length, err: errText(e) },
        'merged iptables batch failed; applying calls one by one',
      );
    }
    for (const o of ops) {
      try {
        await this.applyChanges(o.changes);
        o.resolve();
      } catch (e) {
        o.reject(e);
      }
    }
  }

  private async applyChanges(changes: readonly GrantChange[]): Promise<void> {
    const known = this.known;
    const fresh = known !== null && performance.now() - this.knownAt < KNOWN_RULES_TTL_MS;
    if (fresh && changes.every((c) => c.kind === 'remove' || !known.has(c.id))) {
      const ids = [...new Set(changes.map((c) => c.id))];
      const was = ids.flatMap((id) => known.get(id) ?? []);
      try {
        await this.plannedRestore(known, changes, this.knownCtOnTop, [], ids);
        return;
      } catch (e) {
        this.known = null;
        this.log.debug({ err: errText(e) }, 'batch from known rules failed; undoing it and listing');
        await this.repair(was, ids);
      }
    }
    // With counters, so a re-installed grant's rules keep their counts (planGrantChanges).
    const state = await this.list(true);
    const { chains, conntrackAccept } = this.opts;
    const ct = conntrackOnTop(state, chains, conntrackAccept);
    const current = new Map<string, readonly IptRule[]>(rulesByGrant(state, chains));
    const ids = [...new Set(changes.map((c) => c.id))];
    const was = ids.flatMap((id) => current.get(id) ?? []);
    this.known = null;
    try {
      await this.plannedRestore(current, changes, ct, planSetup(state, chains, { conntrackAccept }), ids);
    } catch (e) {
      await this.repair(was, ids);
      throw e;
    }
    this.known = current;
    this.knownAt = performance.now();
    this.knownCtOnTop = ct;
  }

  /** Plans `changes` onto `current` (which then holds what the restore leaves) and restores. */
  private async plannedRestore(
    current: Map<string, readonly IptRule[]>,
    changes: readonly GrantChange[],
    ctOnTop: boolean,
    setup: RestoreLine[],
    ids: readonly string[],
  ): Promise<void> {
    const lines = [
      ...setup,
      ...planGrantChangesOnto(current, this.opts.chains, changes, {
        prepend: this.opts.rulePrepend,
        conntrackOnTop: ctOnTop,
      }),
    ];
    if (lines.length === 0) return;
    await this.restore(
      lines,
      `grants ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}`,
    );
  }

  /**
   * Puts the given grants' rules back as they were before a failed restore (`was`; tables
   * commit separately, so a restore can fail half-way).
   */
  private async repair(was: readonly IptRule[], ids: readonly string[]): Promise<void> {
    const wanted = new Set(ids);
    const key = (r: IptRule): string => `${r.table} ${r.chain} ${r.args.join(' ')}`;
    let now: OwnedRule[];
    try {
      now = ownedRules(await this.list(), this.opts.chains).filter((r) => r.owner && wanted.has(r.owner.id));
    } catch (e) {
      this.log.error({ err: errText(e) }, 'could not list rules to undo a partly applied iptables batch');
      return;
    }
    const wasKeys = new Set(was.map(key));
    const nowKeys = new Set(now.map(key));
    const lines: RestoreLine[] = [
      ...now.filter((r) => !wasKeys.has(key(r))).map(deleteLine),
      ...was.filter((r) => !nowKeys.has(key(r))).map(appendLine),
    ];
    if (lines.length === 0) return;
    try {
      await this.restore(lines, 'undo a partly applied batch');
      this.log.warn({ grants: ids.length, lines: lines.length }, 'undid a partly applied iptables batch');
    } catch (e) {
      this.log.error(
        { err: errText(e) },
        'could not undo a partly applied iptables batch; run removeOrphans or restart',
      );
    }
  }

  private async teardown(): Promise<void> {
    const lines = planTeardown(await this.list(), this.opts.chains);
    if (lines.length > 0) await this.restore(lines, 'remove chains and jumps');
  }

  private async checkCommentMatch(): Promise<void> {
    const probe = commentProbeRule(this.opts.chains.input);
    await this.restore([appendLine(probe)], 'comment match probe');
    try {
      const rules = (await this.list()).rules(probe.table, probe.chain);
      if (!rules.some((r) => ruleComment(r.args) === PROBE_COMMENT)) {
        throw new FirewallError('the iptables comment match does not work; rule expiry depends on it');
      }
    } finally {
      await this.restore([deleteLine(probe)], 'remove comment match probe');
    }
  }

  private async list(counters = false): Promise<IptablesState> {
    try {
      const { stdout } = await this.opts.runner.run(this.saveExe, counters ? ['-c'] : [], {
        timeoutMs: this.timeoutMs,
      });
      return parseIptablesSave(stdout);
    } catch (e) {
      throw asFirewallError(e, `listing rules with ${this.saveExe} failed`);
    }
  }

  private async restore(lines: readonly RestoreLine[], what: string): Promise<void> {
    const input = renderRestore(lines);
    this.restores += 1;
    this.log.debug({ lines: lines.length, what }, 'iptables-restore');
    try {
      await this.opts.runner.run(this.restoreExe, ['--noflush'], { input, timeoutMs: this.timeoutMs });
    } catch (e) {
      throw asFirewallError(e, `${what}: iptables-restore failed`);
    }
  }
}

function notStarted(): FirewallError {
  return new FirewallError('firewall not started: call start() before changing rules');
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function asFirewallError(e: unknown, message: string): FirewallError {
  if (e instanceof FirewallError) return e;
  const stderr = e instanceof CommandError ? e.stderr.trim() : errText(e);
  return new FirewallError(`${message}: ${stderr.slice(0, 1000)}`, { cause: e });
}
