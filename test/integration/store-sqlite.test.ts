import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/core/errors.js';
import { SqliteStore, defaultDbFile } from '../../src/adapters/sqlite-store.js';
import { MIGRATIONS, migrate, schemaVersion } from '../../src/adapters/sqlite-migrations.js';
import { storeErrorKind, toStoreError } from '../../src/adapters/store-errors.js';
import { storeContract } from './store-contract.js';

let root = '';
let n = 0;
function freshFile(): string {
  n += 1;
  return join(root, `case${n}`, 'data', 'spagate.db');
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'spagate-store-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

storeContract('SqliteStore', () => Promise.resolve(SqliteStore.open(freshFile())));

const T0 = 1_800_000_000_000;
const rules = {
  src: '198.51.100.9',
  mac: null,
  dst: null,
  input: [{ proto: 'tcp' as const, port: 22 }],
  output: false,
  forward: null,
  dnat: null,
  snat: null,
};

function isKind(kind: string) {
  return (e: unknown): boolean => e instanceof StoreError && storeErrorKind(e) === kind;
}

describe('SqliteStore on disk', () => {
  test('defaultDbFile names spagate.db inside the data directory', () => {
    assert.equal(defaultDbFile('/var/lib/spagate'), '/var/lib/spagate/spagate.db');
  });

  test('open creates the data directory 0700 and the database and WAL files 0600', async () => {
    const file = freshFile();
    const s = SqliteStore.open(file);
    try {
      await s.addEvents([
        {
          at: T0,
          outcome: 'accepted',
          reason: 'granted',
          srcIp: null,
          srcPort: null,
          mac: null,
          user: null,
          stanzaId: null,
          grantId: null,
          detail: null,
        },
      ]);
      assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.ok(existsSync(`${file}-wal`), 'WAL mode keeps a -wal file while open');
      assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600);
      const peek = new Database(file, { readonly: true });
      try {
        assert.equal(peek.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal(schemaVersion(peek), MIGRATIONS.length);
      } finally {
        peek.close();
      }
    } finally {
      await s.close();
    }
  });

  test('a reopened store sees grants, events, replay digests, admins and tokens', async () => {
    const file = freshFile();
    const a = SqliteStore.open(file);
    await a.saveGrant({
      id: 'g1',
      stanzaId: 's',
      user: 'alice',
      rules,
      grantedAt: T0,
      expiresAt: T0 + 30_000,
    });
    await a.saveGrant({
      id: 'g2',
      stanzaId: 's',
      user: 'bob',
      rules,
      grantedAt: T0 + 1,
      expiresAt: T0 + 30_000,
    });
    await a.endGrant('g2', T0 + 5, 'admin');
    await a.addEvents([
      {
        at: T0,
        outcome: 'accepted',
        reason: 'granted',
        srcIp: '198.51.100.9',
        srcPort: 1,
        mac: null,
        user: 'alice',
        stanzaId: 's',
        grantId: 'g1',
        detail: null,
      },
    ]);
    await a.replayAdd({
      digest: 'd1',
      proto: 17,
      srcIp: '198.51.100.9',
      srcPort: 1,
      dstIp: '0.0.0.0',
      dstPort: 62201,
      at: T0,
    });
    await a.setAdmin({ username: 'root', passwordHash: 'scrypt$x', createdAt: T0 });
    await a.addToken({ id: 't1', label: 'ci', tokenHash: 'h1', createdAt: T0, revokedAt: null });
    await a.close();

    const b = SqliteStore.open(file);
    try {
      assert.deepEqual(
        (await b.liveGrants()).map((g) => g.id),
        ['g1'],
      );
      assert.equal((await b.getGrant('g2'))?.endReason, 'admin');
      const events = await b.listEvents({ limit: 10 });
      assert.equal(events.length, 1);
      assert.equal(events[0].grantId, 'g1');
      assert.equal(
        await b.replayAdd({
          digest: 'd1',
          proto: 17,
          srcIp: '198.51.100.9',
          srcPort: 1,
          dstIp: '0.0.0.0',
          dstPort: 62201,
          at: T0 + 9,
        }),
        false,
      );
      assert.equal((await b.getAdmin('root'))?.passwordHash, 'scrypt$x');
      assert.equal((await b.findTokenByHash('h1'))?.id, 't1');
      // Event ids keep growing across restarts, so paging cursors stay valid.
      await b.addEvents([{ ...events[0], at: T0 + 1 }]);
      const [newest] = await b.listEvents({ limit: 1 });
      assert.ok(newest.id > events[0].id);
    } finally {
      await b.close();
    }
  });

  test('open migrates a database from the first schema version and keeps its data', async () => {
    const file = freshFile();
    const dir = dirname(file);
    mkdirSync(dir, { recursive: true });
    const old = new Database(file);
    try {
      migrate(old, MIGRATIONS.slice(0, 1));
      old
        .prepare(
          'INSERT INTO grants (id, stanza_id, username, rules_json, granted_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run('old1', 's', 'alice', JSON.stringify(rules), T0, T0 + 1000);
      assert.equal(schemaVersion(old), 1);
    } finally {
      old.close();
    }
    assert.ok(existsSync(dir));
    const s = SqliteStore.open(file);
    try {
      assert.deepEqual(await s.getGrant('old1'), {
        id: 'old1',
        stanzaId: 's',
        user: 'alice',
        rules,
        grantedAt: T0,
        expiresAt: T0 + 1000,
        endedAt: null,
        endReason: null,
      });
      await s.setAdmin({ username: 'root', passwordHash: 'h', createdAt: T0 });
      assert.equal((await s.listAdmins()).length, 1);
    } finally {
      await s.close();
    }
    const peek = new Database(file, { readonly: true });
    try {
      assert.equal(schemaVersion(peek), MIGRATIONS.length);
    } finally {
      peek.close();
    }
  });

  test('open refuses a database written by a newer schema', async () => {
    const file = freshFile();
    await SqliteStore.open(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    assert.throws(
      () => SqliteStore.open(file),
      (e: unknown) => isKind('other')(e) && /newer/.test((e as Error).message),
    );
  });

  test('a read-only database file gives a readonly StoreError at open instead of a crash', async () => {
    const file = freshFile();
    const s = SqliteStore.open(file);
    await s.saveGrant({
      id: 'g1',
      stanzaId: 's',
      user: 'alice',
      rules,
      grantedAt: T0,
      expiresAt: T0 + 30_000,
    });
    await s.close();
    // root ignores permission bits; the immutable attribute stops root too.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('/usr/bin/chattr', ['+i', file]);
    else chmodSync(file, 0o400);
    try {
      assert.throws(
        () => SqliteStore.open(file),
        (e: unknown) => isKind('readonly')(e) && (e as Error).cause instanceof Error,
      );
    } finally {
      if (asRoot) execFileSync('/usr/bin/chattr', ['-i', file]);
      else chmodSync(file, 0o600);
    }
  });

  test('a file that is not a database gives a corrupt StoreError', () => {
    const file = freshFile();
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      'this is not sqlite, just text that is long enough to fill a header page.'.repeat(10),
      { mode: 0o600 },
    );
    assert.throws(() => SqliteStore.open(file), isKind('corrupt'));
  });

  test('a data directory that cannot be created gives a cantopen StoreError', () => {
    const blocker = join(root, `blocker${n++}`);
    writeFileSync(blocker, '');
    assert.throws(() => SqliteStore.open(join(blocker, 'data', 'spagate.db')), isKind('cantopen'));
  });

  test('toStoreError marks a real SQLITE_FULL as full', () => {
    const db = new Database(join(root, `full${n++}.db`));
    try {
      db.exec('CREATE TABLE t (x TEXT)');
      db.pragma('max_page_count = 3');
      let caught: unknown;
      const ins = db.prepare('INSERT INTO t VALUES (?)');
      for (let i = 0; i < 100 && caught === undefined; i++) {
        try {
          ins.run('x'.repeat(2000));
        } catch (e) {
          caught = e;
        }
      }
      assert.ok(caught !== undefined, 'SQLite refused to grow past max_page_count');
      const err = toStoreError(caught, 'test insert');
      assert.equal(err.kind, 'full');
      assert.equal(err.code, 'SG_STORE');
      assert.equal(err.cause, caught);
    } finally {
      db.close();
    }
  });
});
