/**
 * Issue 7: PreparedPacket.shapeReason lets verification skip every HMAC for packets whose
 * shape alone rules them out. It must never rule out a packet some key could decode: checked
 * against decodeSpa with the right keys on valid packets and many mutations of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { compileKeys, decodeSpa, preparePacket } from '../../../src/core/spa/decode.js';
import { encodeSpa } from '../../../src/core/spa/encode.js';
import { HASHES, HASH_NAMES, type SpaFields } from '../../../src/core/spa/types.js';

let n = 0;
const random = { bytes: (k: number) => createHash('sha512').update(`shape${n++}`).digest().subarray(0, k) };
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const pick = (k: number) => random.bytes(4).readUInt32BE(0) % k;

function fields(msg: string): SpaFields {
  return { random_value: '1234567890123456', username: 'alice', timestamp: 1_800_000_000, version: '3.0.0', message_type: 1, message: msg, nat_access: null, server_auth: null, client_timeout: 0 };
}

test('valid packets of every HMAC type and message length pass the shape check', () => {
  for (const t of HASH_NAMES) {
    const keys = { key: Buffer.from('k'.repeat(16)), hmacKey: Buffer.from('h'.repeat(32)), hmacType: t, mode: 'cbc' as const };
    for (let len = 0; len < 40; len++) {
      const p = preparePacket(encodeSpa(fields(`10.0.0.9,tcp/${'2'.repeat(1 + (len % 5))}` + ',udp/53'.repeat(len % 7)), keys, { digestType: 'sha256', random }));
      assert.equal(p.shapeReason(HASHES[t].b64len), null, `${t} ${len}`);
      assert.equal(decodeSpa(p, compileKeys(keys)).ok, true);
    }
  }
});

test('a packet the shape check rules out never decodes under the right keys', () => {
  const keys = { key: Buffer.from('k'.repeat(16)), hmacKey: Buffer.from('h'.repeat(32)), hmacType: 'sha256' as const, mode: 'cbc' as const };
  const noHmac = { ...keys, hmacKey: null };
  let ruledOut = 0;
  for (let i = 0; i < 2000; i++) {
    const k = i % 2 ? keys : noHmac;
    const good = encodeSpa(fields('10.0.0.9,tcp/22'), k, { digestType: 'sha256', random });
    const pos = pick(good.length);
    const bad =
      i % 3 === 0
        ? good.slice(0, pos) + good.slice(pos + 1 + pick(6))
        : i % 3 === 1
          ? good.slice(0, pos) + B64[pick(64)] + good.slice(pos)
          : good.slice(0, -1) + B64[pick(64)];
    const p = preparePacket(bad);
    const shape = p.shapeReason(k.hmacKey ? 43 : 0);
    if (shape !== null) {
      ruledOut++;
      assert.equal(decodeSpa(p, compileKeys(k)).ok, false, bad);
    }
  }
  assert.ok(ruledOut > 500, `only ${ruledOut} mutations ruled out`);
});

test('random base64 junk is mostly ruled out without any HMAC', () => {
  let out = 0;
  for (let i = 0; i < 1000; i++) {
    const s = '8' + Array.from({ length: 179 + pick(80) }, () => B64[pick(64)]).join('');
    if (preparePacket(s).shapeReason(43) !== null) out++;
  }
  assert.ok(out > 900, `${out} of 1000`);
});
