import { test } from 'node:test';
import assert from 'node:assert/strict';
import { login, makeGrant, startApp } from './harness.js';
import { SseReader } from './sse-reader.js';

test('the live stream delivers grant, extend, revoke and expire changes in order', async () => {
  const h = await startApp();
  const ac = new AbortController();
  try {
    const b = await login(h);
    const res = await fetch(`${h.url}/api/live`, { headers: { Cookie: b.cookie }, signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const sse = new SseReader(res);
    // Reading the hello proves the subscription is in place before the test emits changes.
    await sse.next('hello', 1);
    const g1 = makeGrant(h.clock.now(), { user: '<b>x</b>' });
    const g2 = makeGrant(h.clock.now());
    h.control.grant(g1, 'host-1');
    await h.control.extend(g1.id, 60, 'admin');
    await h.control.revoke(g1.id, 'admin');
    h.control.grant(g2);
    h.control.expire(g2.id);
    const got = (await sse.next('grant', 5)) as {
      type: string;
      grant: { id: string; user: string; hostname: string | null; expires_at: string };
    }[];
    assert.deepEqual(
      got.map((c) => [c.type, c.grant.id]),
      [
        ['granted', g1.id],
        ['extended', g1.id],
        ['revoked', g1.id],
        ['granted', g2.id],
        ['expired', g2.id],
      ],
    );
    assert.equal(got[0].grant.user, '<b>x</b>');
    assert.equal(got[0].grant.hostname, 'host-1');
    assert.equal(got[1].grant.expires_at, new Date(g1.expiresAt + 60_000).toISOString());
  } finally {
    ac.abort();
    await h.close();
  }
});

test('closing the live stream unsubscribes from the gateway', async () => {
  const h = await startApp();
  try {
    const b = await login(h);
    const ac = new AbortController();
    const res = await fetch(`${h.url}/api/live`, { headers: { Cookie: b.cookie }, signal: ac.signal });
    await new SseReader(res).next('hello', 1);
    assert.equal(h.control.listenerCount, 1);
    ac.abort();
    for (let i = 0; i < 50 && h.control.listenerCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(h.control.listenerCount, 0);
  } finally {
    await h.close();
  }
});
