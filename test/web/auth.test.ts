import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { cryptoRandom } from '../../src/adapters/system-clock.js';
import { hashToken, newToken } from '../../src/web/tokens.js';
import { cookiesFrom, form, jsonPost, login, loginAttempt, makeGrant, startApp } from './harness.js';

const PAGES = ['/', '/hosts', '/events', '/events?outcome=rejected'];
const API_GETS = [
  '/api/grants',
  '/api/events',
  '/api/events?limit=5',
  '/api/health',
  '/api/overview',
  '/api/live',
];
const POSTS = ['/logout', '/hosts/abc/revoke', '/hosts/abc/extend', '/hosts/revoke'];
const API_POSTS = ['/api/grants/abc/revoke', '/api/grants/abc/extend'];

test('every page redirects to the login form when not signed in', async () => {
  const h = await startApp();
  try {
    for (const p of PAGES) {
      const res = await fetch(h.url + p, { redirect: 'manual' });
      assert.equal(res.status, 303, p);
      assert.equal(res.headers.get('location'), `/login?next=${encodeURIComponent(p)}`, p);
    }
    for (const p of POSTS) {
      const res = await fetch(h.url + p, { method: 'POST', redirect: 'manual' });
      assert.equal(res.status, 303, p);
      assert.match(res.headers.get('location') ?? '', /^\/login/, p);
    }
  } finally {
    await h.close();
  }
});

test('every API route answers 401 when not signed in, and changes nothing', async () => {
  const h = await startApp();
  try {
    const g = makeGrant(h.clock.now());
    h.control.grant(g);
    for (const p of API_GETS) {
      const res = await fetch(h.url + p);
      assert.equal(res.status, 401, p);
      assert.deepEqual(await res.json(), { error: 'authentication required' });
    }
    for (const p of [...API_POSTS, `/api/grants/${g.id}/revoke`]) {
      const res = await fetch(h.url + p, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"seconds":60}',
      });
      assert.equal(res.status, 401, p);
    }
    assert.equal((await h.control.listGrants()).length, 1);
    assert.equal(h.control.actions.length, 0);
  } finally {
    await h.close();
  }
});

