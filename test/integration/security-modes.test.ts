/**
 * Issue 8, docs/security.md "Where secrets live": what can be checked without a network.
 * The data directory is created 0700 and the database (password hashes, token hashes, user
 * keys) 0600, its WAL and shared-memory files too, whatever the umask; a database others can
 * read is reported; access.conf and fwknopd.conf readable by others get fwknopd's warning;
 * keys never reach the log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../src/adapters/pino-logger.js';
import { SqliteStore } from '../../src/adapters/sqlite-store.js';
import { compileConfig } from '../../src/config/compile.js';
import { memorySources } from '../../src/config/sources.js';
import { ACCESS, CONF, NOW, stanza } from '../unit/config/helpers.js';
import { LogBuffer, startInProcess } from '../helpers/in-process-gateway.js';

const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);

test('data directory 0700 and database, WAL and shm files 0600 even with umask 000', async () => {
  const root = mkdtempSync(join(tmpdir(), 'spagate-modes-'));
  const old = process.umask(0);
  try {
    const dir = join(root, 'data');
    const file = join(dir, 'spagate.db');
    const store = SqliteStore.open(file);
    await store.addEvents([{ at: NOW, outcome: 'rejected', reason: 'replay', srcIp: '10.0.0.1', srcPort: 1, mac: null, user: null, stanzaId: null, grantId: null, detail: null }]);
    assert.equal(mode(dir), '700');
    assert.equal(mode(file), '600');
    for (const f of [`${file}-wal`, `${file}-shm`]) if (existsSync(f)) assert.equal(mode(f), '600', f);
    assert.ok(existsSync(`${file}-wal`), 'WAL mode');
    await store.close();
  } finally {
    process.umask(old);
    rmSync(root, { recursive: true, force: true });
  }
});

test('a database readable by group or others is reported at open', async () => {
  const root = mkdtempSync(join(tmpdir(), 'spagate-modes-'));
  try {
    const file = join(root, 'spagate.db');
    await SqliteStore.open(file).close();
    chmodSync(file, 0o644);
    const logs = new LogBuffer();
    await SqliteStore.open(file, { logger: createLogger('info', logs) }).close();
    const w = logs.lines().find((l) => l.msg === 'database file is accessible to group or others');
    assert.equal(w?.mode, '644');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('access.conf and fwknopd.conf readable by others: fwknopd’s permission warning, naming the file', () => {
  const r = compileConfig({
    configFile: CONF,
    accessFile: ACCESS,
    now: NOW,
    sources: memorySources({ [CONF]: { text: 'PCAP_INTF eth0\n', mode: 0o644 }, [ACCESS]: { text: stanza('ANY'), mode: 0o640 } }),
  });
  assert.ok(r.config, 'a warning, not an error: fwknopd starts too');
  const perm = r.warnings.filter((w) => /permissions are/.test(w.message)).map((w) => `${w.file} ${w.message.slice(0, 20)}`);
  assert.deepEqual(perm.sort(), [`${ACCESS} permissions are 0640`, `${CONF} permissions are 0644`].sort());
  const ok = compileConfig({ configFile: CONF, accessFile: ACCESS, now: NOW, sources: memorySources({ [CONF]: 'PCAP_INTF eth0\n', [ACCESS]: stanza('ANY') }) });
  assert.ok(!ok.warnings.some((w) => /permissions are/.test(w.message)), 'no warning at 0600');
});

test('keys never reach the log, whatever the packets (granted, wrong HMAC, junk) at trace level', async () => {
  const g = await startInProcess({ logLevel: 'trace' });
  try {
    const s = g.stanzas[0];
    g.knock();
    g.inject(Buffer.from('A'.repeat(200)));
    const other = { ...s, hmacKey: Buffer.alloc(32, 7) };
    g.knock({ s: other, src: '10.0.0.10' });
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 1);
    const text = g.logs.text;
    for (const secret of [s.key, s.hmacKey!]) {
      for (const form of [secret.toString('base64'), secret.toString('hex'), secret.toString('latin1')]) {
        assert.ok(form.length < 8 || !text.includes(form), 'a key appears in the log');
      }
    }
  } finally {
    await g.stop();
  }
});
