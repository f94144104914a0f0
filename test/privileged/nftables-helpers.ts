/** Shared pieces of the nftables privileged tests. */
import {
  ExecFileRunner,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
} from '../../src/adapters/command-runner.js';
import { NftablesFirewall } from '../../src/adapters/nftables.js';
import { silentLogger } from '../../src/adapters/pino-logger.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { IP } from '../helpers/netns.js';

export const NFT = '/usr/sbin/nft';
export const IPTABLES = '/usr/sbin/iptables';

/** Runs every command inside one namespace. */
export class NsRunner implements CommandRunner {
  private readonly inner = new ExecFileRunner();
  constructor(private readonly ns: string) {}
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    return this.inner.run(IP, ['netns', 'exec', this.ns, file, ...args], opts);
  }
}

export function nftFirewall(
  ns: string,
  opts: { iptables?: boolean; conntrackAccept?: boolean } = {},
): NftablesFirewall {
  return new NftablesFirewall({
    nft: NFT,
    runner: new NsRunner(ns),
    logger: silentLogger,
    clock: systemClock,
    conntrackAccept: opts.conntrackAccept ?? true,
    ...(opts.iptables === false ? {} : { iptables: IPTABLES }),
  });
}

/** Polls `check` every 200 ms until it is true or `ms` passes; returns the last result. */
export async function waitUntil(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}
