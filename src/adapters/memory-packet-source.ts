import type { ReceivedPacket } from '../core/model.js';
import type { Clock, Logger, PacketSource } from '../core/ports.js';
import { PacketDelivery, type PacketSourceStats } from './packet-delivery.js';

const silent: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};

/**
 * A packet source fed by the caller: for tests and for replaying packets in dry runs.
 * Delivery is synchronous and guarded like the real sources (a throwing handler is counted).
 */
export class MemoryPacketSource implements PacketSource {
  readonly kind = 'memory';
  private handler: ((p: ReceivedPacket) => void) | null = null;
  private readonly delivery: PacketDelivery;

  constructor(opts: { logger?: Logger; clock?: Clock } = {}) {
    this.delivery = new PacketDelivery(opts.logger ?? silent, opts.clock ?? { now: () => 0 });
  }

  get running(): boolean {
    return this.handler !== null;
  }

  start(onPacket: (p: ReceivedPacket) => void): Promise<void> {
    this.handler = onPacket;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.handler = null;
    return Promise.resolve();
  }

  /** Deliver `p` now. Returns false (and delivers nothing) when the source is not started. */
  inject(p: ReceivedPacket): boolean {
    if (!this.handler) return false;
    this.delivery.received();
    this.delivery.deliver(this.handler, p);
    return true;
  }

  stats(): PacketSourceStats {
    return this.delivery.stats();
  }
}
