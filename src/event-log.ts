import type { SpaEvent } from './core/model.js';
import type { Logger, Store } from './core/ports.js';

/**
 * Buffers events and writes them to the store in batches, off the packet path. The buffer is
 * capped: under a flood the oldest unwritten rejections are dropped (and counted) rather than
 * letting memory grow; grants and admin actions are never dropped.
 */
export class EventLog {
  private buf: SpaEvent[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  dropped = 0;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly maxBuffered = 20_000,
    private readonly flushDelayMs = 200,
  ) {}

  add(e: SpaEvent): void {
    if (this.buf.length >= this.maxBuffered) {
      const i = this.buf.findIndex((x) => x.outcome === 'rejected');
      if (i >= 0 && e.outcome === 'rejected') {
        this.dropped++;
        return;
      }
      if (i >= 0) {
        this.buf.splice(i, 1);
        this.dropped++;
      }
    }
    this.buf.push(e);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.flushDelayMs);
  }

  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.buf.length === 0) return;
    const batch = this.buf;
    this.buf = [];
    this.flushing = this.store.addEvents(batch).then(
      () => undefined,
      (e: unknown) => {
        // A full or read-only disk must not take the gate down: keep going, say so.
        this.dropped += batch.length;
        this.logger.error({ err: e, lost: batch.length }, 'event log write failed');
      },
    );
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
