/**
 * The users pages and API in-process: the dashboard app on 127.0.0.1 port 0 with a real
 * UserDirectory and EnrollmentService over a MemoryStore, driving an in-memory gateway.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { form, jsonPost, login, type Harness } from './harness.js';
import { startUsersApp, type UsersHarness } from './users-harness.js';

const asHarness = (h: UsersHarness): Harness => h as unknown as Harness;

function bearer(h: UsersHarness, method = 'GET', body?: unknown): RequestInit {
  return {
    method,
    headers: { Authorization: `Bearer ${h.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  };
}

function stanzaIn(html: string): string {
  const m = /<pre class="mono" id="fwknoprc">([\s\S]*?)<\/pre>/.exec(html);
  if (!m) throw new Error('no stanza on the page');
  return m[1].replace(/&#x2F;/g, '/').replace(/&#43;/g, '+').replace(/&#61;/g, '=').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

test('users pages and API need a session or a token', async () => {
  const h = await startUsersApp();
  try {
    const page = await fetch(`${h.url}/users`, { redirect: 'manual' });
    assert.equal(page.status, 303);
    assert.match(page.headers.get('location') ?? '', /^\/login/);
    assert.equal((await fetch(`${h.url}/api/users`)).status, 401);
    assert.equal((await fetch(`${h.url}/api/enrollments`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"user":"amy"}' })).status, 401);
    assert.equal((await fetch(`${h.url}/api/users`, { headers: { Authorization: 'Bearer sgt_wrong' } })).status, 401);
  } finally {
    await h.close();
  }
});

test('creating a user from the page shows its keys once: stanza, download and QR code', async () => {
  const h = await startUsersApp();
  try {
    const b = await login(asHarness(h));
    const res = await fetch(`${h.url}/users`, form(b, { name: 'amy', source: 'ANY', options: 'FORWARD_ALL Y\nDISABLE_DNAT Y', expires: '' }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const html = await res.text();
    const rc = stanzaIn(html);
    assert.match(rc, /^\[amy\]\nSPA_SERVER\s+192\.168\.50\.1\n/);
    const key = /^KEY_BASE64\s+(\S+)$/m.exec(rc)![1];
    const hmac = /^HMAC_KEY_BASE64\s+(\S+)$/m.exec(rc)![1];
    assert.equal(Buffer.from(key, 'base64').length, 32);
    assert.equal(Buffer.from(hmac, 'base64').length, 64);
    const dl = /id="download" href="data:text\/plain;charset=utf-8;base64,([^"]+)" download="amy.fwknoprc"/.exec(html);
    assert.ok(dl, 'download link');
    assert.equal(Buffer.from(dl[1].replace(/&#43;/g, '+').replace(/&#x2F;/g, '/').replace(/&#61;/g, '='), 'base64').toString('utf8'), rc);
    assert.match(html, /<div id="qr"[^>]*><svg [^>]*width="264"/);
    assert.equal(h.stanzas().length, 1, 'the gateway got the new stanza');
    assert.equal(h.stanzas()[0].id, 'user:amy');
    assert.ok(h.stanzas()[0].forwardAll);
    // Afterwards the list shows the user but never the keys.
    const list = await (await fetch(`${h.url}/users`, { headers: { Cookie: b.cookie } })).text();
    assert.match(list, /data-user="amy"/);
    assert.ok(!list.includes(key) && !list.includes(hmac));
    const api = await (await fetch(`${h.url}/api/users`, bearer(h))).text();
    assert.ok(!api.includes(key) && !api.includes(hmac));
    assert.ok(!JSON.stringify(h.logs).includes(key));
  } finally {
    await h.close();
  }
});

test('user forms without the CSRF token, or from another origin, change nothing', async () => {
  const h = await startUsersApp();
  try {
    const b = await login(asHarness(h));
    assert.equal((await fetch(`${h.url}/users`, form(b, { name: 'amy' }, false))).status, 403);
    await h.users.directory.create({ name: 'bob' }, 'admin');
    assert.equal((await fetch(`${h.url}/users/bob/disable`, form(b, {}, false))).status, 403);
    assert.equal((await fetch(`${h.url}/users/bob/delete`, form(b, {}, false))).status, 403);
    const cross = form(b, {});
    (cross.headers as Record<string, string>)['Origin'] = 'http://evil.example';
    assert.equal((await fetch(`${h.url}/users/bob/rotate`, cross)).status, 403);
    assert.equal((await fetch(`${h.url}/api/users`, jsonPost(b, { name: 'amy' }, false))).status, 403);
    assert.equal((await fetch(`${h.url}/api/users/bob`, { method: 'DELETE', headers: { Cookie: b.cookie } })).status, 403);
    assert.deepEqual((await h.users.directory.list()).map((u) => [u.name, u.disabled]), [['bob', false]]);
  } finally {
    await h.close();
  }
});

test('disable, enable, expiry, rotate and delete from the page', async () => {
  const h = await startUsersApp();
  try {
    const b = await login(asHarness(h));
    await h.users.directory.create({ name: 'amy' }, 'admin');
    let r = await fetch(`${h.url}/users/amy/disable`, form(b, {}));
    assert.equal(r.status, 303);
    assert.equal((await h.users.directory.get('amy'))?.disabled, true);
    assert.equal(h.stanzas().length, 0);
    const page = await (await fetch(`${h.url}/users`, { headers: { Cookie: b.cookie } })).text();
    assert.match(page, /User amy disabled/);
    assert.match(page, /action="\/users\/amy\/enable"/);
    r = await fetch(`${h.url}/users/amy/enable`, form(b, {}));
    assert.equal(h.stanzas().length, 1);
    r = await fetch(`${h.url}/users/amy/expiry`, form(b, { expires: '2027-03-01T12:30' }));
    assert.equal(r.status, 303);
    assert.equal((await h.users.directory.get('amy'))?.expiresAt, Date.UTC(2027, 2, 1, 12, 30));
    assert.equal(h.stanzas()[0].accessExpire, Date.UTC(2027, 2, 1, 12, 30) / 1000);
    await fetch(`${h.url}/users/amy/expiry`, form(b, { expires: '' }));
    assert.equal((await h.users.directory.get('amy'))?.expiresAt, null);
    const before = h.stanzas()[0].key;
    const rot = await fetch(`${h.url}/users/amy/rotate`, form(b, {}));
    assert.equal(rot.status, 200);
    assert.match(await rot.text(), /Keys rotated/);
    assert.ok(!h.stanzas()[0].key.equals(before));
    r = await fetch(`${h.url}/users/amy/delete`, form(b, {}));
    assert.equal(r.status, 303);
    assert.equal(await h.users.directory.get('amy'), null);
    assert.equal(h.stanzas().length, 0);
    assert.equal((await fetch(`${h.url}/users/amy/delete`, form(b, {}))).status, 404);
  } finally {
    await h.close();
  }
});

test('the users API creates, lists, disables, sets expiry, rotates and deletes', async () => {
  const h = await startUsersApp();
  try {
    let res = await fetch(`${h.url}/api/users`, bearer(h, 'POST', { name: 'amy', options: { FORWARD_ALL: 'Y', DISABLE_DNAT: 'Y' }, expires_at: '2027-06-01T00:00:00Z' }));
    assert.equal(res.status, 201);
    const created = (await res.json()) as { user: Record<string, unknown>; fwknoprc: string; qr_text: string; qr_png: string };
    assert.equal(created.user['name'], 'amy');
    assert.equal(created.user['expires_at'], '2027-06-01T00:00:00.000Z');
    assert.equal(created.user['status'], 'active');
    assert.match(created.fwknoprc, /^\[amy\]/);
    assert.match(created.qr_text, /^KEY_BASE64:\S+ HMAC_KEY_BASE64:\S+$/);
    assert.match(created.qr_png, /^data:image\/png;base64,/);
    res = await fetch(`${h.url}/api/users`, bearer(h, 'POST', { name: 'amy' }));
    assert.equal(res.status, 409);
    res = await fetch(`${h.url}/api/users`, bearer(h, 'POST', { name: 'bad name' }));
    assert.equal(res.status, 400);
    res = await fetch(`${h.url}/api/users`, bearer(h, 'POST', { name: 'eve', options: { HMAC_KEY: 'x' } }));
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, /HMAC_KEY: not a keyword users may set/);
    res = await fetch(`${h.url}/api/users/amy/disable`, bearer(h, 'POST', {}));
    assert.equal(((await res.json()) as { user: { status: string } }).user.status, 'disabled');
    res = await fetch(`${h.url}/api/users/amy/enable`, bearer(h, 'POST', {}));
    assert.equal(((await res.json()) as { user: { status: string } }).user.status, 'active');
    res = await fetch(`${h.url}/api/users/amy/expiry`, bearer(h, 'POST', { expires_at: '2020-01-01T00:00:00Z' }));
    assert.equal(((await res.json()) as { user: { status: string } }).user.status, 'expired');
    res = await fetch(`${h.url}/api/users/amy/expiry`, bearer(h, 'POST', {}));
    assert.equal(res.status, 400);
    res = await fetch(`${h.url}/api/users/amy/expiry`, bearer(h, 'POST', { expires_at: 'soon' }));
    assert.equal(res.status, 400);
    res = await fetch(`${h.url}/api/users/amy/rotate`, bearer(h, 'POST', {}));
    const rotated = (await res.json()) as { fwknoprc: string };
    assert.notEqual(rotated.fwknoprc, created.fwknoprc);
    const one = (await (await fetch(`${h.url}/api/users/amy`, bearer(h))).json()) as { user: Record<string, unknown> };
    assert.deepEqual(Object.keys(one.user).sort(), ['awaiting_enrollment', 'created_at', 'disabled', 'expires_at', 'keys_at', 'live_grants', 'name', 'options', 'source', 'status', 'updated_at']);
    res = await fetch(`${h.url}/api/users/amy`, bearer(h, 'DELETE'));
    assert.deepEqual(await res.json(), { name: 'amy', deleted: true });
    assert.equal((await fetch(`${h.url}/api/users/amy`, bearer(h))).status, 404);
    assert.equal((await fetch(`${h.url}/api/users/amy/rotate`, bearer(h, 'POST', {}))).status, 404);
  } finally {
    await h.close();
  }
});

test('POST /api/enrollments issues a one-time code the portal can redeem; with a session it needs CSRF', async () => {
  const h = await startUsersApp();
  try {
    const res = await fetch(`${h.url}/api/enrollments`, bearer(h, 'POST', { user: 'amy', ttl_seconds: 3600, options: { FORWARD_ALL: 'Y', DISABLE_DNAT: 'Y' } }));
    assert.equal(res.status, 201);
    const issued = (await res.json()) as { id: string; code: string; user: string; expires_at: string; created_user: boolean };
    assert.match(issued.code, /^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    assert.equal(issued.created_user, true);
    assert.equal(issued.expires_at, new Date(h.clock.now() + 3_600_000).toISOString());
    const list = await (await fetch(`${h.url}/api/enrollments`, bearer(h))).text();
    assert.ok(!list.includes(issued.code) && !list.includes(issued.code.replace('-', '')));
    assert.match(list, /"state":"open"/);
    const r = await h.users.enrollment.redeem(issued.code, { ip: '10.0.0.9', mac: null });
    assert.ok('fwknoprc' in r);
    assert.equal(h.stanzas()[0].id, 'user:amy');
    assert.match(await (await fetch(`${h.url}/api/enrollments`, bearer(h))).text(), /"state":"used"/);
    assert.equal((await fetch(`${h.url}/api/enrollments`, bearer(h, 'POST', { user: 'amy', ttl_seconds: 5 }))).status, 400);
    assert.equal((await fetch(`${h.url}/api/enrollments`, bearer(h, 'POST', { user: 'amy', ttl_seconds: '60' }))).status, 400);
    assert.equal((await fetch(`${h.url}/api/enrollments`, bearer(h, 'POST', {}))).status, 400);
    const b = await login(asHarness(h));
    assert.equal((await fetch(`${h.url}/api/enrollments`, jsonPost(b, { user: 'bob' }, false))).status, 403);
    assert.equal((await fetch(`${h.url}/api/enrollments`, jsonPost(b, { user: 'bob' }))).status, 201);
  } finally {
    await h.close();
  }
});

test('the enrollment form shows the code once and lists it as open without the code', async () => {
  const h = await startUsersApp();
  try {
    const b = await login(asHarness(h));
    const res = await fetch(`${h.url}/enrollments`, form(b, { user: 'amy', hours: '2', source: 'ANY', options: 'FORWARD_ALL Y' }));
    assert.equal(res.status, 200);
    const html = await res.text();
    const code = /<p class="tile-value mono" id="code">([A-Z2-9]{4}-[A-Z2-9]{4})<\/p>/.exec(html)?.[1];
    assert.ok(code);
    assert.match(html, /and user created/);
    const page = await (await fetch(`${h.url}/users`, { headers: { Cookie: b.cookie } })).text();
    assert.ok(!page.includes(code));
    assert.match(page, /awaiting enrollment/);
    assert.match(page, /<table class="table compact" id="codes">/);
  } finally {
    await h.close();
  }
});

test('user text renders escaped on the users page', async () => {
  const h = await startUsersApp();
  try {
    await h.users.directory.create({ name: 'amy', options: [{ name: 'REQUIRE_USERNAME', value: '<img src=x onerror=alert(1)>' }] }, 'admin');
    const b = await login(asHarness(h));
    const html = await (await fetch(`${h.url}/users`, { headers: { Cookie: b.cookie } })).text();
    assert.ok(!html.includes('<img src=x'));
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
  } finally {
    await h.close();
  }
});

test('disabling a user through the API ends its live grants', async () => {
  const h = await startUsersApp();
  try {
    await h.users.directory.create({ name: 'amy' }, 'admin');
    const rules = { src: '10.0.0.9', mac: null, dst: null, input: [], output: false, forward: { all: true as const }, dnat: null, snat: null };
    h.live.push(
      { id: 'g1', stanzaId: 'user:amy', user: 'amy', grantedAt: h.clock.now(), expiresAt: h.clock.now() + 60_000, rules },
      { id: 'g2', stanzaId: 'access.conf:1', user: 'amy', grantedAt: h.clock.now(), expiresAt: h.clock.now() + 60_000, rules: { ...rules, src: '10.0.0.8' } },
    );
    const res = await fetch(`${h.url}/api/users/amy/disable`, bearer(h, 'POST', {}));
    assert.equal(res.status, 200);
    assert.deepEqual(h.ended, ['user amy disabled by token:t1']);
    assert.deepEqual(h.live.map((g) => g.id), ['g2'], 'only the user stanza grants end');
  } finally {
    await h.close();
  }
});
