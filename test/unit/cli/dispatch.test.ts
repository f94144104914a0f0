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
  return { io: { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: process.cwd() }, out: () => out, err: () => err };
}

test('dispatch prints usage and exits 2 when no command is given', async () => {
  const h = io();
  assert.equal(await main([], h.io), 2);
  assert.match(h.out(), /usage: spagate <command>/);
});

test('dispatch rejects an unknown command with a one-line error', async () => {
  const h = io();
  assert.equal(await main(['frobnicate'], h.io), 2);
  assert.equal(h.err(), "spagate: unknown command 'frobnicate' (try spagate --help)\n");
});
