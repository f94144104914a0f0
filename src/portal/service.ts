/**
 * The captive portal and DHCP lease following as daemon services (src/daemon.ts starts
 * them after the gateway): the lease guard (LEASE_FILE), the walled-garden rules and the
 * portal's HTTP server (PORTAL_LISTEN). `portalServices` builds them from the config;
 * `hostnameFor` lets the dashboard show lease hostnames.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { networkInterfaces } from 'node:os';
import type { GatewayConfig } from '../core/config-model.js';
import type { Grant } from '../core/model.js';
import type { Clock, Logger } from '../core/ports.js';
import type { PortalExempt } from '../core/rules/portal-iptables.js';
import type { CommandRunner } from '../adapters/command-runner.js';
import { IptablesPortalFirewall } from '../adapters/iptables-portal.js';
import { LeaseFileWatcher } from '../adapters/lease-file-watcher.js';
import { neighbourMac } from '../adapters/proc-net-arp.js';
import type { Service } from '../daemon.js';
import type { Gateway } from '../gateway.js';
import { LeaseGuard } from '../lease-guard.js';
import type { EnrollmentRedeemer } from '../users/enrollment.js';
import { createPortalApp } from './app.js';

export interface PortalServiceOptions {
  clock: Clock;
  logger: Logger;
  runner: CommandRunner;
  redeemer?: EnrollmentRedeemer | null;
  /** Neighbour-table lookup; default /proc/net/arp. */
  neighbourMac?: (ip: string) => Promise<string | null>;
}

export interface PortalServices {
  services: Service[];
  /** Hostname from the DHCP lease of an address (untrusted text); null without LEASE_FILE. */
  hostnameFor(ip: string): string | null;
  /** The lease watcher, when LEASE_FILE is set. */
  leases: LeaseFileWatcher | null;
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** First IPv4 address of an interface, or null. */
function interfaceAddress(name: string): string | null {
  return networkInterfaces()[name]?.find((a) => a.family === 'IPv4')?.address ?? null;
}

export function portalServices(config: GatewayConfig, o: PortalServiceOptions): PortalServices {
  const s = config.server;
  const p = s.portal ?? { leaseFile: null, leaseFormat: 'dnsmasq' as const, portalUrl: null, walledGarden: [], tls: null };
  const services: Service[] = [];
  const leases = p.leaseFile
    ? new LeaseFileWatcher({ file: p.leaseFile, format: p.leaseFormat, logger: o.logger.child({ component: 'leases' }) })
    : null;
  if (leases) services.push(new LeaseGuard(leases, o.clock, o.logger.child({ component: 'lease-guard' })));
  if (s.portalListen !== null) {
    if (!s.testMode) services.push(new WalledGardenService(config, o));
    services.push(new PortalHttpService(config, o, leases));
  }
  return { services, hostnameFor: (ip) => leases?.hostnameFor(ip) ?? null, leases };
}

/** Hosts a grant exempts from the walled garden. */
export function exemptHosts(grants: readonly Grant[]): PortalExempt[] {
  return grants.map((g) => ({ ip: g.rules.src, mac: g.rules.mac }));
}

class WalledGardenService implements Service {
  readonly name = 'walled-garden';
  private fw: IptablesPortalFirewall | null = null;
  private unsub: (() => void) | null = null;

  constructor(
    private readonly config: GatewayConfig,
    private readonly o: PortalServiceOptions,
  ) {}

  async start(gw: Gateway): Promise<void> {
    const s = this.config.server;
    const fw = new IptablesPortalFirewall({
      iptables: s.firewallExe,
      runner: this.o.runner,
      logger: this.o.logger.child({ component: 'walled-garden' }),
      spec: {
        lanIf: s.pcapIntf,
        portalPort: splitListen(s.portalListen ?? ':0').port,
        portalTlsPort: s.portal?.tls ? splitListen(s.portal.tls.listen).port : null,
        spaUdpPort: s.enableUdpServer ? s.udpservPort : null,
        walledGarden: s.portal?.walledGarden ?? [],
        snatTo: s.snatTranslateIp,
      },
    });
    this.unsub = gw.subscribe(() => void fw.setExempt(exemptHosts(gw.liveGrants())));
    await fw.start(exemptHosts(gw.liveGrants()));
    this.fw = fw;
  }

  async stop(): Promise<void> {
    this.unsub?.();
    this.unsub = null;
    await this.fw?.stop({ flush: this.config.server.flushIptAtExit });
    this.fw = null;
  }
}

class PortalHttpService implements Service {
  readonly name = 'portal';
  private servers: Server[] = [];

  constructor(
    private readonly config: GatewayConfig,
    private readonly o: PortalServiceOptions,
    private readonly leases: LeaseFileWatcher | null,
  ) {}

  async start(gw: Gateway): Promise<void> {
    const s = this.config.server;
    const tls = s.portal?.tls ?? null;
    const { host, port } = splitListen(s.portalListen ?? ':0');
    const lanIp = isWildcard(host) ? interfaceAddress(s.pcapIntf) : host;
    const tlsAt = tls ? splitListen(tls.listen) : null;
    const defaultUrl = tlsAt
      ? `https://${isWildcard(tlsAt.host) ? (lanIp ?? tlsAt.host) : tlsAt.host}:${tlsAt.port}/`
      : `http://${lanIp ?? host}:${port}/`;
    const portalUrl = s.portal?.portalUrl ?? defaultUrl;
    const hosts = new Set<string>([new URL(portalUrl).host]);
    if (lanIp) hosts.add(`${lanIp}:${port}`);
    if (lanIp && tlsAt) hosts.add(`${lanIp}:${tlsAt.port}`);
    if (port === 80 && lanIp) hosts.add(lanIp);
    const neighbour = this.o.neighbourMac ?? ((ip: string) => neighbourMac(ip));
    const log = this.o.logger.child({ component: 'portal' });
    const app = createPortalApp({
      grants: () => gw.liveGrants(),
      now: () => this.o.clock.now(),
      macFor: async (ip) => (await neighbour(ip)) ?? this.leases?.macFor(ip) ?? null,
      hostnameFor: (ip) => this.leases?.hostnameFor(ip) ?? null,
      portalUrl,
      portalHosts: [...hosts],
      redeemer: this.o.redeemer ?? null,
      httpsOnly: tls !== null,
      gatewayIp: lanIp,
      logger: log,
    });
    const timeouts = { requestTimeout: 30_000, headersTimeout: 10_000 };
    await this.listen(createServer(timeouts, app), host, port);
    if (tls && tlsAt) {
      const [cert, key] = await Promise.all([readFile(tls.cert), readFile(tls.key)]);
      await this.listen(createHttpsServer({ ...timeouts, cert, key }, app), tlsAt.host, tlsAt.port);
    }
    log.info({ listen: s.portalListen, tlsListen: tls?.listen ?? null, portalUrl, enrollment: Boolean(this.o.redeemer) }, 'captive portal listening');
  }

  private async listen(server: Server, host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
  }

  async stop(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }
}
