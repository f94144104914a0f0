import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileKeys, decodeSpa, preparePacket, replayDigest } from '../../../src/core/spa/decode.js';
import { encodeMessage } from '../../../src/core/spa/encode.js';
import { MESSAGE_TYPE_NAMES, parseHashName } from '../../../src/core/spa/types.js';
import { VECTORS, vectorKeys } from './helpers.js';

test('fixture file holds the 58 vectors of fwknop 2.6.10', () => {
  assert.equal(VECTORS.length, 58);
});

for (const v of VECTORS) {
  test(`decodeSpa returns every expected field for vector ${v.id}`, () => {
    const r = decodeSpa(v.spa_packet, compileKeys(vectorKeys(v)));
    assert.ok(r.ok, `rejected: ${r.ok ? '' : r.reason}`);
    const { message_type_name, ...expected } = v.expected;
    assert.deepEqual(r.fields, expected);
    assert.equal(MESSAGE_TYPE_NAMES[r.fields.message_type], message_type_name);
    assert.equal(r.digestType, parseHashName(v.digest_type.name));
    // The re-encoded message equals what the client printed as "Encoded Data".
    assert.equal(encodeMessage(r.fields), v.intermediate.encoded_data);
    if (v.hmac_key !== null) assert.ok(v.spa_packet.endsWith(v.intermediate.hmac));
  });
}

test('decodeSpa rejects a vector when the stanza uses another encryption mode', () => {
  const v = VECTORS.find((x) => x.id === 'mode-cfb')!;
  const r = decodeSpa(v.spa_packet, compileKeys({ ...vectorKeys(v), mode: 'cbc' }));
  assert.deepEqual(r, { ok: false, reason: 'decrypt_failed' });
});

test('decodeSpa rejects a vector with hmac_mismatch when the stanza has another HMAC type', () => {
  const v = VECTORS.find((x) => x.id === 'hmac-sha3_256')!;
  const r = decodeSpa(v.spa_packet, compileKeys({ ...vectorKeys(v), hmacType: 'sha256' }));
  assert.deepEqual(r, { ok: false, reason: 'hmac_mismatch' });
});

test('decodeSpa rejects an HMAC vector when the stanza has no HMAC key', () => {
  const v = VECTORS.find((x) => x.id === 'hmac-sha256')!;
  const r = decodeSpa(v.spa_packet, compileKeys({ ...vectorKeys(v), hmacKey: null }));
  assert.equal(r.ok, false);
});

test('decodeSpa rejects a packet without HMAC when the stanza requires one', () => {
  const v = VECTORS.find((x) => x.id === 'nohmac-cbc-b64')!;
  const r = decodeSpa(v.spa_packet, compileKeys({ ...vectorKeys(v), hmacKey: Buffer.from('some hmac key') }));
  assert.deepEqual(r, { ok: false, reason: 'hmac_mismatch' });
});

test('a 16-byte legacy key packet decodes as plain CBC too', () => {
  const v = VECTORS.find((x) => x.id === 'nohmac-legacy-16')!;
  assert.equal(decodeSpa(v.spa_packet, compileKeys({ ...vectorKeys(v), mode: 'cbc' })).ok, true);
});

test('a short legacy key packet does not decode as CBC', () => {
  const v = VECTORS.find((x) => x.id === 'nohmac-legacy-short')!;
  assert.equal(decodeSpa(v.spa_packet, compileKeys({ ...vectorKeys(v), mode: 'cbc' })).ok, false);
});

test('replayDigest matches the spec example for vector hmac-sha256', () => {
  const v = VECTORS.find((x) => x.id === 'hmac-sha256')!;
  assert.equal(replayDigest(v.spa_packet), 'QrM+NztKhxVKI7vYKLCLs0GXdlI4bWcPzraiHdY7+J4');
  assert.equal(replayDigest(Buffer.from(v.spa_packet)), 'QrM+NztKhxVKI7vYKLCLs0GXdlI4bWcPzraiHdY7+J4');
});

test('a prepared packet decodes the same under every stanza it is tried with', () => {
  const p = preparePacket(Buffer.from(VECTORS[0].spa_packet));
  for (const v of VECTORS.slice(1, 8)) assert.equal(decodeSpa(p, compileKeys(vectorKeys(v))).ok, false);
  assert.equal(decodeSpa(p, compileKeys(vectorKeys(VECTORS[0]))).ok, true);
});
