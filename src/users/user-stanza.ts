/**
 * A database user as an access stanza: the same keywords as access.conf, compiled by the
 * same code (src/config/access-stanzas.ts), so a user behaves exactly like a hand-written
 * stanza with the same lines. Keys are always KEY_BASE64 + HMAC_KEY_BASE64 (random, never
 * passphrases), and the expiry is the user's own field, written as ACCESS_EXPIRE_EPOCH.
 */
import type { AccessStanza, ServerConfig } from '../core/config-model.js';
import type { UserRecord } from '../core/ports.js';
import type { StanzaBlock } from '../config/access-tree.js';
import { compileStanzaBlock } from '../config/access-stanzas.js';
import { Problems } from '../config/problems.js';
import type { ConfigEntry } from '../config/syntax.js';

/** Keywords an admin may set on a user; keys and expiry have their own fields. */
export const USER_KEYWORDS: readonly string[] = [
  'DESTINATION',
  'OPEN_PORTS',
  'RESTRICT_PORTS',
  'FW_ACCESS_TIMEOUT',
  'MAX_FW_TIMEOUT',
  'REQUIRE_USERNAME',
  'REQUIRE_SOURCE_ADDRESS',
  'FORCE_NAT',
  'FORCE_SNAT',
  'FORCE_MASQUERADE',
  'FORWARD_ALL',
  'DISABLE_DNAT',
  'MAC_BINDING',
];
const ALLOWED = new Set(USER_KEYWORDS);

export const USER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The stanza id of a database user, as GatewayConfig's AccessStanza documents it. */
export function userStanzaId(name: string): string {
  return `user:${name}`;
}

/** The user name of a `user:<name>` stanza id, or null for access.conf stanzas. */
export function userOfStanzaId(id: string): string | null {
  return id.startsWith('user:') ? id.slice(5) : null;
}

export type UserOption = UserRecord['options'][number];

/**
 * Checks the admin-given parts of a user (name, SOURCE, options) before anything is stored.
 * Returns the problems as text; empty when acceptable.
 */
export function checkUserFields(name: string, source: string, options: readonly UserOption[]): string[] {
  const out: string[] = [];
  if (!USER_NAME_RE.test(name)) out.push('name: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  if (!/^[^\s;#][^;\r\n#]{0,1023}$/.test(source)) out.push('SOURCE: one line of ANY, addresses or networks');
  const seen = new Set<string>();
  for (const o of options) {
    if (!ALLOWED.has(o.name)) out.push(`${o.name}: not a keyword users may set (allowed: ${USER_KEYWORDS.join(', ')})`);
    else if (seen.has(o.name)) out.push(`${o.name}: given twice`);
    if (!/^[^\s;#][^;\r\n#]{0,1023}$/.test(o.value)) out.push(`${o.name}: the value must be one non-empty line`);
    seen.add(o.name);
  }
  return out;
}

function entries(u: UserRecord, file: string): { source: ConfigEntry; entries: ConfigEntry[] } {
  let line = 1;
  const e = (name: string, value: string): ConfigEntry => ({ name, value, file, line: ++line });
  const list = [
    ...u.options.map((o) => e(o.name, o.value)),
    e('KEY_BASE64', u.keyBase64),
    e('HMAC_KEY_BASE64', u.hmacKeyBase64),
  ];
  if (u.expiresAt !== null) list.push(e('ACCESS_EXPIRE_EPOCH', String(Math.floor(u.expiresAt / 1000))));
  return { source: { name: 'SOURCE', value: u.source, file, line: 1 }, entries: list };
}

export interface CompiledUser {
  stanza: AccessStanza | null;
  errors: string[];
}

/**
 * Compiles one user. Warnings that every such stanza would repeat (no REQUIRE_SOURCE_ADDRESS,
 * an expiry in the past) are not errors; errors make the user unusable and are returned.
 */
export function compileUser(u: UserRecord, server: ServerConfig, now: number): CompiledUser {
  const problems = new Problems();
  const file = `database user ${u.name}`;
  const block: StanzaBlock = entries(u, file);
  const stanza = compileStanzaBlock(block, userStanzaId(u.name), server, problems, now);
  const errors = problems.errors.map((p) => p.message);
  return { stanza: errors.length === 0 ? stanza : null, errors };
}

/** The stanzas of the users that may authenticate now (not disabled; expiry is enforced by the stanza itself). */
export function activeUserStanzas(
  users: readonly UserRecord[],
  server: ServerConfig,
  now: number,
  onError: (user: string, errors: string[]) => void,
): AccessStanza[] {
  const out: AccessStanza[] = [];
  for (const u of users) {
    if (u.disabled) continue;
    const c = compileUser(u, server, now);
    if (c.stanza) out.push(c.stanza);
    else onError(u.name, c.errors);
  }
  return out;
}
