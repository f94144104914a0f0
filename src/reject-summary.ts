import type { Logger } from './core/ports.js';

/**
 * Rejections are logged as summaries: the first from a source and reason right away, then one
 * line with a count per window, so a flood cannot fill the disk with identical lines.
 * The number of tracked (source, reason) pairs is capped.
 */
export class RejectSummary {
  private readonly pending = new Map<string, { src: string; reason: string; count: number; since: number }>();
  private windowStart = 0;

  constructor(
    private readonly logger: Logger,
    private readonly windowMs: number,
    private readonly maxKeys = 1000,
  ) {}

  note(src: string, reason: string, now: number): void {
    if (now - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = now;
    }
    const key = `${src}|${reason}`;
    const cur = this.pending.get(key);
    if (cur) {
      cur.count++;
      return;
    }
    if (this.pending.size >= this.maxKeys) {
      const other = this.pending.get('*|*') ?? { src: '*', reason: '*', count: 0, since: now };
      other.count++;
      this.pending.set('*|*', other);
      return;
    }
    this.logger.info({ src, reason }, 'SPA packet rejected');
    this.pending.set(key, { src, reason, count: 0, since: now });
  }

  /** Called on a timer: ends the window once it is over, so a flood that stopped still gets its count line. */
  flushIfDue(now: number): void {
    if (this.pending.size > 0 && now - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = now;
    }
  }

  flush(): void {
    for (const p of this.pending.values()) {
      if (p.count > 0) this.logger.info({ src: p.src, reason: p.reason, count: p.count }, 'more SPA packets rejected');
    }
    this.pending.clear();
  }
}
