import { FirewallError } from '../core/errors.js';
import type { Grant, GrantCounters } from '../core/model.js';
import type { Firewall, InstalledGrant } from '../core/ports.js';
import { buildGrantRules, expirySeconds, type IptChains, type IptRule } from '../core/rules/iptables.js';

interface Entry {
  grant: Grant;
  rules: IptRule[];
  counters: GrantCounters;
}

/**
 * A stateful in-memory Firewall for tests and dry runs. It builds the same iptables rules
 * as the real backend, so it refuses what the real one would (a rule needing a chain that
 * is not configured, malformed values, use before `start`), and it keeps expiries at the
 * whole-second precision the `_exp_` comments have.
 */
export class MemoryFirewall implements Firewall {
  readonly backend = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  private started = false;
  private failures: { count: number; error: () => Error } = {
    count: 0,
    error: () => new FirewallError('injected failure'),
  };
  /** Every operation attempted, in order (for tests). */
  readonly calls: string[] = [];

  constructor(private readonly opts: { chains: IptChains }) {}

  /** Make the next `n` operations fail with `error` (default: a FirewallError), changing nothing. */
  failNext(n: number, error?: () => Error): void {
    this.failures = { count: n, error: error ?? (() => new FirewallError('injected failure')) };
  }

  /** Pretend traffic matched a grant's rules. */
  addTraffic(id: string, packets: number, bytes: number): void {
    const e = this.entries.get(id);
    if (!e) throw new FirewallError(`no grant ${id} installed`);
    e.counters = { packets: e.counters.packets + packets, bytes: e.counters.bytes + bytes };
  }

  /** The rules currently installed for a grant, as the iptables backend would write them. */
  rulesOf(id: string): readonly IptRule[] {
    return this.entries.get(id)?.rules ?? [];
  }

  get isStarted(): boolean {
    return this.started;
  }

  start(o: { flush: boolean }): Promise<void> {
    return this.op('start', () => {
      if (o.flush) this.entries.clear();
      this.started = true;
    });
  }

  stop(o: { flush: boolean }): Promise<void> {
    return this.op('stop', () => {
      if (o.flush) this.entries.clear();
      this.started = false;
    });
  }

  install(grants: readonly Grant[]): Promise<void> {
    return this.op('install', () => {
      this.needStarted();
      // Build everything first: one bad grant fails the whole call and changes nothing.
      const built = grants.map((g) => ({
        g,
        rules: buildGrantRules(g.id, g.rules, g.expiresAt, this.opts.chains),
      }));
      for (const { g, rules } of built) {
        // Like the real backend, a replaced grant has fresh rules, hence fresh counters.
        if (rules.length === 0) this.entries.delete(g.id);
        else
          this.entries.set(g.id, {
            grant: { ...g, expiresAt: expirySeconds(g.expiresAt) * 1000 },
            rules,
            counters: { packets: 0, bytes: 0 },
          });
      }
    });
  }

  remove(grants: readonly Grant[]): Promise<void> {
    return this.op('remove', () => {
      this.needStarted();
      for (const g of grants) this.entries.delete(g.id);
    });
  }

  listInstalled(): Promise<InstalledGrant[]> {
    return this.op('listInstalled', () =>
      [...this.entries.values()].map((e) => ({ id: e.grant.id, expiresAt: e.grant.expiresAt })),
    );
  }

  removeOrphans(keep: ReadonlySet<string>): Promise<string[]> {
    return this.op('removeOrphans', () => {
      this.needStarted();
      const gone = [...this.entries.keys()].filter((id) => !keep.has(id));
      for (const id of gone) this.entries.delete(id);
      return gone;
    });
  }

  counters(): Promise<Map<string, GrantCounters>> {
    return this.op('counters', () => new Map([...this.entries].map(([id, e]) => [id, { ...e.counters }])));
  }

  private needStarted(): void {
    if (!this.started) throw new FirewallError('firewall not started: its chains do not exist yet');
  }

  private op<T>(name: string, fn: () => T): Promise<T> {
    this.calls.push(name);
    if (this.failures.count > 0) {
      this.failures.count -= 1;
      return Promise.reject(this.failures.error());
    }
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new FirewallError(String(e)));
    }
  }
}
