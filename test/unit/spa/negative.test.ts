import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileKeys, decodeSpa, precheck, preparePacket } from '../../../src/core/spa/decode.js';
import { parseAccessMessage, parseNatAccess, parsePlaintext } from '../../../src/core/spa/fields.js';
import { b64nopad } from '../../../src/core/spa/base64.js';
import { aesRaw, deriveKeyIv, HmacKey, innerDigest, pkcs7Pad } from '../../../src/core/spa/crypto.js';
import { encodeSpa, sealPlaintext } from '../../../src/core/spa/encode.js';
import type { SpaKeys } from '../../../src/core/spa/types.js';
import { KEYS_B64, sampleFields, seededRandom } from './helpers.js';

const rnd = seededRandom('negative');
const NOHMAC: SpaKeys = { ...KEYS_B64, hmacKey: null };
const u = (s: string) => b64nopad(s);

/** A plaintext with a correct SHA-256 digest over the given encoded message. */
function withDigest(e: string): string {
  return `${e}:${innerDigest('sha256', e)}`;
}

/** Encoded message from parts; defaults make a valid type-1 message. */
function msg(
  o: {
    rand?: string;
    user?: string;
    ts?: string;
    ver?: string;
    type?: string;
    m?: string;
    extra?: string[];
  } = {},
): string {
  return [
    o.rand ?? '1234567890123456',
    o.user ?? u('alice'),
    o.ts ?? '1796324772',
    o.ver ?? '3.0.0',
    o.type ?? '1',
    o.m ?? u('203.0.113.7,tcp/22'),
    ...(o.extra ?? []),
  ].join(':');
}

function decodeSealed(plaintext: string, keys: SpaKeys = KEYS_B64) {
  return decodeSpa(sealPlaintext(plaintext, keys, rnd.bytes(8)), compileKeys(keys));
}

/** A packet body made of arbitrary blob bytes (already prefixed form stripped) plus a valid HMAC. */
function withHmac(bodyWithPrefix: string, keys: SpaKeys = KEYS_B64): string {
  const mac = b64nopad(new HmacKey(keys.hmacType, keys.hmacKey!).mac(Buffer.from(bodyWithPrefix, 'latin1')));
  return bodyWithPrefix.slice(10) + mac;
}

function blobText(plain: Buffer, keys: SpaKeys = KEYS_B64, pad = true): string {
  const salt = rnd.bytes(8);
  const { aesKey, iv } = deriveKeyIv(keys.key, salt);
  const ct = aesRaw('encrypt', keys.mode, aesKey, iv, pad ? pkcs7Pad(plain) : plain);
  return b64nopad(Buffer.concat([Buffer.from('Salted__'), salt, ct]));
}

const valid = encodeSpa(sampleFields(), KEYS_B64, { digestType: 'sha256', random: rnd });

test('the baseline packet of these tests decodes', () => {
  assert.equal(decodeSpa(valid, compileKeys(KEYS_B64)).ok, true);
  assert.equal(decodeSealed(withDigest(msg())).ok, true);
});

test('precheck rejects packets outside 140..1499 characters', () => {
  assert.equal(precheck(Buffer.from('8'.repeat(139))), 'too_short');
  assert.equal(precheck(Buffer.from('8'.repeat(140))), null);
  assert.equal(precheck(Buffer.from('8'.repeat(1499))), null);
  assert.equal(precheck(Buffer.from('8'.repeat(1500))), 'too_long');
  assert.equal(precheck(Buffer.from('8'.repeat(460))), null);
});

test('precheck rejects characters outside the base64 alphabet, padding included', () => {
  for (const c of ['-', '_', '=', ' ', '\n', '\0', '\xe9']) {
    assert.equal(
      precheck(Buffer.from(valid.slice(0, 100) + c + valid.slice(101), 'latin1')),
      'bad_base64',
      JSON.stringify(c),
    );
  }
});

test('precheck drops a packet that carries the U2FsdGVkX1 prefix', () => {
  assert.equal(precheck(Buffer.from('U2FsdGVkX1' + valid)), 'prefix_not_allowed');
});

test('precheck rejects a packet that cannot start a Rijndael blob', () => {
  assert.equal(precheck(Buffer.from('A' + valid.slice(1))), 'not_rijndael');
  for (const c of '89+/') assert.equal(precheck(Buffer.from(c + valid.slice(1))), null);
});

