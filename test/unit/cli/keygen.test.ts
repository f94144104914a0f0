import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { main } from '../../../src/cli/dispatch.js';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (b: Buffer) => (out += b.toString()));
  stderr.on('data', (b: Buffer) => (err += b.toString()));
  return {
    io: { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() },
    out: () => out,
    err: () => err,
  };
}

function parse(out: string): { key: Buffer; hmac: Buffer } {
  const m = /^KEY_BASE64: ([A-Za-z0-9+/]+=*)\nHMAC_KEY_BASE64: ([A-Za-z0-9+/]+=*)\n$/.exec(out);
  assert.ok(m, out);
  return { key: Buffer.from(m[1], 'base64'), hmac: Buffer.from(m[2], 'base64') };
}

test('keygen prints a 32-byte key and a 64-byte HMAC key like fwknop --key-gen', async () => {
  const h = io();
  assert.equal(await main(['keygen'], h.io), 0);
  const k = parse(h.out());
  assert.equal(k.key.length, 32);
  assert.equal(k.hmac.length, 64);
});

test('keygen makes different keys on every run', async () => {
  const a = io();
  const b = io();
  await main(['keygen'], a.io);
  await main(['keygen'], b.io);
  assert.notDeepEqual(parse(a.out()).key, parse(b.out()).key);
  assert.notDeepEqual(parse(a.out()).hmac, parse(b.out()).hmac);
});

test('keygen honours --key-len and --hmac-key-len', async () => {
  const h = io();
  assert.equal(await main(['keygen', '--key-len', '16', '--hmac-key-len=128'], h.io), 0);
  const k = parse(h.out());
  assert.equal(k.key.length, 16);
  assert.equal(k.hmac.length, 128);
});

test('keygen refuses a key length over 32 with a one-line usage error', async () => {
  const h = io();
  assert.equal(await main(['keygen', '--key-len', '33'], h.io), 2);
  assert.equal(h.err(), 'spagate keygen: --key-len must be 1..32\n');
  assert.equal(h.out(), '');
});
