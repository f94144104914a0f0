/**
 * Which live grants a change of the DHCP lease table ends. A grant is tied to the lease of
 * its address: when that address is leased to another MAC, when its lease is released, or
 * when its lease has expired, the grant ends at once. Addresses the DHCP server never
 * leased (static hosts, WAN clients) are left alone: only a lease that was seen and then
 * went away counts as released.
 */
import type { Lease } from './leases.js';
import type { Grant } from './model.js';

export type LeaseEndReason = 'lease_other_mac' | 'lease_released' | 'lease_expired';

export interface LeaseEnd {
  grant: Grant;
  reason: LeaseEndReason;
  /** For the event log: says which lease and why, without secrets. */
  detail: string;
}

export interface LeasePolicyInput {
  grants: readonly Grant[];
  /** The table before this change; null on the first read (nothing known to be released). */
  previous: ReadonlyMap<string, Lease> | null;
  current: ReadonlyMap<string, Lease>;
  /** Epoch ms. */
  now: number;
}

function expired(l: Lease, now: number): boolean {
  return l.expiresAt !== null && l.expiresAt <= now;
}

export function planLeaseEnds(input: LeasePolicyInput): LeaseEnd[] {
  const out: LeaseEnd[] = [];
  for (const g of input.grants) {
    const ip = g.rules.src;
    const mac = g.rules.mac;
    const cur = input.current.get(ip);
    if (cur) {
      if (mac !== null && cur.mac !== mac) {
        out.push({ grant: g, reason: 'lease_other_mac', detail: `DHCP lease of ${ip} now belongs to ${cur.mac}, not ${mac}` });
      } else if (expired(cur, input.now)) {
        out.push({ grant: g, reason: 'lease_expired', detail: `DHCP lease of ${ip} (${cur.mac}) expired` });
      }
      continue;
    }
    const prev = input.previous?.get(ip);
    // A lease that belonged to another MAC going away says nothing about this grant's host.
    if (!prev || (mac !== null && prev.mac !== mac)) continue;
    out.push(
      expired(prev, input.now)
        ? { grant: g, reason: 'lease_expired', detail: `DHCP lease of ${ip} (${prev.mac}) expired` }
        : { grant: g, reason: 'lease_released', detail: `DHCP lease of ${ip} (${prev.mac}) was released` },
    );
  }
  return out;
}

/** The earliest lease expiry after `now` among the grants' leases, to wake up for it. */
export function nextLeaseExpiry(grants: readonly Grant[], current: ReadonlyMap<string, Lease>, now: number): number | null {
  let next: number | null = null;
  for (const g of grants) {
    const l = current.get(g.rules.src);
    if (!l || l.expiresAt === null || l.expiresAt <= now) continue;
    if (g.rules.mac !== null && l.mac !== g.rules.mac) continue;
    if (next === null || l.expiresAt < next) next = l.expiresAt;
  }
  return next;
}