test('decodeSpa applies the same wire checks to strings, including non-Latin-1 characters', () => {
  assert.deepEqual(decodeSpa('8'.repeat(10), compileKeys(KEYS_B64)), { ok: false, reason: 'too_short' });
  assert.deepEqual(decodeSpa(valid.slice(0, 150) + '\u2603' + valid.slice(151), compileKeys(KEYS_B64)), {
    ok: false,
    reason: 'bad_base64',
  });
  assert.equal(preparePacket(valid).reason, null);
});

test('decodeSpa reports bad_key for a stanza key longer than 32 bytes', () => {
  assert.deepEqual(decodeSpa(valid, compileKeys({ ...KEYS_B64, key: Buffer.alloc(33, 1) })), {
    ok: false,
    reason: 'bad_key',
  });
});

test('decodeSpa rejects a changed HMAC, a changed body and a wrong HMAC key', () => {
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const k = compileKeys(KEYS_B64);
  assert.deepEqual(decodeSpa(flip(valid, valid.length - 1), k), { ok: false, reason: 'hmac_mismatch' });
  assert.deepEqual(decodeSpa(flip(valid, 50), k), { ok: false, reason: 'hmac_mismatch' });
  assert.deepEqual(decodeSpa(valid, compileKeys({ ...KEYS_B64, hmacKey: Buffer.from('other') })), {
    ok: false,
    reason: 'hmac_mismatch',
  });
});

test('decodeSpa rejects an HMAC whose last character has non-zero leftover bits', () => {
  // The same MAC bytes in a non-canonical text: fwknopd compares text, and so do we.
  const last = valid[valid.length - 1];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const twin = alphabet[alphabet.indexOf(last) + 1];
  assert.deepEqual(decodeSpa(valid.slice(0, -1) + twin, compileKeys(KEYS_B64)), {
    ok: false,
    reason: 'hmac_mismatch',
  });
});

test('decodeSpa rejects an authenticated body that is not canonical base64', () => {
  const body = blobText(Buffer.from(withDigest(msg())));
  // Drop 3 characters: length mod 4 becomes 1 (43 + 16k*4/3 pattern); HMAC is valid over it.
  const bad =
    body.length % 4 === 0 ? body.slice(0, -3) : body.slice(0, body.length - ((body.length % 4) + 3));
  assert.equal(bad.length % 4, 1);
  assert.deepEqual(decodeSpa(withHmac(bad), compileKeys(KEYS_B64)), { ok: false, reason: 'bad_base64' });
});

test('decodeSpa rejects a non-canonical ciphertext text without HMAC (replay-digest twin)', () => {
  // Pick a plaintext length whose base64 text has leftover bits in its last character.
  let p = '';
  for (let n = 1; n < 8 && (p === '' || (p.length + 10) % 4 === 0); n++)
    p = sealPlaintext(withDigest(msg({ ver: 'x'.repeat(n) })), NOHMAC, rnd.bytes(8));
  assert.notEqual((p.length + 10) % 4, 0);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const twin = alphabet[alphabet.indexOf(p[p.length - 1]) + 1];
  assert.equal(decodeSpa(p, compileKeys(NOHMAC)).ok, true);
  assert.deepEqual(decodeSpa(p.slice(0, -1) + twin, compileKeys(NOHMAC)), {
    ok: false,
    reason: 'bad_base64',
  });
});

test('decodeSpa rejects a ciphertext that is not whole 16-byte blocks', () => {
  const body = blobText(Buffer.from(withDigest(msg())));
  assert.deepEqual(decodeSpa(withHmac(body.slice(0, -4)), compileKeys(KEYS_B64)), {
    ok: false,
    reason: 'bad_ciphertext_length',
  });
  const p = sealPlaintext(withDigest(msg()), NOHMAC, rnd.bytes(8));
  assert.deepEqual(decodeSpa(p.slice(0, -4), compileKeys(NOHMAC)), {
    ok: false,
    reason: 'bad_ciphertext_length',
  });
});

test('decodeSpa reports decrypt_failed for a wrong encryption key or mode', () => {
  assert.deepEqual(decodeSpa(valid, compileKeys({ ...KEYS_B64, key: Buffer.from('wrong') })), {
    ok: false,
    reason: 'decrypt_failed',
  });
  for (const mode of ['ecb', 'cfb', 'ofb', 'ctr'] as const) {
    assert.deepEqual(
      decodeSpa(valid, compileKeys({ ...KEYS_B64, mode })),
      { ok: false, reason: 'decrypt_failed' },
      mode,
    );
  }
});

