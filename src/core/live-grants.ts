import type { Grant } from './model.js';

/**
 * Live grants by id, with an index by client address, so a re-knock finds the grant it
 * extends without scanning them all (with 10,000 live grants that scan was a visible share of
 * a burst's CPU). Construct empty: Map's constructor would call `set` before the index exists.
 */
export class LiveGrants extends Map<string, Grant> {
  private readonly bySrc = new Map<string, Set<string>>();

  override set(id: string, g: Grant): this {
    const old = super.get(id);
    if (old && old.rules.src !== g.rules.src) this.unindex(old);
    super.set(id, g);
    let ids = this.bySrc.get(g.rules.src);
    if (!ids) {
      ids = new Set();
      this.bySrc.set(g.rules.src, ids);
    }
    ids.add(id);
    return this;
  }

  override delete(id: string): boolean {
    const g = super.get(id);
    if (!g) return false;
    this.unindex(g);
    return super.delete(id);
  }

  override clear(): void {
    this.bySrc.clear();
    super.clear();
  }

  /** The live grants whose client address is `src`. */
  *from(src: string): IterableIterator<Grant> {
    for (const id of this.bySrc.get(src) ?? []) {
      const g = super.get(id);
      if (g) yield g;
    }
  }

  private unindex(g: Grant): void {
    const ids = this.bySrc.get(g.rules.src);
    ids?.delete(g.id);
    if (ids?.size === 0) this.bySrc.delete(g.rules.src);
  }
}
