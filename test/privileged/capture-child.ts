/**
 * Runs a CapPacketSource inside a namespace for test/privileged/capture.test.ts and prints
 * one JSON line per event on stdout: {event:'ready'}, {event:'error'} or {event:'packet'}.
 * Usage: node --import tsx capture-child.ts '{"interface":"eth0","filter":"udp port 62201"}'
 */
import { existsSync } from 'node:fs';
import { CapPacketSource } from '../../src/adapters/cap-capture.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { SpagateError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/ports.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as {
  interface: string;
  filter: string;
  bufferSize?: number;
  spaPrefilter?: boolean;
  /** Packets whose payload starts with this are only counted, as a cheap verifier would reject them. */
  quietPrefix?: string;
  /** After ready, block the event loop (so nothing reads the ring) until this file exists, at most 30 s. */
  stallUntilFile?: string;
};
const quiet = opts.quietPrefix ? Buffer.from(opts.quietPrefix) : null;
let quietCount = 0;

function line(level: string, o: object, msg?: string): void {
  const { err, ...rest } = o as { err?: unknown };
  const e =
    err instanceof Error ? { name: err.name, message: err.message, cause: String(err.cause) } : undefined;
  process.stderr.write(`${JSON.stringify({ level, msg, ...rest, err: e })}\n`);
}

const logger: Logger = {
  debug: () => {},
  info: (o, msg) => line('info', o, msg),
  warn: (o, msg) => line('warn', o, msg),
  error: (o, msg) => line('error', o, msg),
  child: () => logger,
};

function out(o: object): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

const src = new CapPacketSource({
  interface: opts.interface,
  filter: opts.filter,
  bufferSize: opts.bufferSize,
  spaPrefilter: opts.spaPrefilter,
  logger,
  clock: systemClock,
});
try {
  await src.start((p) => {
    if (quiet && p.payload.subarray(0, quiet.length).equals(quiet)) quietCount++;
    else out({ event: 'packet', ...p, payload: p.payload.toString('hex'), quietCount });
  });
  out({ event: 'ready', linkType: src.linkType, snaplen: src.snaplen });
  if (opts.stallUntilFile) {
    out({ event: 'stalling' });
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const deadline = Date.now() + 30_000;
    while (!existsSync(opts.stallUntilFile) && Date.now() < deadline) Atomics.wait(cell, 0, 0, 20);
    out({ event: 'reading' });
  }
} catch (e) {
  // Collect garbage now: a failed cap handle that got collected would abort the process.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  await new Promise((r) => setTimeout(r, 100));
  const err = e as Error;
  out({
    event: 'error',
    name: err.name,
    code: e instanceof SpagateError ? e.code : null,
    message: err.message,
  });
  process.exit(0);
}

const stop = () => {
  void src.stop().then(() => {
    out({ event: 'stopped', stats: src.stats() });
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
