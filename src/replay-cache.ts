import type { ReplayEntry, Store } from './core/ports.js';

/**
 * The replay cache the packet loop consults synchronously: an in-memory map warmed from the
 * store at start and written through to it. A digest is marked before any await, so the same
 * packet arriving twice in quick succession cannot slip through while the first is in flight.
 * Entries older than the retention window are pruned from memory and store alike.
 */
export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly store: Store,
    /** Milliseconds to keep a digest; Infinity when packet aging is off (nothing else bounds replays). */
    private readonly retentionMs: number,
    private readonly onPersist?: (e: ReplayEntry) => Promise<void>,
  ) {}

  async load(now: number): Promise<number> {
    const since = Number.isFinite(this.retentionMs) ? now - this.retentionMs : 0;
    for (const e of await this.store.replayLoad(since)) this.seen.set(e.digest, e.at);
    return this.seen.size;
  }

  has(digest: string): boolean {
    return this.seen.has(digest);
  }

  get size(): number {
    return this.seen.size;
  }

  /** Marks at once, persists in the background; the returned promise reports the write. */
  add(e: ReplayEntry): Promise<void> {
    this.seen.set(e.digest, e.at);
    const writes: Promise<unknown>[] = [this.store.replayAdd(e)];
    if (this.onPersist) writes.push(this.onPersist(e));
    return Promise.all(writes).then(() => undefined);
  }

  async prune(now: number): Promise<number> {
    if (!Number.isFinite(this.retentionMs)) return 0;
    const before = now - this.retentionMs;
    for (const [d, at] of this.seen) if (at < before) this.seen.delete(d);
    return this.store.replayPrune(before);
  }
}
