import type { Readable, Writable } from 'node:stream';

/** What a CLI command may touch, passed in so commands run in-process in tests. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/** A command returns its exit status; it prints its own errors as one line on stderr. */
export type Command = (argv: string[], io: CliIo) => Promise<number>;

/** A usage problem: printed as `spagate <cmd>: <message>` with exit status 2. */
export class UsageError extends Error {}
