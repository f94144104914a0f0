/**
 * The admin side of the daemon as services (src/daemon.ts starts them after the gateway):
 * the control socket for `spagate grants`, the Prometheus gauges, and the dashboard with the
 * JSON API and `GET /metrics` on DASHBOARD_LISTEN (over TLS with DASHBOARD_TLS_CERT/KEY).
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { GatewayConfig } from '../core/config-model.js';
import type { Adapters, Service } from '../daemon.js';
import type { Gateway } from '../gateway.js';
import { metricsService, type PrometheusMetrics } from '../metrics.js';
import { createApp } from './app.js';
import { controlSocketPath, startControlSocket, type ControlSocket } from './control-socket.js';
import { DaemonGatewayControl } from './gateway-control.js';
import { metricsRouter } from './metrics-route.js';
import { parseListen, startDashboard, type DashboardServer } from './server.js';

export interface DashboardServiceOptions {
  /** The metrics the gateway reports into (also pass them as `Adapters.metrics`); served at /metrics. */
  metrics?: PrometheusMetrics | null;
  /** Hostname of an address from the DHCP leases (the portal's lease watcher); untrusted text. */
  hostnameFor?: (ip: string) => string | null;
}

/** spagate's version from package.json (two levels above src/web and dist/web). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** True for 127.0.0.0/8, ::1 and localhost: only local processes reach such a listener. */
export function isLoopbackListen(listen: string): boolean {
  const host = parseListen(listen)?.host ?? '';
  return /^127\./.test(host) || host === '::1' || host === 'localhost';
}

export function dashboardService(config: GatewayConfig, a: Adapters, o: DashboardServiceOptions = {}): Service[] {
  const s = config.server;
  const log = a.logger.child({ component: 'dashboard' });
  const services: Service[] = [];
  if (o.metrics) services.push(metricsService(o.metrics));
  let control: DaemonGatewayControl | null = null;
  const controlFor = (gw: Gateway): DaemonGatewayControl => {
    control ??= new DaemonGatewayControl(gw, {
      backend: s.testMode ? 'none (test mode)' : a.firewall.backend,
      capture: a.source.kind,
      version: packageVersion(),
      logger: log,
      hostname: o.hostnameFor ? (g) => o.hostnameFor?.(g.rules.src) ?? null : undefined,
    });
    return control;
  };

  let socket: ControlSocket | null = null;
  services.push({
    name: 'control-socket',
    start: async (gw) => {
      const path = controlSocketPath(s.dataDir);
      try {
        socket = await startControlSocket({ path, control: controlFor(gw), clock: a.clock, logger: log });
      } catch (e) {
        // The gate itself must not stay down for the sake of a command-line convenience.
        log.error({ err: e, path }, 'control socket unavailable: `spagate grants` will not reach this daemon');
      }
    },
    stop: async () => {
      await socket?.close();
      socket = null;
    },
  });

  const listen = s.dashboardListen;
  if (listen === null) return services;
  let server: DashboardServer | null = null;
  services.push({
    name: 'dashboard',
    start: async (gw) => {
      const tlsFiles = s.dashboardTls ?? null;
      const tls = tlsFiles ? { cert: await readFile(tlsFiles.cert), key: await readFile(tlsFiles.key) } : null;
      const metrics = o.metrics;
      // Open on loopback (Prometheus on the same host); elsewhere a scrape needs an API token.
      const preAuthRouters = metrics ? [metricsRouter(metrics, { tokens: isLoopbackListen(listen) ? null : a.store })] : [];
      const app = createApp({
        control: controlFor(gw),
        events: a.store,
        admins: a.store,
        users: a.users,
        clock: a.clock,
        random: a.random,
        logger: a.logger,
        options: { tls: tls !== null },
        preAuthRouters,
      });
      server = await startDashboard(app, { listen, tls });
      log.info({ url: server.url, tls: tls !== null }, 'dashboard listening');
      if ((await a.store.listAdmins()).length === 0) {
        log.warn({}, 'no dashboard account yet: create one with `spagate admin set-password`');
      }
    },
    stop: async () => {
      await server?.close();
      server = null;
    },
  });
  return services;
}
