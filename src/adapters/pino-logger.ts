import { pino, stdSerializers, type DestinationStream } from 'pino';
import type { Logger } from '../core/ports.js';

// Belt and braces: nothing should ever log key material, but if an object carrying it slips
// into a log call, these paths are censored rather than printed.
const REDACT = ['key', 'hmacKey', 'password', 'token', '*.key', '*.hmacKey', '*.password', '*.token', 'stanza.key', 'stanza.hmacKey'];

/** Structured JSON logs on standard output (or `dest`), one logger made here and passed down. */
export function createLogger(level: string, dest?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { name: 'spagate', pid: process.pid },
      redact: { paths: REDACT, censor: '[secret]' },
      serializers: { err: stdSerializers.err },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    dest ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything: for tests and one-shot CLI work. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
