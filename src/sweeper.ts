import type { Clock, Logger, StoreRetention } from './core/ports.js';
import { CronTrigger } from './adapters/node-cron-trigger.js';
import type { Gateway } from './gateway.js';

export interface SweeperOptions {
  /** Ticks (seconds) between firewall reconciliations. */
  reconcileEvery: number;
  /** Ticks between replay-cache prunes. */
  pruneEvery: number;
  /** Ticks between history prunes (events, ended grants); the first runs at start. */
  historyEvery: number;
}

/** How long history stays in the store; without it the database grows with every packet. */
export interface HistoryRetention {
  store: StoreRetention;
  /** Milliseconds an event is kept. */
  eventsMs: number;
  /** Milliseconds an ended grant is kept (live grants are never pruned). */
  endedGrantsMs: number;
}

/** Events and ended grants are kept 30 days (the dashboard's history), then pruned hourly. */
export const HISTORY_RETENTION_MS = 30 * 24 * 3600 * 1000;

export const DEFAULT_SWEEPER_OPTIONS: SweeperOptions = { reconcileEvery: 30, pruneEvery: 300, historyEvery: 3600 };

/**
 * Drives expiry: node-cron ticks every second (the safety net that also reconciles, prunes the
 * replay cache and, given a HistoryRetention, old events and ended grants, periodically), and
 * a timer aimed at the next expiry removes grants right on time instead of up to a second
 * late. The gateway guarantees sweeps never overlap.
 */
export class Sweeper {
  private readonly cron: CronTrigger;
  private timer: NodeJS.Timeout | null = null;
  /** When the timer fires (the expiry it aims at), or null without a timer. */
  private target: number | null = null;
  private ticks = 0;
  private stopped = true;
  private pruning: Promise<unknown> | null = null;

  constructor(
    private readonly gw: Gateway,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly opts: SweeperOptions = DEFAULT_SWEEPER_OPTIONS,
    private readonly history: HistoryRetention | null = null,
  ) {
    this.cron = new CronTrigger(() => void this.tick());
  }

  start(): void {
    this.stopped = false;
    this.cron.start();
    // Only a grant that expires before the current target moves the timer; a removal can only
    // leave it early, and an early sweep just re-aims. (A full scan in aim() on every change
    // made a 10,000-grant burst or sweep quadratic.)
    this.gw.subscribe((c) => {
      const sooner = this.target === null || c.grant.expiresAt < this.target;
      if ((c.type === 'granted' || c.type === 'extended') && sooner) this.aim();
    });
    this.aim();
    this.pruning = this.pruneHistory();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cron.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.pruning;
    await this.gw.sweep();
  }

  /** Delete events and ended grants older than the retention; a failing store is logged, not thrown. */
  async pruneHistory(): Promise<{ events: number; grants: number } | null> {
    const h = this.history;
    if (!h) return null;
    const now = this.clock.now();
    try {
      const events = await h.store.pruneEvents(now - h.eventsMs);
      const grants = await h.store.pruneEndedGrants(now - h.endedGrantsMs);
      if (events > 0 || grants > 0) this.logger.info({ events, grants }, 'old history pruned');
      return { events, grants };
    } catch (e) {
      this.logger.error({ err: e }, 'history prune failed; will retry');
      return null;
    }
  }

  /** Point the precise timer at the earliest expiry. */
  aim(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.target = null;
    const next = this.gw.nextExpiry();
    if (next === null) return;
    this.target = next;
    const delay = Math.max(0, next - this.clock.now());
    // Timers may fire a little early; the sweep only removes what is due, and re-aims after.
    this.timer = setTimeout(() => void this.gw.sweep().then(() => this.aim()), Math.min(delay + 5, 2_147_000_000));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.ticks++;
    try {
      await this.gw.sweep();
      this.gw.flushRejectSummary();
      if (this.ticks % this.opts.reconcileEvery === 0) await this.gw.reconcile();
      if (this.ticks % this.opts.pruneEvery === 0) await this.gw.pruneReplay();
      if (this.ticks % this.opts.historyEvery === 0) await (this.pruning = this.pruneHistory());
    } catch (e) {
      this.logger.error({ err: e }, 'sweep failed');
    }
    this.aim();
  }
}
