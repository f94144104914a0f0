import { createHash } from 'node:crypto';
import type { Clock, RandomSource } from '../core/ports.js';

export interface Session {
  /** Map key: sha256 of the cookie value, so a heap dump does not hand out live cookies. */
  readonly key: string;
  readonly username: string;
  /** Sent back in forms (`_csrf`) and by scripts (`X-CSRF-Token`) on every state change. */
  readonly csrf: string;
  readonly createdAt: number;
  lastSeen: number;
  /** One message shown on the next page, then cleared. */
  flash: { kind: 'ok' | 'error'; text: string } | null;
}

/**
 * In-memory sessions: a random 256-bit id in the cookie, an idle and an absolute timeout,
 * and a cap on how many are kept. A restart logs everyone out, which is acceptable for an
 * admin console.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly clock: Clock,
    private readonly random: RandomSource,
    private readonly idleMs: number,
    private readonly maxAgeMs: number,
    private readonly maxSessions: number,
  ) {}

  /** Returns the cookie value; only its hash is kept. */
  create(username: string): { id: string; session: Session } {
    const now = this.clock.now();
    this.prune(now);
    while (this.sessions.size >= this.maxSessions) {
      const first = this.sessions.keys().next();
      if (first.done) break;
      this.sessions.delete(first.value);
    }
    const id = this.random.bytes(32).toString('base64url');
    const session: Session = {
      key: hashId(id),
      username,
      csrf: this.random.bytes(24).toString('base64url'),
      createdAt: now,
      lastSeen: now,
      flash: null,
    };
    this.sessions.set(session.key, session);
    return { id, session };
  }

  /** The live session for a cookie value, touching its idle timer; null when absent or expired. */
  get(id: string | undefined): Session | null {
    if (!id || id.length > 128) return null;
    const key = hashId(id);
    const s = this.sessions.get(key);
    if (!s) return null;
    const now = this.clock.now();
    if (this.expired(s, now)) {
      this.sessions.delete(key);
      return null;
    }
    s.lastSeen = now;
    return s;
  }

  /** Still present and unexpired, without touching its idle timer (for long-lived streams). */
  isLive(s: Session): boolean {
    return this.sessions.get(s.key) === s && !this.expired(s, this.clock.now());
  }

  destroy(s: Session): void {
    this.sessions.delete(s.key);
  }

  /** End every session of a user (after a password change, for example). */
  destroyUser(username: string): void {
    for (const [k, s] of this.sessions) if (s.username === username) this.sessions.delete(k);
  }

  get size(): number {
    return this.sessions.size;
  }

  private expired(s: Session, now: number): boolean {
    return now - s.lastSeen >= this.idleMs || now - s.createdAt >= this.maxAgeMs;
  }

  private prune(now: number): void {
    for (const [k, s] of this.sessions) if (this.expired(s, now)) this.sessions.delete(k);
  }
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
