import type { ConfigProblem } from '../core/errors.js';

/** Where a value came from: a file and line, or a pseudo-file such as `environment`. */
export interface Origin {
  readonly file: string;
  readonly line: number;
}

/** Collects every error and warning so one run reports them all. */
export class Problems {
  readonly errors: ConfigProblem[] = [];
  readonly warnings: ConfigProblem[] = [];

  error(at: Origin, message: string): void {
    this.errors.push({ file: at.file, line: at.line, message });
  }

  warn(at: Origin, message: string): void {
    this.warnings.push({ file: at.file, line: at.line, message });
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}: ${p.message}`;
}

/** Warns when a configuration file is readable or writable by group or others. */
export function checkFileMode(file: string, mode: number | null, problems: Problems): void {
  if (mode === null || (mode & 0o077) === 0) return;
  const perm = (mode & 0o777).toString(8).padStart(4, '0');
  problems.warn(
    { file, line: 0 },
    `permissions are ${perm}; should be user read/write only (0600), as fwknopd requires`,
  );
}
