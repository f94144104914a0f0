import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonPost, login, makeGrant, startApp } from './harness.js';

test('GET /api/grants returns grants with ISO times, mode, hostname and counters', async () => {
  const h = await startApp();
  try {
    const now = h.clock.now();
    const g = makeGrant(now, {
      ip: '10.9.0.44',
      mac: '02:00:00:00:00:44',
      user: 'erin',
      stanzaId: 'guests',
      expiresAt: now + 90_000,
    });
    g.rules.forward = null;
    g.rules.input = [{ proto: 'tcp', port: 22 }];
    h.control.grant(g, 'erin-pc');
    h.control.setCounters(g.id, { packets: 7, bytes: 900 });
    const b = await login(h);
    const res = await fetch(`${h.url}/api/grants`, { headers: { Cookie: b.cookie } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await res.json(), {
      grants: [
        {
          id: g.id,
          ip: '10.9.0.44',
          mac: '02:00:00:00:00:44',
          hostname: 'erin-pc',
          user: 'erin',
          stanza: 'guests',
          mode: 'access',
          target: 'INPUT tcp/22',
          granted_at: '2027-01-15T08:00:00.000Z',
          expires_at: '2027-01-15T08:01:30.000Z',
          expires_in_seconds: 90,
          packets: 7,
          bytes: 900,
        },
      ],
    });
  } finally {
    await h.close();
  }
});

test('POST /api/grants/:id/revoke ends the grant, and 404s for an unknown id', async () => {
  const h = await startApp();
  try {
    const g = makeGrant(h.clock.now());
    h.control.grant(g);
    const b = await login(h);
    const res = await fetch(`${h.url}/api/grants/${g.id}/revoke`, jsonPost(b));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: g.id, revoked: true });
    assert.deepEqual(h.control.actions, [{ action: 'revoke', id: g.id, by: 'admin' }]);
    const list = (await (await fetch(`${h.url}/api/grants`, { headers: { Cookie: b.cookie } })).json()) as {
      grants: unknown[];
    };
    assert.deepEqual(list.grants, []);
    const again = await fetch(`${h.url}/api/grants/${g.id}/revoke`, jsonPost(b));
    assert.equal(again.status, 404);
    assert.deepEqual(await again.json(), { error: 'no live grant with this id' });
    assert.equal(
      (await fetch(`${h.url}/api/grants/${encodeURIComponent('bad id!')}/revoke`, jsonPost(b))).status,
      400,
    );
  } finally {
    await h.close();
  }
});

test('POST /api/grants/:id/extend adds seconds and returns the updated grant', async () => {
  const h = await startApp();
  try {
    const g = makeGrant(h.clock.now());
    h.control.grant(g);
    const b = await login(h);
    const res = await fetch(`${h.url}/api/grants/${g.id}/extend`, jsonPost(b, { seconds: 600 }));
    assert.equal(res.status, 200);
    const body = (await res.json()) as { grant: { id: string; expires_at: string } };
    assert.equal(body.grant.id, g.id);
    assert.equal(body.grant.expires_at, new Date(g.expiresAt + 600_000).toISOString());
    assert.deepEqual(h.control.actions, [{ action: 'extend', id: g.id, by: 'admin', seconds: 600 }]);
    assert.equal((await fetch(`${h.url}/api/grants/nope/extend`, jsonPost(b, { seconds: 600 }))).status, 404);
  } finally {
    await h.close();
  }
});

