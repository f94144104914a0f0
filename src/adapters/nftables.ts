/**
 * The nftables firewall: one `ip` table owned by spagate, grants as set/map elements with
 * kernel timeouts (layout in src/core/rules/nftables.ts, reasons in
 * docs/firewall-nftables.md). Every change is one `nft -f -` transaction; calls are
 * serialised, and writes waiting behind a running transaction are coalesced into the
 * next one, so a burst of thousands of grants costs a handful of nft runs.
 */
import { CommandError, FirewallError } from '../core/errors.js';
import type { Grant, GrantCounters } from '../core/model.js';
import type { Clock, Firewall, InstalledGrant, Logger } from '../core/ports.js';
import {
  DEFAULT_NFT_MARK,
  DEFAULT_NFT_TABLE,
  buildElementScript,
  buildSetupScript,
  buildTeardownScript,
  checkTableName,
  elementId,
  grantElements,
  isCounterSet,
  isValidGrantId,
  type NftElementChange,
  type NftLayout,
  type NftSetName,
} from '../core/rules/nftables.js';
import { GATE_CHAINS, gateArgv } from '../core/rules/nftables-gate.js';
import {
  parseElementCounters,
  parseTableListing,
  type TableListing,
} from '../core/rules/nftables-listing.js';
import { NftGrantBook, type NftOp } from '../core/rules/nftables-state.js';
import type { CommandRunner } from './command-runner.js';

export interface NftablesFirewallOptions {
  /** Absolute path of `nft` (NFT_EXE). */
  nft: string;
  runner: CommandRunner;
  logger: Logger;
  clock: Clock;
  /** Table name in family `ip`; default `spagate`. */
  table?: string;
  /** Accept ESTABLISHED,RELATED packets of connections a grant opened (CONNTRACK_ACCEPT). */
  conntrackAccept: boolean;
  /**
   * Absolute path of `iptables`. When set, one accept-the-mark rule is kept at the top of
   * iptables' INPUT, FORWARD and OUTPUT chains so grants pass a default-drop iptables
   * policy (legacy or nft). Leave unset on hosts without iptables.
   */
  iptables?: string;
  /** Mark bit(s) of granted packets; default 0x02000000. */
  mark?: number;
  /** Most grant operations per transaction; default 20,000. */
  maxBatch?: number;
}

interface WriteJob {
  kind: 'write';
  ops: NftOp[];
  resolve: () => void;
  reject: (e: Error) => void;
}

interface TaskJob {
  kind: 'task';
  run: () => Promise<void>;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new FirewallError(String(e));
}

const NFT_TIMEOUT_MS = 60_000;
const MAX_HOOK_DELETES = 32;
/** Above this many keys, reading a whole set is cheaper than naming them on the command line. */
const MAX_GET_KEYS = 2000;

export class NftablesFirewall implements Firewall {
  readonly backend = 'nftables' as const;
  private readonly layout: NftLayout;
  private readonly book = new NftGrantBook();
  private readonly log: Logger;
  private readonly maxBatch: number;
  private readonly jobs: (WriteJob | TaskJob)[] = [];
  private draining = false;
  private scheduled = false;
  /** Number of nft transactions run (for tests and benchmarks). */
  transactions = 0;

  constructor(private readonly opts: NftablesFirewallOptions) {
    this.layout = {
      table: checkTableName(opts.table ?? DEFAULT_NFT_TABLE),
      mark: opts.mark ?? DEFAULT_NFT_MARK,
      conntrackAccept: opts.conntrackAccept,
    };
    this.log = opts.logger.child({ component: 'nftables' });
    this.maxBatch = opts.maxBatch ?? 20_000;
  }

  start(opts: { flush: boolean }): Promise<void> {
    return this.task(async () => {
      await this.nftScript(buildSetupScript(this.layout, opts.flush));
      this.book.load(await this.list());
      await this.placeHooks(opts.flush);
      this.log.info(
        { table: this.layout.table, flush: opts.flush, gateHook: this.opts.iptables !== undefined },
        'nftables table ready',
      );
    });
  }