test('decodeSpa rejects invalid PKCS#7 padding', () => {
  const t = Buffer.from(withDigest(msg()));
  const padLen = 16 - (t.length % 16);
  const padded = Buffer.concat([t, Buffer.alloc(padLen, padLen)]);
  padded[padded.length - 1] = 0; // 0 is never a valid pad length
  assert.deepEqual(decodeSpa(withHmac(blobText(padded, KEYS_B64, false)), compileKeys(KEYS_B64)), {
    ok: false,
    reason: 'bad_padding',
  });
  padded[padded.length - 1] = padLen === 1 ? 2 : padLen;
  padded[padded.length - 2] = 0x41; // inconsistent pad bytes (pad length >= 2)
  if (padLen === 1) padded[padded.length - 2] = 0x41;
  assert.deepEqual(decodeSpa(withHmac(blobText(padded, KEYS_B64, false)), compileKeys(KEYS_B64)), {
    ok: false,
    reason: 'bad_padding',
  });
});

test('parsePlaintext rejects plaintexts shorter than 36 bytes (such packets fail the wire length first)', () => {
  assert.deepEqual(parsePlaintext('1234567890123456:short'), { ok: false, reason: 'bad_plaintext_length' });
  assert.deepEqual(decodeSealed('1234567890123456:short'), { ok: false, reason: 'too_short' });
});

test('parsePlaintext rejects plaintexts longer than 1499 bytes', () => {
  assert.equal((parsePlaintext(withDigest(msg({ ver: 'x' }))) as { ok: boolean }).ok, true);
  assert.deepEqual(parsePlaintext(withDigest(msg()) + 'A'.repeat(1500)), {
    ok: false,
    reason: 'bad_plaintext_length',
  });
});

test('decodeSpa rejects non-printable bytes anywhere in the plaintext', () => {
  for (const bad of ['\0', '\x01', '\x7f', '\x80', '\xff', '\t']) {
    const e = msg({ ver: `3.0${bad}` });
    const t = Buffer.from(withDigest(e), 'latin1');
    assert.deepEqual(
      decodeSealed(t.toString('latin1')),
      { ok: false, reason: 'bad_plaintext_chars' },
      JSON.stringify(bad),
    );
  }
});

