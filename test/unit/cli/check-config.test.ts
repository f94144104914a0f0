import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../../src/cli/dispatch.js';
import { stanza } from '../config/helpers.js';

function io(cwd: string, env: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (b: Buffer) => (out += b.toString()));
  stderr.on('data', (b: Buffer) => (err += b.toString()));
  return { io: { stdout, stderr, stdin: new PassThrough(), env, cwd }, out: () => out, err: () => err };
}

async function withFiles(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'spagate-check-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      await writeFile(join(dir, name), text);
      await chmod(join(dir, name), 0o600);
    }
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('check-config prints a summary and exits 0 for a valid configuration', async () => {
  const conf = 'ENABLE_IPT_FORWARDING Y\nENABLE_IPT_SNAT Y\nFIREWALL_BACKEND iptables\n';
  const access = stanza('192.168.1.0/24', 'FORWARD_ALL Y\nDISABLE_DNAT Y\nFORCE_MASQUERADE Y\n');
  await withFiles({ 'fwknopd.conf': conf, 'access.conf': access }, async (dir) => {
    const h = io(dir);
    assert.equal(await main(['check-config', '-c', 'fwknopd.conf', '-a', 'access.conf'], h.io), 0);
    assert.match(h.out(), /^configuration OK: /m);
    assert.match(h.out(), /stanzas: 1 \(access\.conf:1\)/);
    assert.match(h.out(), /firewall backend: iptables/);
    assert.match(h.out(), /forward filter\/FORWARD -> FWKNOP_FORWARD \(ACCEPT\)/);
    assert.match(h.out(), /masquerade nat\/POSTROUTING -> FWKNOP_MASQUERADE \(MASQUERADE\)/);
    assert.match(h.out(), /output not configured/);
    assert.equal(h.err(), '');
  });
});

test('check-config lists every error with file and line and exits 1', async () => {
  await withFiles(
    {
      'fwknopd.conf': 'GPG_EXE /usr/bin/gpg\nBOGUS 1\n',
      'access.conf': 'SOURCE ANY\nKEY_BASE64 __CHANGEME__\nFORWARD_ALL Y\n',
    },
    async (dir) => {
      const h = io(dir);
      assert.equal(
        await main(['check-config', '-c', join(dir, 'fwknopd.conf'), '-a', join(dir, 'access.conf')], h.io),
        1,
      );
      const lines = h.out().trim().split('\n');
      assert.deepEqual(
        lines.map((l) => l.split(': ')[0]),
        [
          `${dir}/fwknopd.conf:1`,
          `${dir}/access.conf:2`,
          `${dir}/access.conf:3`,
          `${dir}/fwknopd.conf:2`,
          `${dir}/access.conf:1`,
          `${dir}/access.conf:1`,
        ],
      );
      assert.match(lines[3], /: warning: ignored: unknown keyword 'BOGUS'/);
      assert.equal(h.err(), 'spagate check-config: 3 error(s), 3 warning(s)\n');
    },
  );
});

test('check-config applies -O override files and the environment', async () => {
  await withFiles(
    { 'fwknopd.conf': 'PCAP_INTF eth1\n', 'o.conf': 'PCAP_INTF lan7\n', 'access.conf': stanza() },
    async (dir) => {
      const h = io(dir, { SPAGATE_DATA_DIR: '/srv/sg' });
      assert.equal(
        await main(['check-config', '-c', 'fwknopd.conf', '-a', 'access.conf', '-O', 'o.conf'], h.io),
        0,
      );
      assert.match(h.out(), /capture: pcap on lan7/);
      assert.match(h.out(), /data directory: \/srv\/sg/);
    },
  );
});

test('check-config rejects an unknown flag as a usage error', async () => {
  const h = io(process.cwd());
  assert.equal(await main(['check-config', '--bogus'], h.io), 2);
  assert.match(h.err(), /^spagate check-config: unknown option '--bogus'/);
});
