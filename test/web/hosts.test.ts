import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { form, jsonPost, login, makeGrant, startApp } from './harness.js';

test('hosts page lists live grants with IP, MAC, hostname, user, stanza, mode and countdown', async () => {
  const h = await startApp();
  try {
    const now = h.clock.now();
    h.control.grant(
      makeGrant(now, {
        ip: '10.9.0.7',
        mac: '02:aa:bb:cc:dd:ee',
        user: 'bob',
        stanzaId: 'lab-stanza',
        expiresAt: now + 3_723_000,
      }),
      'bobs-laptop',
    );
    h.control.setCounters((await h.control.listGrants())[0].grant.id, {
      packets: 1234,
      bytes: 5 * 1024 * 1024,
    });
    const b = await login(h);
    const html = await (await fetch(`${h.url}/hosts`, { headers: { Cookie: b.cookie } })).text();
    for (const s of [
      '10.9.0.7',
      '02:aa:bb:cc:dd:ee',
      'bobs-laptop',
      '>bob<',
      '>lab-stanza<',
      'FORWARD_ALL',
      '1h 02m 03s',
      '1,234',
      '5.0 MiB',
      '2027-01-15 09:02:03 UTC',
    ]) {
      assert.ok(html.includes(s), `missing ${s}`);
    }
  } finally {
    await h.close();
  }
});

test('a username with HTML renders as escaped text on every page', async () => {
  const h = await startApp();
  try {
    const evil = '<img src=x onerror=alert(1)>';
    const now = h.clock.now();
    h.control.grant(makeGrant(now, { user: evil }), '<script>alert(2)</script>');
    await h.store.addEvents([
      {
        at: now,
        outcome: 'rejected',
        reason: 'replay',
        srcIp: '10.9.0.8',
        srcPort: 5000,
        mac: null,
        user: evil,
        stanzaId: null,
        grantId: null,
        detail: '"><svg onload=alert(3)>',
      },
    ]);
    const b = await login(h);
    for (const p of ['/hosts', '/events']) {
      const html = await (await fetch(h.url + p, { headers: { Cookie: b.cookie } })).text();
      assert.ok(!html.includes('<img src=x'), p);
      assert.ok(!html.includes('<script>alert'), p);
      assert.ok(!html.includes('<svg'), p);
      assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), p);
    }
  } finally {
    await h.close();
  }
});

test('revoke from the page calls the gateway and the host leaves the list', async () => {
  const h = await startApp();
  try {
    const g = makeGrant(h.clock.now());
    const other = makeGrant(h.clock.now());
    h.control.grant(g);
    h.control.grant(other);
    const b = await login(h);
    const res = await fetch(`${h.url}/hosts/${g.id}/revoke`, form(b, {}));
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/hosts');
    assert.deepEqual(h.control.actions, [{ action: 'revoke', id: g.id, by: 'admin' }]);
    const html = await (await fetch(`${h.url}/hosts`, { headers: { Cookie: b.cookie } })).text();
    assert.ok(!html.includes(`data-id="${g.id}"`));
    assert.ok(html.includes(`data-id="${other.id}"`));
    assert.match(html, /Access revoked\./);
  } finally {
    await h.close();
  }
});

test('bulk revoke from the page ends every selected grant', async () => {
  const h = await startApp();
  try {
    const gs = [makeGrant(h.clock.now()), makeGrant(h.clock.now()), makeGrant(h.clock.now())];
    for (const g of gs) h.control.grant(g);
    const b = await login(h);
    const res = await fetch(`${h.url}/hosts/revoke`, form(b, { ids: [gs[0].id, gs[2].id] }));
    assert.equal(res.status, 303);
    assert.deepEqual(
      (await h.control.listGrants()).map((l) => l.grant.id),
      [gs[1].id],
    );
    const none = await fetch(`${h.url}/hosts/revoke`, form(b, {}));
    assert.equal(none.status, 400);
  } finally {
    await h.close();
  }
});

test('extend from the page adds the chosen time and rejects bad values', async () => {
  const h = await startApp();
  try {
    const g = makeGrant(h.clock.now());
    h.control.grant(g);
    const b = await login(h);
    assert.equal((await fetch(`${h.url}/hosts/${g.id}/extend`, form(b, { seconds: '3600' }))).status, 303);
    assert.equal((await h.control.listGrants())[0].grant.expiresAt, g.expiresAt + 3_600_000);
    for (const bad of ['', '-5', '1.5', 'abc', '0', String(8 * 86_400)]) {
      const res = await fetch(`${h.url}/hosts/${g.id}/extend`, form(b, { seconds: bad }));
      assert.equal(res.status, 400, bad);
    }
    assert.equal(h.control.actions.length, 1);
  } finally {
    await h.close();
  }
});

