/**
 * The SQLite schema as an ordered list of migrations. The database's `PRAGMA user_version`
 * is the number of migrations applied; opening a store applies the missing ones in order,
 * each in its own transaction together with the version bump. A later feature adds a
 * table by appending a migration; never edit or reorder one that has shipped.
 */
import type Database from 'better-sqlite3';
import type { Logger } from '../core/ports.js';
import { StoreFailure } from './store-errors.js';

export interface Migration {
  /** What it does, for the log. */
  name: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'grants, events and replay cache',
    up(db) {
      db.exec(`
        CREATE TABLE grants (
          id          TEXT PRIMARY KEY,
          stanza_id   TEXT NOT NULL,
          username    TEXT NOT NULL,
          rules_json  TEXT NOT NULL,
          granted_at  INTEGER NOT NULL,
          expires_at  INTEGER NOT NULL,
          ended_at    INTEGER,
          end_reason  TEXT
        );
        CREATE INDEX grants_ended_at ON grants (ended_at);
        CREATE INDEX grants_granted_at ON grants (granted_at);

        CREATE TABLE events (
          id         INTEGER PRIMARY KEY AUTOINCREMENT,
          at         INTEGER NOT NULL,
          outcome    TEXT NOT NULL,
          reason     TEXT NOT NULL,
          src_ip     TEXT,
          src_port   INTEGER,
          mac        TEXT,
          username   TEXT,
          stanza_id  TEXT,
          grant_id   TEXT,
          detail     TEXT
        );
        CREATE INDEX events_at ON events (at);
        CREATE INDEX events_outcome ON events (outcome);
        CREATE INDEX events_src_ip ON events (src_ip);
        CREATE INDEX events_username ON events (username);

        CREATE TABLE replay (
          digest    TEXT PRIMARY KEY,
          proto     INTEGER NOT NULL,
          src_ip    TEXT NOT NULL,
          src_port  INTEGER NOT NULL,
          dst_ip    TEXT NOT NULL,
          dst_port  INTEGER NOT NULL,
          at        INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX replay_at ON replay (at);
      `);
    },
  },
  {
    name: 'dashboard admins and API tokens',
    up(db) {
      db.exec(`
        CREATE TABLE admins (
          username       TEXT PRIMARY KEY,
          password_hash  TEXT NOT NULL,
          created_at     INTEGER NOT NULL
        );

        CREATE TABLE tokens (
          id          TEXT PRIMARY KEY,
          label       TEXT NOT NULL,
          token_hash  TEXT NOT NULL UNIQUE,
          created_at  INTEGER NOT NULL,
          revoked_at  INTEGER
        );
      `);
    },
  },
  {
    name: 'users (database access stanzas) and enrollment codes',
    up(db) {
      db.exec(`
        CREATE TABLE users (
          name          TEXT PRIMARY KEY,
          source        TEXT NOT NULL,
          options_json  TEXT NOT NULL,
          key_b64       TEXT NOT NULL,
          hmac_key_b64  TEXT NOT NULL,
          disabled      INTEGER NOT NULL DEFAULT 0,
          expires_at    INTEGER,
          created_at    INTEGER NOT NULL,
          updated_at    INTEGER NOT NULL,
          keys_at       INTEGER NOT NULL,
          keys_shown    INTEGER NOT NULL DEFAULT 0
        );

        CREATE TABLE enrollments (
          id          TEXT PRIMARY KEY,
          code_hash   TEXT NOT NULL UNIQUE,
          username    TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
          created_at  INTEGER NOT NULL,
          expires_at  INTEGER NOT NULL,
          created_by  TEXT NOT NULL,
          used_at     INTEGER,
          used_by     TEXT
        );
        CREATE INDEX enrollments_username ON enrollments (username);
      `);
    },
  },
];

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Bring `db` up to `migrations.length`. Refuses a database written by a newer spagate,
 * whose schema this code does not know.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[], logger?: Logger): void {
  const from = schemaVersion(db);
  if (from > migrations.length) {
    throw new StoreFailure(
      'other',
      `store: database schema version ${from} is newer than this spagate supports (${migrations.length}); upgrade spagate or restore a backup`,
    );
  }
  for (let v = from; v < migrations.length; v++) {
    const m = migrations[v];
    db.transaction(() => {
      m.up(db);
      // user_version lives in the database header, which is written inside this transaction.
      db.pragma(`user_version = ${v + 1}`);
    })();
    logger?.info({ version: v + 1, migration: m.name }, 'store schema migrated');
  }
}
