/** Builds the users directory and enrollment service from the daemon's configuration and store. */
import type { GatewayConfig, ServerConfig } from '../core/config-model.js';
import type { Clock, Logger, RandomSource, UserStore } from '../core/ports.js';
import type { SpaEndpoint } from './client-config.js';
import { UserDirectory } from './directory.js';
import { EnrollmentService, type EnrollmentOptions } from './enrollment.js';

export interface Users {
  directory: UserDirectory;
  enrollment: EnrollmentService;
}

function listenHost(listen: string | null): string | null {
  const m = listen ? /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(listen.trim()) : null;
  if (!m || m[1] === '0.0.0.0' || m[1].startsWith('127.')) return null;
  return m[1];
}

/**
 * Where clients knock: the portal's (then the dashboard's) listen address when it names a
 * LAN address, since both sit on the gateway's LAN side; the UDP server port in -U mode.
 */
export function spaEndpoint(s: ServerConfig): SpaEndpoint {
  return {
    server: listenHost(s.portalListen) ?? listenHost(s.dashboardListen),
    port: s.enableUdpServer ? s.udpservPort : 62201,
  };
}

export function buildUsers(
  config: GatewayConfig,
  deps: { store: UserStore; clock: Clock; random: RandomSource; logger: Logger; enrollment?: Partial<EnrollmentOptions> },
): Users {
  const directory = new UserDirectory({
    store: deps.store,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger.child({ component: 'users' }),
    server: config.server,
    fileStanzas: config.stanzas,
    endpoint: spaEndpoint(config.server),
  });
  const enrollment = new EnrollmentService({
    store: deps.store,
    users: directory,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger.child({ component: 'enrollment' }),
    options: deps.enrollment,
  });
  return { directory, enrollment };
}