test('login sets an HttpOnly SameSite=Strict session cookie and opens the pages', async () => {
  const h = await startApp();
  try {
    const res = await loginAttempt(h, 'admin', 'correct horse', { next: '/events' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/events');
    const raw = res.headers.getSetCookie().find((c) => c.startsWith('sg_session='))!;
    assert.match(raw, /HttpOnly/);
    assert.match(raw, /SameSite=Strict/);
    assert.doesNotMatch(raw, /Secure/);
    const cookie = `sg_session=${cookiesFrom(res).get('sg_session')!}`;
    for (const p of PAGES) {
      const page = await fetch(h.url + p, { headers: { Cookie: cookie }, redirect: 'manual' });
      assert.equal(page.status, 200, p);
      assert.equal(page.headers.get('cache-control'), 'no-store');
    }
  } finally {
    await h.close();
  }
});

test('the session cookie is Secure when the dashboard runs with TLS', async () => {
  const h = await startApp({ options: { tls: true } });
  try {
    const res = await loginAttempt(h, 'admin', 'correct horse');
    assert.equal(res.status, 303);
    assert.match(
      res.headers.getSetCookie().find((c) => c.startsWith('sg_session='))!,
      /; Secure/,
    );
  } finally {
    await h.close();
  }
});

test('login fails with a wrong password, an unknown user or a missing form token', async () => {
  const h = await startApp();
  try {
    for (const [u, p] of [
      ['admin', 'wrong'],
      ['nobody', 'correct horse'],
      ['ADMIN', 'correct horse'],
    ] as const) {
      const res = await loginAttempt(h, u, p);
      assert.equal(res.status, 401, `${u}/${p}`);
      assert.equal(cookiesFrom(res).get('sg_session'), undefined);
      assert.match(await res.text(), /Wrong username or password/);
    }
    const noToken = await fetch(`${h.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'username=admin&password=correct+horse',
    });
    assert.equal(noToken.status, 403);
    assert.equal(cookiesFrom(noToken).get('sg_session'), undefined);
  } finally {
    await h.close();
  }
});

test('login refuses an open redirect in next', async () => {
  const h = await startApp();
  try {
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      const res = await loginAttempt(h, 'admin', 'correct horse', { next });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/', next);
    }
  } finally {
    await h.close();
  }
});

test('login is rate-limited per username after repeated failures, even with the right password', async () => {
  const clock = new ManualClock(Date.UTC(2027, 0, 15, 8));
  const h = await startApp({
    clock,
    options: { loginMaxPerUser: 3, loginMaxPerIp: 100, loginWindowMs: 60_000 },
  });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await loginAttempt(h, 'admin', `bad${i}`)).status, 401);
    const blocked = await loginAttempt(h, 'admin', 'correct horse');
    assert.equal(blocked.status, 429);
    assert.equal(blocked.headers.get('retry-after'), '60');
    assert.equal(cookiesFrom(blocked).get('sg_session'), undefined);
    assert.match(await blocked.text(), /Too many failed sign-ins/);
    clock.advance(60_001);
    assert.equal((await loginAttempt(h, 'admin', 'correct horse')).status, 303);
  } finally {
    await h.close();
  }
});

test('login is rate-limited per client address across usernames', async () => {
  const h = await startApp({ options: { loginMaxPerUser: 100, loginMaxPerIp: 4 } });
  try {
    for (let i = 0; i < 4; i++) assert.equal((await loginAttempt(h, `user${i}`, 'x')).status, 401);
    assert.equal((await loginAttempt(h, 'admin', 'correct horse')).status, 429);
    assert.ok(h.logs.some((l) => l.msg === 'login rate-limited'));
  } finally {
    await h.close();
  }
});

test('logout ends the session so the cookie no longer works', async () => {
  const h = await startApp();
  try {
    const b = await login(h);
    const out = await fetch(`${h.url}/logout`, form(b, {}));
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('location'), '/login');
    const after = await fetch(`${h.url}/hosts`, { headers: { Cookie: b.cookie }, redirect: 'manual' });
    assert.equal(after.status, 303);
    assert.equal((await fetch(`${h.url}/api/grants`, { headers: { Cookie: b.cookie } })).status, 401);
  } finally {
    await h.close();
  }
});

test('a session ends after its idle timeout', async () => {
  const clock = new ManualClock(Date.UTC(2027, 0, 15, 8));
  const h = await startApp({ clock, options: { sessionIdleMs: 60_000 } });
  try {
    const b = await login(h);
    clock.advance(59_000);
    assert.equal((await fetch(`${h.url}/api/grants`, { headers: { Cookie: b.cookie } })).status, 200);
    clock.advance(60_000);
    assert.equal((await fetch(`${h.url}/api/grants`, { headers: { Cookie: b.cookie } })).status, 401);
  } finally {
    await h.close();
  }
});

test('bearer tokens authenticate the API without CSRF and stop working once revoked', async () => {
  const h = await startApp();
  try {
    const token = newToken(cryptoRandom);
    await h.store.addToken({
      id: 't1',
      label: 'ci',
      tokenHash: hashToken(token),
      createdAt: h.clock.now(),
      revokedAt: null,
    });
    const g = makeGrant(h.clock.now());
    h.control.grant(g);
    const list = await fetch(`${h.url}/api/grants`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(list.status, 200);
    assert.equal(((await list.json()) as { grants: unknown[] }).grants.length, 1);
    const rev = await fetch(`${h.url}/api/grants/${g.id}/revoke`, jsonPost({ bearer: token }));
    assert.equal(rev.status, 200);
    assert.deepEqual(h.control.actions.at(-1), { action: 'revoke', id: g.id, by: 'token:t1' });

    assert.equal(
      (await fetch(`${h.url}/api/grants`, { headers: { Authorization: `Bearer ${token}x` } })).status,
      401,
    );
    assert.equal(
      (await fetch(`${h.url}/api/grants`, { headers: { Authorization: 'Bearer nonsense' } })).status,
      401,
    );
    assert.equal(
      (await fetch(`${h.url}/api/grants`, { headers: { Authorization: 'Basic YWRtaW46eA==' } })).status,
      401,
    );
    // A bearer token does not open the HTML pages.
    assert.equal(
      (await fetch(`${h.url}/hosts`, { headers: { Authorization: `Bearer ${token}` }, redirect: 'manual' }))
        .status,
      303,
    );

    await h.store.revokeToken('t1', h.clock.now());
    assert.equal(
      (await fetch(`${h.url}/api/grants`, { headers: { Authorization: `Bearer ${token}` } })).status,
      401,
    );
  } finally {
    await h.close();
  }
});
