/**
 * The portal services from the config, with an HTTPS listener (a throw-away self-signed
 * certificate made by openssl): pages over TLS carry no warning, plain-HTTP pages redirect
 * to HTTPS, the API answers on both. Loopback only; test mode, so no firewall changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecFileRunner } from '../../src/adapters/command-runner.js';
import { createLogger } from '../../src/adapters/pino-logger.js';
import { portalServices } from '../../src/portal/service.js';
import { serverConfig } from '../helpers/fixtures.js';
import { startInProcess } from '../helpers/in-process-gateway.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function fetchText(url: string): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const cb = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    };
    const req = url.startsWith('https:') ? httpsGet(url, { rejectUnauthorized: false, timeout: 5000 }, cb) : httpGet(url, { timeout: 5000 }, cb);
    req.on('error', reject);
  });
}

test('portal with PORTAL_TLS_*: HTTPS pages without the warning, HTTP redirected, API on both', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-portal-tls-'));
  const cert = join(dir, 'portal.crt');
  const key = join(dir, 'portal.key');
  execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore', timeout: 20_000 });
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const gw = await startInProcess();
  const config = {
    server: serverConfig({
      testMode: true,
      portalListen: `127.0.0.1:${httpPort}`,
      portal: { leaseFile: null, leaseFormat: 'dnsmasq', portalUrl: null, walledGarden: [], tls: { listen: `127.0.0.1:${httpsPort}`, cert, key } },
    }),
    stanzas: [],
    warnings: [],
  };
  const p = portalServices(config, { clock: gw.clock, logger: createLogger('silent'), runner: new ExecFileRunner() });
  assert.deepEqual(p.services.map((s) => s.name), ['portal'], 'test mode: no walled garden; no LEASE_FILE: no lease guard');
  try {
    for (const s of p.services) await s.start(gw.running.gateway);
    const https = `https://127.0.0.1:${httpsPort}/`;
    const page = await fetchText(https);
    assert.equal(page.status, 200);
    assert.ok(!page.body.includes('tls-warning'), 'no warning over TLS');
    const plain = await fetchText(`http://127.0.0.1:${httpPort}/enroll`);
    assert.equal(plain.status, 302);
    assert.equal(plain.location, https);
    for (const base of [`http://127.0.0.1:${httpPort}/`, https]) {
      const api = await fetchText(`${base}api/captive`);
      assert.deepEqual(JSON.parse(api.body), { captive: true, 'user-portal-url': https });
    }
  } finally {
    for (const s of p.services) await s.stop();
    await gw.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