test('state-changing requests without the CSRF token are refused with 403', async () => {
  const h = await startApp();
  try {
    const g = makeGrant(h.clock.now());
    h.control.grant(g);
    const b = await login(h);
    const attempts: [string, RequestInit][] = [
      [`/hosts/${g.id}/revoke`, form(b, {}, false)],
      [`/hosts/${g.id}/revoke`, form({ ...b, csrf: 'x'.repeat(32) }, {})],
      [`/hosts/${g.id}/extend`, form(b, { seconds: '60' }, false)],
      ['/hosts/revoke', form(b, { ids: g.id }, false)],
      ['/logout', form(b, {}, false)],
      [`/api/grants/${g.id}/revoke`, jsonPost(b, undefined, false)],
      [`/api/grants/${g.id}/extend`, jsonPost(b, { seconds: 60 }, false)],
      [`/api/grants/${g.id}/revoke`, jsonPost({ ...b, csrf: b.csrf.slice(1) }, undefined)],
    ];
    for (const [p, init] of attempts) {
      const res = await fetch(h.url + p, init);
      assert.equal(res.status, 403, p);
    }
    assert.equal(h.control.actions.length, 0);
    assert.equal((await h.control.listGrants()).length, 1);
    // The session survived the refused logout.
    assert.equal((await fetch(`${h.url}/api/grants`, { headers: { Cookie: b.cookie } })).status, 200);
  } finally {
    await h.close();
  }
});

test('a cross-origin POST is refused even with the right CSRF token', async () => {
  const h = await startApp();
  try {
    const g = makeGrant(h.clock.now());
    h.control.grant(g);
    const b = await login(h);
    const init = form(b, {});
    init.headers = { ...(init.headers as Record<string, string>), Origin: 'http://evil.example' };
    assert.equal((await fetch(`${h.url}/hosts/${g.id}/revoke`, init)).status, 403);
    assert.equal(h.control.actions.length, 0);
    const same = form(b, {});
    same.headers = { ...(same.headers as Record<string, string>), Origin: h.url };
    assert.equal((await fetch(`${h.url}/hosts/${g.id}/revoke`, same)).status, 303);
  } finally {
    await h.close();
  }
});

test('events page filters by outcome, source and user, and pages to older events', async () => {
  const h = await startApp();
  try {
    const now = h.clock.now();
    const events = Array.from({ length: 60 }, (_, i) => ({
      at: now - (60 - i) * 1000,
      outcome: i % 3 === 0 ? ('accepted' as const) : ('rejected' as const),
      reason: i % 3 === 0 ? 'granted' : 'hmac_mismatch',
      srcIp: `10.9.0.${i % 5}`,
      srcPort: 40000 + i,
      mac: null,
      user: i % 2 === 0 ? 'carol' : 'dave',
      stanzaId: 's',
      grantId: null,
      detail: `n${i}`,
    }));
    await h.store.addEvents(events);
    const b = await login(h);
    const get = async (q: string): Promise<string> =>
      (await fetch(`${h.url}/events${q}`, { headers: { Cookie: b.cookie } })).text();

    const first = await get('');
    assert.equal((first.match(/<tr>\s*<td class="nowrap">/g) ?? []).length, 50);
    assert.ok(first.includes('>n59<'));
    const older = /href="(\/events\?before=\d+)"/.exec(first);
    assert.ok(older, 'older link');
    const second = await get(older[1].slice('/events'.length));
    assert.equal((second.match(/<tr>\s*<td class="nowrap">/g) ?? []).length, 10);
    assert.ok(second.includes('>n0<') && !second.includes('>n59<'));

    const filtered = await get('?outcome=accepted&user=carol&src=10.9.0.0');
    const details = [...filtered.matchAll(/class="detail">n(\d+)</g)].map((m) => Number(m[1]));
    assert.ok(details.length > 0);
    for (const i of details) assert.ok(i % 3 === 0 && i % 2 === 0 && i % 5 === 0, String(i));
    assert.match(filtered, /HMAC mismatch|accepted/);

    assert.equal(
      (await fetch(`${h.url}/events?outcome=bogus`, { headers: { Cookie: b.cookie } })).status,
      400,
    );
  } finally {
    await h.close();
  }
});

test('overview shows live grant count, per-reason counts of the last hour and health', async () => {
  const h = await startApp();
  try {
    const now = h.clock.now();
    h.control.grant(makeGrant(now));
    h.control.grant(makeGrant(now));
    const ev = (outcome: 'accepted' | 'rejected', reason: string, at: number) => ({
      at,
      outcome,
      reason,
      srcIp: '10.9.0.1',
      srcPort: 1,
      mac: null,
      user: 'u',
      stanzaId: null,
      grantId: null,
      detail: null,
    });
    await h.store.addEvents([
      ev('accepted', 'granted', now - 1000),
      ev('rejected', 'replay', now - 2000),
      ev('rejected', 'replay', now - 3000),
      ev('rejected', 'replay', now - 7_200_000),
    ]);
    const b = await login(h);
    const html = await (await fetch(`${h.url}/`, { headers: { Cookie: b.cookie } })).text();
    assert.match(html, /id="ov-live">2</);
    assert.match(html, /id="ov-accepted">1</);
    assert.match(html, /id="ov-rejected">2</);
    assert.match(html, /replay<\/td>\s*<td class="num">2</);
    assert.match(html, /nftables/);
    assert.match(html, /<code>eth1<\/code>/);
  } finally {
    await h.close();
  }
});

test('unknown paths answer 404 with the error page, and static files are served', async () => {
  const h = await startApp();
  try {
    const b = await login(h);
    const res = await fetch(`${h.url}/nope`, { headers: { Cookie: b.cookie } });
    assert.equal(res.status, 404);
    assert.match(await res.text(), /Error 404/);
    const css = await fetch(`${h.url}/static/css/app.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
    // fetch would normalise the dots away: send the raw path.
    const status = await new Promise<number>((resolve, reject) => {
      request(`${h.url}/static/x`, { path: '/static/../package.json' }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.ok(status === 403 || status === 404, String(status));
  } finally {
    await h.close();
  }
});
