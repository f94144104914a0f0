import type { Clock, Logger } from './core/ports.js';
import { CronTrigger } from './adapters/node-cron-trigger.js';
import type { Gateway } from './gateway.js';

/**
 * Drives expiry: node-cron ticks every second (the safety net that also reconciles and prunes
 * periodically), and a timer aimed at the next expiry removes grants right on time instead of
 * up to a second late. The gateway guarantees sweeps never overlap.
 */
export class Sweeper {
  private readonly cron: CronTrigger;
  private timer: NodeJS.Timeout | null = null;
  private ticks = 0;
  private stopped = true;

  constructor(
    private readonly gw: Gateway,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly opts: { reconcileEvery: number; pruneEvery: number } = { reconcileEvery: 30, pruneEvery: 300 },
  ) {
    this.cron = new CronTrigger(() => void this.tick());
  }

  start(): void {
    this.stopped = false;
    this.cron.start();
    this.gw.subscribe(() => this.aim());
    this.aim();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cron.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.gw.sweep();
  }

  /** Point the precise timer at the earliest expiry. */
  aim(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const next = this.gw.nextExpiry();
    if (next === null) return;
    const delay = Math.max(0, next - this.clock.now());
    // Timers may fire a little early; the sweep only removes what is due, and re-aims after.
    this.timer = setTimeout(() => void this.gw.sweep().then(() => this.aim()), Math.min(delay + 5, 2_147_000_000));
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.ticks++;
    try {
      await this.gw.sweep();
      if (this.ticks % this.opts.reconcileEvery === 0) await this.gw.reconcile();
      if (this.ticks % this.opts.pruneEvery === 0) await this.gw.pruneReplay();
    } catch (e) {
      this.logger.error({ err: e }, 'sweep failed');
    }
    this.aim();
  }
}
