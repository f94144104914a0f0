/** Shared pieces of the iptables privileged tests: a runner bound to a namespace, and a silent logger. */
import {
  ExecFileRunner,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
} from '../../src/adapters/command-runner.js';
import type { Logger } from '../../src/core/ports.js';
import { IP } from '../helpers/netns.js';

export const IPTABLES = '/usr/sbin/iptables';
export const CONNTRACK = '/usr/sbin/conntrack';

/** Runs every command inside one namespace and counts the invocations per program. */
export class NetnsRunner implements CommandRunner {
  private readonly inner = new ExecFileRunner();
  readonly counts = new Map<string, number>();
  constructor(private readonly ns: string) {}

  run(file: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    this.counts.set(file, (this.counts.get(file) ?? 0) + 1);
    return this.inner.run(IP, ['netns', 'exec', this.ns, file, ...args], opts);
  }

  count(file: string): number {
    return this.counts.get(file) ?? 0;
  }
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
