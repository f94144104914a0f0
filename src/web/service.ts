import type { GatewayConfig } from '../core/config-model.js';
import type { Adapters, Service } from '../daemon.js';

/** The dashboard as a daemon service (wired once the web app lands). */
export function dashboardService(_config: GatewayConfig, _a: Adapters): Service[] {
  return [];
}
