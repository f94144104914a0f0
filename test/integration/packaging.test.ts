/**
 * Packaging checks (issue 8): docker-compose.yml as docker-compose itself reads it, the
 * Dockerfile and .dockerignore, and the systemd unit through `systemd-analyze verify`.
 * The tools are optional on a developer machine: each check skips with a message when its
 * tool is missing (.ci/run installs docker-compose; systemd is on every Debian machine).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find((p) => existsSync(p)) ?? null;
const ANALYZE = existsSync('/usr/bin/systemd-analyze') ? '/usr/bin/systemd-analyze' : null;

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { cwd: ROOT, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The lines of one top-level-indented block (`  name:` and what is indented below it). */
function block(yaml: string, header: RegExp): string[] {
  const lines = yaml.split('\n');
  const i = lines.findIndex((l) => header.test(l));
  assert.ok(i >= 0, `no ${String(header)} in:\n${yaml}`);
  const indent = /^ */.exec(lines[i])![0].length;
  const out: string[] = [];
  for (const l of lines.slice(i + 1)) {
    if (l.trim() !== '' && /^ */.exec(l)![0].length <= indent && !/^ *- /.test(l)) break;
    out.push(l.trim());
  }
  return out;
}

test('docker-compose config: host network, only NET_ADMIN and NET_RAW, read-only config, named data volume', (t) => {
  if (!COMPOSE) {
    t.skip('docker-compose not installed: compose file not validated (.ci/run installs it)');
    console.warn('*** SKIPPED: docker-compose not installed');
    return;
  }
  const yaml = run(COMPOSE, ['-f', 'docker-compose.yml', 'config']);
  const svc = block(yaml, /^ {2}spagate:$/);
  const key = (k: string): string[] => {
    const j = svc.indexOf(`${k}:`);
    assert.ok(j >= 0, `service has no ${k}:\n${svc.join('\n')}`);
    const items: string[] = [];
    for (const l of svc.slice(j + 1)) {
      if (!l.startsWith('- ')) break;
      items.push(l.slice(2));
    }
    return items;
  };
  assert.ok(svc.includes('network_mode: host'), 'host networking');
  assert.deepEqual(key('cap_drop'), ['ALL']);
  assert.deepEqual(key('cap_add').sort(), ['NET_ADMIN', 'NET_RAW']);
  assert.ok(!svc.some((l) => l.startsWith('privileged:') && l.endsWith('true')), 'not privileged');
  assert.ok(!svc.includes('ports:'), 'nothing published (host networking)');
  assert.ok(key('security_opt').includes('no-new-privileges:true'));
  const volumes = key('volumes');
  assert.ok(volumes.some((v) => /\/conf\/docker:\/etc\/spagate:ro$/.test(v)), `config mounted read-only: ${volumes.join(', ')}`);
  assert.ok(volumes.includes('spagate-data:/var/lib/spagate:rw'), `named data volume: ${volumes.join(', ')}`);
  assert.ok(block(yaml, /^volumes:$/).some((l) => l.startsWith('spagate-data:')), 'the volume is declared');
  const fwknopd = readFileSync(`${ROOT}conf/docker/fwknopd.conf`, 'utf8');
  assert.match(fwknopd, /^SPAGATE_DATA_DIR\s+\/var\/lib\/spagate;?$/m, 'the database goes on the volume');
  assert.match(fwknopd, /^DASHBOARD_LISTEN\s+127\.0\.0\.1:/m, 'dashboard on loopback with host networking');
});

test('Dockerfile and .dockerignore keep keys and test files out of the image', () => {
  const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
  const ignore = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n').map((l) => l.trim());
  assert.ok(!/^COPY\s+conf\b/m.test(dockerfile), 'configuration is mounted, never copied');
  for (const p of ['conf', '.git', 'node_modules', 'test', '.env']) assert.ok(ignore.includes(p), `.dockerignore lists ${p}`);
  assert.match(dockerfile, /^VOLUME \["\/var\/lib\/spagate"\]$/m);
  assert.match(dockerfile, /^ENTRYPOINT \["spagate"\]$/m);
});

test('systemd unit: hardening options present and systemd-analyze verify accepts it', (t) => {
  const unit = readFileSync(`${ROOT}packaging/spagate.service`, 'utf8');
  const has = (line: string): void => assert.ok(unit.split('\n').includes(line), `unit has ${line}`);
  has('CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW');
  has('AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW');
  has('NoNewPrivileges=yes');
  has('ProtectSystem=strict');
  has('ReadWritePaths=/var/lib/spagate');
  has('StateDirectoryMode=0700');
  has('ProtectHome=yes');
  has('PrivateTmp=yes');
  has('ExecReload=/bin/kill -HUP $MAINPID');
  assert.ok(!/^MemoryDenyWriteExecute=yes/m.test(unit), 'V8 needs W+X pages');
  if (!ANALYZE) {
    t.skip('systemd-analyze not installed: unit not verified');
    console.warn('*** SKIPPED: systemd-analyze verify (not installed)');
    return;
  }
  // verify checks that ExecStart's program exists: on a machine whose node is not /usr/bin/node,
  // check a copy that names this node instead.
  let file = `${ROOT}packaging/spagate.service`;
  let tmp: string | null = null;
  if (!existsSync('/usr/bin/node')) {
    tmp = mkdtempSync(join(tmpdir(), 'spagate-unit-'));
    file = join(tmp, 'spagate.service');
    writeFileSync(file, unit.replace('ExecStart=/usr/bin/node ', `ExecStart=${process.execPath} `));
  }
  try {
    // verify prints problems on stderr and exits non-zero on errors.
    const out = execFileSync(ANALYZE, ['verify', file], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(out.trim(), '');
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
});

test('scripts/healthcheck.mjs: healthy on any non-5xx answer (401 without credentials), unhealthy on 5xx or no listener', async () => {
  const { createServer } = await import('node:http');
  const { execFile } = await import('node:child_process');
  let status = 401;
  const srv = createServer((_req, res) => res.writeHead(status).end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const check = (url: string): Promise<number> =>
    new Promise((resolve) => {
      const child = execFile(process.execPath, [`${ROOT}scripts/healthcheck.mjs`], { env: { ...process.env, SPAGATE_HEALTH_URL: url, SPAGATE_HEALTH_TIMEOUT_MS: '2000' }, timeout: 10_000 });
      child.once('exit', (code) => resolve(code ?? -1));
    });
  try {
    assert.equal(await check(`http://127.0.0.1:${port}/api/health`), 0);
    status = 503;
    assert.equal(await check(`http://127.0.0.1:${port}/api/health`), 1);
  } finally {
    await new Promise((r) => srv.close(r));
  }
  assert.equal(await check(`http://127.0.0.1:${port}/api/health`), 1, 'nothing listening');
});
