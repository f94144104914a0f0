import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { b64nopad, decodeB64Strict, isCanonicalB64 } from '../../../src/core/spa/base64.js';
import {
  deriveKeyIv,
  effectiveKey,
  HmacKey,
  pkcs7Pad,
  pkcs7PadLength,
} from '../../../src/core/spa/crypto.js';
import { HASHES, HASH_NAMES } from '../../../src/core/spa/types.js';
import { seededRandom } from './helpers.js';

test('HmacKey equals createHmac for every type and key lengths around each block size', () => {
  const rnd = seededRandom('hmac');
  for (const t of HASH_NAMES) {
    for (const len of [0, 1, 16, 32, 63, 64, 65, 71, 72, 73, 127, 128, 129, 135, 136, 137, 200]) {
      const key = rnd.bytes(len);
      const msg = rnd.bytes(1 + rnd.int(300));
      const k = new HmacKey(t, key);
      const want = createHmac(HASHES[t].node, key).update(msg).digest();
      assert.deepEqual(k.mac(msg), want, `${t} key ${len}`);
      // The key is reusable, and the MAC fills exactly the b64 length of the table.
      assert.deepEqual(k.mac(msg), want);
      assert.equal(k.mac(msg).length, k.macLen);
      assert.equal(b64nopad(want).length, HASHES[t].b64len);
    }
  }
});

test('deriveKeyIv reproduces the spec worked example (pass-short)', () => {
  const { aesKey, iv } = deriveKeyIv(Buffer.from('fwknoptest'), Buffer.from('31c750fa66a4655c', 'hex'));
  assert.equal(aesKey.toString('hex'), '6328298b99f3139ea8479fd3f12c96ef38f44c6a62fbdc4f5ccd19f84feeae5c');
  assert.equal(iv.toString('hex'), 'deee9a71d68587c48fccce449bceb75a');
});

test('effectiveKey pads legacy keys with 0 to 16 bytes and truncates longer ones', () => {
  assert.equal(effectiveKey(Buffer.from('testtest'), 'legacy')!.toString(), 'testtest00000000');
  assert.equal(effectiveKey(Buffer.from('abcdefghijklmnopqrst'), 'legacy')!.toString(), 'abcdefghijklmnop');
  assert.equal(effectiveKey(Buffer.from('testtest'), 'cbc')!.toString(), 'testtest');
});

test('effectiveKey refuses empty keys and keys over 32 bytes', () => {
  assert.equal(effectiveKey(Buffer.alloc(0), 'cbc'), null);
  assert.equal(effectiveKey(Buffer.alloc(0), 'legacy'), null);
  assert.equal(effectiveKey(Buffer.alloc(33, 1), 'ctr'), null);
  assert.notEqual(effectiveKey(Buffer.alloc(32, 1), 'ctr'), null);
});

test('pkcs7PadLength accepts what pkcs7Pad makes and refuses broken padding', () => {
  for (let n = 0; n < 40; n++) {
    const padded = pkcs7Pad(Buffer.alloc(n, 0x41));
    assert.equal(padded.length % 16, 0);
    assert.equal(pkcs7PadLength(padded), padded.length - n);
  }
  assert.equal(pkcs7PadLength(Buffer.from([1, 2, 3, 0])), -1);
  assert.equal(pkcs7PadLength(Buffer.from([1, 2, 3, 17])), -1);
  assert.equal(pkcs7PadLength(Buffer.from([1, 3, 2, 2, 3])), -1);
  assert.equal(pkcs7PadLength(Buffer.alloc(0)), -1);
});

test('decodeB64Strict refuses what Buffer.from would silently accept', () => {
  assert.equal(decodeB64Strict('QUJD!REVG'), null);
  assert.equal(decodeB64Strict('QUJD-_'), null);
  assert.equal(decodeB64Strict('QUJDRA=='), null);
  assert.equal(decodeB64Strict('QUJDR'), null);
  assert.deepEqual(decodeB64Strict('QUJDRA'), Buffer.from('ABCD'));
});

test('isCanonicalB64 refuses non-zero leftover bits in the last character', () => {
  assert.equal(isCanonicalB64('QUJDRA'), true);
  assert.equal(isCanonicalB64('QUJDRB'), false);
  assert.equal(isCanonicalB64('QUI'), true);
  assert.equal(isCanonicalB64('QUJ'), false);
});
