import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { cryptoRandom } from '../../src/adapters/system-clock.js';
import { createApp } from '../../src/web/app.js';
import { MemoryGatewayControl } from '../../src/web/memory-control.js';
import { parseListen, startDashboard } from '../../src/web/server.js';
import { memoryLogger } from './harness.js';

function app(tls: boolean) {
  const clock = new ManualClock();
  const store = new MemoryStore();
  return createApp({
    control: new MemoryGatewayControl(clock),
    events: store,
    admins: store,
    clock,
    random: cryptoRandom,
    logger: memoryLogger(),
    options: { tls },
  });
}

test('parseListen accepts host:port and [v6]:port and refuses the rest', () => {
  assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen('localhost:9'), { host: 'localhost', port: 9 });
  for (const bad of ['8080', '127.0.0.1', '127.0.0.1:99999', '::1:80', '127.0.0.1:x', ''])
    assert.equal(parseListen(bad), null, bad);
});

test('startDashboard serves plain HTTP and close() returns promptly with keep-alive clients', async () => {
  const d = await startDashboard(app(false), { listen: '127.0.0.1:0' });
  assert.match(d.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await fetch(`${d.url}/login`);
  assert.equal(res.status, 200);
  await res.text();
  const t0 = Date.now();
  await d.close();
  assert.ok(Date.now() - t0 < 2000);
  await assert.rejects(fetch(`${d.url}/login`));
});

test('startDashboard serves HTTPS with the given certificate and sends HSTS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-tls-'));
  try {
    execFileSync(
      '/usr/bin/openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore', timeout: 20_000 },
    );
    const cert = readFileSync(join(dir, 'cert.pem'));
    const d = await startDashboard(app(true), {
      listen: '127.0.0.1:0',
      tls: { cert, key: readFileSync(join(dir, 'key.pem')) },
    });
    try {
      assert.match(d.url, /^https:/);
      const got = await new Promise<{ status: number; hsts: string | undefined; cookie: string[] }>(
        (resolve, reject) => {
          request(`${d.url}/login`, { ca: cert, checkServerIdentity: () => undefined }, (r) => {
            r.resume();
            resolve({
              status: r.statusCode ?? 0,
              hsts: r.headers['strict-transport-security'],
              cookie: r.headers['set-cookie'] ?? [],
            });
          })
            .on('error', reject)
            .end();
        },
      );
      assert.equal(got.status, 200);
      assert.match(got.hsts ?? '', /max-age=/);
      assert.ok(got.cookie.every((c) => c.includes('; Secure')));
    } finally {
      await d.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
