/** Users and enrollment codes as the pages and the API show them (never keys or code hashes). */
import type { EnrollmentView } from '../../users/enrollment.js';
import type { UserView } from '../../users/directory.js';
import { displayTime, isoTime } from './format.js';

export const STATUS_LABELS: Readonly<Record<UserView['status'], string>> = {
  active: 'Active',
  disabled: 'Disabled',
  expired: 'Expired',
  invalid: 'Invalid stanza',
};

export interface UserRow {
  name: string;
  source: string;
  optionsText: string;
  status: UserView['status'];
  statusLabel: string;
  disabled: boolean;
  expiresText: string;
  /** `YYYY-MM-DDTHH:MM` (UTC) for the expiry input, empty for never. */
  expiresInput: string;
  createdText: string;
  keysText: string;
  awaitingEnrollment: boolean;
  liveGrants: number;
}

export function userRow(u: UserView): UserRow {
  return {
    name: u.name,
    source: u.source,
    optionsText: u.options.map((o) => `${o.name} ${o.value}`).join(', '),
    status: u.status,
    statusLabel: STATUS_LABELS[u.status],
    disabled: u.disabled,
    expiresText: u.expiresAt === null ? 'never' : displayTime(u.expiresAt),
    expiresInput: u.expiresAt === null ? '' : isoTime(u.expiresAt).slice(0, 16),
    createdText: displayTime(u.createdAt),
    keysText: displayTime(u.keysAt),
    awaitingEnrollment: !u.keysShown,
    liveGrants: u.liveGrants,
  };
}

export function userJson(u: UserView): Record<string, unknown> {
  return {
    name: u.name,
    source: u.source,
    options: u.options.map((o) => ({ name: o.name, value: o.value })),
    status: u.status,
    disabled: u.disabled,
    expires_at: u.expiresAt === null ? null : isoTime(u.expiresAt),
    created_at: isoTime(u.createdAt),
    updated_at: isoTime(u.updatedAt),
    keys_at: isoTime(u.keysAt),
    awaiting_enrollment: !u.keysShown,
    live_grants: u.liveGrants,
  };
}

export interface EnrollmentRow {
  id: string;
  user: string;
  state: EnrollmentView['state'];
  createdText: string;
  createdBy: string;
  expiresText: string;
  usedText: string;
}

export function enrollmentRow(e: EnrollmentView): EnrollmentRow {
  return {
    id: e.id,
    user: e.user,
    state: e.state,
    createdText: displayTime(e.createdAt),
    createdBy: e.createdBy,
    expiresText: displayTime(e.expiresAt),
    usedText: e.usedAt === null ? '' : `${displayTime(e.usedAt)} from ${e.usedBy ?? '?'}`,
  };
}

export function enrollmentJson(e: EnrollmentView): Record<string, unknown> {
  return {
    id: e.id,
    user: e.user,
    state: e.state,
    created_at: isoTime(e.createdAt),
    created_by: e.createdBy,
    expires_at: isoTime(e.expiresAt),
    used_at: e.usedAt === null ? null : isoTime(e.usedAt),
    used_by: e.usedBy,
  };
}
