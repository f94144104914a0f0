/** Value parsers shared by fwknopd.conf and access.conf; each returns null when malformed. */
import type { HashName, Ipv4Net, ProtoPort } from '../core/model.js';
import { parseIpv4, parseIpv4Net } from '../core/ipv4.js';

/** A decimal integer within [min, max] (blanks around it allowed), else null. */
export function parseIntInRange(value: string, min: number, max: number): number | null {
  const t = value.trim();
  if (!/^[+-]?\d+$/.test(t)) return null;
  const n = Number(t);
  if (!Number.isSafeInteger(n) || n < min || n > max) return null;
  return n;
}

/** Comma-separated list of `ANY` / IP / IP/nn / IP/mask (blanks after commas allowed). */
export function parseNetList(value: string): { nets: Ipv4Net[] } | { bad: string } {
  const nets: Ipv4Net[] = [];
  for (const part of value.split(',')) {
    const t = part.trim();
    const n = t === '' ? null : parseIpv4Net(t);
    if (n === null) return { bad: t };
    nets.push(n);
  }
  return { nets };
}

/** Comma-separated `proto/port` list, protocols tcp/udp in any case. */
export function parseProtoPortList(value: string): { list: ProtoPort[] } | { bad: string } {
  const list: ProtoPort[] = [];
  for (const part of value.split(',')) {
    const t = part.trim();
    const m = /^(tcp|udp)\/(\d{1,5})$/i.exec(t);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535) return { bad: t };
    list.push({ proto: m[1].toLowerCase() as 'tcp' | 'udp', port });
  }
  return { list };
}

const HASHES: readonly HashName[] = ['md5', 'sha1', 'sha256', 'sha384', 'sha512', 'sha3_256', 'sha3_512'];

export function parseHashName(value: string): HashName | null {
  const t = value.trim().toLowerCase();
  return (HASHES as readonly string[]).includes(t) ? (t as HashName) : null;
}

export function isIpv4Text(value: string): boolean {
  return parseIpv4(value.trim()) !== null;
}

/** Strict base64 (fwknopd's is_base64: only A-Z a-z 0-9 + / =); returns the bytes or null. */
export function decodeBase64(value: string): Buffer | null {
  const t = value.trim();
  if (t === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(t)) return null;
  return Buffer.from(t, 'base64');
}

/** `host:port` for a listening socket: IPv4, a host name or `[IPv6]`, port 1..65535. */
export function parseListen(value: string): string | null {
  const t = value.trim();
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(t);
  if (!m) return null;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? t : null;
}
