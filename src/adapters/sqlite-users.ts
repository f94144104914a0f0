/**
 * The UserStore half of SqliteStore: the `users` and `enrollments` tables (migration 3).
 * Kept beside sqlite-store.ts so that file stays about grants, events and replay; it shares
 * the store's connection and its error translation.
 */
import type Database from 'better-sqlite3';
import type { EnrollmentRecord, UserRecord, UserStore } from '../core/ports.js';
import { StoreFailure } from './store-errors.js';

interface UserRow {
  name: string;
  source: string;
  options_json: string;
  key_b64: string;
  hmac_key_b64: string;
  disabled: number;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
  keys_at: number;
  keys_shown: number;
}

interface EnrollmentRow {
  id: string;
  code_hash: string;
  username: string;
  created_at: number;
  expires_at: number;
  created_by: string;
  used_at: number | null;
  used_by: string | null;
}

const USER_COLS =
  'name, source, options_json, key_b64, hmac_key_b64, disabled, expires_at, created_at, updated_at, keys_at, keys_shown';
const ENROLL_COLS = 'id, code_hash, username, created_at, expires_at, created_by, used_at, used_by';

function parseOptions(row: UserRow): UserRecord['options'] {
  try {
    const v: unknown = JSON.parse(row.options_json);
    if (!Array.isArray(v)) throw new Error('not an array');
    return v.map((o) => {
      const { name, value } = o as { name: unknown; value: unknown };
      if (typeof name !== 'string' || typeof value !== 'string') throw new Error('bad option');
      return { name, value };
    });
  } catch (e) {
    throw new StoreFailure('corrupt', `store: user ${row.name} has unreadable options`, { cause: e });
  }
}

function toUser(row: UserRow): UserRecord {
  return {
    name: row.name,
    source: row.source,
    options: parseOptions(row),
    keyBase64: row.key_b64,
    hmacKeyBase64: row.hmac_key_b64,
    disabled: row.disabled !== 0,
    expiresAt: row.expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    keysAt: row.keys_at,
    keysShown: row.keys_shown !== 0,
  };
}

function userArgs(u: UserRecord): (string | number | null)[] {
  return [
    u.name,
    u.source,
    JSON.stringify(u.options.map((o) => ({ name: o.name, value: o.value }))),
    u.keyBase64,
    u.hmacKeyBase64,
    u.disabled ? 1 : 0,
    u.expiresAt,
    u.createdAt,
    u.updatedAt,
    u.keysAt,
    u.keysShown ? 1 : 0,
  ];
}

function toEnrollment(row: EnrollmentRow): EnrollmentRecord {
  return {
    id: row.id,
    codeHash: row.code_hash,
    user: row.username,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    createdBy: row.created_by,
    usedAt: row.used_at,
    usedBy: row.used_by,
  };
}

/** Synchronous statements; SqliteStore wraps each call in its async, error-translating `run`. */
export class SqliteUserTables implements Record<keyof UserStore, unknown> {
  private readonly stmt;
  private readonly removeUser: (name: string) => boolean;

  constructor(db: Database.Database) {
    this.stmt = {
      list: db.prepare<[], UserRow>(`SELECT ${USER_COLS} FROM users ORDER BY name`),
      get: db.prepare<[string], UserRow>(`SELECT ${USER_COLS} FROM users WHERE name = ?`),
      add: db.prepare<(string | number | null)[]>(
        `INSERT INTO users (${USER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      update: db.prepare<(string | number | null)[]>(
        `UPDATE users SET source = ?, options_json = ?, key_b64 = ?, hmac_key_b64 = ?, disabled = ?,
           expires_at = ?, created_at = ?, updated_at = ?, keys_at = ?, keys_shown = ? WHERE name = ?`,
      ),
      del: db.prepare<[string]>('DELETE FROM users WHERE name = ?'),
      delCodes: db.prepare<[string]>('DELETE FROM enrollments WHERE username = ?'),
      addCode: db.prepare<(string | number | null)[]>(
        `INSERT INTO enrollments (${ENROLL_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      findCode: db.prepare<[string], EnrollmentRow>(`SELECT ${ENROLL_COLS} FROM enrollments WHERE code_hash = ?`),
      consume: db.prepare<[number, string, string, number]>(
        'UPDATE enrollments SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?',
      ),
      listCodes: db.prepare<[], EnrollmentRow>(
        `SELECT ${ENROLL_COLS} FROM enrollments ORDER BY created_at DESC, id DESC`,
      ),
      pruneCodes: db.prepare<[number, number]>(
        'DELETE FROM enrollments WHERE expires_at < ? OR (used_at IS NOT NULL AND used_at < ?)',
      ),
    };
    const { del, delCodes } = this.stmt;
    this.removeUser = db.transaction((name: string) => {
      delCodes.run(name);
      return del.run(name).changes > 0;
    });
  }

  listUsers(): UserRecord[] {
    return this.stmt.list.all().map(toUser);
  }

  getUser(name: string): UserRecord | null {
    const row = this.stmt.get.get(name);
    return row ? toUser(row) : null;
  }

  addUser(u: UserRecord): void {
    this.stmt.add.run(...userArgs(u));
  }

  updateUser(u: UserRecord): boolean {
    const [name, ...rest] = userArgs(u);
    return this.stmt.update.run(...rest, name).changes > 0;
  }

  deleteUser(name: string): boolean {
    return this.removeUser(name);
  }

  addEnrollment(e: EnrollmentRecord): void {
    this.stmt.addCode.run(e.id, e.codeHash, e.user, e.createdAt, e.expiresAt, e.createdBy, e.usedAt, e.usedBy);
  }

  findEnrollmentByHash(codeHash: string): EnrollmentRecord | null {
    const row = this.stmt.findCode.get(codeHash);
    return row ? toEnrollment(row) : null;
  }

  consumeEnrollment(id: string, at: number, by: string): boolean {
    return this.stmt.consume.run(at, by, id, at).changes > 0;
  }

  listEnrollments(): EnrollmentRecord[] {
    return this.stmt.listCodes.all().map(toEnrollment);
  }

  pruneEnrollments(before: number): number {
    return this.stmt.pruneCodes.run(before, before).changes;
  }
}
