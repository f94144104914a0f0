import { CommandError, FirewallError } from '../core/errors.js';
import { isIpv4 } from '../core/ipv4.js';
import type { Logger } from '../core/ports.js';
import type { CommandRunner } from './command-runner.js';

/**
 * Deletes conntrack entries so that connections opened under a grant die with it: a
 * FORWARD accept for ESTABLISHED,RELATED would otherwise keep them flowing after revoke.
 */
export class ConntrackFlusher {
  constructor(
    private readonly opts: { conntrack: string; runner: CommandRunner; logger: Logger; timeoutMs?: number },
  ) {}

  /** Deletes every IPv4 entry whose original source is `ip`; returns how many went. */
  async flushSource(ip: string): Promise<number> {
    if (!isIpv4(ip)) throw new FirewallError(`conntrack flush: ${JSON.stringify(ip)} is not an IPv4 address`);
    let text: string;
    try {
      const r = await this.opts.runner.run(this.opts.conntrack, ['-D', '-f', 'ipv4', '-s', ip], {
        timeoutMs: this.opts.timeoutMs ?? 10_000,
      });
      text = `${r.stderr}\n${r.stdout}`;
    } catch (e) {
      // conntrack exits 1 when nothing matched; that is the normal case for an idle client.
      if (e instanceof CommandError && e.exitCode === 1 && /\b0 flow entries/.test(e.stderr)) return 0;
      throw e;
    }
    const m = /(\d+) flow entries have been deleted/.exec(text);
    const n = m ? Number(m[1]) : 0;
    this.opts.logger.debug({ ip, entries: n }, 'conntrack entries deleted');
    return n;
  }
}
