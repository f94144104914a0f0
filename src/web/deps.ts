/**
 * What the dashboard needs from the rest of the gateway. The daemon implements
 * `GatewayControl` over its live grant table, firewall and event bus; tests and dry runs use
 * `MemoryGatewayControl` (./memory-control.ts). The web layer never touches the firewall,
 * the packet source or the database driver directly.
 */
import type { Grant, GrantCounters } from '../core/model.js';
import type { Router } from 'express';
import type { AdminStore, Clock, Logger, RandomSource, Store } from '../core/ports.js';
import type { Users } from '../users/setup.js';

/** One live grant as the dashboard shows it. */
export interface LiveGrant {
  grant: Grant;
  /** From DHCP leases or reverse lookup when known; null otherwise. Untrusted text: escaped on output. */
  hostname: string | null;
  /** Firewall counters of the grant's rules; null when the backend cannot tell (yet). */
  counters: GrantCounters | null;
}

/**
 * `granted`: a new grant is live. `extended`: its expiry moved (SPA re-knock or admin).
 * `revoked`: an admin ended it. `expired`: the sweeper removed it. `ended`: removed for any
 * other reason (shutdown flush, reconcile, firewall loss). After all but the first two the
 * grant is no longer in `listGrants()`.
 */
export type GrantChangeType = 'granted' | 'extended' | 'revoked' | 'expired' | 'ended';

export interface GrantChange {
  type: GrantChangeType;
  /** The grant as it is after the change (for `extended`, with the new `expiresAt`). */
  grant: Grant;
  /** Hostname when the emitter knows it; omitted otherwise. */
  hostname?: string | null;
}

/** Shown on the overview page and by `GET /api/health`. */
export interface HealthInfo {
  /** Firewall backend in use: 'iptables' | 'nftables' | 'memory'. */
  backend: string;
  /** Capture interface (PCAP_INTF), or null in UDP-server mode. */
  interface: string | null;
  /** How packets arrive, e.g. 'pcap' or 'udp-server'. */
  capture: string;
  /** Epoch ms when the daemon started. */
  startedAt: number;
  /** True in fwknopd -t mode: packets are verified and logged but no rule is installed. */
  testMode: boolean;
  /** spagate version string. */
  version: string;
}

/**
 * The live gateway, as far as admins may see and change it. Every method may be called at
 * any time after `createApp`; implementations serialise firewall work themselves.
 */
export interface GatewayControl {
  /** Grants currently live, in any order (the page sorts). */
  listGrants(): Promise<LiveGrant[]>;
  /**
   * End a grant now: remove its rules, cut its open connections (conntrack), end it in the
   * store with reason 'admin', log a `revoked` event carrying `by`, and emit `revoked`.
   * Resolves false when no live grant has this id. Throws only on real failures
   * (firewall or store), which the web layer reports as a 500.
   */
  revoke(id: string, by: string): Promise<boolean>;
  /**
   * Add `seconds` (already validated: a positive integer within the dashboard's bound) to
   * the grant's current expiry, re-install its rules with the new expiry, log an `extended`
   * event carrying `by`, and emit `extended`. Resolves the updated grant, or null when no
   * live grant has this id.
   */
  extend(id: string, seconds: number, by: string): Promise<Grant | null>;
  health(): HealthInfo;
  /**
   * Call `listener` synchronously after every change, in order. Returns the unsubscribe
   * function. A listener that throws must not break the emitter or other listeners.
   */
  subscribe(listener: (change: GrantChange) => void): () => void;
}

/** The part of the Store the dashboard reads. */
export type EventLog = Pick<Store, 'listEvents' | 'eventCounts'>;

export interface WebOptions {
  /** Set when the server runs over TLS: cookies get Secure and helmet sends HSTS. */
  tls: boolean;
  /** Idle time after which a session ends. Default 30 minutes. */
  sessionIdleMs: number;
  /** Age at which a session ends regardless of use. Default 12 hours. */
  sessionMaxAgeMs: number;
  /** Sessions kept at most; the oldest go first. Default 1000. */
  maxSessions: number;
  /** Login attempts per client IP per window. Default 20. */
  loginMaxPerIp: number;
  /** Failed logins per username per window. Default 5. */
  loginMaxPerUser: number;
  /** Rate-limit window. Default 15 minutes. */
  loginWindowMs: number;
  /** Upper bound for one extension, in seconds. Default 7 days. */
  maxExtendSeconds: number;
  /** Where the ejs views and static files live; default the package's views/ and public/. */
  viewsDir: string;
  publicDir: string;
}

export interface WebDeps {
  control: GatewayControl;
  events: EventLog;
  admins: AdminStore;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  options?: Partial<WebOptions>;
  /** Database users and enrollment codes (pages under /users, API under /api/users and /api/enrollments). */
  users?: Users;
  /**
   * Routers mounted before sessions and CSRF, behind the security headers only: endpoints
   * with their own authentication that never use cookies (e.g. `metricsRouter` for /metrics).
   */
  preAuthRouters?: readonly Router[];
}
