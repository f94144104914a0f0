/**
 * Store and AdminStore in memory, behaving like SqliteStore (same ordering, paging and
 * conflict rules; the shared contract tests hold both to it). For unit tests and dry runs.
 * Values are copied in and out so callers can never alter stored state by mutation.
 */
import type { Grant, GrantRecord, SpaEvent, StoredEvent } from '../core/model.js';
import type {
  AdminAccount,
  AdminStore,
  ApiToken,
  EnrollmentRecord,
  EventFilter,
  ReplayEntry,
  Store,
  StoreRetention,
  UserRecord,
  UserStore,
} from '../core/ports.js';
import { StoreFailure } from './store-errors.js';

interface GrantSlot {
  seq: number;
  rec: GrantRecord;
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function plainGrant(r: Grant): Grant {
  return {
    id: r.id,
    stanzaId: r.stanzaId,
    user: r.user,
    rules: structuredClone(r.rules),
    grantedAt: r.grantedAt,
    expiresAt: r.expiresAt,
  };
}

function copyUser(u: UserRecord): UserRecord {
  return { ...u, options: u.options.map((o) => ({ name: o.name, value: o.value })) };
}

export class MemoryStore implements Store, AdminStore, StoreRetention, UserStore {
  private readonly grants = new Map<string, GrantSlot>();
  private grantSeq = 0;
  private events: StoredEvent[] = [];
  private nextEventId = 1;
  private readonly replay = new Map<string, ReplayEntry>();
  private readonly admins = new Map<string, AdminAccount>();
  private readonly tokens = new Map<string, ApiToken>();
  private readonly users = new Map<string, UserRecord>();
  private readonly enrollments = new Map<string, EnrollmentRecord>();
  private closed = false;

  private run<T>(what: string, fn: () => T): Promise<T> {
    if (this.closed)
      return Promise.reject(new StoreFailure('closed', `store: ${what} failed: the store is closed`));
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(
        e instanceof StoreFailure ? e : new StoreFailure('other', `store: ${what} failed`, { cause: e }),
      );
    }
  }

  saveGrant(g: Grant): Promise<void> {
    return this.run('saving grant', () => {
      const slot = this.grants.get(g.id);
      if (slot) {
        slot.rec.expiresAt = g.expiresAt;
        return;
      }
      this.grantSeq += 1;
      this.grants.set(g.id, {
        seq: this.grantSeq,
        rec: { ...plainGrant(g), endedAt: null, endReason: null },
      });
    });
  }

  endGrant(id: string, at: number, reason: string): Promise<void> {
    return this.run('ending grant', () => {
      const slot = this.grants.get(id);
      if (slot && slot.rec.endedAt === null) {
        slot.rec.endedAt = at;
        slot.rec.endReason = reason;
      }
    });
  }

  getGrant(id: string): Promise<GrantRecord | null> {
    return this.run('reading grant', () => {
      const slot = this.grants.get(id);
      return slot ? structuredClone(slot.rec) : null;
    });
  }

  liveGrants(): Promise<Grant[]> {
    return this.run('listing live grants', () =>
      [...this.grants.values()]
        .filter((s) => s.rec.endedAt === null)
        .sort((a, b) => a.rec.grantedAt - b.rec.grantedAt || a.seq - b.seq)
        .map((s) => plainGrant(s.rec)),
    );
  }

  recentGrants(limit: number): Promise<GrantRecord[]> {
    return this.run('listing grants', () =>
      limit > 0
        ? [...this.grants.values()]
            .sort((a, b) => b.rec.grantedAt - a.rec.grantedAt || b.seq - a.seq)
            .slice(0, limit)
            .map((s) => structuredClone(s.rec))
        : [],
    );
  }

  addEvents(events: readonly SpaEvent[]): Promise<void> {
    return this.run('saving events', () => {
      for (const e of events) {
        this.events.push({ ...e, id: this.nextEventId });
        this.nextEventId += 1;
      }
    });
  }

  listEvents(filter: EventFilter): Promise<StoredEvent[]> {
    return this.run('listing events', () => {
      const out: StoredEvent[] = [];
      for (let i = this.events.length - 1; i >= 0 && out.length < filter.limit; i--) {
        const e = this.events[i];
        if (filter.before !== undefined && e.id >= filter.before) continue;
        if (filter.outcome !== undefined && e.outcome !== filter.outcome) continue;
        if (filter.srcIp !== undefined && e.srcIp !== filter.srcIp) continue;
        if (filter.user !== undefined && e.user !== filter.user) continue;
        out.push({ ...e });
      }
      return out;
    });
  }

  eventCounts(since: number): Promise<{ outcome: string; reason: string; count: number }[]> {
    return this.run('counting events', () => {
      const counts = new Map<string, { outcome: string; reason: string; count: number }>();
      for (const e of this.events) {
        if (e.at < since) continue;
        const key = JSON.stringify([e.outcome, e.reason]);
        const c = counts.get(key);
        if (c) c.count += 1;
        else counts.set(key, { outcome: e.outcome, reason: e.reason, count: 1 });
      }
      return [...counts.values()].sort(
        (a, b) => byString(a.outcome, b.outcome) || byString(a.reason, b.reason),
      );
    });
  }

  replayAdd(e: ReplayEntry): Promise<boolean> {
    return this.run('adding replay digest', () => {
      if (this.replay.has(e.digest)) return false;
      this.replay.set(e.digest, { ...e });
      return true;
    });
  }

  replayGet(digest: string): Promise<ReplayEntry | null> {
    return this.run('reading replay digest', () => {
      const e = this.replay.get(digest);
      return e ? { ...e } : null;
    });
  }

