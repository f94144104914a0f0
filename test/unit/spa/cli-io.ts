import { PassThrough } from 'node:stream';
import type { CliIo } from '../../../src/cli/io.js';

/** In-process CLI I/O that collects output. */
export function cliIo(opts: { env?: Record<string, string | undefined>; stdin?: string; cwd?: string } = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (b: Buffer) => (out += b.toString()));
  stderr.on('data', (b: Buffer) => (err += b.toString()));
  stdin.end(opts.stdin ?? '');
  const io: CliIo = { stdout, stderr, stdin, env: opts.env ?? {}, cwd: opts.cwd ?? process.cwd() };
  return { io, out: () => out, err: () => err };
}
