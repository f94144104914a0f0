import type { Ipv4Net } from './model.js';

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Canonical dotted-decimal IPv4 (no leading zeros) to an unsigned 32-bit number, or null. */
export function parseIpv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return null;
    n = n * 256 + Number(p);
  }
  return n >>> 0;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function isIpv4(s: string): boolean {
  return parseIpv4(s) !== null;
}

export const ANY_NET: Ipv4Net = Object.freeze({ net: 0, mask: 0 });

/** `ANY`, `a.b.c.d`, `a.b.c.d/nn` (0..32) or `a.b.c.d/m.m.m.m`; null when malformed. */
export function parseIpv4Net(s: string): Ipv4Net | null {
  const t = s.trim();
  if (t.toUpperCase() === 'ANY') return ANY_NET;
  const slash = t.indexOf('/');
  const addr = parseIpv4(slash < 0 ? t : t.slice(0, slash));
  if (addr === null) return null;
  if (slash < 0) return { net: addr, mask: 0xffffffff };
  const m = t.slice(slash + 1);
  let mask: number | null;
  if (/^\d{1,2}$/.test(m) && Number(m) <= 32) {
    const bits = Number(m);
    mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  } else {
    mask = parseIpv4(m);
  }
  if (mask === null) return null;
  return { net: (addr & mask) >>> 0, mask };
}

export function netContains(n: Ipv4Net, ip: number): boolean {
  return ((ip & n.mask) >>> 0) === n.net;
}

/** True when `ip` (dotted) falls in any of `nets`. */
export function matchesAny(nets: readonly Ipv4Net[], ip: string): boolean {
  const n = parseIpv4(ip);
  if (n === null) return false;
  return nets.some((net) => netContains(net, n));
}
