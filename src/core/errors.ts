/**
 * Typed errors with stable codes. Expected rejections of packets are not errors: they are
 * values (see `RejectReason`). These classes are for configuration problems, failing
 * adapters and violated invariants. Every code is listed in docs/errors.md.
 */
export class SpagateError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem in a configuration file, located by file and line (line 0: the file as a whole). */
export interface ConfigProblem {
  file: string;
  line: number;
  message: string;
}

export class ConfigError extends SpagateError {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super('SG_CONFIG', problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n'));
  }
}

export class CaptureError extends SpagateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SG_CAPTURE', message, options);
  }
}

/** A command (iptables, nft, ip, conntrack) exited non-zero, timed out or could not start. */
export class CommandError extends SpagateError {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('SG_COMMAND', message, options);
  }
}

export class FirewallError extends SpagateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SG_FIREWALL', message, options);
  }
}

export class StoreError extends SpagateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SG_STORE', message, options);
  }
}

/** A bug in spagate: an invariant the code itself should have kept. */
export class InternalError extends SpagateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SG_INTERNAL', message, options);
  }
}
