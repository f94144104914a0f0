/**
 * Plaintext decoding and field validation (spec section 7), strict where the spec recommends it:
 * canonical allow IPs, printable ASCII only, digits-only numbers.
 */
import { timingSafeEqual } from 'node:crypto';
import type { HashName, ProtoPort } from '../model.js';
import { parseIpv4 } from '../ipv4.js';
import { decodeB64Strict } from './base64.js';
import { innerDigest } from './crypto.js';
import type { CodecReason } from './reasons.js';
import { LIMITS, typeHasNat, typeHasTimeout, type SpaFields } from './types.js';

type Fail = { ok: false; reason: CodecReason };
const fail = (reason: CodecReason): Fail => ({ ok: false, reason });

/** True when every character is printable ASCII (0x20..0x7e). */
export function isPrintable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Characters fwknopd refuses in a username besides non-printables (spec 7.2 step 2). */
const USERNAME_FORBIDDEN = /["/\\[\]:;|=,+*?<>]/;

/** True when `s` is a username fwknop would put in a packet and fwknopd would accept. */
export function isValidUsername(s: string): boolean {
  return (
    s.length > 0 &&
    isPrintable(s) &&
    !USERNAME_FORBIDDEN.test(s) &&
    Buffer.byteLength(s) <= (LIMITS.maxUsernameEncoded / 4) * 3
  );
}

/** Decode a base64 text field of 1..max characters into printable ASCII, or null. */
function decodeTextField(s: string, max: number): string | null {
  if (s.length < 1 || s.length > max) return null;
  const b = decodeB64Strict(s);
  if (b === null || b.length === 0) return null;
  const t = b.toString('latin1');
  return isPrintable(t) ? t : null;
}

const PORT = /^\d{1,5}$/;

function parsePort(s: string): number | null {
  if (!PORT.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : null;
}

/**
 * Access message grammar (spec 7.3.1): `allow-ip,proto/port[,proto/port...]` with tcp/udp in
 * lower case, ports 1..65535 (leading zeros tolerated), allow IP canonical dotted-decimal.
 */
export function parseAccessMessage(
  message: string,
): { ok: true; allowIp: string; access: ProtoPort[] } | Fail {
  if (message.length >= LIMITS.maxFieldEncoded || !isPrintable(message)) return fail('bad_field_message');
  const comma = message.indexOf(',');
  if (comma < 0) return fail('bad_field_message');
  const allowIp = message.slice(0, comma);
  if (parseIpv4(allowIp) === null) return fail('bad_allow_ip');
  const rest = message.slice(comma + 1);
  if (rest.length === 0) return fail('bad_field_message');
  const access: ProtoPort[] = [];
  for (const el of rest.split(',')) {
    const slash = el.indexOf('/');
    const proto = el.slice(0, slash);
    if (slash < 0 || (proto !== 'tcp' && proto !== 'udp')) return fail('bad_field_message');
    const port = parsePort(el.slice(slash + 1));
    if (port === null) return fail('bad_field_message');
    access.push({ proto, port });
  }
  return { ok: true, allowIp, access };
}

/** Command message (type 0, spec 7.3.3): `allow-ip,command`. Decoded, never executed by spagate. */
export function parseCommandMessage(message: string): { ok: true; allowIp: string; command: string } | Fail {
  if (message.length >= LIMITS.maxCommandExclusive || !isPrintable(message)) return fail('bad_field_message');
  const comma = message.indexOf(',');
  if (comma < 0) return fail('bad_field_message');
  const allowIp = message.slice(0, comma);
  if (parseIpv4(allowIp) === null) return fail('bad_allow_ip');
  const command = message.slice(comma + 1);
  if (command.length === 0) return fail('bad_field_message');
  return { ok: true, allowIp, command };
}

const NAT_HOST_FORBIDDEN = /[ /?"'\\]/;

/** NAT access field (spec 7.3.2): `host,port`, host 1..70 characters (empty host refused). */
export function parseNatAccess(nat: string): { ok: true; host: string; port: number } | Fail {
  if (nat.length >= LIMITS.maxFieldEncoded || !isPrintable(nat)) return fail('bad_field_nat');
  const comma = nat.indexOf(',');
  if (comma < 0 || nat.indexOf(',', comma + 1) >= 0) return fail('bad_field_nat');
  const host = nat.slice(0, comma);
  if (host.length === 0 || host.length > LIMITS.maxNatHost || NAT_HOST_FORBIDDEN.test(host))
    return fail('bad_field_nat');
  const port = parsePort(nat.slice(comma + 1));
  if (port === null) return fail('bad_field_nat');
  return { ok: true, host, port };
}

const DIGEST_CANDIDATES: Readonly<Record<number, readonly HashName[]>> = {
  22: ['md5'],
  27: ['sha1'],
  43: ['sha256', 'sha3_256'],
  64: ['sha384'],
  86: ['sha512', 'sha3_512'],
};

/** Which digest type makes `digest` (unpadded base64) from `encoded`, or null (spec 4). */
export function matchDigest(encoded: string, digest: string): HashName | null {
  const candidates = DIGEST_CANDIDATES[digest.length];
  if (!candidates) return null;
  const given = Buffer.from(digest, 'latin1');
  for (const t of candidates) {
    if (timingSafeEqual(Buffer.from(innerDigest(t, Buffer.from(encoded, 'latin1')), 'latin1'), given))
      return t;
  }
  return null;
}

/** Most fields after the message type, per type (spec 7.2 step 5). */
const MAX_AFTER_TYPE = [2, 2, 3, 3, 4, 3, 4] as const;

const DIGITS16 = /^\d{16}$/;
const TIMESTAMP = /^\d{1,12}$/;
const TYPE = /^\d{1,2}$/;
const TIMEOUT = /^\d{1,256}$/;

export type PlaintextResult = { ok: true; fields: SpaFields; digestType: HashName } | Fail;

/**
 * Validate and decode a decrypted plaintext `T = E ":" digest` (spec 7.1 and 7.2). The checks run
 * in the spec's order and the first failure is the reason.
 */
export function parsePlaintext(t: string): PlaintextResult {
  if (t.length < LIMITS.minPlaintext || t.length > LIMITS.maxPlaintext) return fail('bad_plaintext_length');
  if (!isPrintable(t)) return fail('bad_plaintext_chars');
  const last = t.lastIndexOf(':');
  if (last < 0) return fail('too_few_fields');
  const encoded = t.slice(0, last);
  const parts = encoded.split(':');
  if (parts.length < 6) return fail('too_few_fields');
  if (parts.length > 9) return fail('too_many_fields');
  const digest = t.slice(last + 1);
  if (DIGEST_CANDIDATES[digest.length] === undefined) return fail('bad_digest_length');
  const digestType = matchDigest(encoded, digest);
  if (digestType === null) return fail('bad_digest');

  const [rand, user, ts, version, type, ...rest] = parts as [
    string,
    string,
    string,
    string,
    string,
    ...string[],
  ];
  if (!DIGITS16.test(rand)) return fail('bad_field_random');
  const username =
    user.length <= LIMITS.maxUsernameEncoded ? decodeTextField(user, LIMITS.maxUsernameEncoded) : null;
  if (username === null || !isValidUsername(username)) return fail('bad_field_username');
  if (!TIMESTAMP.test(ts) || Number(ts) > 0xffffffff) return fail('bad_field_timestamp');
  if (version.length < 1 || version.length > LIMITS.maxVersionLen) return fail('bad_field_version');
  if (!TYPE.test(type) || Number(type) > 6) return fail('bad_field_type');
  const msgType = Number(type);
  if (rest.length > MAX_AFTER_TYPE[msgType as 0]) return fail('too_many_fields');

  const message = decodeTextField(rest[0], LIMITS.maxFieldEncoded);
  if (message === null) return fail('bad_field_message');
  const grammar = msgType === 0 ? parseCommandMessage(message) : parseAccessMessage(message);
  if (!grammar.ok) return grammar;

  let i = 1;
  let natAccess: string | null = null;
  if (typeHasNat(msgType)) {
    const raw = rest[i++];
    natAccess = raw === undefined ? null : decodeTextField(raw, LIMITS.maxFieldEncoded);
    if (natAccess === null || !parseNatAccess(natAccess).ok) return fail('bad_field_nat');
  }

  let remaining = rest.slice(i);
  let clientTimeout = 0;
  if (typeHasTimeout(msgType)) {
    const raw = remaining.pop();
    if (raw === undefined || !TIMEOUT.test(raw) || Number(raw) > LIMITS.maxClientTimeout)
      return fail('bad_field_timeout');
    clientTimeout = Number(raw);
  }
  let serverAuth: string | null = null;
  if (remaining.length > 0) {
    serverAuth = decodeTextField(remaining[0], LIMITS.maxFieldEncoded);
    if (serverAuth === null) return fail('bad_field_server_auth');
    remaining = remaining.slice(1);
  }
  // The per-type field limit above leaves nothing here; kept as a guard against future edits.
  if (remaining.length > 0) return fail('too_many_fields');

  return {
    ok: true,
    digestType,
    fields: {
      random_value: rand,
      username,
      timestamp: Number(ts),
      version,
      message_type: msgType,
      message,
      nat_access: natAccess,
      server_auth: serverAuth,
      client_timeout: clientTimeout,
    },
  };
}
