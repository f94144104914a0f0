/**
 * The cryptographic pieces of the codec (spec sections 4, 5 and 6), on node:crypto only.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto';
import type { EncryptionMode, HashName } from '../model.js';
import { b64nopad } from './base64.js';
import { HASHES, LIMITS, MODES } from './types.js';

/**
 * The key bytes that enter the derivation: legacy mode pads short keys with ASCII '0' to 16
 * bytes and truncates long ones to 16 (spec 5.1). Null when the key cannot be used.
 */
export function effectiveKey(key: Buffer, mode: EncryptionMode): Buffer | null {
  if (key.length === 0) return null;
  if (mode === 'legacy') {
    if (key.length >= LIMITS.legacyKeyLen) return Buffer.from(key.subarray(0, LIMITS.legacyKeyLen));
    return Buffer.concat([key, Buffer.alloc(LIMITS.legacyKeyLen - key.length, 0x30)]);
  }
  return key.length > LIMITS.maxKey ? null : Buffer.from(key);
}

/** OpenSSL EVP_BytesToKey with MD5 and one iteration: AES-256 key and IV from key bytes and salt. */
export function deriveKeyIv(key: Buffer, salt: Buffer): { aesKey: Buffer; iv: Buffer } {
  const d1 = createHash('md5').update(key).update(salt).digest();
  const d2 = createHash('md5').update(d1).update(key).update(salt).digest();
  const d3 = createHash('md5').update(d2).update(key).update(salt).digest();
  return { aesKey: Buffer.concat([d1, d2]), iv: d3 };
}

/** AES-256 in `mode` with no padding applied or removed by OpenSSL (the codec does PKCS#7 itself). */
export function aesRaw(
  direction: 'encrypt' | 'decrypt',
  mode: EncryptionMode,
  aesKey: Buffer,
  iv: Buffer,
  data: Buffer,
): Buffer {
  const m = MODES[mode];
  const c =
    direction === 'encrypt'
      ? createCipheriv(m.cipher, aesKey, m.usesIv ? iv : null)
      : createDecipheriv(m.cipher, aesKey, m.usesIv ? iv : null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

export function pkcs7Pad(data: Buffer): Buffer {
  const n = 16 - (data.length % 16);
  return Buffer.concat([data, Buffer.alloc(n, n)]);
}

/** Length of the PKCS#7 padding at the end of `data`, or -1 when it is not valid padding. */
export function pkcs7PadLength(data: Buffer): number {
  if (data.length === 0) return -1;
  const n = data[data.length - 1];
  if (n < 1 || n > 16 || n > data.length) return -1;
  for (let i = data.length - n; i < data.length; i++) if (data[i] !== n) return -1;
  return n;
}

/** b64nopad of the inner digest of `encoded` (spec 4). */
export function innerDigest(type: HashName, encoded: Buffer | string): string {
  return b64nopad(createHash(HASHES[type].node).update(encoded).digest());
}

/** Constant-time comparison of two equal-length ASCII strings (false when lengths differ). */
export function safeEqualText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

/**
 * One stanza's HMAC key, held as a KeyObject so each try only hashes. (Pre-absorbing the pad
 * blocks with Hash.copy() was measured slower in Node 20: object creation costs more than the
 * two compression rounds it saves.)
 */
export class HmacKey {
  readonly b64len: number;
  /** Raw MAC length in bytes. */
  readonly macLen: number;
  private readonly node: string;
  private readonly key: KeyObject;

  constructor(
    readonly type: HashName,
    key: Buffer,
  ) {
    const h = HASHES[type];
    this.b64len = h.b64len;
    this.macLen = Math.floor((h.b64len * 6) / 8);
    this.node = h.node;
    this.key = createSecretKey(key);
  }

  /** Raw HMAC of `msg`. */
  mac(msg: Buffer): Buffer {
    return createHmac(this.node, this.key).update(msg).digest();
  }
}