const cases: [string, string, string][] = [
  ['too few fields', '1234567890123456:' + u('alice') + ':1796324772:3.0.0:1', 'too_few_fields'],
  ['ten fields', msg({ extra: ['a', 'b', 'c', 'd'] }), 'too_many_fields'],
  ['type 1 with two extra fields', msg({ extra: [u('sa'), '30'] }), 'too_many_fields'],
  [
    'type 0 with two extra fields',
    msg({ type: '0', m: u('1.2.3.4,ls'), extra: [u('sa'), u('x')] }),
    'too_many_fields',
  ],
  [
    'type 2 with four fields after the type',
    msg({ type: '2', extra: [u('10.0.0.1,22'), u('sa'), u('x')] }),
    'too_many_fields',
  ],
  [
    'type 4 with five fields after the type',
    msg({ type: '4', extra: [u('10.0.0.1,22'), u('sa'), '5', '6'] }),
    'too_many_fields',
  ],
  ['empty username', msg({ user: '' }), 'bad_field_username'],
  ['username over 64 encoded characters', msg({ user: u('a'.repeat(49)) }), 'bad_field_username'],
  ['username not base64', msg({ user: 'YWxp!2U' }), 'bad_field_username'],
  ['username of length 1 mod 4', msg({ user: 'YWxpY' }), 'bad_field_username'],
  ['username with a slash', msg({ user: u('a/b') }), 'bad_field_username'],
  ['username with a semicolon', msg({ user: u('a;b') }), 'bad_field_username'],
  ['username with angle bracket', msg({ user: u('a<b') }), 'bad_field_username'],
  ['username with NUL', msg({ user: u('ab\0') }), 'bad_field_username'],
  ['username with a control char', msg({ user: u('a\x1bb') }), 'bad_field_username'],
  ['timestamp with a letter', msg({ ts: '17963247a2' }), 'bad_field_timestamp'],
  ['negative timestamp', msg({ ts: '-1796324772' }), 'bad_field_timestamp'],
  ['timestamp of 13 digits', msg({ ts: '1234567890123' }), 'bad_field_timestamp'],
  ['timestamp over 32 bits', msg({ ts: '4294967296' }), 'bad_field_timestamp'],
  ['empty timestamp', msg({ ts: '' }), 'bad_field_timestamp'],
  ['timestamp with a blank', msg({ ts: ' 1796324772' }), 'bad_field_timestamp'],
  ['empty version', msg({ ver: '' }), 'bad_field_version'],
  ['version of 9 characters', msg({ ver: '3.0.0.0.0' }), 'bad_field_version'],
  ['type 7', msg({ type: '7' }), 'bad_field_type'],
  ['type of 3 digits', msg({ type: '001' }), 'bad_field_type'],
  ['type with a sign', msg({ type: '+1' }), 'bad_field_type'],
  ['empty type', msg({ type: '' }), 'bad_field_type'],
  ['empty message', msg({ m: '' }), 'bad_field_message'],
  ['message not base64', msg({ m: 'MjAz!' }), 'bad_field_message'],
  [
    'message over 256 encoded characters',
    msg({ m: u('1.2.3.4,tcp/22' + ',tcp/22'.repeat(30)) }),
    'bad_field_message',
  ],
  ['icmp access', msg({ m: u('203.0.113.7,icmp/0') }), 'bad_field_message'],
  ['none access', msg({ m: u('203.0.113.7,none/0') }), 'bad_field_message'],
  ['upper-case protocol', msg({ m: u('203.0.113.7,TCP/22') }), 'bad_field_message'],
  ['port 0', msg({ m: u('203.0.113.7,tcp/0') }), 'bad_field_message'],
  ['port 65536', msg({ m: u('203.0.113.7,tcp/65536') }), 'bad_field_message'],
  ['port of six digits', msg({ m: u('203.0.113.7,tcp/000022') }), 'bad_field_message'],
  ['trailing comma', msg({ m: u('203.0.113.7,tcp/22,') }), 'bad_field_message'],
  ['no access part', msg({ m: u('203.0.113.7,') }), 'bad_field_message'],
  ['no comma', msg({ m: u('203.0.113.7') }), 'bad_field_message'],
  ['message with a control char', msg({ m: u('203.0.113.7,tcp/22\n') }), 'bad_field_message'],
  ['octal allow IP', msg({ m: u('010.1.1.1,tcp/22') }), 'bad_allow_ip'],
  ['three-part allow IP', msg({ m: u('1.2.3,tcp/22') }), 'bad_allow_ip'],
  ['allow IP octet 256', msg({ m: u('256.1.1.1,tcp/22') }), 'bad_allow_ip'],
  ['hostname as allow IP', msg({ m: u('example.com,tcp/22') }), 'bad_allow_ip'],
  ['command without command', msg({ type: '0', m: u('203.0.113.7,') }), 'bad_field_message'],
  ['command with bad IP', msg({ type: '0', m: u('host,ls') }), 'bad_allow_ip'],
  ['type 2 without NAT', msg({ type: '2' }), 'bad_field_nat'],
  ['NAT without comma', msg({ type: '2', extra: [u('10.0.0.1')] }), 'bad_field_nat'],
  ['NAT with two commas', msg({ type: '2', extra: [u('10.0.0.1,22,23')] }), 'bad_field_nat'],
  ['NAT with empty host', msg({ type: '2', extra: [u(',22')] }), 'bad_field_nat'],
  ['NAT host of 71 characters', msg({ type: '5', extra: [u('h'.repeat(71) + ',22')] }), 'bad_field_nat'],
  ['NAT host with a space', msg({ type: '2', extra: [u('a b,22')] }), 'bad_field_nat'],
  ['NAT host with a quote', msg({ type: '2', extra: [u("a'b,22")] }), 'bad_field_nat'],
  ['NAT port 0', msg({ type: '2', extra: [u('10.0.0.1,0')] }), 'bad_field_nat'],
  ['NAT port not digits', msg({ type: '2', extra: [u('10.0.0.1,ssh')] }), 'bad_field_nat'],
  ['NAT not base64', msg({ type: '6', extra: ['!!', '30'] }), 'bad_field_nat'],
  ['empty server auth', msg({ extra: [''] }), 'bad_field_server_auth'],
  ['server auth not base64', msg({ extra: ['c2E!'] }), 'bad_field_server_auth'],
  ['server auth decoding to a control char', msg({ extra: [u('\x01x')] }), 'bad_field_server_auth'],
  ['type 3 without timeout', msg({ type: '3' }), 'bad_field_timeout'],
  ['type 4 without timeout', msg({ type: '4', extra: [u('10.0.0.1,22')] }), 'bad_field_timeout'],
  ['timeout not digits', msg({ type: '3', extra: ['3O'] }), 'bad_field_timeout'],
  ['timeout 65537', msg({ type: '3', extra: ['65537'] }), 'bad_field_timeout'],
  ['empty timeout', msg({ type: '6', extra: [u('10.0.0.1,22'), ''] }), 'bad_field_timeout'],
  ['negative timeout', msg({ type: '3', extra: ['-1'] }), 'bad_field_timeout'],
];

