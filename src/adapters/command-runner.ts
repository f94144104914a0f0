import { spawn } from 'node:child_process';
import { CommandError } from '../core/errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the child's standard input, which is then closed. */
  input?: string;
  /** Milliseconds; default 10 s. */
  timeoutMs?: number;
}

/**
 * Runs a program with an argv array: never a shell, always an absolute path, always a
 * timeout. A non-zero exit, a signal, a timeout or a failure to start becomes a
 * CommandError carrying the exit code and stderr. Secrets must never be passed in argv
 * (they would show in the process list); pass them on standard input instead.
 */
export interface CommandRunner {
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult>;
}

const MAX_OUTPUT = 64 * 1024 * 1024;

export class ExecFileRunner implements CommandRunner {
  run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
    if (!file.startsWith('/')) {
      return Promise.reject(new CommandError(file, args, null, '', `refusing to run ${file}: not an absolute path`));
    }
    const timeoutMs = opts.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const child = spawn(file, [...args], { shell: false, stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      child.stdout.on('data', (b: Buffer) => {
        size += b.length;
        if (size <= MAX_OUTPUT) out.push(b);
      });
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.stdin.on('error', () => undefined); // EPIPE when the child exits early; the exit code tells.
      child.on('error', (e) => reject(new CommandError(file, args, null, '', `cannot run ${file}: ${e.message}`, { cause: e })));
      child.on('close', (code, signal) => {
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        if (code === 0) return resolve({ stdout, stderr });
        const why = signal ? `killed by ${signal}${signal === 'SIGTERM' ? ` (timeout ${timeoutMs} ms?)` : ''}` : `exit ${code}`;
        reject(new CommandError(file, args, code, stderr, `${file} ${args.slice(0, 6).join(' ')}: ${why}: ${stderr.trim().slice(0, 500)}`));
      });
      child.stdin.end(opts.input ?? '');
    });
  }
}
