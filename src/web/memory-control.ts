import type { Grant, GrantCounters } from '../core/model.js';
import type { Clock } from '../core/ports.js';
import type { GatewayControl, GrantChange, HealthInfo, LiveGrant } from './deps.js';

/**
 * An in-memory gateway for tests and dry runs: keeps its own live grant table and emits the
 * same changes the daemon would. `grant`, `expire` and `setCounters` play the part of the
 * packet path and the sweeper.
 */
export class MemoryGatewayControl implements GatewayControl {
  private readonly live = new Map<string, LiveGrant>();
  private readonly listeners = new Set<(c: GrantChange) => void>();
  /** Every admin action, in order, for tests to check who did what. */
  readonly actions: { action: 'revoke' | 'extend'; id: string; by: string; seconds?: number }[] = [];

  private readonly healthInfo: HealthInfo;

  constructor(clock: Clock, health: Partial<HealthInfo> = {}) {
    this.healthInfo = {
      backend: 'memory',
      interface: null,
      capture: 'memory',
      startedAt: clock.now(),
      testMode: false,
      version: '0.0.0',
      ...health,
    };
  }

  /** Make `g` live (or replace it) and emit `granted`. */
  grant(g: Grant, hostname: string | null = null): void {
    this.live.set(g.id, { grant: { ...g }, hostname, counters: { packets: 0, bytes: 0 } });
    this.emit({ type: 'granted', grant: { ...g }, hostname });
  }

  /** Remove `id` as the sweeper would; false when it was not live. */
  expire(id: string): boolean {
    const l = this.live.get(id);
    if (!l) return false;
    this.live.delete(id);
    this.emit({ type: 'expired', grant: l.grant });
    return true;
  }

  setCounters(id: string, c: GrantCounters): void {
    const l = this.live.get(id);
    if (l) l.counters = { ...c };
  }

  listGrants(): Promise<LiveGrant[]> {
    return Promise.resolve(
      [...this.live.values()].map((l) => ({
        grant: { ...l.grant },
        hostname: l.hostname,
        counters: l.counters && { ...l.counters },
      })),
    );
  }

  revoke(id: string, by: string): Promise<boolean> {
    this.actions.push({ action: 'revoke', id, by });
    const l = this.live.get(id);
    if (!l) return Promise.resolve(false);
    this.live.delete(id);
    this.emit({ type: 'revoked', grant: l.grant });
    return Promise.resolve(true);
  }

  extend(id: string, seconds: number, by: string): Promise<Grant | null> {
    this.actions.push({ action: 'extend', id, by, seconds });
    const l = this.live.get(id);
    if (!l) return Promise.resolve(null);
    l.grant = { ...l.grant, expiresAt: l.grant.expiresAt + seconds * 1000 };
    this.emit({ type: 'extended', grant: { ...l.grant }, hostname: l.hostname });
    return Promise.resolve({ ...l.grant });
  }

  health(): HealthInfo {
    return { ...this.healthInfo };
  }

  subscribe(listener: (change: GrantChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  private emit(c: GrantChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(c);
      } catch {
        // One broken listener (a closed SSE stream) must not stop the others.
      }
    }
  }
}
