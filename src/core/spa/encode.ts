/**
 * SPA packet encoding, the client side of the protocol (spec sections 2 to 6). Every packet is
 * checked with the decoder's own field rules before it is sealed, so spagate never emits a packet
 * that it (or fwknopd) would refuse for its content.
 */
import type { HashName } from '../model.js';
import { SpagateError } from '../errors.js';
import type { RandomSource } from '../ports.js';
import { b64nopad } from './base64.js';
import { aesRaw, deriveKeyIv, effectiveKey, HmacKey, innerDigest, pkcs7Pad } from './crypto.js';
import { parsePlaintext } from './fields.js';
import { CODEC_REASON_DESCRIPTIONS } from './reasons.js';
import { LIMITS, typeHasNat, typeHasTimeout, type SpaFields, type SpaKeys } from './types.js';

/** The fields or keys given to the encoder cannot make a valid packet. */
export class SpaEncodeError extends SpagateError {
  constructor(message: string) {
    super('SG_SPA_ENCODE', message);
  }
}

const SALTED = Buffer.from('Salted__', 'latin1');
const PREFIX_LEN = 10;

/** The encoded message `E` (spec 2.1): the fields joined by colons, text fields in unpadded base64. */
export function encodeMessage(f: SpaFields): string {
  const parts = [
    f.random_value,
    b64nopad(f.username),
    String(f.timestamp),
    f.version,
    String(f.message_type),
    b64nopad(f.message),
  ];
  if (typeHasNat(f.message_type)) parts.push(b64nopad(f.nat_access ?? ''));
  if (f.server_auth !== null) parts.push(b64nopad(f.server_auth));
  if (typeHasTimeout(f.message_type)) parts.push(String(f.client_timeout));
  return parts.join(':');
}

/**
 * Encrypt a complete plaintext `T` (message plus inner digest) and append the HMAC. Exposed so
 * tests can seal plaintexts that break the field rules; normal callers use encodeSpa.
 */
export function sealPlaintext(plaintext: Buffer | string, keys: SpaKeys, salt: Buffer): string {
  const key = effectiveKey(keys.key, keys.mode);
  if (key === null) throw new SpaEncodeError(`encryption key must be 1..${LIMITS.maxKey} bytes`);
  if (salt.length !== 8) throw new SpaEncodeError('salt must be 8 bytes');
  const { aesKey, iv } = deriveKeyIv(key, salt);
  const t = typeof plaintext === 'string' ? Buffer.from(plaintext, 'latin1') : plaintext;
  const ct = aesRaw('encrypt', keys.mode, aesKey, iv, pkcs7Pad(t));
  const body = b64nopad(Buffer.concat([SALTED, salt, ct]));
  const mac =
    keys.hmacKey === null
      ? ''
      : b64nopad(new HmacKey(keys.hmacType, keys.hmacKey).mac(Buffer.from(body, 'latin1')));
  return body.slice(PREFIX_LEN) + mac;
}

/**
 * Build a wire packet from fields. `random` supplies the salt; the caller makes random_value.
 * Fields that would not decode (bad message grammar, username, ...) throw SpaEncodeError.
 */
export function encodeSpa(
  fields: SpaFields,
  keys: SpaKeys,
  opts: { digestType: HashName; random: RandomSource },
): string {
  const encoded = encodeMessage(fields);
  const plaintext = `${encoded}:${innerDigest(opts.digestType, Buffer.from(encoded, 'latin1'))}`;
  const check = parsePlaintext(plaintext);
  if (!check.ok)
    throw new SpaEncodeError(`cannot encode: ${CODEC_REASON_DESCRIPTIONS[check.reason]} (${check.reason})`);
  const packet = sealPlaintext(plaintext, keys, opts.random.bytes(8));
  if (packet.length >= LIMITS.maxPacketExclusive)
    throw new SpaEncodeError(
      `packet would be ${packet.length} characters (limit ${LIMITS.maxPacketExclusive - 1})`,
    );
  return packet;
}
