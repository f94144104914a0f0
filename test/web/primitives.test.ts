import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { cryptoRandom } from '../../src/adapters/system-clock.js';
import { hashPassword, verifyPassword } from '../../src/web/password.js';
import { RateLimiter } from '../../src/web/rate-limit.js';
import { SessionStore } from '../../src/web/sessions.js';
import { hashToken, newToken } from '../../src/web/tokens.js';
import { FAST_SCRYPT } from './harness.js';

test('password hashes verify the right password only and carry their parameters', async () => {
  const h = await hashPassword('pä ss', cryptoRandom, FAST_SCRYPT);
  assert.match(h, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
  assert.equal(await verifyPassword('pä ss', h), true);
  assert.equal(await verifyPassword('pä sS', h), false);
  assert.notEqual(await hashPassword('pä ss', cryptoRandom, FAST_SCRYPT), h, 'salted');
  const real = await hashPassword('x', cryptoRandom);
  assert.match(real, /^scrypt\$32768\$8\$1\$/);
  assert.equal(await verifyPassword('x', real), true);
});

test('password verification refuses malformed or hostile hash strings', async () => {
  const good = await hashPassword('x', cryptoRandom, FAST_SCRYPT);
  const parts = good.split('$');
  for (const bad of [
    '',
    'plain',
    'argon2$1$2$3$4$5',
    good.replace('scrypt$1024', 'scrypt$1000'),
    good.replace('scrypt$1024', 'scrypt$4194304'),
    [...parts.slice(0, 5), 'AAAA'].join('$'),
  ]) {
    assert.equal(await verifyPassword('x', bad), false, bad);
  }
});

test('rate limiter blocks at the limit, frees after the window, and keeps a bounded number of keys', () => {
  const rl = new RateLimiter(2, 1000, 100);
  rl.hit('a', 0);
  assert.equal(rl.blockedFor('a', 10), 0);
  rl.hit('a', 10);
  assert.equal(rl.blockedFor('a', 10), 990);
  assert.equal(rl.blockedFor('a', 1000), 0);
  for (let i = 0; i < 10_000; i++) rl.hit(`k${i}`, 500);
  assert.ok(rl.size <= 100, String(rl.size));
  assert.equal(rl.blockedFor('k9999', 500), 0);
});

test('session store expires idle and old sessions and caps how many it keeps', () => {
  const clock = new ManualClock(0);
  const s = new SessionStore(clock, cryptoRandom, 1000, 5000, 3);
  const a = s.create('a');
  assert.equal(s.get(a.id)?.username, 'a');
  assert.equal(s.get(a.id + 'x'), null);
  clock.advance(999);
  assert.ok(s.get(a.id), 'touched within the idle time');
  clock.advance(999);
  assert.ok(s.get(a.id));
  clock.advance(1000);
  assert.equal(s.get(a.id), null, 'idle');
  const b = s.create('b');
  for (let t = 0; t < 6; t++) {
    clock.advance(900);
    s.get(b.id);
  }
  assert.equal(s.get(b.id), null, 'absolute age');
  const ids = ['1', '2', '3', '4'].map((u) => s.create(u).id);
  assert.equal(s.size, 3);
  assert.equal(s.get(ids[0]), null, 'oldest evicted');
  assert.ok(s.get(ids[3]));
});

test('api tokens are high-entropy and hash to a stable sha256 hex', () => {
  const t = newToken(cryptoRandom);
  assert.match(t, /^sgt_[A-Za-z0-9_-]{43}$/);
  assert.notEqual(newToken(cryptoRandom), t);
  // Pinned: stored hashes must stay valid across releases.
  assert.equal(hashToken('sgt_abc'), '5e21159dbff19e979371e21cb843e63810a486f02db3986568f979fb29c3e425');
  assert.match(hashToken(t), /^[0-9a-f]{64}$/);
});
