import type { SpaEvent } from './core/model.js';
import type { Logger, Store } from './core/ports.js';

/**
 * Buffers events and writes them to the store in batches, off the packet path. Under a flood
 * rejections are recorded only up to a budget per flush (about 5,000 a second), and the buffer
 * is capped: beyond either, rejections are counted in `dropped` instead (metrics and the
 * rejection summary still count every packet); grants and admin actions are never dropped.
 * Writes go in chunks with the event loop let through between them, because one synchronous
 * insert of 20,000 rows blocks the capture for tens of milliseconds, long enough for its
 * kernel ring to overflow and lose the very knocks the gate exists for.
 */
export class EventLog {
  private buf: SpaEvent[] = [];
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private rejectedSinceFlush = 0;
  dropped = 0;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly maxBuffered = 20_000,
    private readonly flushDelayMs = 200,
    private readonly rejectedPerFlush = 1_000,
    private readonly writeChunk = 500,
  ) {}

  add(e: SpaEvent): void {
    if (e.outcome === 'rejected' && this.rejectedSinceFlush++ >= this.rejectedPerFlush) {
      this.dropped++;
      return;
    }
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
    this.rejectedSinceFlush = 0;
    if (this.buf.length === 0) return;
    const batch = this.buf;
    this.buf = [];
    this.flushing = this.write(batch);
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }

  private async write(batch: SpaEvent[]): Promise<void> {
    for (let i = 0; i < batch.length; i += this.writeChunk) {
      const chunk = batch.slice(i, i + this.writeChunk);
      try {
        await this.store.addEvents(chunk);
      } catch (e) {
        // A full or read-only disk must not take the gate down: keep going, say so.
        this.dropped += batch.length - i;
        this.logger.error({ err: e, lost: batch.length - i }, 'event log write failed');
        return;
      }
      if (i + this.writeChunk < batch.length) await new Promise((r) => setImmediate(r));
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
