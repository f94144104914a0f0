/** The UserStore contract, held against both MemoryStore and SqliteStore (a temp file). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MemoryStore } from '../../../src/adapters/memory-store.js';
import { SqliteStore } from '../../../src/adapters/sqlite-store.js';
import { storeErrorKind } from '../../../src/adapters/store-errors.js';
import type { EnrollmentRecord, UserRecord, UserStore } from '../../../src/core/ports.js';

const T0 = 1_800_000_000_000;

function user(name: string, over: Partial<UserRecord> = {}): UserRecord {
  return {
    name,
    source: 'ANY',
    options: [
      { name: 'FORWARD_ALL', value: 'Y' },
      { name: 'DISABLE_DNAT', value: 'Y' },
    ],
    keyBase64: Buffer.alloc(32, 1).toString('base64'),
    hmacKeyBase64: Buffer.alloc(64, 2).toString('base64'),
    disabled: false,
    expiresAt: null,
    createdAt: T0,
    updatedAt: T0,
    keysAt: T0,
    keysShown: false,
    ...over,
  };
}

function code(id: string, userName: string, over: Partial<EnrollmentRecord> = {}): EnrollmentRecord {
  return {
    id,
    codeHash: `hash-${id}`,
    user: userName,
    createdAt: T0,
    expiresAt: T0 + 3_600_000,
    createdBy: 'admin',
    usedAt: null,
    usedBy: null,
    ...over,
  };
}

let root = '';
let n = 0;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'spagate-users-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

const impls: [string, () => UserStore & { close(): Promise<void> }][] = [
  ['MemoryStore', () => new MemoryStore()],
  ['SqliteStore', () => SqliteStore.open(join(root, `case${++n}`, 'spagate.db'))],
];

for (const [label, make] of impls) {
  describe(`${label} as a UserStore`, () => {
    test('users round-trip with their options in order and are listed by name', async () => {
      const s = make();
      try {
        await s.addUser(user('zoe', { expiresAt: T0 + 5, disabled: true, keysShown: true }));
        await s.addUser(user('amy'));
        const list = await s.listUsers();
        assert.deepEqual(list.map((u) => u.name), ['amy', 'zoe']);
        assert.deepEqual(await s.getUser('zoe'), user('zoe', { expiresAt: T0 + 5, disabled: true, keysShown: true }));
        assert.equal(await s.getUser('nobody'), null);
      } finally {
        await s.close();
      }
    });

    test('adding a user whose name is taken fails with kind conflict and changes nothing', async () => {
      const s = make();
      try {
        await s.addUser(user('amy'));
        await assert.rejects(s.addUser(user('amy', { source: '10.0.0.0/8' })), (e) => storeErrorKind(e) === 'conflict');
        assert.equal((await s.getUser('amy'))?.source, 'ANY');
      } finally {
        await s.close();
      }
    });

    test('updating replaces every field and reports a missing user', async () => {
      const s = make();
      try {
        await s.addUser(user('amy'));
        const next = user('amy', { source: '10.1.0.0/16', options: [{ name: 'OPEN_PORTS', value: 'tcp/22' }], keyBase64: 'AAAA', disabled: true, expiresAt: T0 + 9, updatedAt: T0 + 1, keysAt: T0 + 1, keysShown: true });
        assert.equal(await s.updateUser(next), true);
        assert.deepEqual(await s.getUser('amy'), next);
        assert.equal(await s.updateUser(user('ghost')), false);
      } finally {
        await s.close();
      }
    });

    test('values read back cannot change what is stored', async () => {
      const s = make();
      try {
        await s.addUser(user('amy'));
        const u = (await s.getUser('amy'))!;
        (u.options as { name: string; value: string }[])[0].value = 'N';
        assert.equal((await s.getUser('amy'))!.options[0].value, 'Y');
      } finally {
        await s.close();
      }
    });

    test('deleting a user deletes its enrollment codes too', async () => {
      const s = make();
      try {
        await s.addUser(user('amy'));
        await s.addUser(user('bob'));
        await s.addEnrollment(code('c1', 'amy'));
        await s.addEnrollment(code('c2', 'bob'));
        assert.equal(await s.deleteUser('amy'), true);
        assert.equal(await s.deleteUser('amy'), false);
        assert.equal(await s.getUser('amy'), null);
        assert.equal(await s.findEnrollmentByHash('hash-c1'), null);
        assert.deepEqual((await s.listEnrollments()).map((e) => e.id), ['c2']);
      } finally {
        await s.close();
      }
    });

    test('an enrollment code is consumed once, never after it expired, and lists newest first', async () => {
      const s = make();
      try {
        await s.addUser(user('amy'));
        await s.addEnrollment(code('c1', 'amy'));
        await s.addEnrollment(code('c2', 'amy', { createdAt: T0 + 1, expiresAt: T0 + 10 }));
        await assert.rejects(s.addEnrollment(code('c3', 'amy', { codeHash: 'hash-c1' })), (e) => storeErrorKind(e) === 'conflict');
        assert.deepEqual((await s.listEnrollments()).map((e) => e.id), ['c2', 'c1']);
        assert.equal(await s.consumeEnrollment('c2', T0 + 10, '10.0.0.5'), false, 'expired at its expiry');
        const [a, b] = await Promise.all([
          s.consumeEnrollment('c1', T0 + 5, '10.0.0.5'),
          s.consumeEnrollment('c1', T0 + 5, '10.0.0.6'),
        ]);
        assert.deepEqual([a, b].sort(), [false, true]);
        const used = (await s.findEnrollmentByHash('hash-c1'))!;
        assert.equal(used.usedAt, T0 + 5);
        assert.equal(used.usedBy, a ? '10.0.0.5' : '10.0.0.6');
        assert.equal(await s.consumeEnrollment('nope', T0, 'x'), false);
      } finally {
        await s.close();
      }
    });

    test('pruning removes codes expired or used before the cut-off only', async () => {
      const s = make();
      try {
        await s.addUser(user('amy'));
        await s.addEnrollment(code('old', 'amy', { expiresAt: T0 + 10 }));
        await s.addEnrollment(code('used', 'amy', { expiresAt: T0 + 1_000_000 }));
        await s.addEnrollment(code('open', 'amy', { expiresAt: T0 + 1_000_000 }));
        await s.consumeEnrollment('used', T0 + 20, 'x');
        assert.equal(await s.pruneEnrollments(T0 + 100), 2);
        assert.deepEqual((await s.listEnrollments()).map((e) => e.id), ['open']);
      } finally {
        await s.close();
      }
    });
  });
}

test('SqliteStore keeps users across reopening in its users and enrollments tables', async () => {
  const file = join(root, 'reopen', 'spagate.db');
  const a = SqliteStore.open(file);
  await a.addUser(user('amy', { keysShown: true }));
  await a.close();
  const b = SqliteStore.open(file);
  try {
    assert.deepEqual(await b.getUser('amy'), user('amy', { keysShown: true }));
  } finally {
    await b.close();
  }
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
    assert.ok(tables.includes('users') && tables.includes('enrollments'));
  } finally {
    db.close();
  }
});

test('SqliteStore reports unreadable user options as corrupt', async () => {
  const file = join(root, 'corrupt', 'spagate.db');
  const s = SqliteStore.open(file);
  await s.addUser(user('amy'));
  await s.close();
  const db = new Database(file);
  db.prepare("UPDATE users SET options_json = '{' WHERE name = 'amy'").run();
  db.close();
  const t = SqliteStore.open(file);
  try {
    await assert.rejects(t.getUser('amy'), (e) => storeErrorKind(e) === 'corrupt');
  } finally {
    await t.close();
  }
});
