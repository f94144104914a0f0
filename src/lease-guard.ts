/**
 * Ends live grants whose DHCP lease says the host behind the address changed: leased to
 * another MAC, released, or expired (src/core/lease-policy.ts decides). Runs as a daemon
 * service beside a LeaseFileWatcher; ends grants through Gateway.end, so rules and
 * conntrack entries go and an `ended` event says why.
 */
import { nextLeaseExpiry, planLeaseEnds } from './core/lease-policy.js';
import type { Lease } from './core/leases.js';
import type { Clock, Logger } from './core/ports.js';
import type { Service } from './daemon.js';
import type { Gateway } from './gateway.js';

export interface LeaseSource {
  start(): Promise<void>;
  stop(): Promise<void>;
  current(): ReadonlyMap<string, Lease>;
  onChange(l: (previous: ReadonlyMap<string, Lease> | null, current: ReadonlyMap<string, Lease>) => void): () => void;
}

/** Longest sleep before looking at lease expiry again (timers far ahead drift with suspend). */
const MAX_WAIT_MS = 60_000;

export class LeaseGuard implements Service {
  readonly name = 'lease-guard';
  private gw: Gateway | null = null;
  private unsubs: (() => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private work: Promise<void> = Promise.resolve();
  private readonly ending = new Set<string>();

  constructor(
    private readonly leases: LeaseSource,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async start(gw: Gateway): Promise<void> {
    this.gw = gw;
    this.unsubs.push(this.leases.onChange((prev, cur) => this.enqueue(prev, cur)));
    await this.leases.start();
    // Grants restored at start, and each new one: its address may already be someone else's.
    this.enqueue(null, this.leases.current());
    this.unsubs.push(
      gw.subscribe((c) => {
        if (c.type === 'granted' || c.type === 'extended') this.enqueue(null, this.leases.current());
      }),
    );
    await this.work;
  }

  async stop(): Promise<void> {
    for (const u of this.unsubs) u();
    this.unsubs = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.leases.stop();
    await this.work;
    this.gw = null;
  }

  private enqueue(previous: ReadonlyMap<string, Lease> | null, current: ReadonlyMap<string, Lease>): void {
    this.work = this.work.then(() => this.apply(previous, current)).catch((e: unknown) => this.log.error({ err: e }, 'lease check failed'));
  }

  private async apply(previous: ReadonlyMap<string, Lease> | null, current: ReadonlyMap<string, Lease>): Promise<void> {
    const gw = this.gw;
    if (!gw) return;
    const now = this.clock.now();
    const ends = planLeaseEnds({ grants: gw.liveGrants(), previous, current, now });
    for (const e of ends) {
      if (this.ending.has(e.grant.id) || !gw.getLive(e.grant.id)) continue;
      this.ending.add(e.grant.id);
      try {
        await gw.end(e.grant, 'ended', `${e.reason}: ${e.detail}`);
      } catch (err) {
        this.log.error({ err, grant: e.grant.id }, 'could not end grant after a lease change');
      } finally {
        this.ending.delete(e.grant.id);
      }
    }
    this.arm(current);
  }

  /** Wake up when the next lease of a live grant runs out. */
  private arm(current: ReadonlyMap<string, Lease>): void {
    const gw = this.gw;
    if (!gw) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const next = nextLeaseExpiry(gw.liveGrants(), current, this.clock.now());
    if (next === null) return;
    const wait = Math.min(MAX_WAIT_MS, Math.max(0, next - this.clock.now()) + 50);
    this.timer = setTimeout(() => this.enqueue(null, this.leases.current()), wait);
    this.timer.unref();
  }
}
