import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RandomSource } from '../../../src/core/ports.js';
import type { SpaFields, SpaKeys } from '../../../src/core/spa/types.js';
import { parseHashName, parseModeName } from '../../../src/core/spa/types.js';

/** Deterministic RandomSource for tests: SHA-256 in counter mode over a seed. */
export function seededRandom(seed: string): RandomSource & { int(max: number): number } {
  let counter = 0;
  let pool = Buffer.alloc(0);
  const bytes = (n: number): Buffer => {
    while (pool.length < n)
      pool = Buffer.concat([pool, createHash('sha256').update(`${seed}:${counter++}`).digest()]);
    const out = pool.subarray(0, n);
    pool = pool.subarray(n);
    return Buffer.from(out);
  };
  return { bytes, int: (max: number) => bytes(4).readUInt32BE(0) % max };
}

export interface Vector {
  id: string;
  spa_packet: string;
  encryption_key: { encoding: 'base64' | 'passphrase'; value: string };
  hmac_key: { encoding: 'base64' | 'passphrase'; value: string } | null;
  encryption_mode: { name: string; code: number };
  hmac_type: { name: string; code: number } | null;
  digest_type: { name: string; code: number };
  expected: SpaFields & { message_type_name: string };
  intermediate: { encoded_data: string; digest: string; hmac: string };
  fwknop_args: string[];
}

export const VECTORS: readonly Vector[] = JSON.parse(
  readFileSync(new URL('../../fixtures/fwknop-2.6.10.json', import.meta.url), 'utf8'),
) as Vector[];

function keyBytes(k: { encoding: string; value: string }): Buffer {
  return k.encoding === 'base64' ? Buffer.from(k.value, 'base64') : Buffer.from(k.value, 'utf8');
}

export function vectorKeys(v: Vector): SpaKeys {
  return {
    key: keyBytes(v.encryption_key),
    hmacKey: v.hmac_key === null ? null : keyBytes(v.hmac_key),
    hmacType: v.hmac_type === null ? 'sha256' : parseHashName(v.hmac_type.name)!,
    mode: parseModeName(v.encryption_mode.name)!,
  };
}

export function sampleFields(over: Partial<SpaFields> = {}): SpaFields {
  return {
    random_value: '1234567890123456',
    username: 'alice',
    timestamp: 1796324772,
    version: '3.0.0',
    message_type: 1,
    message: '203.0.113.7,tcp/22',
    nat_access: null,
    server_auth: null,
    client_timeout: 0,
    ...over,
  };
}

export const KEYS_B64: SpaKeys = {
  key: Buffer.from('X3EKA6gzYtGuWX3X/OlLKSzN03+de80gqXKFPr9TA3o=', 'base64'),
  hmacKey: Buffer.from(
    'pC6PxUEtBY51WnCDsdoqyObllpGvCQf3bWmF4z8fN2GtG4piCWwYEDS0K6dSkirNi6qsP6Gn0JfMKDhxAo+Hpg==',
    'base64',
  ),
  hmacType: 'sha256',
  mode: 'cbc',
};