test('POST /api/grants/:id/extend answers 400 with a reason for every bad body', async () => {
  const h = await startApp({ options: { maxExtendSeconds: 3600 } });
  try {
    const g = makeGrant(h.clock.now());
    h.control.grant(g);
    const b = await login(h);
    const bodies: (string | undefined)[] = [
      undefined,
      '',
      '{',
      'null',
      '[]',
      '"600"',
      '{}',
      '{"seconds":"600"}',
      '{"seconds":1.5}',
      '{"seconds":0}',
      '{"seconds":-10}',
      '{"seconds":3601}',
      '{"seconds":1e400}',
      '{"seconds":null}',
      '{"seconds":[60]}',
    ];
    for (const body of bodies) {
      const init = jsonPost(b);
      init.body = body;
      const res = await fetch(`${h.url}/api/grants/${g.id}/extend`, init);
      assert.equal(res.status, 400, String(body));
      const err = ((await res.json()) as { error: string }).error;
      assert.ok(err.length > 0 && err !== 'internal error', String(body));
    }
    const asForm = await fetch(`${h.url}/api/grants/${g.id}/extend`, {
      method: 'POST',
      headers: {
        Cookie: b.cookie,
        'X-CSRF-Token': b.csrf,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'seconds=60',
    });
    assert.equal(asForm.status, 400);
    const huge = jsonPost(b);
    huge.body = JSON.stringify({ seconds: 60, pad: 'x'.repeat(40_000) });
    assert.equal((await fetch(`${h.url}/api/grants/${g.id}/extend`, huge)).status, 413);
    assert.equal(h.control.actions.length, 0);
    assert.ok(!h.logs.some((l) => l.level === 'error'), 'no request was logged as an internal failure');
  } finally {
    await h.close();
  }
});

test('GET /api/events filters by outcome and pages with next_before', async () => {
  const h = await startApp();
  try {
    const now = h.clock.now();
    await h.store.addEvents(
      Array.from({ length: 12 }, (_, i) => ({
        at: now - (12 - i) * 1000,
        outcome: i % 2 === 0 ? ('accepted' as const) : ('rejected' as const),
        reason: i % 2 === 0 ? 'granted' : 'stale_timestamp',
        srcIp: '10.9.0.3',
        srcPort: 1000 + i,
        mac: null,
        user: 'frank',
        stanzaId: 's1',
        grantId: null,
        detail: null,
      })),
    );
    const b = await login(h);
    const get = async (
      q: string,
    ): Promise<{
      events: { id: number; outcome: string; reason: string; at: string; src_port: number }[];
      next_before: number | null;
    }> => {
      const res = await fetch(`${h.url}/api/events${q}`, { headers: { Cookie: b.cookie } });
      assert.equal(res.status, 200, q);
      return (await res.json()) as never;
    };
    const page1 = await get('?limit=4&outcome=rejected');
    assert.equal(page1.events.length, 4);
    assert.ok(page1.events.every((e) => e.outcome === 'rejected' && e.reason === 'stale_timestamp'));
    assert.equal(page1.events[0].src_port, 1011);
    assert.match(page1.events[0].at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.notEqual(page1.next_before, null);
    const page2 = await get(`?limit=4&outcome=rejected&before=${page1.next_before}`);
    assert.deepEqual(
      page2.events.map((e) => e.src_port),
      [1003, 1001],
    );
    assert.equal(page2.next_before, null);
    for (const q of [
      '?limit=0',
      '?limit=501',
      '?limit=abc',
      '?outcome=nope',
      '?limit=1&limit=2',
      '?before=-1',
    ]) {
      const res = await fetch(`${h.url}/api/events${q}`, { headers: { Cookie: b.cookie } });
      assert.equal(res.status, 400, q);
    }
  } finally {
    await h.close();
  }
});

test('GET /api/health and /api/overview report backend, interface, uptime and counts', async () => {
  const h = await startApp();
  try {
    h.control.grant(makeGrant(h.clock.now()));
    const b = await login(h);
    const health = await (await fetch(`${h.url}/api/health`, { headers: { Cookie: b.cookie } })).json();
    assert.deepEqual(health, {
      status: 'ok',
      backend: 'nftables',
      interface: 'eth1',
      capture: 'pcap',
      test_mode: false,
      version: '0.1.0',
      started_at: '2027-01-15T08:00:00.000Z',
      uptime_seconds: 0,
      live_grants: 1,
    });
    await h.store.addEvents([
      {
        at: h.clock.now(),
        outcome: 'rejected',
        reason: 'hmac_mismatch',
        srcIp: '1.2.3.4',
        srcPort: 1,
        mac: null,
        user: null,
        stanzaId: null,
        grantId: null,
        detail: null,
      },
    ]);
    const o = (await (await fetch(`${h.url}/api/overview`, { headers: { Cookie: b.cookie } })).json()) as {
      rejected: number;
      by_reason: { reason: string; label: string; count: number }[];
    };
    assert.equal(o.rejected, 1);
    assert.deepEqual(
      o.by_reason.map((r) => [r.reason, r.label, r.count]),
      [['hmac_mismatch', 'HMAC mismatch', 1]],
    );
  } finally {
    await h.close();
  }
});

test('an exception inside the gateway becomes a generic 500 and is logged', async () => {
  const h = await startApp();
  try {
    const b = await login(h);
    h.control.revoke = () => Promise.reject(new Error('nft: secret detail'));
    const res = await fetch(`${h.url}/api/grants/g1/revoke`, jsonPost(b));
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { error: 'internal error' });
    const page = await fetch(`${h.url}/hosts/g1/revoke`, {
      ...jsonPost(b),
      headers: { Cookie: b.cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${encodeURIComponent(b.csrf)}`,
    });
    assert.equal(page.status, 500);
    const html = await page.text();
    assert.ok(!html.includes('secret detail'));
    assert.match(html, /internal error/);
    assert.ok(h.logs.some((l) => l.level === 'error' && l.msg === 'request failed'));
  } finally {
    await h.close();
  }
});
