import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../../src/core/errors.js';
import { checkGatewayConfig, loadGatewayConfig } from '../../../src/config/load.js';
import { stanza } from './helpers.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'spagate-config-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function put(path: string, text: string, mode = 0o600): Promise<void> {
  await writeFile(path, text);
  await chmod(path, mode);
}

test('loadGatewayConfig reads files, includes and folders from disk', async () => {
  await withDir(async (dir) => {
    await mkdir(join(dir, 'access.d'));
    await put(join(dir, 'fwknopd.conf'), `FWKNOP_RUN_DIR ${dir}/run\nENABLE_IPT_FORWARDING Y\n`);
    await put(join(dir, 'override.conf'), 'PCAP_INTF lan0\n');
    await put(
      join(dir, 'access.conf'),
      `${stanza('10.0.0.1')}%include more.conf\n%include_folder ${dir}/access.d\n`,
    );
    await put(join(dir, 'more.conf'), stanza('10.0.0.2'));
    await put(join(dir, 'access.d', 'b.conf'), stanza('10.0.0.4'));
    await put(join(dir, 'access.d', 'a.conf'), stanza('10.0.0.3'));
    await put(join(dir, 'access.d', 'notes.txt'), 'junk\n');
    const c = await loadGatewayConfig({
      configFile: join(dir, 'fwknopd.conf'),
      accessFile: join(dir, 'access.conf'),
      overrideFiles: [join(dir, 'override.conf')],
      env: { SPAGATE_DATA_DIR: `${dir}/data` },
    });
    assert.deepEqual(
      c.stanzas.map((s) => s.id),
      ['access.conf:1', 'more.conf:1', 'a.conf:1', 'b.conf:1'],
    );
    assert.equal(c.server.pcapIntf, 'lan0');
    assert.equal(c.server.digestFile, `${dir}/run/digest.cache`);
    assert.equal(c.server.dataDir, `${dir}/data`);
    assert.notEqual(c.server.chains.forward, null);
    assert.deepEqual(c.warnings, []);
  });
});

test('loadGatewayConfig warns about an access file readable by others, from the real file mode', async () => {
  await withDir(async (dir) => {
    await put(join(dir, 'fwknopd.conf'), '');
    await put(join(dir, 'access.conf'), stanza(), 0o644);
    const c = await loadGatewayConfig({
      configFile: join(dir, 'fwknopd.conf'),
      accessFile: join(dir, 'access.conf'),
    });
    assert.deepEqual(c.warnings, [
      `${join(dir, 'access.conf')}:0: permissions are 0644; should be user read/write only (0600), as fwknopd requires`,
    ]);
  });
});

test('loadGatewayConfig throws one ConfigError listing every problem', async () => {
  await withDir(async (dir) => {
    await put(join(dir, 'fwknopd.conf'), 'ENABLE_SPA_OVER_HTTP Y\n');
    await put(join(dir, 'access.conf'), 'SOURCE ANY\nKEY_BASE64 __CHANGEME__\n%include nothere.conf\n');
    await assert.rejects(
      loadGatewayConfig({ configFile: join(dir, 'fwknopd.conf'), accessFile: join(dir, 'access.conf') }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.code, 'SG_CONFIG');
        assert.deepEqual(
          e.problems.map((p) => `${p.file}:${p.line}`),
          [`${dir}/fwknopd.conf:1`, `${dir}/access.conf:2`, `${dir}/access.conf:3`],
        );
        assert.match(e.message, /nothere\.conf: cannot read: no such file or directory/);
        return true;
      },
    );
  });
});

test('checkGatewayConfig stops reading at the include depth limit and on cycles', async () => {
  await withDir(async (dir) => {
    await put(join(dir, 'fwknopd.conf'), '');
    await put(join(dir, 'access.conf'), `${stanza()}%include l2.conf\n`);
    await put(join(dir, 'l2.conf'), '%include l3.conf\n');
    await put(join(dir, 'l3.conf'), '%include l4.conf\n%include access.conf\n');
    await put(join(dir, 'l4.conf'), stanza());
    const reads: string[] = [];
    const { readFile } = await import('node:fs/promises');
    const r = await checkGatewayConfig({
      configFile: join(dir, 'fwknopd.conf'),
      accessFile: join(dir, 'access.conf'),
      readFile: (p) => {
        reads.push(p);
        return readFile(p, 'utf8');
      },
    });
    assert.ok(!reads.includes(join(dir, 'l4.conf')), 'a file beyond the depth limit is never read');
    assert.deepEqual(
      r.errors.map((e) => `${e.file}:${e.line}`),
      [`${dir}/l3.conf:1`, `${dir}/l3.conf:2`],
    );
  });
});

test('loadGatewayConfig uses ACCESS_FILE from fwknopd.conf when no access file is given', async () => {
  await withDir(async (dir) => {
    await put(join(dir, 'fwknopd.conf'), `ACCESS_FILE ${dir}/acc.conf\n`);
    await put(join(dir, 'acc.conf'), stanza());
    const c = await loadGatewayConfig({ configFile: join(dir, 'fwknopd.conf') });
    assert.equal(c.server.accessFile, `${dir}/acc.conf`);
  });
});
