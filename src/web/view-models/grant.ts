import { grantMode } from '../../core/grant-plan.js';
import type { Grant, GrantRules } from '../../core/model.js';
import type { LiveGrant } from '../deps.js';
import { bytes, count, displayTime, duration, isoTime } from './format.js';

/** A grant in the JSON API (and in server-sent events). Times are ISO 8601 UTC. */
export interface GrantJson {
  id: string;
  ip: string;
  mac: string | null;
  hostname: string | null;
  user: string;
  stanza: string;
  mode: 'forward_all' | 'nat' | 'access';
  /** What the grant opens, in words: `FORWARD all`, `DNAT tcp/22 → 10.0.0.5:22`, `INPUT tcp/22`. */
  target: string;
  granted_at: string;
  expires_at: string;
  expires_in_seconds: number;
  packets: number | null;
  bytes: number | null;
}

/** A row of the hosts table: display strings plus the raw values the script sorts by. */
export interface HostRow {
  id: string;
  ip: string;
  mac: string;
  hostname: string;
  user: string;
  stanza: string;
  mode: string;
  modeLabel: string;
  target: string;
  grantedAtIso: string;
  grantedAtText: string;
  grantedAtMs: number;
  expiresAtIso: string;
  expiresAtText: string;
  expiresAtMs: number;
  remainingText: string;
  packets: number;
  packetsText: string;
  bytes: number;
  bytesText: string;
}

export const MODE_LABELS: Record<GrantJson['mode'], string> = {
  forward_all: 'FORWARD_ALL',
  nat: 'NAT',
  access: 'ACCESS',
};

export function describeRules(r: GrantRules): string {
  const parts: string[] = [];
  if (r.forward?.all) parts.push(r.dnat?.all ? `FORWARD all → ${r.dnat.toIp}` : 'FORWARD all');
  else if (r.dnat && !r.dnat.all)
    parts.push(`DNAT ${r.dnat.proto}/${r.dnat.port} → ${r.dnat.toIp}:${r.dnat.toPort}`);
  else if (r.dnat?.all) parts.push(`DNAT all → ${r.dnat.toIp}`);
  else if (r.forward && !r.forward.all) parts.push(`FORWARD ${r.forward.proto}/${r.forward.port}`);
  if (r.input.length > 0) parts.push(`INPUT ${r.input.map((p) => `${p.proto}/${p.port}`).join(', ')}`);
  return parts.join('; ') || '—';
}

type GrantLike = Pick<LiveGrant, 'grant'> & Partial<Omit<LiveGrant, 'grant'>>;

export function grantJson(l: GrantLike, now: number): GrantJson {
  const g: Grant = l.grant;
  return {
    id: g.id,
    ip: g.rules.src,
    mac: g.rules.mac,
    hostname: l.hostname ?? null,
    user: g.user,
    stanza: g.stanzaId,
    mode: grantMode(g.rules),
    target: describeRules(g.rules),
    granted_at: isoTime(g.grantedAt),
    expires_at: isoTime(g.expiresAt),
    expires_in_seconds: Math.max(0, Math.floor((g.expiresAt - now) / 1000)),
    packets: l.counters?.packets ?? null,
    bytes: l.counters?.bytes ?? null,
  };
}

export function hostRow(l: LiveGrant, now: number): HostRow {
  const g = l.grant;
  const mode = grantMode(g.rules);
  return {
    id: g.id,
    ip: g.rules.src,
    mac: g.rules.mac ?? '—',
    hostname: l.hostname ?? '—',
    user: g.user,
    stanza: g.stanzaId,
    mode,
    modeLabel: MODE_LABELS[mode],
    target: describeRules(g.rules),
    grantedAtIso: isoTime(g.grantedAt),
    grantedAtText: displayTime(g.grantedAt),
    grantedAtMs: g.grantedAt,
    expiresAtIso: isoTime(g.expiresAt),
    expiresAtText: displayTime(g.expiresAt),
    expiresAtMs: g.expiresAt,
    remainingText: duration((g.expiresAt - now) / 1000),
    packets: l.counters?.packets ?? 0,
    packetsText: l.counters ? count(l.counters.packets) : '—',
    bytes: l.counters?.bytes ?? 0,
    bytesText: l.counters ? bytes(l.counters.bytes) : '—',
  };
}

/** Soonest expiry first: the hosts about to drop are the ones an admin looks for. */
export function hostRows(live: readonly LiveGrant[], now: number): HostRow[] {
  return live
    .map((l) => hostRow(l, now))
    .sort((a, b) => a.expiresAtMs - b.expiresAtMs || a.ip.localeCompare(b.ip));
}
