import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { cryptoRandom } from '../../src/adapters/system-clock.js';
import { PrometheusMetrics } from '../../src/metrics.js';
import { metricsRouter } from '../../src/web/metrics-route.js';
import { hashToken, newToken } from '../../src/web/tokens.js';

async function listen(app: express.Express): Promise<{ url: string; server: Server }> {
  const server = createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('GET /metrics', () => {
  const metrics = new PrometheusMetrics({ clock: new ManualClock() });
  const store = new MemoryStore();
  let token = '';
  let revoked = '';
  let open: { url: string; server: Server };
  let guarded: { url: string; server: Server };

  before(async () => {
    token = newToken(cryptoRandom);
    revoked = newToken(cryptoRandom);
    await store.addToken({ id: 't1', label: 'prometheus', tokenHash: hashToken(token), createdAt: 0, revokedAt: null });
    await store.addToken({ id: 't2', label: 'old', tokenHash: hashToken(revoked), createdAt: 0, revokedAt: null });
    await store.revokeToken('t2', 1);
    const a = express();
    a.use(metricsRouter(metrics));
    open = await listen(a);
    const b = express();
    b.use(metricsRouter(metrics, { tokens: store }));
    guarded = await listen(b);
  });
  after(async () => {
    await new Promise((r) => open.server.close(r));
    await new Promise((r) => guarded.server.close(r));
  });

  test('metrics route serves the current counters in the Prometheus text format when open', async () => {
    metrics.packet('rejected', 'replay');
    const res = await fetch(`${open.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.text();
    assert.match(body, /^spagate_packets_total\{outcome="rejected",reason="replay"\} 1$/m);
    metrics.packet('rejected', 'replay');
    const again = await (await fetch(`${open.url}/metrics`)).text();
    assert.match(again, /^spagate_packets_total\{outcome="rejected",reason="replay"\} 2$/m, 'each scrape reads live values');
  });

  test('metrics route refuses a scrape without a live bearer token when tokens are required', async () => {
    const none = await fetch(`${guarded.url}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.doesNotMatch(await none.text(), /spagate_/);
    const bad = await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer sgt_not-a-token' } });
    assert.equal(bad.status, 401);
    const old = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${revoked}` } });
    assert.equal(old.status, 401, 'a revoked token is refused');
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /# TYPE spagate_packets_total counter/);
  });

  test('metrics route answers only GET and HEAD on /metrics', async () => {
    const post = await fetch(`${open.url}/metrics`, { method: 'POST' });
    assert.equal(post.status, 404);
    const head = await fetch(`${open.url}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });
});
