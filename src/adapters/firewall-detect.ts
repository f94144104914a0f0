/**
 * Chooses the firewall backend once, at start-up (FIREWALL_BACKEND). `auto` prefers
 * nftables when `nft` runs and the kernel accepts the table layout spagate needs; the
 * caller logs the returned reason. Detection sits behind a small probe so tests fake it.
 */
import { FirewallError } from '../core/errors.js';
import type { FirewallBackendChoice } from '../core/config-model.js';
import { buildSetupScript, type NftLayout } from '../core/rules/nftables.js';
import type { CommandRunner } from './command-runner.js';

export type FirewallBackendName = 'iptables' | 'nftables';

export interface FirewallProbe {
  nftWorks(): Promise<boolean>;
  iptablesWorks(): Promise<boolean>;
}

export async function detectFirewallBackend(
  choice: FirewallBackendChoice,
  probe: FirewallProbe,
): Promise<{ backend: FirewallBackendName; reason: string }> {
  if (choice === 'iptables' || choice === 'nftables')
    return { backend: choice, reason: `FIREWALL_BACKEND is ${choice}` };
  if (await probe.nftWorks()) {
    return {
      backend: 'nftables',
      reason: 'auto: nft works and the kernel accepts timeout sets, maps and NAT chains',
    };
  }
  if (await probe.iptablesWorks())
    return { backend: 'iptables', reason: 'auto: nftables is not usable here; iptables works' };
  throw new FirewallError('FIREWALL_BACKEND auto: neither nft nor iptables works on this host');
}

/**
 * The real probe. `nftWorks` validates the whole spagate layout with `nft --check`, which
 * the kernel evaluates and then aborts: nothing is created, in any namespace.
 */
export class CommandFirewallProbe implements FirewallProbe {
  constructor(
    private readonly runner: CommandRunner,
    private readonly paths: { nft: string; iptables: string },
  ) {}

  async nftWorks(): Promise<boolean> {
    const layout: NftLayout = { table: 'spagate_probe', mark: 0x02000000, conntrackAccept: true };
    try {
      await this.runner.run(this.paths.nft, ['list', 'tables'], { timeoutMs: 5000 });
      await this.runner.run(this.paths.nft, ['--check', '-f', '-'], {
        input: buildSetupScript(layout, false),
        timeoutMs: 10_000,
      });
      return true;
    } catch {
      return false;
    }
  }

  async iptablesWorks(): Promise<boolean> {
    try {
      await this.runner.run(this.paths.iptables, ['-w', '5', '-t', 'filter', '-L', 'INPUT', '-n'], {
        timeoutMs: 10_000,
      });
      return true;
    } catch {
      return false;
    }
  }
}
