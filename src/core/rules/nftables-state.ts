/**
 * Which grant owns which nftables element. Two grants can need the same element (the
 * same client opened twice by different stanzas, say); the kernel holds one element, so
 * it carries the timeout and comment of the claimant that expires last, and removing one
 * grant leaves the element in place for the other. Planning is pure: `plan` returns the
 * element changes and a `commit` to call only after the kernel accepted them.
 */
import { FirewallError } from '../errors.js';
import { MAX_INSTALL_CREDIT_MS } from '../expiry.js';
import type { Grant, GrantCounters } from '../model.js';
import type { InstalledGrant } from '../ports.js';
import type { TableListing } from './nftables-listing.js';
import {
  elementComment,
  elementId,
  grantElements,
  isCounterSet,
  isValidGrantId,
  type NftElement,
  type NftElementChange,
} from './nftables.js';

/**
 * Added to every kernel timeout, which is computed when the batch is planned. The daemon
 * closes a grant itself at its stored expiry, counted from when the install finished but
 * never more than MAX_INSTALL_CREDIT_MS later than planned; the kernel's timeout is the
 * backstop for a dead daemon and must not fire first, so the grace is twice that credit.
 */
export const KERNEL_GRACE_MS = 2 * MAX_INSTALL_CREDIT_MS;

interface Claim {
  expiresAt: number;
  element: NftElement;
}

interface GrantEntry {
  expiresAt: number;
  elementIds: string[];
}

/** What we believe the kernel holds for one element. */
interface KernelElement {
  owner: string;
  expiresAt: number;
  element: NftElement;
}

export type NftOp =
  { kind: 'install'; grant: Grant } | { kind: 'remove'; grant: Grant } | { kind: 'removeId'; id: string };

export interface NftPlan {
  changes: NftElementChange[];
  commit(): void;
}

export class NftGrantBook {
  private claims = new Map<string, Map<string, Claim>>();
  private grants = new Map<string, GrantEntry>();
  private kernel = new Map<string, KernelElement>();

  /** Forget everything and take the owners written in the kernel's element comments. */
  load(listing: TableListing): void {
    this.claims.clear();
    this.grants.clear();
    this.kernel.clear();
    for (const e of listing.elements) {
      const id = elementId(e.set, e.key);
      const element: NftElement = { set: e.set, key: e.key, value: e.value };
      const owner = e.owner?.id ?? '';
      const expiresAt = e.owner?.expiresAt ?? 0;
      this.kernel.set(id, { owner, expiresAt, element });
      if (!e.owner) continue;
      this.claims.set(id, new Map([[owner, { expiresAt, element }]]));
      const g = this.grants.get(owner);
      if (g) {
        g.elementIds.push(id);
        g.expiresAt = Math.max(g.expiresAt, expiresAt);
      } else this.grants.set(owner, { expiresAt, elementIds: [id] });
    }
  }

  /**
   * Take the kernel's present elements as the truth about what is there (the kernel
   * expires elements on its own) and drop grants whose time is over.
   */
  refresh(listing: TableListing, now: number): void {
    this.kernel.clear();
    for (const e of listing.elements) {
      this.kernel.set(elementId(e.set, e.key), {
        owner: e.owner?.id ?? '',
        expiresAt: e.owner?.expiresAt ?? 0,
        element: { set: e.set, key: e.key, value: e.value },
      });
    }
    for (const [id, g] of this.grants) {
      if (g.expiresAt > now) continue;
      this.grants.delete(id);
      for (const eid of g.elementIds) {
        const c = this.claims.get(eid);
        c?.delete(id);
        if (c && c.size === 0) this.claims.delete(eid);
      }
    }
  }

  /** Grants whose every element is in the kernel (owned by them or by a longer claimant). */
  installed(): InstalledGrant[] {
    const out = new Map<string, number>();
    for (const [id, g] of this.grants) {
      if (g.elementIds.length > 0 && g.elementIds.every((eid) => this.kernel.has(eid)))
        out.set(id, g.expiresAt);
    }
    for (const k of this.kernel.values())
      if (k.owner !== '' && !out.has(k.owner) && !this.grants.has(k.owner)) out.set(k.owner, k.expiresAt);
    return [...out].map(([id, expiresAt]) => ({ id, expiresAt }));
  }

  /** Every grant id known here or in the kernel. */
  knownIds(): Set<string> {
    const ids = new Set(this.grants.keys());
    for (const k of this.kernel.values()) if (k.owner !== '') ids.add(k.owner);
    return ids;
  }

  /** Elements in our sets that carry none of our comments (put there by hand). */
  unownedElements(): NftElement[] {
    return [...this.kernel.values()].filter((k) => k.owner === '').map((k) => k.element);
  }

  /** The kernel's element currently believed present, for counter carry-over. */
  kernelHas(eid: string): boolean {
    return this.kernel.has(eid);
  }

