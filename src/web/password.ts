import { scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { RandomSource } from '../core/ports.js';

/**
 * Admin password hashes: `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`, with a 16-byte
 * random salt and a 32-byte derived key. The parameters travel with the hash, so raising
 * them later still verifies old hashes.
 */
export const SCRYPT_DEFAULTS = { N: 32768, r: 8, p: 1 } as const;
const KEY_LEN = 32;
const MAX_N = 1 << 20;

function derive(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  // 128*N*r bytes are needed; leave headroom above Node's 32 MiB default.
  const opts: ScryptOptions = { N, r, p, maxmem: 128 * N * r * p + 32 * 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LEN, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(
  password: string,
  random: RandomSource,
  params: { N: number; r: number; p: number } = SCRYPT_DEFAULTS,
): Promise<string> {
  const salt = random.bytes(16);
  const key = await derive(password, salt, params.N, params.r, params.p);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** False for a wrong password and for any hash this code cannot read. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (
    ![N, r, p].every((x) => Number.isInteger(x) && x > 0) ||
    N > MAX_N ||
    (N & (N - 1)) !== 0 ||
    r > 32 ||
    p > 16
  )
    return false;
  const salt = Buffer.from(parts[4], 'base64');
  const want = Buffer.from(parts[5], 'base64');
  if (salt.length < 8 || want.length !== KEY_LEN) return false;
  const got = await derive(password, salt, N, r, p);
  return timingSafeEqual(got, want);
}

/** Burns the same time as a real check, so unknown usernames are not revealed by timing. */
export async function verifyAgainstNothing(password: string): Promise<void> {
  await derive(password, Buffer.alloc(16), SCRYPT_DEFAULTS.N, SCRYPT_DEFAULTS.r, SCRYPT_DEFAULTS.p);
}
