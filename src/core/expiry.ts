/**
 * Expiry and reconciliation planning: pure functions of "now", the database's view and the
 * firewall's view. The sweeper applies the plans; node-cron only decides when.
 */
import type { Grant } from './model.js';
import type { InstalledGrant } from './ports.js';

/**
 * A grant's time counts from when its rules are in place (gateway.ts countFromInstall), but
 * at most this much later than from its verification: kernel timeouts (nftables) are set
 * before the install with KERNEL_GRACE_MS of slack, which this must stay well inside, or the
 * kernel would end access before the daemon's stored expiry after a long queue wait.
 */
export const MAX_INSTALL_CREDIT_MS = 50;

export interface ExpiryPlan {
  /** Grants whose time is up (expiresAt <= now). */
  due: Grant[];
  /** Earliest expiry still ahead, or null. */
  nextAt: number | null;
}

export function planExpiry(now: number, live: readonly Grant[]): ExpiryPlan {
  const due: Grant[] = [];
  let nextAt: number | null = null;
  for (const g of live) {
    if (g.expiresAt <= now) due.push(g);
    else if (nextAt === null || g.expiresAt < nextAt) nextAt = g.expiresAt;
  }
  return { due, nextAt };
}

export interface ReconcilePlan {
  /** Live in the database but missing (or stale) in the firewall: install again. */
  restore: Grant[];
  /** Marked live in the database but already past expiry: end them and remove their rules. */
  expire: Grant[];
  /** Present in the firewall with no live grant in the database. */
  orphanIds: string[];
}

/**
 * `installed` expiries come from whole-second `_exp_` stamps or kernel timeouts, so an
 * installed grant only counts as current when its expiry is within `toleranceMs` of the DB's.
 * `restoreAll` (at daemon start) installs every live grant again: a listing only shows that
 * some rule of a grant is there, and a grant with one of its rules deleted by hand (its SNAT
 * rule, say) must come back whole. Installing is idempotent and keeps counters.
 */
export function planReconcile(
  now: number,
  dbLive: readonly Grant[],
  installed: readonly InstalledGrant[],
  opts: { toleranceMs?: number; restoreAll?: boolean } = {},
): ReconcilePlan {
  const toleranceMs = opts.toleranceMs ?? 1000;
  const byId = new Map(installed.map((i) => [i.id, i]));
  const restore: Grant[] = [];
  const expire: Grant[] = [];
  const keep = new Set<string>();
  for (const g of dbLive) {
    if (g.expiresAt <= now) {
      expire.push(g);
      continue;
    }
    keep.add(g.id);
    const inst = byId.get(g.id);
    if (opts.restoreAll || !inst || Math.abs(inst.expiresAt - g.expiresAt) > toleranceMs) restore.push(g);
  }
  const expiring = new Set(expire.map((g) => g.id));
  const orphanIds = installed.filter((i) => !keep.has(i.id) && !expiring.has(i.id)).map((i) => i.id);
  return { restore, expire, orphanIds };
}
