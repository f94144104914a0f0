import type { EventOutcome, StoredEvent } from '../../core/model.js';
import { POLICY_REASONS } from '../../core/reject-reasons.js';
import { displayTime, isoTime } from './format.js';

export const OUTCOMES: readonly EventOutcome[] = [
  'accepted',
  'rejected',
  'extended',
  'expired',
  'revoked',
  'ended',
  'restored',
];

export function isOutcome(s: string): s is EventOutcome {
  return (OUTCOMES as readonly string[]).includes(s);
}

/** Short labels for reason codes; unknown codes show as the code with spaces. */
const REASON_LABELS: Record<string, string> = {
  granted: 'granted',
  hmac_mismatch: 'HMAC mismatch',
  bad_hmac: 'HMAC mismatch',
  decrypt_failed: 'decryption failed',
  malformed: 'malformed packet',
  too_short: 'packet too short',
  too_long: 'packet too long',
  replay: 'replay',
  stale_timestamp: 'stale timestamp',
  no_stanza_for_source: 'source not allowed',
  source_required: 'source address required',
  username_mismatch: 'username not allowed',
  stanza_expired: 'stanza expired',
  port_not_open: 'port not allowed',
  port_restricted: 'port restricted',
  command_refused: 'command refused',
  nat_disabled: 'NAT disabled',
  nat_host_invalid: 'bad NAT host',
  nothing_to_open: 'nothing to open',
  firewall_error: 'firewall error',
  internal: 'internal error',
  admin: 'by admin',
};

export function reasonLabel(code: string): string {
  return REASON_LABELS[code] ?? code.replace(/_/g, ' ');
}

/** A longer explanation where the core has one (tooltip). */
export function reasonDescription(code: string): string {
  return (POLICY_REASONS as Record<string, string>)[code] ?? '';
}

export interface EventJson {
  id: number;
  at: string;
  outcome: string;
  reason: string;
  src_ip: string | null;
  src_port: number | null;
  mac: string | null;
  user: string | null;
  stanza: string | null;
  grant_id: string | null;
  detail: string | null;
}

export function eventJson(e: StoredEvent): EventJson {
  return {
    id: e.id,
    at: isoTime(e.at),
    outcome: e.outcome,
    reason: e.reason,
    src_ip: e.srcIp,
    src_port: e.srcPort,
    mac: e.mac,
    user: e.user,
    stanza: e.stanzaId,
    grant_id: e.grantId,
    detail: e.detail,
  };
}

export interface EventRow {
  id: number;
  atIso: string;
  atText: string;
  outcome: string;
  /** CSS modifier: ok, bad or info. */
  tone: 'ok' | 'bad' | 'info';
  reasonLabel: string;
  reasonTitle: string;
  source: string;
  mac: string;
  user: string;
  stanza: string;
  grantId: string;
  detail: string;
}

export function eventRow(e: StoredEvent): EventRow {
  return {
    id: e.id,
    atIso: isoTime(e.at),
    atText: displayTime(e.at),
    outcome: e.outcome,
    tone: e.outcome === 'accepted' ? 'ok' : e.outcome === 'rejected' ? 'bad' : 'info',
    reasonLabel: reasonLabel(e.reason),
    reasonTitle: reasonDescription(e.reason) || e.reason,
    source: e.srcIp === null ? '—' : e.srcPort === null ? e.srcIp : `${e.srcIp}:${e.srcPort}`,
    mac: e.mac ?? '—',
    user: e.user ?? '—',
    stanza: e.stanzaId ?? '—',
    grantId: e.grantId ?? '',
    detail: e.detail ?? '',
  };
}