for (const [name, e, reason] of cases) {
  test(`decodeSpa rejects with ${reason} when ${name}`, () => {
    assert.deepEqual(decodeSealed(withDigest(e)), { ok: false, reason });
  });
}

test('decodeSpa rejects with bad_field_random only through the plaintext parser (decrypt check comes first)', () => {
  assert.deepEqual(decodeSealed(withDigest(msg({ rand: '123456789012345a' }))), {
    ok: false,
    reason: 'decrypt_failed',
  });
  assert.deepEqual(parsePlaintext(withDigest(msg({ rand: '123456789012345a' }))), {
    ok: false,
    reason: 'bad_field_random',
  });
  assert.deepEqual(decodeSealed(withDigest(msg({ rand: '12345678901234567' }))), {
    ok: false,
    reason: 'decrypt_failed',
  });
  assert.deepEqual(parsePlaintext(withDigest(msg({ rand: '12345678901234567' }))), {
    ok: false,
    reason: 'bad_field_random',
  });
  assert.deepEqual(parsePlaintext(withDigest(msg({ rand: '123456789012345' }))), {
    ok: false,
    reason: 'bad_field_random',
  });
});

test('decodeSpa checks the digest: wrong length, wrong value, and the SHA3 fallback for 43 characters', () => {
  assert.deepEqual(decodeSealed(`${msg()}:${'A'.repeat(40)}`), { ok: false, reason: 'bad_digest_length' });
  assert.deepEqual(decodeSealed(`${msg()}:${innerDigest('sha256', msg({ ver: '3.0.1' }))}`), {
    ok: false,
    reason: 'bad_digest',
  });
  const r = decodeSealed(`${msg()}:${innerDigest('sha3_256', msg())}`);
  assert.ok(r.ok);
  assert.equal(r.digestType, 'sha3_256');
});

test('decodeSpa accepts the optional fields the spec allows', () => {
  const accept = [
    msg({ extra: [u('server-auth')] }),
    msg({ type: '3', extra: ['0'] }),
    msg({ type: '3', extra: [u('sa'), '65536'] }),
    msg({ type: '4', extra: [u('10.0.0.1,22'), u('sa'), '30'] }),
    msg({ type: '5', extra: [u('host-name.lan,22')] }),
    msg({ m: u('0.0.0.0,tcp/022,udp/53') }),
    msg({ type: '0', m: u('203.0.113.7,echo hi') }),
    msg({ type: '01' }),
    msg({ user: u('Jane Q. Public!') }),
    msg({ ts: '0' }),
    msg({ ver: '2.0.3' }),
  ];
  for (const e of accept) assert.equal(decodeSealed(withDigest(e)).ok, true, e);
});

test('parseAccessMessage returns the allow IP and the proto/port list', () => {
  assert.deepEqual(parseAccessMessage('203.0.113.7,tcp/22,udp/053'), {
    ok: true,
    allowIp: '203.0.113.7',
    access: [
      { proto: 'tcp', port: 22 },
      { proto: 'udp', port: 53 },
    ],
  });
});

test('parseNatAccess splits host and port', () => {
  assert.deepEqual(parseNatAccess('intranet.example.lan,8443'), {
    ok: true,
    host: 'intranet.example.lan',
    port: 8443,
  });
  assert.deepEqual(parseNatAccess('intranet.example.lan'), { ok: false, reason: 'bad_field_nat' });
});
