/**
 * SPA packet decoding, cheapest check first (spec sections 5.5, 6.3, 7 and 9): wire pre-checks
 * once per packet, then per stanza the HMAC (constant time), and only then decryption and the
 * field checks. Every rejection is a value with a stable reason; nothing here throws for any input.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { EncryptionMode, HashName } from '../model.js';
import { b64nopad, bytesAreB64, decodeB64Strict, stringIsB64 } from './base64.js';
import { aesRaw, deriveKeyIv, effectiveKey, HmacKey, pkcs7PadLength } from './crypto.js';
import { parsePlaintext } from './fields.js';
import type { CodecReason } from './reasons.js';
import { LIMITS, type SpaFields, type SpaKeys } from './types.js';

export { parseAccessMessage, parseCommandMessage, parseNatAccess, parsePlaintext } from './fields.js';

/** The base64 of "Salted__" minus its last 4 bits: what clients strip from every packet (spec 5.4). */
export const SALTED_PREFIX = 'U2FsdGVkX1';
const PREFIX_BYTES = Buffer.from(SALTED_PREFIX, 'latin1');
const SALTED = Buffer.from('Salted__', 'latin1');

/** Character codes a Rijndael packet can start with: 8, 9, + and / (spec 5.4). */
function isRijndaelStart(c: number): boolean {
  return c === 0x38 || c === 0x39 || c === 0x2b || c === 0x2f;
}

function precheckCommon(
  len: number,
  at: (i: number) => number,
  alphabetOk: () => boolean,
): CodecReason | null {
  if (len < LIMITS.minPacket) return 'too_short';
  if (len >= LIMITS.maxPacketExclusive) return 'too_long';
  if (!alphabetOk()) return 'bad_base64';
  let prefixed = true;
  for (let i = 0; i < PREFIX_BYTES.length && prefixed; i++) prefixed = at(i) === PREFIX_BYTES[i];
  if (prefixed) return 'prefix_not_allowed';
  if (!isRijndaelStart(at(0))) return 'not_rijndael';
  return null;
}

/**
 * Cheap wire checks without cryptography, once per received payload: length 140..1499, base64
 * alphabet only, not re-prefixed with `U2FsdGVkX1`, and a first character a Rijndael packet can
 * have. Packets of 400 characters and more are accepted (fwknopd 2.6.10 refuses them, spec 13.1).
 */
export function precheck(payload: Buffer): CodecReason | null {
  return precheckCommon(
    payload.length,
    (i) => payload[i] ?? -1,
    () => bytesAreB64(payload),
  );
}

/** A packet that passed (or failed) the wire checks, with the bytes every stanza try reuses. */
export interface PreparedPacket {
  /** The packet text as received. */
  readonly text: string;
  /** Null when the packet may go on to the stanzas. */
  readonly reason: CodecReason | null;
  /** `U2FsdGVkX1` followed by the packet bytes; empty when rejected. */
  readonly prefixed: Buffer;
  /**
   * The packet split for an HMAC of `b64len` characters: the authenticated body (prefix included)
   * and the raw MAC the tail encodes, or null when the tail is not canonical base64 (no MAC can
   * match it). Computed once per length, so each stanza try only hashes.
   */
  hmacParts(b64len: number): { body: Buffer; mac: Buffer | null };
  /**
   * Why this packet cannot decode under any key whose HMAC takes `b64len` characters (0: no
   * HMAC), judged from its shape alone: the tail is not canonical base64 (no MAC can match it),
   * or the authenticated body is not whole AES blocks of canonical base64. Null when only the
   * keys can tell. Lets a caller trying many stanzas skip every HMAC for such packets; it
   * depends on the packet only, so it reveals nothing about any key.
   */
  shapeReason(b64len: number): CodecReason | null;
}

class Prepared implements PreparedPacket {
  private readonly parts = new Map<number, { body: Buffer; mac: Buffer | null }>();
  private readonly shapes = new Map<number, CodecReason | null>();

  constructor(
    readonly text: string,
    readonly reason: CodecReason | null,
    readonly prefixed: Buffer,
  ) {}

  hmacParts(b64len: number): { body: Buffer; mac: Buffer | null } {
    let p = this.parts.get(b64len);
    if (p === undefined) {
      const end = this.prefixed.length - b64len;
      p = {
        body: this.prefixed.subarray(0, end),
        mac: decodeB64Strict(this.prefixed.toString('latin1', end)),
      };
      this.parts.set(b64len, p);
    }
    return p;
  }

  shapeReason(b64len: number): CodecReason | null {
    let r = this.shapes.get(b64len);
    if (r === undefined) {
      r = this.reason ?? shapeOf(this, b64len);
      this.shapes.set(b64len, r);
    }
    return r;
  }
}

// The checks decodeUnguarded makes after a matching HMAC, made before it instead; same order
// and reasons, so a packet that fails here fails there under every key of this HMAC length.
function shapeOf(p: Prepared, b64len: number): CodecReason | null {
  const end = p.prefixed.length - b64len;
  if (end - PREFIX_BYTES.length < LIMITS.minPlaintext) return 'too_short';
  if (b64len > 0 && p.hmacParts(b64len).mac === null) return 'hmac_mismatch';
  const len = blobLength(end);
  if (len === null) return 'bad_base64';
  if (len < 32 || len % 16 !== 0) return 'bad_ciphertext_length';
  return null;
}

/**
 * Bytes that `chars` base64 characters without padding decode to, or null when no canonical
 * text has that length (one leftover character). Canonical trailing bits are checked by the
 * full decode after the HMAC; here the length alone rules out most junk.
 */
