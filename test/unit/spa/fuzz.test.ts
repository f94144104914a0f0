import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HashName } from '../../../src/core/model.js';
import {
  compileKeys,
  decodeSpa,
  precheck,
  preparePacket,
  type DecodeResult,
} from '../../../src/core/spa/decode.js';
import { encodeSpa } from '../../../src/core/spa/encode.js';
import type { SpaKeys } from '../../../src/core/spa/types.js';
import { sampleFields, seededRandom } from './helpers.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CASES = 4000;

test(
  'mutated packets never throw, never hit the internal guard, and are never accepted',
  { timeout: 60_000 },
  () => {
    const rnd = seededRandom('fuzz-1');
    const configs: { keys: SpaKeys; digest: HashName }[] = [
      {
        keys: { key: rnd.bytes(32), hmacKey: rnd.bytes(64), hmacType: 'sha256', mode: 'cbc' },
        digest: 'sha256',
      },
      {
        keys: { key: Buffer.from('passphrase'), hmacKey: Buffer.from('hmac'), hmacType: 'md5', mode: 'ctr' },
        digest: 'md5',
      },
      {
        keys: { key: rnd.bytes(16), hmacKey: rnd.bytes(128), hmacType: 'sha3_512', mode: 'ecb' },
        digest: 'sha512',
      },
      { keys: { key: rnd.bytes(32), hmacKey: null, hmacType: 'sha256', mode: 'cfb' }, digest: 'sha1' },
      {
        keys: { key: Buffer.from('legacy'), hmacKey: null, hmacType: 'sha256', mode: 'legacy' },
        digest: 'sha384',
      },
    ];
    const counts: Record<string, number> = {};
    const check = (r: DecodeResult, what: string) => {
      assert.equal(r.ok, false, `accepted a mutated packet (${what})`);
      if (!r.ok) {
        assert.notEqual(r.reason, 'internal', what);
        counts[r.reason] = (counts[r.reason] ?? 0) + 1;
      }
    };
    for (let i = 0; i < CASES; i++) {
      const cfg = configs[i % configs.length];
      const compiled = compileKeys(cfg.keys);
      const type = rnd.int(7);
      const fields = sampleFields({
        message_type: type,
        message: type === 0 ? '10.0.0.1,uptime' : '10.0.0.1,tcp/22',
        nat_access: [2, 4, 5, 6].includes(type) ? '192.168.1.1,22' : null,
        client_timeout: [3, 4, 6].includes(type) ? 60 : 0,
      });
      const good = encodeSpa(fields, cfg.keys, { digestType: cfg.digest, random: rnd });
      let bad: string;
      const op = rnd.int(7);
      const pos = rnd.int(good.length);
      switch (op) {
        case 0: {
          // Flip one bit of one character (may leave the alphabet).
          const c = good.charCodeAt(pos) ^ (1 << rnd.int(8));
          bad = good.slice(0, pos) + String.fromCharCode(c) + good.slice(pos + 1);
          break;
        }
        case 1: // Replace one character by another alphabet character.
          bad =
            good.slice(0, pos) + B64[(B64.indexOf(good[pos]) + 1 + rnd.int(63)) % 64] + good.slice(pos + 1);
          break;
        case 2: // Truncate.
          bad = good.slice(0, rnd.int(good.length));
          break;
        case 3: // Extend with base64 junk.
          bad = good + Array.from({ length: 1 + rnd.int(40) }, () => B64[rnd.int(64)]).join('');
          break;
        case 4: // Delete a run of characters.
          bad = good.slice(0, pos) + good.slice(pos + 1 + rnd.int(8));
          break;
        case 5: // Insert junk in the middle.
          bad =
            good.slice(0, pos) +
            Array.from({ length: 1 + rnd.int(8) }, () => B64[rnd.int(64)]).join('') +
            good.slice(pos);
          break;
        default: // Entirely random base64 of a random length, starting like a Rijndael packet half the time.
          bad =
            (rnd.int(2) ? '8' : '') + Array.from({ length: rnd.int(1600) }, () => B64[rnd.int(64)]).join('');
      }
      if (bad === good) continue;
      check(decodeSpa(bad, compiled), `op ${op}`);
      // The Buffer path (what the capture delivers) behaves the same.
      const raw = Buffer.from(bad, 'latin1');
      const pre = precheck(raw);
      const r = decodeSpa(preparePacket(raw), compiled);
      check(r, `op ${op} buffer`);
      if (pre !== null && !r.ok) assert.equal(r.reason, pre);
    }
    // The mutations reach deep stages, not only the wire checks.
    assert.ok((counts.hmac_mismatch ?? 0) > 100, JSON.stringify(counts));
    assert.ok(
      (counts.bad_padding ?? 0) +
        (counts.decrypt_failed ?? 0) +
        (counts.bad_digest ?? 0) +
        (counts.bad_ciphertext_length ?? 0) >
        50,
      JSON.stringify(counts),
    );
  },
);

test('random byte payloads of any length never throw out of precheck or decodeSpa', () => {
  const rnd = seededRandom('fuzz-bytes');
  const compiled = compileKeys({ key: Buffer.from('k'), hmacKey: null, hmacType: 'sha256', mode: 'cbc' });
  for (let i = 0; i < 1500; i++) {
    const b = rnd.bytes(rnd.int(2000));
    if (i % 3 === 0 && b.length > 0) b[0] = 0x38;
    assert.doesNotThrow(() => precheck(b));
    const r = decodeSpa(preparePacket(b), compiled);
    assert.equal(r.ok, false);
    assert.equal(decodeSpa(b.toString('utf8'), compiled).ok, false);
  }
});
