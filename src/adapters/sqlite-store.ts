/**
 * The embedded Store: one SQLite file (better-sqlite3, synchronous) behind the async
 * ports. WAL mode so the dashboard can read while the capture loop writes; every failure
 * becomes a StoreFailure whose `kind` tells a full or read-only disk from a bug.
 */
import { closeSync, fchmodSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Grant, GrantRecord, GrantRules, SpaEvent, StoredEvent } from '../core/model.js';
import type {
  AdminAccount,
  AdminStore,
  ApiToken,
  EnrollmentRecord,
  EventFilter,
  Logger,
  ReplayEntry,
  Store,
  StoreRetention,
  UserRecord,
  UserStore,
} from '../core/ports.js';
import { SqliteUserTables } from './sqlite-users.js';
import { MIGRATIONS, migrate, schemaVersion } from './sqlite-migrations.js';
import { StoreFailure, toStoreError } from './store-errors.js';

export function defaultDbFile(dataDir: string): string {
  return join(dataDir, 'spagate.db');
}

/** How long a writer waits for another connection's lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

interface GrantRow {
  id: string;
  stanza_id: string;
  username: string;
  rules_json: string;
  granted_at: number;
  expires_at: number;
  ended_at: number | null;
  end_reason: string | null;
}

interface EventRow {
  id: number;
  at: number;
  outcome: string;
  reason: string;
  src_ip: string | null;
  src_port: number | null;
  mac: string | null;
  username: string | null;
  stanza_id: string | null;
  grant_id: string | null;
  detail: string | null;
}

interface ReplayRow {
  digest: string;
  proto: number;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  at: number;
}

interface AdminRow {
  username: string;
  password_hash: string;
  created_at: number;
}

interface TokenRow {
  id: string;
  label: string;
  token_hash: string;
  created_at: number;
  revoked_at: number | null;
}

const GRANT_COLS = 'id, stanza_id, username, rules_json, granted_at, expires_at, ended_at, end_reason';
const EVENT_COLS = 'id, at, outcome, reason, src_ip, src_port, mac, username, stanza_id, grant_id, detail';
const REPLAY_COLS = 'digest, proto, src_ip, src_port, dst_ip, dst_port, at';
const TOKEN_COLS = 'id, label, token_hash, created_at, revoked_at';

function parseRules(row: GrantRow): GrantRules {
  try {
    return JSON.parse(row.rules_json) as GrantRules;
  } catch (e) {
    throw new StoreFailure('corrupt', `store: grant ${row.id} has unreadable rules`, { cause: e });
  }
}

function toGrant(row: GrantRow): Grant {
  return {
    id: row.id,
    stanzaId: row.stanza_id,
    user: row.username,
    rules: parseRules(row),
    grantedAt: row.granted_at,
    expiresAt: row.expires_at,
  };
}

function toGrantRecord(row: GrantRow): GrantRecord {
  return { ...toGrant(row), endedAt: row.ended_at, endReason: row.end_reason };
}

function toEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    at: row.at,
    outcome: row.outcome as StoredEvent['outcome'],
    reason: row.reason,
    srcIp: row.src_ip,
    srcPort: row.src_port,
    mac: row.mac,
    user: row.username,
    stanzaId: row.stanza_id,
    grantId: row.grant_id,
    detail: row.detail,
  };
}

function toReplay(row: ReplayRow): ReplayEntry {
  return {
    digest: row.digest,
    proto: row.proto,
    srcIp: row.src_ip,
    srcPort: row.src_port,
    dstIp: row.dst_ip,
    dstPort: row.dst_port,
    at: row.at,
  };
}

function toAdmin(row: AdminRow): AdminAccount {
  return { username: row.username, passwordHash: row.password_hash, createdAt: row.created_at };
}

function toToken(row: TokenRow): ApiToken {
  return {
    id: row.id,
    label: row.label,
    tokenHash: row.token_hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

/** Create the data directory (0700) and an empty database file (0600) when missing. */
function prepareFile(file: string, logger: Logger | undefined): void {
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw toStoreError(e, `creating data directory ${dir}`);
  }
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw toStoreError(e, `creating ${file}`);
    // The file holds password hashes: say so when others can read it, but leave the
    // operator's choice alone.
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0)
      logger?.warn({ file, mode: mode.toString(8) }, 'database file is accessible to group or others');
    return;
  }
  try {
    // openSync's mode passes through the umask; make the result exact.
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

export class SqliteStore implements Store, AdminStore, StoreRetention, UserStore {
  private readonly stmt;
  private readonly users: SqliteUserTables;
  private readonly eventQueries = new Map<string, Database.Statement<unknown[], EventRow>>();
  private readonly insertEvents: (events: readonly SpaEvent[]) => void;

  private constructor(
    private readonly db: Database.Database,
    readonly file: string,
  ) {
    this.stmt = {
      saveGrant: db.prepare<[string, string, string, string, number, number]>(
        `INSERT INTO grants (id, stanza_id, username, rules_json, granted_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at`,
      ),
      endGrant: db.prepare<[number, string, string]>(
        'UPDATE grants SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL',
      ),
      getGrant: db.prepare<[string], GrantRow>(`SELECT ${GRANT_COLS} FROM grants WHERE id = ?`),
      liveGrants: db.prepare<[], GrantRow>(
        `SELECT ${GRANT_COLS} FROM grants WHERE ended_at IS NULL ORDER BY granted_at, rowid`,
      ),
      recentGrants: db.prepare<[number], GrantRow>(
        `SELECT ${GRANT_COLS} FROM grants ORDER BY granted_at DESC, rowid DESC LIMIT ?`,
      ),
      pruneGrants: db.prepare<[number]>('DELETE FROM grants WHERE ended_at IS NOT NULL AND ended_at < ?'),
      addEvent: db.prepare<
        [
          number,
          string,
          string,
          string | null,
          number | null,
          string | null,
          string | null,
          string | null,
          string | null,
          string | null,
        ]
      >(
        `INSERT INTO events (at, outcome, reason, src_ip, src_port, mac, username, stanza_id, grant_id, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      eventCounts: db.prepare<[number], { outcome: string; reason: string; count: number }>(
        `SELECT outcome, reason, COUNT(*) AS count FROM events WHERE at >= ?
         GROUP BY outcome, reason ORDER BY outcome, reason`,
      ),
      pruneEvents: db.prepare<[number]>('DELETE FROM events WHERE at < ?'),
      replayAdd: db.prepare<[string, number, string, number, string, number, number]>(
        `INSERT OR IGNORE INTO replay (${REPLAY_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      replayGet: db.prepare<[string], ReplayRow>(`SELECT ${REPLAY_COLS} FROM replay WHERE digest = ?`),
      replayLoad: db.prepare<[number], ReplayRow>(
        `SELECT ${REPLAY_COLS} FROM replay WHERE at >= ? ORDER BY at, digest`,
      ),
      replayPrune: db.prepare<[number]>('DELETE FROM replay WHERE at < ?'),
      getAdmin: db.prepare<[string], AdminRow>(
        'SELECT username, password_hash, created_at FROM admins WHERE username = ?',
      ),
      setAdmin: db.prepare<[string, string, number]>(
        `INSERT INTO admins (username, password_hash, created_at) VALUES (?, ?, ?)
         ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash`,
      ),
      listAdmins: db.prepare<[], AdminRow>(
        'SELECT username, password_hash, created_at FROM admins ORDER BY username',
      ),
      addToken: db.prepare<[string, string, string, number, number | null]>(
        `INSERT INTO tokens (${TOKEN_COLS}) VALUES (?, ?, ?, ?, ?)`,
      ),
      findToken: db.prepare<[string], TokenRow>(`SELECT ${TOKEN_COLS} FROM tokens WHERE token_hash = ?`),
      listTokens: db.prepare<[], TokenRow>(`SELECT ${TOKEN_COLS} FROM tokens ORDER BY created_at, id`),
      revokeToken: db.prepare<[number, string]>(
        'UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
      ),
    };
    this.users = new SqliteUserTables(db);
    const add = this.stmt.addEvent;
    this.insertEvents = db.transaction((events: readonly SpaEvent[]) => {
      for (const e of events) {
        add.run(
          e.at,
          e.outcome,
          e.reason,
          e.srcIp,
          e.srcPort,
          e.mac,
          e.user,
          e.stanzaId,
          e.grantId,
          e.detail,
        );
      }
    });
  }

  /**
   * Open (creating when missing) the database at `file` and bring its schema up to date.
   * Throws a StoreFailure (kind `cantopen`, `readonly`, `full`, ...) when that fails.
   */
  static open(file: string, opts: { logger?: Logger } = {}): SqliteStore {
    const logger = opts.logger;
    prepareFile(file, logger);
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { fileMustExist: true });
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      // NORMAL is durable across application crashes in WAL mode; only an OS crash can
      // lose the last transactions, which costs at most a few events.
      db.pragma('synchronous = NORMAL');
      migrate(db, MIGRATIONS, logger);
      // Rewriting the version is a real (tiny) write: a read-only file or file system fails
      // here, at start-up, instead of at the first packet. SQLite itself opens such files
      // read-only without complaint.
      db.pragma(`user_version = ${schemaVersion(db)}`);
      const store = new SqliteStore(db, file);
      logger?.debug({ file }, 'store opened');
      return store;
    } catch (e) {
      try {
        db?.close();
      } catch {
        // Already failing; the first error is the one worth reporting.
      }
      throw toStoreError(e, `opening ${file}`);
    }
  }

  private run<T>(what: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(toStoreError(e, what));
    }
  }

  saveGrant(g: Grant): Promise<void> {
    return this.run('saving grant', () => {
      this.stmt.saveGrant.run(g.id, g.stanzaId, g.user, JSON.stringify(g.rules), g.grantedAt, g.expiresAt);
    });
  }

  endGrant(id: string, at: number, reason: string): Promise<void> {
    return this.run('ending grant', () => {
      this.stmt.endGrant.run(at, reason, id);
    });
  }

  getGrant(id: string): Promise<GrantRecord | null> {
    return this.run('reading grant', () => {
      const row = this.stmt.getGrant.get(id);
      return row ? toGrantRecord(row) : null;
    });
  }

  liveGrants(): Promise<Grant[]> {
    return this.run('listing live grants', () => this.stmt.liveGrants.all().map(toGrant));
  }

  recentGrants(limit: number): Promise<GrantRecord[]> {
    return this.run('listing grants', () =>
      limit > 0 ? this.stmt.recentGrants.all(limit).map(toGrantRecord) : [],
    );
  }

  addEvents(events: readonly SpaEvent[]): Promise<void> {
    return this.run('saving events', () => {
      if (events.length > 0) this.insertEvents(events);
    });
  }

  listEvents(filter: EventFilter): Promise<StoredEvent[]> {
    return this.run('listing events', () => {
      if (filter.limit <= 0) return [];
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.before !== undefined) {
        where.push('id < ?');
        args.push(filter.before);
      }
      if (filter.outcome !== undefined) {
        where.push('outcome = ?');
        args.push(filter.outcome);
      }
      if (filter.srcIp !== undefined) {
        where.push('src_ip = ?');
        args.push(filter.srcIp);
      }
      if (filter.user !== undefined) {
        where.push('username = ?');
        args.push(filter.user);
      }
      args.push(filter.limit);
      // One statement per combination of filters (at most 16), each prepared once.
      const key = where.join(' AND ');
      let q = this.eventQueries.get(key);
      if (q === undefined) {
        const cond = where.length > 0 ? `WHERE ${key}` : '';
        q = this.db.prepare<unknown[], EventRow>(
          `SELECT ${EVENT_COLS} FROM events ${cond} ORDER BY id DESC LIMIT ?`,
        );
        this.eventQueries.set(key, q);
      }
      return q.all(...args).map(toEvent);
    });
  }

  eventCounts(since: number): Promise<{ outcome: string; reason: string; count: number }[]> {
    return this.run('counting events', () => this.stmt.eventCounts.all(since));
  }

  replayAdd(e: ReplayEntry): Promise<boolean> {
    return this.run('adding replay digest', () => {
      const r = this.stmt.replayAdd.run(e.digest, e.proto, e.srcIp, e.srcPort, e.dstIp, e.dstPort, e.at);
      return r.changes > 0;
    });
  }

  replayGet(digest: string): Promise<ReplayEntry | null> {
    return this.run('reading replay digest', () => {
      const row = this.stmt.replayGet.get(digest);
      return row ? toReplay(row) : null;
    });
  }

  replayLoad(since: number): Promise<ReplayEntry[]> {
    return this.run('loading replay digests', () => this.stmt.replayLoad.all(since).map(toReplay));
  }

  replayPrune(before: number): Promise<number> {
    return this.run('pruning replay digests', () => this.stmt.replayPrune.run(before).changes);
  }

  pruneEvents(before: number): Promise<number> {
    return this.run('pruning events', () => this.stmt.pruneEvents.run(before).changes);
  }

  pruneEndedGrants(before: number): Promise<number> {
    return this.run('pruning ended grants', () => this.stmt.pruneGrants.run(before).changes);
  }

  getAdmin(username: string): Promise<AdminAccount | null> {
    return this.run('reading admin', () => {
      const row = this.stmt.getAdmin.get(username);
      return row ? toAdmin(row) : null;
    });
  }

  setAdmin(a: AdminAccount): Promise<void> {
    return this.run('saving admin', () => {
      this.stmt.setAdmin.run(a.username, a.passwordHash, a.createdAt);
    });
  }

  listAdmins(): Promise<AdminAccount[]> {
    return this.run('listing admins', () => this.stmt.listAdmins.all().map(toAdmin));
  }

  addToken(t: ApiToken): Promise<void> {
    return this.run('adding token', () => {
      this.stmt.addToken.run(t.id, t.label, t.tokenHash, t.createdAt, t.revokedAt);
    });
  }

  findTokenByHash(tokenHash: string): Promise<ApiToken | null> {
    return this.run('finding token', () => {
      const row = this.stmt.findToken.get(tokenHash);
      return row ? toToken(row) : null;
    });
  }

  listTokens(): Promise<ApiToken[]> {
    return this.run('listing tokens', () => this.stmt.listTokens.all().map(toToken));
  }

  revokeToken(id: string, at: number): Promise<boolean> {
    return this.run('revoking token', () => this.stmt.revokeToken.run(at, id).changes > 0);
  }

  listUsers(): Promise<UserRecord[]> {
    return this.run('listing users', () => this.users.listUsers());
  }

  getUser(name: string): Promise<UserRecord | null> {
    return this.run('reading user', () => this.users.getUser(name));
  }

  addUser(u: UserRecord): Promise<void> {
    return this.run('adding user', () => this.users.addUser(u));
  }

  updateUser(u: UserRecord): Promise<boolean> {
    return this.run('updating user', () => this.users.updateUser(u));
  }

  deleteUser(name: string): Promise<boolean> {
    return this.run('deleting user', () => this.users.deleteUser(name));
  }

  addEnrollment(e: EnrollmentRecord): Promise<void> {
    return this.run('adding enrollment code', () => this.users.addEnrollment(e));
  }

  findEnrollmentByHash(codeHash: string): Promise<EnrollmentRecord | null> {
    return this.run('finding enrollment code', () => this.users.findEnrollmentByHash(codeHash));
  }

  consumeEnrollment(id: string, at: number, by: string): Promise<boolean> {
    return this.run('using enrollment code', () => this.users.consumeEnrollment(id, at, by));
  }

  listEnrollments(): Promise<EnrollmentRecord[]> {
    return this.run('listing enrollment codes', () => this.users.listEnrollments());
  }

  pruneEnrollments(before: number): Promise<number> {
    return this.run('pruning enrollment codes', () => this.users.pruneEnrollments(before));
  }

  /** Idempotent. Later calls on the store reject with kind `closed`. */
  close(): Promise<void> {
    return this.run('closing', () => {
      if (this.db.open) this.db.close();
    });
  }
}
