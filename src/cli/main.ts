#!/usr/bin/env node
import type { CliIo } from './io.js';
import { main } from './dispatch.js';

// A closed pipe (`spagate ... | head`) ends output quietly instead of crashing.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`spagate: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
