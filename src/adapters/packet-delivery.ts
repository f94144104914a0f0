import { InternalError } from '../core/errors.js';
import { FRAME_DROP_REASONS, type FrameDropReason } from '../core/frame.js';
import type { Clock, Logger } from '../core/ports.js';
import type { ReceivedPacket } from '../core/model.js';

/** Counters every packet source keeps; all monotonic since `start`. */
export interface PacketSourceStats {
  /** Frames (pcap) or datagrams (UDP, memory) that reached the source. */
  received: number;
  /** Packets handed to the handler. */
  delivered: number;
  /** Frames that could not be decoded, by reason (pcap only; always zero elsewhere). */
  dropped: Record<FrameDropReason, number>;
  /** Exceptions caught in the receive path, nearly always the handler throwing (a bug: it must not). */
  handlerErrors: number;
}

const SUMMARY_EVERY_MS = 60_000;
const DEBUG_WINDOW_MS = 10_000;
const DEBUG_PER_WINDOW = 20;
const ERRORS_PER_WINDOW = 10;

function zeroDrops(): Record<FrameDropReason, number> {
  const r = {} as Record<FrameDropReason, number>;
  for (const k of FRAME_DROP_REASONS) r[k] = 0;
  return r;
}

/**
 * What the packet sources share: counting, guarded delivery to the handler, and logging of
 * drops and handler throws that stays bounded under a flood (a summary at most once a
 * minute, a few per-packet debug lines per ten seconds).
 */
export class PacketDelivery {
  private readonly counters: PacketSourceStats = {
    received: 0,
    delivered: 0,
    dropped: zeroDrops(),
    handlerErrors: 0,
  };
  private windowDrops = 0;
  private windowStart = 0;
  private summaryAt = 0;
  private debugWindowStart = 0;
  private debugLines = 0;
  private errorWindowStart = 0;
  private errorLines = 0;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  received(): void {
    this.counters.received++;
  }

  deliver(handler: (p: ReceivedPacket) => void, p: ReceivedPacket): void {
    try {
      handler(p);
      this.counters.delivered++;
    } catch (e) {
      this.fault(e, 'packet handler threw (a bug: it must not)');
    }
  }

  /** Count and log (bounded) an exception caught in the receive path; never throws. */
  fault(e: unknown, msg: string): void {
    this.counters.handlerErrors++;
    try {
      const now = this.clock.now();
      if (now - this.errorWindowStart >= DEBUG_WINDOW_MS) {
        this.errorWindowStart = now;
        this.errorLines = 0;
      }
      if (this.errorLines++ < ERRORS_PER_WINDOW) {
        const err = new InternalError(msg, { cause: e });
        this.logger.error({ err, total: this.counters.handlerErrors }, msg);
      }
    } catch {
      // A failing clock or logger must not take the receive loop down with it.
    }
  }

  drop(reason: FrameDropReason, length: number): void {
    this.counters.dropped[reason]++;
    const now = this.clock.now();
    if (now - this.debugWindowStart >= DEBUG_WINDOW_MS) {
      this.debugWindowStart = now;
      this.debugLines = 0;
    }
    if (this.debugLines++ < DEBUG_PER_WINDOW) this.logger.debug({ reason, length }, 'frame dropped');
    if (this.windowDrops++ === 0) this.windowStart = now;
    if (now - this.summaryAt >= SUMMARY_EVERY_MS) this.flushSummary(now);
  }

  /** Log the drops not yet summarised (called on stop as well). */
  flushSummary(now = this.clock.now()): void {
    this.summaryAt = now;
    if (this.windowDrops === 0) return;
    const dropped: Partial<Record<FrameDropReason, number>> = {};
    for (const k of FRAME_DROP_REASONS)
      if (this.counters.dropped[k] > 0) dropped[k] = this.counters.dropped[k];
    this.logger.info(
      { since: this.windowStart, count: this.windowDrops, totals: dropped },
      'frames dropped that could not be decoded',
    );
    this.windowDrops = 0;
  }

  stats(): PacketSourceStats {
    return { ...this.counters, dropped: { ...this.counters.dropped } };
  }
}
