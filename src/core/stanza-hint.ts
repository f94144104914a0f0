/**
 * The stanza that last accepted a source IP or MAC, tried first next time (verify.ts
 * preferStanzaId): with many stanzas a returning client costs one HMAC, not one per stanza.
 * A bounded map from `ip:`/`mac:` keys to stanza ids, oldest entry evicted first.
 */
export class StanzaHint {
  private readonly map = new Map<string, string>();

  constructor(private readonly capacity: number) {}

  lookup(ip: string, mac: string | null): string | null {
    return this.map.get(`ip:${ip}`) ?? (mac === null ? null : this.map.get(`mac:${mac}`)) ?? null;
  }

  remember(ip: string, mac: string | null, stanzaId: string): void {
    this.put(`ip:${ip}`, stanzaId);
    if (mac !== null) this.put(`mac:${mac}`, stanzaId);
  }

  clear(): void {
    this.map.clear();
  }

  private put(key: string, value: string): void {
    this.map.delete(key); // re-insert: the map's order is the eviction order
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value!);
  }
}
