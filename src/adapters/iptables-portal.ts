import { CommandError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import {
  jumpArgv,
  PORTAL_CHAINS,
  portalFilterRestore,
  portalFlushRestore,
  portalJumps,
  portalNatRestore,
  type PortalExempt,
  type PortalRulesSpec,
} from '../core/rules/portal-iptables.js';
import type { CommandRunner } from './command-runner.js';

/**
 * The walled garden in iptables (src/core/rules/portal-iptables.ts). Works beside either
 * firewall backend: with nftables, spagate's table marks granted packets and the gate rule
 * at the top of the iptables chains accepts them before the portal's jump is reached.
 * Updates are serialised and coalesced; each writes both tables' chains in full.
 */
export class IptablesPortalFirewall {
  private readonly restoreExe: string;
  private pending: readonly PortalExempt[] | null = null;
  private running: Promise<void> | null = null;
  private started = false;

  constructor(
    private readonly o: { iptables: string; runner: CommandRunner; logger: Logger; spec: PortalRulesSpec; restoreExe?: string },
  ) {
    this.restoreExe = o.restoreExe ?? `${o.iptables}-restore`;
  }

  /** Chains with the given exemptions, then the jumps (appended once). */
  async start(exempt: readonly PortalExempt[]): Promise<void> {
    await this.write(exempt);
    for (const j of portalJumps()) {
      const has = await this.o.runner.run(this.o.iptables, jumpArgv('-C', j, this.o.spec.lanIf), { timeoutMs: 10_000 }).then(
        () => true,
        (e: unknown) => {
          if (e instanceof CommandError && e.exitCode === 1) return false;
          throw e;
        },
      );
      if (!has) await this.o.runner.run(this.o.iptables, jumpArgv('-A', j, this.o.spec.lanIf), { timeoutMs: 10_000 });
    }
    this.started = true;
    this.o.logger.info({ lanIf: this.o.spec.lanIf, portalPort: this.o.spec.portalPort, walledGarden: this.o.spec.walledGarden }, 'walled garden rules installed');
  }

  /** Replace the exempt hosts; calls arriving during a write are merged into the next one. */
  setExempt(exempt: readonly PortalExempt[]): Promise<void> {
    this.pending = exempt;
    if (!this.running) {
      this.running = (async () => {
        while (this.pending !== null) {
          const next = this.pending;
          this.pending = null;
          try {
            await this.write(next);
          } catch (e) {
            this.o.logger.error({ err: e }, 'could not update walled garden exemptions');
          }
        }
      })().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** With `flush`, remove the jumps and chains; without, leave them (clients stay behind the portal). */
  async stop(opts: { flush: boolean }): Promise<void> {
    await this.running;
    if (!this.started || !opts.flush) return;
    this.started = false;
    for (const j of portalJumps()) {
      await this.o.runner.run(this.o.iptables, jumpArgv('-D', j, this.o.spec.lanIf), { timeoutMs: 10_000 }).catch(() => undefined);
    }
    for (const table of ['filter', 'nat'] as const) {
      await this.o.runner.run(this.restoreExe, ['-w', '5', '--noflush'], { input: portalFlushRestore(table), timeoutMs: 10_000 }).catch(() => undefined);
      const chains = table === 'filter' ? [PORTAL_CHAINS.input, PORTAL_CHAINS.forward, PORTAL_CHAINS.replies] : [PORTAL_CHAINS.nat, PORTAL_CHAINS.post];
      for (const c of chains) await this.o.runner.run(this.o.iptables, ['-w', '5', '-t', table, '-X', c], { timeoutMs: 10_000 }).catch(() => undefined);
    }
  }

  private async write(exempt: readonly PortalExempt[]): Promise<void> {
    const input = portalFilterRestore(this.o.spec, exempt) + portalNatRestore(this.o.spec, exempt);
    await this.o.runner.run(this.restoreExe, ['-w', '5', '--noflush'], { input, timeoutMs: 10_000 });
  }
}
