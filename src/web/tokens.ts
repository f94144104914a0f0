import { createHash } from 'node:crypto';
import type { RandomSource } from '../core/ports.js';

/**
 * API tokens: `sgt_` followed by 32 random bytes in base64url. Only the sha256 of the whole
 * token (hex) is stored; with 256 bits of entropy a fast hash is enough.
 */
export const TOKEN_PREFIX = 'sgt_';

export function newToken(random: RandomSource): string {
  return TOKEN_PREFIX + random.bytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newTokenId(random: RandomSource): string {
  return random.bytes(6).toString('hex');
}
