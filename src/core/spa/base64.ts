/**
 * Base64 as fwknop uses it (spec section 3): standard alphabet, `=` padding always stripped.
 * Node's own decoder skips foreign characters and accepts the URL-safe alphabet, so every
 * untrusted string is validated here before it reaches Buffer.from.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** 6-bit value per character code, -1 outside the alphabet. */
const VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/** Unpadded standard base64. */
export function b64nopad(data: Buffer | string): string {
  const s = (typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64');
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 61 /* = */) end--;
  return s.slice(0, end);
}

/** True when every byte of `b` is in the base64 alphabet. */
export function bytesAreB64(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (VALUE[b[i]] < 0) return false;
  return true;
}

/** True when every character of `s` is in the base64 alphabet. */
export function stringIsB64(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || VALUE[c] < 0) return false;
  }
  return true;
}

/**
 * True when an unpadded alphabet-only string is a length and final character that an encoder
 * produces: length mod 4 is not 1 and the unused low bits of the last character are zero.
 * Rejecting the other forms keeps one byte string to exactly one text (replay digests depend on it).
 */
export function isCanonicalB64(s: string): boolean {
  const rem = s.length % 4;
  if (rem === 1) return false;
  if (rem === 0) return true;
  const last = VALUE[s.charCodeAt(s.length - 1) & 0xff];
  return rem === 2 ? (last & 0x0f) === 0 : (last & 0x03) === 0;
}

/** Strict decode of unpadded base64; null when anything is off. */
export function decodeB64Strict(s: string): Buffer | null {
  if (!stringIsB64(s) || !isCanonicalB64(s)) return null;
  return Buffer.from(s, 'base64');
}
