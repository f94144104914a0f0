/**
 * `GatewayControl` over the running `Gateway` (src/gateway.ts): what the dashboard, the JSON
 * API and the control socket see and change. Grants come from the gateway's live table,
 * counters from the firewall, hostnames from an optional lookup (DHCP leases, when a lease
 * watcher supplies one).
 */
import type { Grant, GrantCounters } from '../core/model.js';
import type { Logger } from '../core/ports.js';
import type { Gateway } from '../gateway.js';
import type { GatewayControl, GrantChange, HealthInfo, LiveGrant } from './deps.js';

export interface GatewayControlOptions {
  /** Firewall backend in use, e.g. `Firewall.backend`. */
  backend: string;
  /** How packets arrive, e.g. `PacketSource.kind`. */
  capture: string;
  version: string;
  logger: Logger;
  /** Hostname of a granted host when something knows it (DHCP leases); untrusted text. */
  hostname?: (g: Grant) => string | null;
  /**
   * Counters are read from the firewall (one iptables -L / nft list per call); a page load and
   * the API within this many ms share one reading. Default 1000.
   */
  countersTtlMs?: number;
}

export class DaemonGatewayControl implements GatewayControl {
  private counterCache: { at: number; value: Promise<Map<string, GrantCounters>> } | null = null;
  private readonly log: Logger;

  constructor(
    private readonly gw: Gateway,
    private readonly o: GatewayControlOptions,
  ) {
    this.log = o.logger;
  }

  async listGrants(): Promise<LiveGrant[]> {
    const grants = this.gw.liveGrants();
    const counters = grants.length > 0 ? await this.counters() : new Map<string, GrantCounters>();
    return grants.map((grant) => ({ grant, hostname: this.hostname(grant), counters: counters.get(grant.id) ?? null }));
  }

  revoke(id: string, by: string): Promise<boolean> {
    // Gateway.revoke removes the rules, flushes the source's conntrack entries, ends the grant
    // in the store, logs a `revoked` event and emits the change.
    return this.gw.revoke(id, by);
  }

  extend(id: string, seconds: number, by: string): Promise<Grant | null> {
    return this.gw.extend(id, seconds, by);
  }

  health(): HealthInfo {
    const s = this.gw.config.server;
    return {
      backend: this.o.backend,
      interface: s.enableUdpServer ? null : s.pcapIntf,
      capture: s.enableUdpServer ? 'udp-server' : this.o.capture,
      startedAt: this.gw.stats.startedAt,
      testMode: s.testMode,
      version: this.o.version,
    };
  }

  subscribe(listener: (change: GrantChange) => void): () => void {
    // The gateway emits on its packet path: a throwing listener must not reach it.
    return this.gw.subscribe((c) => {
      try {
        listener({ type: c.type, grant: c.grant, hostname: this.hostname(c.grant) });
      } catch (e) {
        this.log.warn({ err: e }, 'grant change listener failed');
      }
    });
  }

  private hostname(g: Grant): string | null {
    if (!this.o.hostname) return null;
    try {
      return this.o.hostname(g);
    } catch {
      return null;
    }
  }

  private counters(): Promise<Map<string, GrantCounters>> {
    const now = Date.now();
    const ttl = this.o.countersTtlMs ?? 1000;
    if (this.counterCache && now - this.counterCache.at < ttl) return this.counterCache.value;
    const value = this.gw.counters().catch((e: unknown) => {
      // Counters are a nicety: the table still shows without them.
      this.log.warn({ err: e }, 'could not read firewall counters');
      return new Map<string, GrantCounters>();
    });
    this.counterCache = { at: now, value };
    return value;
  }
}
