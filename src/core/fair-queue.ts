/**
 * Packets waiting for verification, served round-robin by source. The capture hands packets
 * over far faster than they can be verified (a copy against an HMAC and a decryption), so they
 * wait here instead of in the kernel's capture ring, which drops whatever arrives once it is
 * full, legitimate knocks included. Serving sources in turn means a flood
 * from one address delays another client's knock by one packet, not by the whole flood.
 * Bounded twice: per source, so one sender cannot take more than half the room (a burst of
 * 10,000 knocks for as many allow IPs from one address fits), and in total.
 */
export interface FairQueueLimits {
  /** Packets one source may have waiting; more from it are refused. */
  perSource: number;
  /** Packets waiting from all sources together. */
  total: number;
}

export const DEFAULT_QUEUE_LIMITS: FairQueueLimits = { perSource: 16384, total: 32768 };

interface SourceQueue<T> {
  items: (T | undefined)[];
  head: number;
}

/** Arrays shift in O(n); consumed slots are dropped in one go once they dominate. */
const COMPACT_AT = 1024;

export class FairQueue<T> {
  private readonly bySource = new Map<string, SourceQueue<T>>();
  /** Sources with waiting packets, each exactly once, in serving order from `turn`. */
  private order: string[] = [];
  private turn = 0;
  private waiting = 0;

  constructor(private readonly limits: FairQueueLimits = DEFAULT_QUEUE_LIMITS) {
    if (!(limits.perSource >= 1 && limits.total >= limits.perSource)) {
      throw new RangeError(`queue limits need 1 <= perSource <= total, got ${limits.perSource}/${limits.total}`);
    }
  }

  get size(): number {
    return this.waiting;
  }

  get sources(): number {
    return this.bySource.size;
  }

  /** Queues `item`; false when refused (its source or the whole queue is full). */
  push(source: string, item: T): boolean {
    if (this.waiting >= this.limits.total) return false;
    let q = this.bySource.get(source);
    if (!q) {
      q = { items: [], head: 0 };
      this.bySource.set(source, q);
      this.order.push(source);
    } else if (q.items.length - q.head >= this.limits.perSource) {
      return false;
    }
    q.items.push(item);
    this.waiting++;
    return true;
  }

  /** The next packet: the oldest of the source whose turn it is. */
  shift(): T | undefined {
    if (this.turn >= this.order.length) return undefined;
    const source = this.order[this.turn++];
    const q = this.bySource.get(source)!;
    const item = q.items[q.head];
    q.items[q.head++] = undefined;
    this.waiting--;
    if (q.head < q.items.length) {
      this.order.push(source);
      if (q.head >= COMPACT_AT && q.head * 2 >= q.items.length) {
        q.items = q.items.slice(q.head);
        q.head = 0;
      }
    } else {
      this.bySource.delete(source);
    }
    if (this.turn >= COMPACT_AT && this.turn * 2 >= this.order.length) {
      this.order = this.order.slice(this.turn);
      this.turn = 0;
    }
    return item;
  }
}
