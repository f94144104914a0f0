/** The portal app over a loopback socket: capture answers, the RFC 8908 API, enrollment guards. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../src/adapters/pino-logger.js';
import type { Grant } from '../../src/core/model.js';
import { createPortalApp, type PortalDeps } from '../../src/portal/app.js';
import type { EnrollmentRedeemer } from '../../src/users/enrollment.js';

const NOW = 1_800_000_000_000;
const MAC = '02:00:00:00:00:09';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, o: { path?: string; method?: string; host?: string; body?: string; headers?: Record<string, string> }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: o.path ?? '/', method: o.method ?? 'GET', headers: { host: o.host ?? `127.0.0.1:${port}`, ...(o.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...o.headers }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

async function serve(deps: Partial<PortalDeps>): Promise<{ server: Server; port: number; url: string }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  server.on(
    'request',
    createPortalApp({ grants: () => [], now: () => NOW, macFor: () => Promise.resolve(MAC), portalUrl: url, portalHosts: [`127.0.0.1:${port}`], logger: createLogger('silent'), ...deps }),
  );
  return { server, port, url };
}

const grants: Grant[] = [];
const calls: { code: string; client: { ip: string; mac: string | null } }[] = [];
const redeemer: EnrollmentRedeemer = {
  redeem: (code, client) => {
    calls.push({ code, client });
    return Promise.resolve(code === 'GOOD-CODE' ? { user: 'phone', fwknoprc: '[phone]\nKEY_BASE64 <k>\n', qrPngDataUrl: 'data:image/png;base64,AAAA' } : { error: 'Unknown enrollment code.' });
  },
};
let s: { server: Server; port: number; url: string };

before(async () => {
  s = await serve({ grants: () => grants, redeemer });
});
after(() => new Promise<void>((r) => s.server.close(() => r())));

test('HTTP for any other host is answered with a 302 to the portal (GET, HEAD) or 511 (other methods)', async () => {
  const get = await send(s.port, { path: '/generate_204', host: 'connectivitycheck.gstatic.com' });
  assert.equal(get.status, 302);
  assert.equal(get.headers.location, s.url);
  assert.equal(get.headers['cache-control'], 'no-store');
  const head = await send(s.port, { method: 'HEAD', path: '/hotspot-detect.html', host: 'captive.apple.com' });
  assert.equal(head.status, 302);
  const post = await send(s.port, { method: 'POST', path: '/x', host: '203.0.113.2', body: 'a=1' });
  assert.equal(post.status, 511);
  assert.ok(post.body.includes(`href="${s.url}"`));
});

test('the captive API answers as RFC 8908 from the live grants, whatever the Host', async () => {
  grants.length = 0;
  const off = await send(s.port, { path: '/api/captive' });
  assert.equal(off.status, 200);
  assert.match(String(off.headers['content-type']), /^application\/captive\+json/);
  assert.equal(off.headers['cache-control'], 'private, no-store');
  assert.deepEqual(JSON.parse(off.body), { captive: true, 'user-portal-url': s.url });
  grants.push({ id: 'g', stanzaId: 'user:phone', user: 'phone', grantedAt: NOW, expiresAt: NOW + 120_000, rules: { src: '127.0.0.1', mac: MAC, dst: null, input: [], output: false, forward: { all: true }, dnat: null, snat: null } });
  const on = await send(s.port, { path: '/api/captive', host: 'portal.example' });
  assert.deepEqual(JSON.parse(on.body), { captive: false, 'user-portal-url': s.url, 'seconds-remaining': 120, 'can-extend-session': true });
  const page = await send(s.port, {});
  assert.equal(page.status, 200);
  assert.ok(page.body.includes('You are online') && page.body.includes('fwknop -n phone'));
  assert.ok(page.body.includes('id="tls-warning"'));
  assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
  grants.length = 0;
});

test('enrollment: the redeemer gets the code and the client; errors and cross-site posts are refused', async () => {
  calls.length = 0;
  const bad = await send(s.port, { method: 'POST', path: '/enroll', body: 'code=NOPE' });
  assert.equal(bad.status, 400);
  assert.ok(bad.body.includes('Unknown enrollment code.'));
  const good = await send(s.port, { method: 'POST', path: '/enroll', body: 'code=GOOD-CODE', headers: { origin: s.url.slice(0, -1) } });
  assert.equal(good.status, 200);
  assert.equal(good.headers['cache-control'], 'no-store');
  assert.ok(good.body.includes('[phone]\nKEY_BASE64 &lt;k&gt;'), 'the stanza is shown, escaped');
  assert.ok(good.body.includes('download="fwknoprc-phone"'));
  assert.deepEqual(calls, [
    { code: 'NOPE', client: { ip: '127.0.0.1', mac: MAC } },
    { code: 'GOOD-CODE', client: { ip: '127.0.0.1', mac: MAC } },
  ]);
  const cross = await send(s.port, { method: 'POST', path: '/enroll', body: 'code=GOOD-CODE', headers: { origin: 'http://evil.example' } });
  assert.equal(cross.status, 403);
  assert.equal(calls.length, 2, 'a cross-site post never reaches the redeemer');
});

test('without a redeemer the portal says enrollment is not available', async () => {
  const x = await serve({});
  try {
    const page = await send(x.port, { path: '/enroll' });
    assert.ok(page.body.includes('id="enroll-off"'));
    const post = await send(x.port, { method: 'POST', path: '/enroll', body: 'code=X' });
    assert.equal(post.status, 503);
  } finally {
    await new Promise<void>((r) => x.server.close(() => r()));
  }
});

test('with an HTTPS listener, plain-HTTP pages redirect to it but the API still answers', async () => {
  const x = await serve({ httpsOnly: true, portalUrl: 'https://portal.example:8443/' });
  try {
    const page = await send(x.port, {});
    assert.equal(page.status, 302);
    assert.equal(page.headers.location, 'https://portal.example:8443/');
    const api = await send(x.port, { path: '/api/captive' });
    assert.equal(api.status, 200);
  } finally {
    await new Promise<void>((r) => x.server.close(() => r()));
  }
});