  stop(opts: { flush: boolean }): Promise<void> {
    return this.task(async () => {
      if (!opts.flush) return;
      await this.nftScript(buildTeardownScript(this.layout.table));
      this.book.load({ sets: new Set(), elements: [] });
      await this.removeHooks();
      this.log.info({ table: this.layout.table }, 'nftables table removed');
    });
  }

  install(grants: readonly Grant[]): Promise<void> {
    return this.write(grants.map((grant) => ({ kind: 'install', grant })));
  }

  remove(grants: readonly Grant[]): Promise<void> {
    return this.write(grants.map((grant) => ({ kind: 'remove', grant })));
  }

  listInstalled(): Promise<InstalledGrant[]> {
    return this.task(async () => {
      this.book.refresh(await this.list(), this.opts.clock.now());
      return this.book.installed();
    });
  }

  removeOrphans(keep: ReadonlySet<string>): Promise<string[]> {
    return this.task(async () => {
      this.book.refresh(await this.list(), this.opts.clock.now());
      const ids = [...this.book.knownIds()].filter((id) => !keep.has(id)).sort();
      const plan = this.book.plan(
        ids.map((id) => ({ kind: 'removeId', id })),
        this.opts.clock.now(),
        this.book.unownedElements(),
      );
      if (plan.changes.length > 0) await this.nftScript(buildElementScript(this.layout.table, plan.changes));
      plan.commit();
      if (ids.length > 0) this.log.info({ count: ids.length }, 'removed orphaned grants');
      return ids;
    });
  }

  counters(): Promise<Map<string, GrantCounters>> {
    return this.task(async () => NftGrantBook.counters(await this.list()));
  }

  // --- queue -------------------------------------------------------------------------

