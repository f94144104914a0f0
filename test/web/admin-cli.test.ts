import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { defaultDbFile, SqliteStore } from '../../src/adapters/sqlite-store.js';
import { cryptoRandom } from '../../src/adapters/system-clock.js';
import { admin, makeAdminCommand } from '../../src/cli/commands/admin.js';
import { main } from '../../src/cli/dispatch.js';
import type { CliIo, Command } from '../../src/cli/io.js';
import type { AdminStore } from '../../src/core/ports.js';
import { verifyPassword } from '../../src/web/password.js';
import { hashToken } from '../../src/web/tokens.js';
import { loginAttempt, startApp } from './harness.js';

async function run(
  cmd: Command,
  argv: string[],
  stdin = '',
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const io: CliIo = { stdout, stderr, stdin: Readable.from([stdin]), env, cwd: '/' };
  let code: number;
  try {
    code = await cmd(argv, io);
  } catch (e) {
    // Dispatch turns usage errors into exit status 2; mirror it for direct calls.
    code = (e as Error).constructor.name === 'UsageError' ? 2 : 1;
    err += (e as Error).message;
  }
  return { code, out, err };
}

/** The command closes what it opens; the test keeps the memory store and counts the closes. */
function memoryCommand(store: MemoryStore, closes = { n: 0 }): Command {
  const view: AdminStore & { close(): Promise<void> } = {
    getAdmin: (u) => store.getAdmin(u),
    setAdmin: (a) => store.setAdmin(a),
    listAdmins: () => store.listAdmins(),
    addToken: (t) => store.addToken(t),
    findTokenByHash: (h) => store.findTokenByHash(h),
    listTokens: () => store.listTokens(),
    revokeToken: (id, at) => store.revokeToken(id, at),
    close: () => {
      closes.n += 1;
      return Promise.resolve();
    },
  };
  return makeAdminCommand({
    openStore: () => Promise.resolve(view),
    clock: new ManualClock(Date.UTC(2027, 0, 1)),
    random: cryptoRandom,
  });
}

test('admin set-password stores a verifiable scrypt hash of the first stdin line', async () => {
  const store = new MemoryStore();
  const closes = { n: 0 };
  const cmd = memoryCommand(store, closes);
  const r = await run(cmd, ['set-password', '--user', 'ops'], 'hunter2hunter2\r\nignored\n');
  assert.equal(r.code, 0, r.err);
  assert.equal(closes.n, 1);
  assert.match(r.out, /account created for ops/);
  const a = await store.getAdmin('ops');
  assert.ok(a);
  assert.match(a.passwordHash, /^scrypt\$32768\$8\$1\$/);
  assert.equal(await verifyPassword('hunter2hunter2', a.passwordHash), true);
  assert.equal(await verifyPassword('ignored', a.passwordHash), false);
  const again = await run(cmd, ['set-password', '--user=ops'], 'another-password');
  assert.match(again.out, /password changed for ops/);
  assert.equal(await verifyPassword('another-password', (await store.getAdmin('ops'))!.passwordHash), true);
  assert.equal((await store.getAdmin('ops'))!.createdAt, a.createdAt);
});

test('admin set-password refuses short passwords and bad usernames without touching the store', async () => {
  const store = new MemoryStore();
  let opened = 0;
  const cmd = makeAdminCommand({
    openStore: () => {
      opened += 1;
      return Promise.reject(new Error('must not open'));
    },
    clock: new ManualClock(),
    random: cryptoRandom,
  });
  assert.equal((await run(cmd, ['set-password'], 'short\n')).code, 2);
  assert.equal((await run(cmd, ['set-password'], '')).code, 2);
  assert.equal((await run(cmd, ['set-password', '--user', 'a b'], 'longenough\n')).code, 2);
  assert.equal((await run(cmd, ['set-password', '--bogus'], 'longenough\n')).code, 2);
  assert.equal(opened, 0);
  assert.deepEqual(await store.listAdmins(), []);
});

test('admin token create prints the token alone on the last line and stores only its hash', async () => {
  const store = new MemoryStore();
  const cmd = memoryCommand(store);
  const r = await run(cmd, ['token', 'create', '--label', 'ci bot']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split('\n');
  const token = lines.at(-1)!;
  assert.match(token, /^sgt_[A-Za-z0-9_-]{43}$/);
  const [t] = await store.listTokens();
  assert.ok(t);
  assert.equal(t.label, 'ci bot');
  assert.equal(t.tokenHash, hashToken(token));
  assert.ok(!JSON.stringify(await store.listTokens()).includes(token));

  const list = await run(cmd, ['token', 'list']);
  assert.match(list.out, new RegExp(`^${t.id}\\tactive\\tcreated 2027-01-01T00:00:00.000Z\\tci bot$`, 'm'));
  assert.equal((await run(cmd, ['token', 'revoke', t.id])).code, 0);
  assert.match((await run(cmd, ['token', 'list'])).out, new RegExp(`^${t.id}\\trevoked `, 'm'));
  assert.equal((await run(cmd, ['token', 'revoke', 'nope'])).code, 1);
  assert.equal((await run(cmd, ['token', 'frobnicate'])).code, 2);
});

test('spagate admin against a real data directory: the password logs in and the token opens the API', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-admin-'));
  try {
    const set = await run(admin, ['set-password', '--data-dir', dir], 'correct horse battery\n');
    assert.equal(set.code, 0, set.err);
    const tok = await run(admin, ['token', 'create', '--data-dir', dir]);
    assert.equal(tok.code, 0, tok.err);
    const token = tok.out.trimEnd().split('\n').at(-1)!;

    const store = SqliteStore.open(defaultDbFile(dir));
    const h = await startApp({ adminStore: store });
    try {
      assert.equal((await loginAttempt(h, 'admin', 'correct horse battery')).status, 303);
      assert.equal((await loginAttempt(h, 'admin', 'correct horse')).status, 401);
      assert.equal(
        (await fetch(`${h.url}/api/health`, { headers: { Authorization: `Bearer ${token}` } })).status,
        200,
      );
    } finally {
      await h.close();
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spagate admin takes the data directory from SPAGATE_DATA_DIR when --data-dir is absent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-admin-env-'));
  try {
    const set = await run(admin, ['set-password', '--user', 'ops'], 'correct horse battery\n', { SPAGATE_DATA_DIR: dir });
    assert.equal(set.code, 0, set.err);
    const store = SqliteStore.open(defaultDbFile(dir));
    try {
      assert.ok(await store.getAdmin('ops'), 'the account is in the directory SPAGATE_DATA_DIR names');
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('spagate admin is reachable through the command dispatcher', async () => {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await main(['admin', 'help'], {
    stdout,
    stderr: new PassThrough(),
    stdin: Readable.from(['']),
    env: {},
    cwd: '/',
  });
  assert.equal(code, 0);
  assert.match(out, /spagate admin set-password/);
});
