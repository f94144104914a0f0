/**
 * Runs the real `spagate start` (built CLI in dist/) inside a test namespace, with config
 * files written to a temp folder, and collects its JSON log lines.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface LogLine {
  msg?: string;
  level?: number;
  [k: string]: unknown;
}

export class DaemonRun {
  readonly dir: string;
  readonly lines: LogLine[] = [];
  private child: ChildProcess | null = null;
  private stderr = '';
  /** Index of the first log line of the current run: waits look only at this run's lines. */
  private runStart = 0;

  constructor(
    private readonly ns: Netns,
    private readonly nsName: string,
    files: { fwknopdConf: string; accessConf: string },
    /** Node/V8 flags before the script (the bench runs the daemon as its systemd unit does). */
    private readonly nodeFlags: readonly string[] = [],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'spagate-e2e-'));
    writeFileSync(join(this.dir, 'fwknopd.conf'), files.fwknopdConf);
    writeFileSync(join(this.dir, 'access.conf'), files.accessConf);
    chmodSync(join(this.dir, 'access.conf'), 0o600);
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** Start and wait until it logs 'spagate listening'. */
  async start(extra: string[] = []): Promise<void> {
    const args = [CLI, 'start', '-f', '-c', join(this.dir, 'fwknopd.conf'), '-a', join(this.dir, 'access.conf'), '--data-dir', this.dataDir, '-p', join(this.dir, 'spagate.pid'), ...extra];
    const child = this.ns.spawn(this.nsName, process.execPath, [...this.nodeFlags, ...args]);
    this.child = child;
    this.runStart = this.lines.length;
    let buf = '';
    child.stdout?.on('data', (b: Buffer) => {
      buf += b.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          this.lines.push({ msg: line });
        }
      }
    });
    child.stderr?.on('data', (b: Buffer) => (this.stderr += b.toString()));
    await this.waitFor((l) => l.msg === 'spagate listening', 15_000, () => child.exitCode !== null);
  }

  /** Wait for a log line matching `pred`; fails after `ms` or when `dead()` says the daemon died. */
  async waitFor(pred: (l: LogLine) => boolean, ms = 5000, dead: () => boolean = () => false): Promise<LogLine> {
    const until = Date.now() + ms;
    for (;;) {
      const hit = this.lines.slice(this.runStart).find(pred);
      if (hit) return hit;
      if (dead() || Date.now() > until) {
        throw new Error(`timed out waiting for a log line; stderr: ${this.stderr.slice(-2000)}\nlog: ${this.lines.slice(-15).map((l) => JSON.stringify(l)).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Matching lines of the current run. */
  count(pred: (l: LogLine) => boolean): number {
    return this.lines.slice(this.runStart).filter(pred).length;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return c?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    // ip netns exec replaces itself with node, so the signal reaches the daemon directly.
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), 8000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