  /** Packets and bytes per owning grant, from the counter sets of a listing. */
  static counters(listing: TableListing): Map<string, GrantCounters> {
    const out = new Map<string, GrantCounters>();
    for (const e of listing.elements) {
      if (!e.owner || !e.counter || !isCounterSet(e.set)) continue;
      const c = out.get(e.owner.id) ?? { packets: 0, bytes: 0 };
      c.packets += e.counter.packets;
      c.bytes += e.counter.bytes;
      out.set(e.owner.id, c);
    }
    return out;
  }

  /**
   * The element changes that bring the kernel to the state after `ops` (applied in
   * order), at time `now`. Grants already expired at `now` are treated as removals.
   * Throws FirewallError for a grant that cannot be written; nothing is changed then.
   */
  plan(ops: readonly NftOp[], now: number, extraDeletes: readonly NftElement[] = []): NftPlan {
    const claimDraft = new Map<string, Map<string, Claim>>();
    const grantDraft = new Map<string, GrantEntry | null>();
    const known = new Map<string, NftElement>();
    const touched = new Set<string>();
    const claimsOf = (eid: string): Map<string, Claim> => {
      let c = claimDraft.get(eid);
      if (!c) {
        c = new Map(this.claims.get(eid));
        claimDraft.set(eid, c);
      }
      return c;
    };
    const grantOf = (id: string): GrantEntry | undefined => {
      const d = grantDraft.get(id);
      return d === null ? undefined : (d ?? this.grants.get(id));
    };
    const release = (id: string, also: readonly NftElement[]): void => {
      const eids = new Set(grantOf(id)?.elementIds ?? []);
      for (const e of also) {
        const eid = elementId(e.set, e.key);
        known.set(eid, e);
        eids.add(eid);
      }
      for (const eid of eids) {
        const c = claimsOf(eid);
        const mine = c.get(id);
        if (mine) known.set(eid, mine.element);
        c.delete(id);
        touched.add(eid);
      }
      grantDraft.set(id, null);
    };

    for (const op of ops) {
      if (op.kind === 'removeId') {
        release(op.id, []);
        continue;
      }
      const g = op.grant;
      if (!isValidGrantId(g.id))
        throw new FirewallError(`grant id ${JSON.stringify(g.id)} cannot be written into an element comment`);
      const elements = grantElements(g.rules);
      if (op.kind === 'remove' || g.expiresAt <= now) {
        release(g.id, elements);
        continue;
      }
      release(g.id, []);
      const eids: string[] = [];
      for (const e of elements) {
        const eid = elementId(e.set, e.key);
        claimsOf(eid).set(g.id, { expiresAt: g.expiresAt, element: e });
        known.set(eid, e);
        touched.add(eid);
        eids.push(eid);
      }
      grantDraft.set(g.id, { expiresAt: g.expiresAt, elementIds: eids });
    }
    for (const e of extraDeletes) {
      const eid = elementId(e.set, e.key);
      known.set(eid, e);
      touched.add(eid);
    }

    const changes: NftElementChange[] = [];
    const kernelDraft = new Map<string, KernelElement | null>();
    for (const eid of touched) {
      const current = this.kernel.get(eid);
      let best: [string, Claim] | null = null;
      for (const [id, c] of claimsOf(eid)) {
        if (c.expiresAt <= now) continue;
        if (
          !best ||
          c.expiresAt > best[1].expiresAt ||
          (c.expiresAt === best[1].expiresAt &&
            (id === current?.owner || (best[0] !== current?.owner && id < best[0])))
        ) {
          best = [id, c];
        }
      }
      const currentValue = current?.element.value ?? null;
      if (best) {
        const [owner, c] = best;
        changes.push({
          kind: 'upsert',
          element: c.element,
          comment: elementComment(owner, c.expiresAt),
          timeoutMs: Math.max(1, Math.ceil(c.expiresAt - now)) + KERNEL_GRACE_MS,
          currentValue,
          counter: null,
        });
        kernelDraft.set(eid, { owner, expiresAt: c.expiresAt, element: c.element });
      } else {
        const element = current?.element ?? known.get(eid);
        if (element) changes.push({ kind: 'delete', element, currentValue });
        kernelDraft.set(eid, null);
      }
    }

    return {
      changes,
      commit: () => {
        for (const [eid, c] of claimDraft) {
          for (const [id, claim] of c) if (claim.expiresAt <= now) c.delete(id);
          if (c.size === 0) this.claims.delete(eid);
          else this.claims.set(eid, c);
        }
        for (const [id, g] of grantDraft) {
          if (g === null) this.grants.delete(id);
          else this.grants.set(id, g);
        }
        for (const [eid, k] of kernelDraft) {
          if (k === null) this.kernel.delete(eid);
          else this.kernel.set(eid, k);
        }
      },
    };
  }
}
