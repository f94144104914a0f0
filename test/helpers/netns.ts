/**
 * Throw-away network namespaces for privileged tests. Every namespace and link gets a
 * prefix unique to this process (`sg<pid36><n>`), so parallel runs never collide, and
 * `Netns.cleanup()` deletes everything that was made, even after a failure. Nothing is
 * linked to the root namespace: traffic stays inside the test's own hosts.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import type { TestContext } from 'node:test';

export const IP = '/usr/sbin/ip';

let counter = 0;

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Skip loudly when not root. Returns true when the test should continue. */
export function requireRoot(t: TestContext): boolean {
  if (isRoot()) return true;
  t.skip('NOT ROOT: privileged test skipped');
  console.warn(`*** SKIPPED (not root): ${t.name}`);
  return false;
}

export function sh(file: string, args: string[], input?: string): string {
  return execFileSync(file, args, { encoding: 'utf8', input, timeout: 20_000, stdio: ['pipe', 'pipe', 'pipe'] });
}

export class Netns {
  readonly prefix: string;
  private readonly made: string[] = [];
  private readonly children: ChildProcess[] = [];

  constructor() {
    counter += 1;
    // Interface names are limited to 15 characters: keep the prefix short.
    this.prefix = `sg${process.pid.toString(36)}${counter.toString(36)}`;
  }

  /** Create namespace `<prefix><name>` with loopback up; returns its full name. */
  add(name: string): string {
    const ns = `${this.prefix}${name}`;
    sh(IP, ['netns', 'add', ns]);
    this.made.push(ns);
    this.exec(ns, IP, ['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Link two namespaces with a veth pair; interfaces are named `<prefix><ifA>` etc. and returned. */
  link(nsA: string, ifA: string, addrA: string, nsB: string, ifB: string, addrB: string): { a: string; b: string } {
    const a = `${this.prefix}${ifA}`;
    const b = `${this.prefix}${ifB}`;
    sh(IP, ['link', 'add', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB]);
    this.exec(nsA, IP, ['addr', 'add', addrA, 'dev', a]);
    this.exec(nsB, IP, ['addr', 'add', addrB, 'dev', b]);
    this.exec(nsA, IP, ['link', 'set', a, 'up']);
    this.exec(nsB, IP, ['link', 'set', b, 'up']);
    return { a, b };
  }

  /** Run a command inside a namespace and return its stdout; throws on non-zero exit. */
  exec(ns: string, file: string, args: string[], input?: string): string {
    return sh(IP, ['netns', 'exec', ns, file, ...args], input);
  }

  /** Like exec, but returns the exit status and output instead of throwing. */
  try(ns: string, file: string, args: string[]): { status: number; stdout: string; stderr: string } {
    try {
      return { status: 0, stdout: this.exec(ns, file, args), stderr: '' };
    } catch (e) {
      const err = e as { status?: number; stdout?: string; stderr?: string };
      return { status: err.status ?? -1, stdout: String(err.stdout ?? ''), stderr: String(err.stderr ?? '') };
    }
  }

  /** Start a long-running process inside a namespace; it is killed by cleanup(). */
  spawn(ns: string, file: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn(IP, ['netns', 'exec', ns, file, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.push(child);
    return child;
  }

  /** Kill children, then delete every namespace made (which removes their veths). */
  async cleanup(): Promise<void> {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) {
        c.kill('SIGKILL');
        await new Promise<void>((r) => {
          const timer = setTimeout(r, 2000);
          c.once('exit', () => {
            clearTimeout(timer);
            r();
          });
        });
      }
    }
    for (const ns of this.made.reverse()) {
      try {
        sh(IP, ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    this.made.length = 0;
  }
}
