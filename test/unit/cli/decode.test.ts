import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../../src/cli/dispatch.js';
import { encodeSpa } from '../../../src/core/spa/encode.js';
import { VECTORS } from '../spa/helpers.js';
import { sampleFields, seededRandom } from '../spa/helpers.js';
import { cliIo } from '../spa/cli-io.js';

function keyArgs(v: (typeof VECTORS)[number]): string[] {
  const a: string[] = [];
  a.push(v.encryption_key.encoding === 'base64' ? '--key-base64' : '--key', v.encryption_key.value);
  if (v.hmac_key) {
    a.push(v.hmac_key.encoding === 'base64' ? '--hmac-key-base64' : '--hmac-key', v.hmac_key.value);
    a.push('--hmac-digest-type', v.hmac_type!.name);
  }
  a.push('--encryption-mode', v.encryption_mode.name);
  return a;
}

test('decode prints the expected object of every vector with --no-aging', async () => {
  for (const v of VECTORS) {
    const h = cliIo();
    const code = await main(['decode', ...keyArgs(v), '--no-aging', v.spa_packet], h.io);
    assert.equal(code, 0, `${v.id}: ${h.err()}`);
    assert.equal(h.err(), '');
    assert.equal(h.out().split('\n').length, 2, 'one JSON line');
    assert.deepEqual(JSON.parse(h.out()), v.expected, v.id);
  }
});

test('decode rejects an old vector with timestamp_out_of_window when aging applies', async () => {
  const v = VECTORS[0];
  const h = cliIo();
  assert.equal(await main(['decode', ...keyArgs(v), v.spa_packet], h.io), 1);
  assert.equal(h.err(), 'rejected: timestamp_out_of_window\n');
  assert.equal(h.out(), '');
});

test('decode accepts a fresh packet with aging on', async () => {
  const keys = {
    key: Buffer.from('fresh key'),
    hmacKey: Buffer.from('fresh hmac'),
    hmacType: 'sha384' as const,
    mode: 'ofb' as const,
  };
  const fields = sampleFields({ timestamp: Math.floor(Date.now() / 1000) - 30 });
  const p = encodeSpa(fields, keys, { digestType: 'sha1', random: seededRandom('fresh') });
  const h = cliIo();
  assert.equal(
    await main(
      [
        'decode',
        '--key',
        'fresh key',
        '--hmac-key',
        'fresh hmac',
        '--hmac-digest-type',
        'SHA384',
        '-M',
        'OFB',
        p,
      ],
      h.io,
    ),
    0,
    h.err(),
  );
  assert.equal(JSON.parse(h.out()).timestamp, fields.timestamp);
});

test('decode prints rejected: hmac_mismatch for a wrong HMAC key', async () => {
  const v = VECTORS.find((x) => x.id === 'hmac-sha256')!;
  const h = cliIo();
  assert.equal(
    await main(
      ['decode', '--key-base64', v.encryption_key.value, '--hmac-key', 'nope', '--no-aging', v.spa_packet],
      h.io,
    ),
    1,
  );
  assert.equal(h.err(), 'rejected: hmac_mismatch\n');
});

test('decode - reads one packet per line and prints one JSON line each, exit 1 when any is rejected', async () => {
  const v = VECTORS.find((x) => x.id === 'hmac-sha256')!;
  const junk = '8' + 'A'.repeat(200);
  const h = cliIo({ stdin: `${v.spa_packet}\r\n\n${junk}\n${v.spa_packet}` });
  assert.equal(await main(['decode', ...keyArgs(v), '--no-aging', '-'], h.io), 1);
  const lines = h
    .out()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 3);
  assert.deepEqual(lines[0], { ok: true, ...v.expected });
  assert.deepEqual(lines[1], { ok: false, reason: 'hmac_mismatch' });
  assert.deepEqual(lines[2], { ok: true, ...v.expected });
});

test('decode - exits 0 when every line decodes', async () => {
  const v = VECTORS.find((x) => x.id === 'nohmac-cfb')!;
  const h = cliIo({ stdin: `${v.spa_packet}\n` });
  assert.equal(await main(['decode', ...keyArgs(v), '--no-aging', '-'], h.io), 0);
  assert.equal(h.out().trim().split('\n').length, 1);
});

test('decode without a key is a usage error (exit 2, one line)', async () => {
  const h = cliIo();
  assert.equal(await main(['decode', 'abc'], h.io), 2);
  assert.equal(h.err(), 'spagate decode: an encryption key is required (--key or --key-base64)\n');
});

test('decode with an unknown digest or mode name is a usage error', async () => {
  for (const args of [['--hmac-digest-type', 'sha224'], ['-M', 'pcbc'], ['--bogus']]) {
    const h = cliIo();
    assert.equal(await main(['decode', '--key', 'k', ...args, 'x'], h.io), 2, args.join(' '));
    assert.equal(h.err().split('\n').length, 2);
  }
});

test('decode does not echo a bad base64 key in its error', async () => {
  const h = cliIo();
  assert.equal(await main(['decode', '--key-base64', 'sec!ret', 'x'], h.io), 2);
  assert.ok(!h.err().includes('sec!ret'));
});
