/**
 * What the captive portal says about one client, computed from the gateway's live grants
 * (the same state the firewall rules are built from): online or not, seconds left, and the
 * RFC 8908 captive-portal API object. Pure: the caller passes the grants and the time.
 */
import type { Grant } from './model.js';

export interface PortalClient {
  ip: string;
  /** Lower-case MAC from the neighbour table or a lease; null when unknown. */
  mac: string | null;
}

export interface ClientStatus {
  online: boolean;
  /** The grant that puts the client online (latest expiry), or null. */
  grant: Grant | null;
  /** Whole seconds until that grant ends, 0 when offline. */
  secondsRemaining: number;
}

/**
 * A grant covers a client when it was opened for the client's address and, when the grant
 * is bound to a MAC, the client's MAC is that one. A MAC we cannot see does not count as a
 * match: another host may be using the address.
 */
export function grantCovers(g: Grant, c: PortalClient, now: number): boolean {
  if (g.expiresAt <= now || g.rules.src !== c.ip) return false;
  return g.rules.mac === null || g.rules.mac === c.mac;
}

export function clientStatus(grants: readonly Grant[], c: PortalClient, now: number): ClientStatus {
  let best: Grant | null = null;
  for (const g of grants) {
    if (grantCovers(g, c, now) && (best === null || g.expiresAt > best.expiresAt)) best = g;
  }
  if (best === null) return { online: false, grant: null, secondsRemaining: 0 };
  return { online: true, grant: best, secondsRemaining: Math.max(0, Math.floor((best.expiresAt - now) / 1000)) };
}

/** RFC 8908 section 5 fields (venue-info-url and bytes-remaining are not offered). */
export interface CaptiveApiObject {
  captive: boolean;
  'user-portal-url': string;
  'seconds-remaining'?: number;
  'can-extend-session'?: boolean;
}

/**
 * The API answer. `seconds-remaining` only while online (RFC 8908: it describes the
 * current session). A session is extended by knocking again before it ends, which a
 * client can do from the portal page, hence `can-extend-session` true while online.
 */
export function captiveApiObject(status: ClientStatus, userPortalUrl: string): CaptiveApiObject {
  if (!status.online) return { captive: true, 'user-portal-url': userPortalUrl };
  return {
    captive: false,
    'user-portal-url': userPortalUrl,
    'seconds-remaining': status.secondsRemaining,
    'can-extend-session': true,
  };
}

/** `1h 02m 05s` style, for people. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m ${String(r).padStart(2, '0')}s`;
  if (m > 0) return `${m}m ${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

/** The `[name]` of the first stanza in an .fwknoprc text, or null. */
export function rcStanzaName(fwknoprc: string): string | null {
  const m = /^\s*\[([^\]\r\n]{1,64})\]\s*$/m.exec(fwknoprc);
  return m ? m[1].trim() : null;
}

/** A stanza name safe to show inside a shell command line (what fwknop -n accepts in practice). */
export function safeStanzaName(name: string | null): string | null {
  return name !== null && /^[A-Za-z0-9._@-]{1,64}$/.test(name) ? name : null;
}

export interface KnockCommands {
  fwknop: string;
  spagate: string;
}

/** The commands that knock with a named ~/.fwknoprc stanza (it carries keys and gateway). */
export function knockCommands(stanzaName: string): KnockCommands {
  return { fwknop: `fwknop -n ${stanzaName}`, spagate: `spagate knock -n ${stanzaName}` };
}