  replayLoad(since: number): Promise<ReplayEntry[]> {
    return this.run('loading replay digests', () =>
      [...this.replay.values()]
        .filter((e) => e.at >= since)
        .sort((a, b) => a.at - b.at || byString(a.digest, b.digest))
        .map((e) => ({ ...e })),
    );
  }

  replayPrune(before: number): Promise<number> {
    return this.run('pruning replay digests', () => {
      let n = 0;
      for (const [d, e] of this.replay) {
        if (e.at < before) {
          this.replay.delete(d);
          n += 1;
        }
      }
      return n;
    });
  }

  pruneEvents(before: number): Promise<number> {
    return this.run('pruning events', () => {
      const kept = this.events.filter((e) => e.at >= before);
      const n = this.events.length - kept.length;
      this.events = kept;
      return n;
    });
  }

  pruneEndedGrants(before: number): Promise<number> {
    return this.run('pruning ended grants', () => {
      let n = 0;
      for (const [id, s] of this.grants) {
        if (s.rec.endedAt !== null && s.rec.endedAt < before) {
          this.grants.delete(id);
          n += 1;
        }
      }
      return n;
    });
  }

  getAdmin(username: string): Promise<AdminAccount | null> {
    return this.run('reading admin', () => {
      const a = this.admins.get(username);
      return a ? { ...a } : null;
    });
  }

  setAdmin(a: AdminAccount): Promise<void> {
    return this.run('saving admin', () => {
      const old = this.admins.get(a.username);
      // Like the SQL upsert: a password change keeps the account's creation time.
      this.admins.set(a.username, { ...a, createdAt: old ? old.createdAt : a.createdAt });
    });
  }

  listAdmins(): Promise<AdminAccount[]> {
    return this.run('listing admins', () =>
      [...this.admins.values()].sort((a, b) => byString(a.username, b.username)).map((a) => ({ ...a })),
    );
  }

  addToken(t: ApiToken): Promise<void> {
    return this.run('adding token', () => {
      if (this.tokens.has(t.id) || [...this.tokens.values()].some((x) => x.tokenHash === t.tokenHash)) {
        throw new StoreFailure('conflict', 'store: adding token failed: id or hash already present');
      }
      this.tokens.set(t.id, { ...t });
    });
  }

  findTokenByHash(tokenHash: string): Promise<ApiToken | null> {
    return this.run('finding token', () => {
      for (const t of this.tokens.values()) if (t.tokenHash === tokenHash) return { ...t };
      return null;
    });
  }

  listTokens(): Promise<ApiToken[]> {
    return this.run('listing tokens', () =>
      [...this.tokens.values()]
        .sort((a, b) => a.createdAt - b.createdAt || byString(a.id, b.id))
        .map((t) => ({ ...t })),
    );
  }

  revokeToken(id: string, at: number): Promise<boolean> {
    return this.run('revoking token', () => {
      const t = this.tokens.get(id);
      if (!t || t.revokedAt !== null) return false;
      t.revokedAt = at;
      return true;
    });
  }

  listUsers(): Promise<UserRecord[]> {
    return this.run('listing users', () =>
      [...this.users.values()].sort((a, b) => byString(a.name, b.name)).map(copyUser),
    );
  }

  getUser(name: string): Promise<UserRecord | null> {
    return this.run('reading user', () => {
      const u = this.users.get(name);
      return u ? copyUser(u) : null;
    });
  }

  addUser(u: UserRecord): Promise<void> {
    return this.run('adding user', () => {
      if (this.users.has(u.name)) throw new StoreFailure('conflict', 'store: adding user failed: name already present');
      this.users.set(u.name, copyUser(u));
    });
  }

  updateUser(u: UserRecord): Promise<boolean> {
    return this.run('updating user', () => {
      if (!this.users.has(u.name)) return false;
      this.users.set(u.name, copyUser(u));
      return true;
    });
  }

  deleteUser(name: string): Promise<boolean> {
    return this.run('deleting user', () => {
      for (const [id, e] of this.enrollments) if (e.user === name) this.enrollments.delete(id);
      return this.users.delete(name);
    });
  }

  addEnrollment(e: EnrollmentRecord): Promise<void> {
    return this.run('adding enrollment code', () => {
      if (this.enrollments.has(e.id) || [...this.enrollments.values()].some((x) => x.codeHash === e.codeHash)) {
        throw new StoreFailure('conflict', 'store: adding enrollment code failed: id or hash already present');
      }
      this.enrollments.set(e.id, { ...e });
    });
  }

  findEnrollmentByHash(codeHash: string): Promise<EnrollmentRecord | null> {
    return this.run('finding enrollment code', () => {
      for (const e of this.enrollments.values()) if (e.codeHash === codeHash) return { ...e };
      return null;
    });
  }

  consumeEnrollment(id: string, at: number, by: string): Promise<boolean> {
    return this.run('using enrollment code', () => {
      const e = this.enrollments.get(id);
      if (!e || e.usedAt !== null || e.expiresAt <= at) return false;
      e.usedAt = at;
      e.usedBy = by;
      return true;
    });
  }

  listEnrollments(): Promise<EnrollmentRecord[]> {
    return this.run('listing enrollment codes', () =>
      [...this.enrollments.values()]
        .sort((a, b) => b.createdAt - a.createdAt || byString(b.id, a.id))
        .map((e) => ({ ...e })),
    );
  }

  pruneEnrollments(before: number): Promise<number> {
    return this.run('pruning enrollment codes', () => {
      let n = 0;
      for (const [id, e] of this.enrollments) {
        if (e.expiresAt < before || (e.usedAt !== null && e.usedAt < before)) {
          this.enrollments.delete(id);
          n += 1;
        }
      }
      return n;
    });
  }

  /** Idempotent. Later calls reject with kind `closed`, as SqliteStore's do. */
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
