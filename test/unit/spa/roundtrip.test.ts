import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HashName } from '../../../src/core/model.js';
import { compileKeys, decodeSpa } from '../../../src/core/spa/decode.js';
import { encodeSpa, SpaEncodeError } from '../../../src/core/spa/encode.js';
import type { SpaFields } from '../../../src/core/spa/types.js';
import { HASH_NAMES, MODE_NAMES } from '../../../src/core/spa/types.js';
import { sampleFields, seededRandom } from './helpers.js';

const BY_TYPE: Record<number, Partial<SpaFields>> = {
  0: { message: '203.0.113.7,echo hello world' },
  1: { message: '203.0.113.7,tcp/22,udp/53' },
  2: { message: '0.0.0.0,tcp/2222', nat_access: '192.168.10.5,22' },
  3: { client_timeout: 3600 },
  4: { nat_access: 'intranet.example.lan,8443', client_timeout: 60 },
  5: { message: '203.0.113.7,tcp/55000', nat_access: '198.51.100.10,22' },
  6: { nat_access: '198.51.100.10,22', client_timeout: 65536 },
};

test('encodeSpa then decodeSpa round-trips every mode x HMAC type x digest type x message type', () => {
  const rnd = seededRandom('roundtrip');
  let n = 0;
  for (const mode of MODE_NAMES) {
    for (const hmac of [null, ...HASH_NAMES] as (HashName | null)[]) {
      const keys = {
        key: rnd.bytes(1 + rnd.int(32)),
        hmacKey: hmac === null ? null : rnd.bytes(1 + rnd.int(128)),
        hmacType: hmac ?? 'sha256',
        mode: mode,
      };
      const compiled = compileKeys(keys);
      for (const digestType of HASH_NAMES) {
        for (let type = 0; type <= 6; type++) {
          const fields = sampleFields({
            message_type: type,
            random_value: rnd.bytes(8).readBigUInt64BE().toString().padStart(20, '0').slice(-16),
            ...BY_TYPE[type],
          });
          const packet = encodeSpa(fields, keys, { digestType, random: rnd });
          const r = decodeSpa(packet, compiled);
          assert.ok(r.ok, `${mode}/${hmac}/${digestType}/${type}: ${r.ok ? '' : r.reason}`);
          assert.deepEqual(r.fields, fields);
          assert.equal(r.digestType, digestType);
          n++;
        }
      }
    }
  }
  assert.equal(n, 6 * 8 * 7 * 7);
});

test('encodeSpa round-trips a server auth field for a timeout type and a plain type', () => {
  const rnd = seededRandom('sa');
  const keys = {
    key: Buffer.from('passphrase'),
    hmacKey: Buffer.from('hmac key'),
    hmacType: 'sha1' as const,
    mode: 'ctr' as const,
  };
  for (const f of [
    sampleFields({ server_auth: 'crypt,secret' }),
    sampleFields({ message_type: 4, nat_access: '10.0.0.1,22', client_timeout: 30, server_auth: 'x' }),
  ]) {
    const r = decodeSpa(encodeSpa(f, keys, { digestType: 'sha512', random: rnd }), compileKeys(keys));
    assert.ok(r.ok);
    assert.deepEqual(r.fields, f);
  }
});

test('encodeSpa refuses fields the decoder would reject', () => {
  const rnd = seededRandom('bad');
  const keys = { key: Buffer.from('k'), hmacKey: null, hmacType: 'sha256' as const, mode: 'cbc' as const };
  const bad: Partial<SpaFields>[] = [
    { message: '203.0.113.7,icmp/0' },
    { message: '203.0.113.07,tcp/22' },
    { username: 'a:b' },
    { username: '' },
    { random_value: '123' },
    { message_type: 2, nat_access: null },
    { message_type: 7 },
    { version: '123456789' },
  ];
  for (const b of bad)
    assert.throws(
      () => encodeSpa(sampleFields(b), keys, { digestType: 'sha256', random: rnd }),
      SpaEncodeError,
      JSON.stringify(b),
    );
});

test('encodeSpa refuses an empty key and a key over 32 bytes', () => {
  const rnd = seededRandom('k');
  for (const key of [Buffer.alloc(0), Buffer.alloc(33, 7)]) {
    assert.throws(
      () =>
        encodeSpa(
          sampleFields(),
          { key, hmacKey: null, hmacType: 'sha256', mode: 'cbc' },
          { digestType: 'sha256', random: rnd },
        ),
      SpaEncodeError,
    );
  }
});

test('encodeSpa makes a different packet for each salt from the random source', () => {
  const rnd = seededRandom('salt');
  const keys = {
    key: Buffer.from('k'),
    hmacKey: Buffer.from('h'),
    hmacType: 'sha256' as const,
    mode: 'cbc' as const,
  };
  const a = encodeSpa(sampleFields(), keys, { digestType: 'sha256', random: rnd });
  const b = encodeSpa(sampleFields(), keys, { digestType: 'sha256', random: rnd });
  assert.notEqual(a, b);
  assert.match(a, /^[89+/]/);
});