  private write(ops: NftOp[]): Promise<void> {
    try {
      // Refuse a malformed grant now, alone, so it never fails a coalesced batch.
      for (const op of ops) {
        if (op.kind === 'removeId') continue;
        if (!isValidGrantId(op.grant.id))
          throw new FirewallError(
            `grant id ${JSON.stringify(op.grant.id)} cannot be written into an element comment`,
          );
        grantElements(op.grant.rules);
      }
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new FirewallError(String(e)));
    }
    if (ops.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.jobs.push({ kind: 'write', ops, resolve, reject });
      this.schedule();
    });
  }

  private task<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({
        kind: 'task',
        run: async () => {
          try {
            resolve(await fn());
          } catch (e) {
            reject(asError(e));
          }
        },
      });
      this.schedule();
    });
  }

  /** Drain on a later microtask, so calls made in the same tick share one transaction. */
  private schedule(): void {
    if (this.draining || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.jobs.length > 0) {
        const head = this.jobs[0];
        if (head.kind === 'task') {
          this.jobs.shift();
          await head.run();
          continue;
        }
        const batch: WriteJob[] = [];
        let n = 0;
        for (
          let j = this.jobs[0];
          j?.kind === 'write' && (batch.length === 0 || n + j.ops.length <= this.maxBatch);
          j = this.jobs[0]
        ) {
          this.jobs.shift();
          batch.push(j);
          n += j.ops.length;
        }
        await this.runWrites(batch);
      }
    } finally {
      this.draining = false;
    }
  }

  private async runWrites(batch: WriteJob[]): Promise<void> {
    try {
      await this.apply(batch.flatMap((j) => j.ops));
      for (const j of batch) j.resolve();
    } catch (e) {
      if (batch.length === 1) {
        batch[0].reject(asError(e));
        return;
      }
      this.log.warn(
        { err: e, calls: batch.length },
        'coalesced nftables batch failed; retrying call by call',
      );
      for (const j of batch) {
        try {
          await this.apply(j.ops);
          j.resolve();
        } catch (e2) {
          j.reject(asError(e2));
        }
      }
    }
  }

  /** One transaction; if the kernel refuses it, re-read the table once and retry (someone else changed it). */
  private async apply(ops: NftOp[]): Promise<void> {
    try {
      await this.applyOnce(ops);
    } catch (e) {
      if (!(e instanceof CommandError)) throw e;
      this.log.warn({ err: e }, 'nftables transaction refused; re-reading the table and retrying once');
      this.book.refresh(await this.list(), this.opts.clock.now());
      await this.applyOnce(ops);
    }
  }

  private async applyOnce(ops: NftOp[]): Promise<void> {
    const plan = this.book.plan(ops, this.opts.clock.now());
    if (plan.changes.length > 0) {
      await this.carryCounters(plan.changes);
      await this.nftScript(buildElementScript(this.layout.table, plan.changes));
    }
    plan.commit();
  }

  /**
   * Replacing an element resets its counters: read the current counts of the elements
   * being replaced (by key, per set, so a large table is not listed) and write them back.
   */
  private async carryCounters(changes: NftElementChange[]): Promise<void> {
    const bySet = new Map<NftSetName, NftElementChange[]>();
    for (const c of changes) {
      if (
        c.kind !== 'upsert' ||
        !isCounterSet(c.element.set) ||
        !this.book.kernelHas(elementId(c.element.set, c.element.key))
      )
        continue;
      bySet.set(c.element.set, [...(bySet.get(c.element.set) ?? []), c]);
    }
    for (const [set, list] of bySet) {
      const counts = await this.readCounters(
        set,
        list.map((c) => c.element.key),
      );
      for (const c of list) if (c.kind === 'upsert') c.counter = counts.get(c.element.key) ?? null;
    }
  }

  private async readCounters(
    set: NftSetName,
    keys: string[],
  ): Promise<Map<string, { packets: number; bytes: number }>> {
    const t = this.layout.table;
    if (keys.length <= MAX_GET_KEYS) {
      try {
        const r = await this.opts.runner.run(
          this.opts.nft,
          ['-n', 'get', 'element', 'ip', t, set, `{ ${keys.join(', ')} }`],
          { timeoutMs: NFT_TIMEOUT_MS },
        );
        return parseElementCounters(r.stdout);
      } catch {
        // One of them expired meanwhile: `get` fails as a whole, so read the set instead.
      }
    }
    const r = await this.opts.runner.run(this.opts.nft, ['-j', '-n', 'list', 'set', 'ip', t, set], {
      timeoutMs: NFT_TIMEOUT_MS,
    });
    const out = new Map<string, { packets: number; bytes: number }>();
    for (const e of parseTableListing(r.stdout, t).elements) if (e.counter) out.set(e.key, e.counter);
    return out;
  }

  // --- commands ----------------------------------------------------------------------

  private async nftScript(script: string): Promise<void> {
    const t0 = this.opts.clock.now();
    await this.opts.runner.run(this.opts.nft, ['-f', '-'], { input: script, timeoutMs: NFT_TIMEOUT_MS });
    this.transactions += 1;
    this.log.debug(
      { lines: script.split('\n').length - 1, ms: this.opts.clock.now() - t0 },
      'nft transaction applied',
    );
  }

  private async list(): Promise<TableListing> {
    const r = await this.opts.runner.run(
      this.opts.nft,
      ['-j', '-n', 'list', 'table', 'ip', this.layout.table],
      { timeoutMs: NFT_TIMEOUT_MS },
    );
    return parseTableListing(r.stdout, this.layout.table);
  }

  private async placeHooks(flush: boolean): Promise<void> {
    const ipt = this.opts.iptables;
    if (ipt === undefined) return;
    if (flush) await this.removeHooks();
    for (const chain of GATE_CHAINS) {
      const present = await this.opts.runner.run(ipt, gateArgv('-C', chain, this.layout.mark)).then(
        () => true,
        () => false,
      );
      if (!present) await this.opts.runner.run(ipt, gateArgv('-I', chain, this.layout.mark));
    }
  }

  private async removeHooks(): Promise<void> {
    const ipt = this.opts.iptables;
    if (ipt === undefined) return;
    for (const chain of GATE_CHAINS) {
      for (let i = 0; i < MAX_HOOK_DELETES; i++) {
        const gone = await this.opts.runner.run(ipt, gateArgv('-D', chain, this.layout.mark)).then(
          () => false,
          () => true,
        );
        if (gone) break;
      }
    }
  }
}