function blobLength(chars: number): number | null {
  const rest = chars % 4;
  if (rest === 1) return null;
  return (chars >> 2) * 3 + (rest === 0 ? 0 : rest - 1);
}

/** Run the wire checks once and keep the prefixed bytes for the per-stanza HMAC and decryption. */
export function preparePacket(packet: string | Buffer): PreparedPacket {
  if (Buffer.isBuffer(packet)) {
    const reason = precheck(packet);
    if (reason !== null) return new Prepared('', reason, Buffer.alloc(0));
    return new Prepared(packet.toString('latin1'), null, Buffer.concat([PREFIX_BYTES, packet]));
  }
  const reason = precheckCommon(
    packet.length,
    (i) => packet.charCodeAt(i),
    () => stringIsB64(packet),
  );
  return new Prepared(
    packet,
    reason,
    reason === null ? Buffer.from(SALTED_PREFIX + packet, 'latin1') : Buffer.alloc(0),
  );
}

/**
 * One stanza's keys, prepared once at start-up so that trying a packet against many stanzas is
 * cheap: the HMAC key is a ready KeyObject with its output length known, and the legacy key
 * handling is already applied. Combined with a PreparedPacket (tail decoded once per HMAC
 * length), a wrong-HMAC try costs one HMAC computation and one constant-time compare.
 */
export interface CompiledKeys {
  readonly mode: EncryptionMode;
  /** The key bytes that enter the derivation, or null when the configured key is unusable. */
  readonly cipherKey: Buffer | null;
  readonly hmac: HmacKey | null;
  readonly hmacType: HashName;
}

export function compileKeys(keys: SpaKeys): CompiledKeys {
  return Object.freeze({
    mode: keys.mode,
    cipherKey: effectiveKey(keys.key, keys.mode),
    hmac: keys.hmacKey === null ? null : new HmacKey(keys.hmacType, keys.hmacKey),
    hmacType: keys.hmacType,
  });
}

export type DecodeResult =
  { ok: true; fields: SpaFields; digestType: HashName } | { ok: false; reason: CodecReason };

const fail = (reason: CodecReason): DecodeResult => ({ ok: false, reason });

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/**
 * Decode and verify one packet against one stanza's keys. The HMAC is checked in constant time
 * before anything is decrypted. Pass a PreparedPacket when trying several stanzas. Never throws.
 * Packet age is not checked here (see checkPacketAge).
 */
export function decodeSpa(packet: string | PreparedPacket, keys: CompiledKeys): DecodeResult {
  try {
    return decodeUnguarded(typeof packet === 'string' ? preparePacket(packet) : packet, keys);
  } catch {
    // Every input is meant to end in a reason above; reaching this is a bug, still not a crash.
    return fail('internal');
  }
}

function decodeUnguarded(p: PreparedPacket, keys: CompiledKeys): DecodeResult {
  if (p.reason !== null) return fail(p.reason);
  if (keys.cipherKey === null) return fail('bad_key');
  let end = p.prefixed.length;
  if (keys.hmac !== null) {
    end -= keys.hmac.b64len;
    if (end - PREFIX_BYTES.length < LIMITS.minPlaintext) return fail('too_short');
    const { body, mac } = p.hmacParts(keys.hmac.b64len);
    // The strict decode of the tail keeps this a comparison of texts, as fwknopd does: a tail
    // with stray low bits (the same MAC bytes written differently) never matches, so no HMAC
    // is computed for it (the tail is the sender's own text: skipping reveals nothing).
    if (mac === null) return fail('hmac_mismatch');
    const computed = keys.hmac.mac(body);
    if (mac.length !== computed.length || !timingSafeEqual(computed, mac)) return fail('hmac_mismatch');
  }
  const blob = decodeB64Strict(p.prefixed.toString('latin1', 0, end));
  if (blob === null) return fail('bad_base64');
  if (blob.length < 32 || blob.length % 16 !== 0) return fail('bad_ciphertext_length');
  if (!blob.subarray(0, 8).equals(SALTED)) return fail('not_rijndael');

  const { aesKey, iv } = deriveKeyIv(keys.cipherKey, blob.subarray(8, 16));
  const plain = aesRaw('decrypt', keys.mode, aesKey, iv, blob.subarray(16));
  for (let i = 0; i < 16; i++) if (!isDigit(plain[i])) return fail('decrypt_failed');
  if (plain[16] !== 0x3a) return fail('decrypt_failed');
  const pad = pkcs7PadLength(plain);
  if (pad < 0) return fail('bad_padding');
  return parsePlaintext(plain.toString('latin1', 0, plain.length - pad));
}

/** The replay-cache digest: b64nopad(SHA-256(payload as received)) (spec 10). */
export function replayDigest(packet: string | Buffer): string {
  return b64nopad(
    createHash('sha256')
      .update(typeof packet === 'string' ? Buffer.from(packet, 'latin1') : packet)
      .digest(),
  );
}

/**
 * fwknopd's packet-age rule (spec 9 step 11): the timestamp (Unix seconds) may differ from
 * `nowSeconds` by at most `maxAgeSeconds` either way.
 */
export function checkPacketAge(
  timestamp: number,
  nowSeconds: number,
  maxAgeSeconds: number,
): CodecReason | null {
  return Math.abs(nowSeconds - timestamp) > maxAgeSeconds ? 'timestamp_out_of_window' : null;
}

/** Whether fwknopd 2.6.10 would even try a Rijndael stanza on this packet (spec 13.1). */
export function fwknopdWouldTry(packetLength: number, hmacB64Len: number | null): boolean {
  return (
    packetLength < LIMITS.fwknopdGpgThreshold &&
    packetLength - (hmacB64Len ?? 0) + SALTED_PREFIX.length < LIMITS.fwknopdGpgThreshold
  );
}
