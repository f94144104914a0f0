/**
 * The dashboard as the daemon wires it (src/web/service.ts): the real Gateway through
 * createGateway on in-memory adapters (MemoryFirewall, MemoryStore, MemoryPacketSource), real
 * SPA packets, the dashboard on 127.0.0.1 port 0, /metrics, the control socket and the
 * `spagate grants` command. Revokes must take the rules out of the firewall and flush
 * conntrack for the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { MemoryFirewall } from '../../src/adapters/memory-firewall.js';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { MemoryPacketSource } from '../../src/adapters/memory-packet-source.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { cryptoRandom } from '../../src/adapters/system-clock.js';
import { main } from '../../src/cli/dispatch.js';
import type { GatewayConfig, ServerConfig } from '../../src/core/config-model.js';
import { encodeSpa } from '../../src/core/spa/encode.js';
import { createGateway, type Adapters, type RunningGateway } from '../../src/daemon.js';
import { PrometheusMetrics } from '../../src/metrics.js';
import { controlSocketPath } from '../../src/web/control-socket.js';
import { DaemonGatewayControl } from '../../src/web/gateway-control.js';
import { hashPassword } from '../../src/web/password.js';
import { dashboardService, isLoopbackListen } from '../../src/web/service.js';
import { accessFields, serverConfig, stanza } from '../helpers/fixtures.js';
import { NOW, packetFrom } from '../helpers/in-process-gateway.js';
import { FAST_SCRYPT, form, jsonPost, login, memoryLogger, type Harness, type LogLine } from './harness.js';
import { SseReader } from './sse-reader.js';

const CLIENT = '10.0.0.9';

interface Setup {
  url: string;
  dir: string;
  running: RunningGateway;
  firewall: MemoryFirewall;
  store: MemoryStore;
  source: MemoryPacketSource;
  clock: ManualClock;
  flushed: string[];
  logs: LogLine[];
  knock(user?: string): Promise<string>;
  close(): Promise<void>;
}

async function setup(o: { dashboard?: boolean; server?: Partial<ServerConfig> } = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-web-daemon-'));
  const clock = new ManualClock(NOW);
  const server = serverConfig({ dataDir: dir, dashboardListen: o.dashboard === false ? null : '127.0.0.1:0', ...o.server });
  const st = stanza();
  const config: GatewayConfig = { server, stanzas: [st], warnings: [] };
  const store = new MemoryStore();
  await store.setAdmin({ username: 'admin', passwordHash: await hashPassword('correct horse', cryptoRandom, FAST_SCRYPT), createdAt: NOW });
  const firewall = new MemoryFirewall({ chains: server.chains });
  const source = new MemoryPacketSource({ clock });
  const logs: LogLine[] = [];
  const flushed: string[] = [];
  const metrics = new PrometheusMetrics({ clock });
  const a: Adapters = {
    store,
    firewall,
    source,
    clock,
    random: cryptoRandom,
    logger: memoryLogger(logs),
    metrics,
    flushConnections: (ip) => {
      flushed.push(ip);
      return Promise.resolve();
    },
  };
  const services = dashboardService(config, a, { metrics, hostnameFor: (ip) => (ip === CLIENT ? 'alice-laptop' : null) });
  const running = await createGateway(config, { ...a, services });
  const listening = logs.find((l) => l.msg === 'dashboard listening');
  return {
    url: listening ? (listening.obj as { url: string }).url : '',
    dir,
    running,
    firewall,
    store,
    source,
    clock,
    flushed,
    logs,
    knock: async (user = 'alice') => {
      const before = new Set(running.gateway.liveGrants().map((g) => g.id));
      const payload = encodeSpa(
        accessFields(Math.floor(clock.now() / 1000), { username: user }),
        { key: st.key, hmacKey: st.hmacKey, hmacType: st.hmacType, mode: st.encryptionMode },
        { digestType: 'sha256', random: cryptoRandom },
      );
      source.inject(packetFrom(Buffer.from(payload, 'latin1'), CLIENT, clock.now()));
      for (let i = 0; i < 200; i++) {
        const g = running.gateway.liveGrants().find((x) => !before.has(x.id));
        if (g) return g.id;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error('the knock made no grant');
    },
    close: async () => {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(argv, { stdout, stderr, stdin: Readable.from(['']), env: {}, cwd: '/' });
  return { code, out, err };
}

test('the daemon dashboard shows real grants, refuses anonymous and CSRF-less requests, and a revoke empties the firewall', async () => {
  const s = await setup();
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const h = { url: s.url } as Harness;
    const id = await s.knock();
    s.firewall.addTraffic(id, 12, 3400);

    // Anonymous: refused everywhere that matters.
    assert.equal((await fetch(`${s.url}/api/grants`)).status, 401);
    assert.equal((await fetch(`${s.url}/api/grants/${id}/revoke`, { method: 'POST' })).status, 401);
    const page = await fetch(`${s.url}/hosts`, { redirect: 'manual' });
    assert.ok([302, 303].includes(page.status), `anonymous /hosts redirects (${page.status})`);
    assert.ok(s.firewall.rulesOf(id).length > 0);

    const b = await login(h);
    const list = (await (await fetch(`${s.url}/api/grants`, { headers: { Cookie: b.cookie } })).json()) as {
      grants: { id: string; ip: string; hostname: string; user: string; mode: string; packets: number; bytes: number; expires_at: string }[];
    };
    assert.equal(list.grants.length, 1);
    assert.deepEqual(
      { id: list.grants[0].id, ip: list.grants[0].ip, hostname: list.grants[0].hostname, user: list.grants[0].user, packets: list.grants[0].packets, bytes: list.grants[0].bytes },
      { id, ip: CLIENT, hostname: 'alice-laptop', user: 'alice', packets: 12, bytes: 3400 },
    );
    const hostsHtml = await (await fetch(`${s.url}/hosts`, { headers: { Cookie: b.cookie } })).text();
    assert.ok(hostsHtml.includes(CLIENT) && hostsHtml.includes('alice-laptop'));

    // Without the CSRF token neither the page nor the API changes anything.
    assert.equal((await fetch(`${s.url}/hosts/${id}/revoke`, form(b, {}, false))).status, 403);
    assert.equal((await fetch(`${s.url}/api/grants/${id}/revoke`, jsonPost(b, undefined, false))).status, 403);
    assert.ok(s.firewall.rulesOf(id).length > 0, 'rules still there after refused posts');
    assert.deepEqual(s.flushed, []);

    // Extend moves the expiry in the gateway and in the firewall.
    const before = s.running.gateway.getLive(id)!.expiresAt;
    const ext = await fetch(`${s.url}/api/grants/${id}/extend`, jsonPost(b, { seconds: 600 }));
    assert.equal(ext.status, 200);
    const after = s.running.gateway.getLive(id)!.expiresAt;
    assert.equal(after, before + 600_000);
    assert.equal((await s.firewall.listInstalled()).find((g) => g.id === id)?.expiresAt, Math.floor(after / 1000) * 1000);

    const health = (await (await fetch(`${s.url}/api/health`, { headers: { Cookie: b.cookie } })).json()) as Record<string, unknown>;
    assert.equal(health['backend'], 'memory');
    assert.equal(health['interface'], 'eth0');
    assert.equal(health['live_grants'], 1);

    // The revoke: rules out of the firewall, conntrack flushed for the host, event logged.
    const rev = await fetch(`${s.url}/api/grants/${id}/revoke`, jsonPost(b));
    assert.equal(rev.status, 200);
    assert.deepEqual(s.firewall.rulesOf(id), []);
    assert.equal((await s.firewall.listInstalled()).length, 0);
    assert.deepEqual(s.flushed, [CLIENT]);
    assert.equal(s.running.gateway.liveGrants().length, 0);
    await s.running.gateway.events.flush();
    const events = await s.store.listEvents({ limit: 10, outcome: 'revoked' });
    assert.equal(events.length, 1);
    assert.match(events[0].detail ?? '', /by admin/);

    // A second revoke of the same id is a 404, not a 500.
    assert.equal((await fetch(`${s.url}/api/grants/${id}/revoke`, jsonPost(b))).status, 404);

    // And the page form (with CSRF) revokes as well.
    const id2 = await s.knock('bob');
    const res = await fetch(`${s.url}/hosts/${id2}/revoke`, form(b, {}));
    assert.equal(res.status, 303);
    assert.deepEqual(s.firewall.rulesOf(id2), []);
  } finally {
    await s.close();
  }
});

test('the live stream of the daemon dashboard carries grants, extensions, revokes and expiry', async () => {
  const s = await setup();
  try {
    const b = await login({ url: s.url } as Harness);
    const ac = new AbortController();
    const res = await fetch(`${s.url}/api/live`, { headers: { Cookie: b.cookie }, signal: ac.signal });
    assert.equal(res.status, 200);
    const sse = new SseReader(res);
    await sse.next('hello', 1);
    const id = await s.knock();
    await s.running.gateway.extend(id, 60, 'test');
    await s.running.gateway.revoke(id, 'test');
    const id2 = await s.knock('carol');
    s.clock.advance(3_600_000);
    await s.running.gateway.sweep();
    const changes = (await sse.next('grant', 5)) as { type: string; grant: { id: string; hostname: string | null } }[];
    assert.deepEqual(
      changes.map((c) => [c.type, c.grant.id]),
      [
        ['granted', id],
        ['extended', id],
        ['revoked', id],
        ['granted', id2],
        ['expired', id2],
      ],
    );
    assert.equal(changes[0].grant.hostname, 'alice-laptop');
    ac.abort();
  } finally {
    await s.close();
  }
});

test('GET /metrics on the daemon dashboard counts packets by outcome and reason, and live grants', async () => {
  const s = await setup();
  try {
    await s.knock();
    s.source.inject(packetFrom(Buffer.from('x'.repeat(200)), '10.0.0.77', s.clock.now()));
    await new Promise((r) => setTimeout(r, 20));
    const res = await fetch(`${s.url}/metrics`);
    assert.equal(res.status, 200, 'open on a loopback listener');
    const text = await res.text();
    assert.match(text, /^spagate_packets_total\{outcome="accepted",reason="granted"\} 1$/m);
    assert.match(text, /^spagate_packets_total\{outcome="rejected",reason="[a-z_]+"\} 1$/m);
    assert.match(text, /^spagate_live_grants 1$/m);
    assert.match(text, /^spagate_grant_latency_seconds_count 1$/m);
  } finally {
    await s.close();
  }
});

test('spagate grants list and revoke reach the running daemon over its 0600 control socket', async () => {
  const s = await setup({ dashboard: false });
  try {
    assert.equal(s.url, '', 'DASHBOARD_LISTEN off: no dashboard');
    const sock = controlSocketPath(s.dir);
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    assert.ok(statSync(sock).isSocket());

    const empty = await cli(['grants', 'list', '--data-dir', s.dir]);
    assert.equal(empty.code, 0, empty.err);
    assert.equal(empty.out, 'no live grants\n');

    const id = await s.knock("o'brien & co (it)");
    const listed = await cli(['grants', 'list', '--data-dir', s.dir]);
    assert.equal(listed.code, 0, listed.err);
    assert.ok(listed.out.includes(id) && listed.out.includes(CLIENT) && listed.out.includes('alice-laptop'), listed.out);
    const json = JSON.parse((await cli(['grants', 'list', '--json', '--data-dir', s.dir])).out) as { id: string; user: string }[];
    assert.deepEqual(json.map((g) => [g.id, g.user]), [[id, "o'brien & co (it)"]]);

    const byIp = await cli(['grants', 'revoke', CLIENT, '--data-dir', s.dir]);
    assert.equal(byIp.code, 0, byIp.err);
    assert.equal(byIp.out, `revoked ${id}\n`);
    assert.deepEqual(s.firewall.rulesOf(id), []);
    assert.deepEqual(s.flushed, [CLIENT]);

    const id2 = await s.knock();
    const byId = await cli(['grants', 'revoke', id2, '--data-dir', s.dir]);
    assert.equal(byId.code, 0, byId.err);
    assert.deepEqual(s.firewall.rulesOf(id2), []);

    const none = await cli(['grants', 'revoke', id2, '--data-dir', s.dir]);
    assert.equal(none.code, 1);
    assert.match(none.err, /no live grant/);
    assert.equal((await cli(['grants', 'revoke', 'not an id!', '--data-dir', s.dir])).code, 1);
  } finally {
    await s.close();
  }
  const gone = await cli(['grants', 'list', '--data-dir', s.dir]);
  assert.equal(gone.code, 1);
  assert.match(gone.err, /not running/);
});

test('with DASHBOARD_TLS_CERT/KEY the daemon serves the dashboard over HTTPS with Secure cookies and HSTS', async () => {
  const certDir = mkdtempSync(join(tmpdir(), 'spagate-web-tls-'));
  try {
    const cert = join(certDir, 'cert.pem');
    const key = join(certDir, 'key.pem');
    execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore', timeout: 20_000 });
    const s = await setup({ server: { dashboardTls: { cert, key } } });
    try {
      assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const got = await new Promise<{ status: number; hsts: string | undefined; cookie: string[] }>((resolve, reject) => {
        request(`${s.url}/login`, { ca: readFileSync(cert), checkServerIdentity: () => undefined }, (r) => {
          r.resume();
          resolve({ status: r.statusCode ?? 0, hsts: r.headers['strict-transport-security'], cookie: r.headers['set-cookie'] ?? [] });
        })
          .on('error', reject)
          .end();
      });
      assert.equal(got.status, 200);
      assert.match(got.hsts ?? '', /max-age=/);
      assert.ok(got.cookie.length > 0 && got.cookie.every((c) => c.includes('; Secure')));
    } finally {
      await s.close();
    }
  } finally {
    rmSync(certDir, { recursive: true, force: true });
  }
});

test('/metrics is open only on a loopback dashboard listener', () => {
  assert.equal(isLoopbackListen('127.0.0.1:8080'), true);
  assert.equal(isLoopbackListen('[::1]:8080'), true);
  assert.equal(isLoopbackListen('0.0.0.0:8080'), false);
  assert.equal(isLoopbackListen('192.168.1.1:8080'), false);
});

test('a throwing live-update listener neither breaks the grant nor the other listeners', async () => {
  const s = await setup({ dashboard: false });
  try {
    const control = new DaemonGatewayControl(s.running.gateway, { backend: 'memory', capture: 'memory', version: 'test', logger: memoryLogger(s.logs) });
    const seen: string[] = [];
    const off1 = control.subscribe(() => {
      throw new Error('listener broke');
    });
    const off2 = control.subscribe((c) => seen.push(c.type));
    const id = await s.knock();
    assert.ok(s.firewall.rulesOf(id).length > 0, 'the grant is installed despite the throwing listener');
    assert.ok(await control.revoke(id, 'test'));
    assert.deepEqual(seen, ['granted', 'revoked']);
    assert.ok(s.logs.some((l) => l.msg === 'grant change listener failed'));
    off1();
    off2();
    assert.equal(await control.revoke(id, 'test'), false, 'an ended grant cannot be revoked again');
  } finally {
    await s.close();
  }
});
