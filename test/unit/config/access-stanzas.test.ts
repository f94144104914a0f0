import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS, HMAC_B64, KEY_B64, NOW, compile, messages, ok, stanza } from './helpers.js';

const FWD = 'ENABLE_IPT_FORWARDING Y\n';
const SNAT = 'ENABLE_IPT_FORWARDING Y\nENABLE_IPT_SNAT Y\n';

test('stanza has fwknopd defaults when only SOURCE and keys are given', () => {
  const r = compile('', stanza('192.168.1.0/24, 10.0.0.1'));
  const s = ok(r).stanzas[0];
  assert.equal(s.id, 'access.conf:1');
  assert.equal(s.origin, `${ACCESS}:1`);
  assert.deepEqual(s.source, [
    { net: 0xc0a80100, mask: 0xffffff00 },
    { net: 0x0a000001, mask: 0xffffffff },
  ]);
  assert.equal(s.destination, null);
  assert.equal(s.key.toString('base64'), KEY_B64);
  assert.equal(s.keyIsPassphrase, false);
  assert.equal(s.hmacKey?.toString('base64'), HMAC_B64);
  assert.equal(s.hmacType, 'sha256');
  assert.equal(s.encryptionMode, 'cbc');
  assert.equal(s.openPorts, null);
  assert.equal(s.restrictPorts, null);
  assert.equal(s.fwAccessTimeout, 30);
  assert.equal(s.maxFwTimeout, 300);
  assert.equal(s.requireUsername, null);
  assert.equal(s.requireSourceAddress, true);
  assert.equal(s.accessExpire, null);
  assert.equal(s.forceNat, null);
  assert.equal(s.forceSnat, null);
  assert.equal(s.forceMasquerade, false);
  assert.equal(s.forwardAll, false);
  assert.equal(s.disableDnat, false);
  assert.equal(s.macBinding, true);
  assert.deepEqual(r.warnings, []);
});

test('stanza reads DESTINATION, ports, username, digest type and mode', () => {
  const extra =
    'DESTINATION 203.0.113.0/255.255.255.0\nOPEN_PORTS tcp/22, UDP/53\nRESTRICT_PORTS tcp/23\nREQUIRE_USERNAME alice\nHMAC_DIGEST_TYPE SHA3_512\nENCRYPTION_MODE ctr\n';
  const s = ok(compile('', stanza('ANY', extra))).stanzas[0];
  assert.deepEqual(s.destination, [{ net: 0xcb007100, mask: 0xffffff00 }]);
  assert.deepEqual(s.openPorts, [
    { proto: 'tcp', port: 22 },
    { proto: 'udp', port: 53 },
  ]);
  assert.deepEqual(s.restrictPorts, [{ proto: 'tcp', port: 23 }]);
  assert.equal(s.requireUsername, 'alice');
  assert.equal(s.hmacType, 'sha3_512');
  assert.equal(s.encryptionMode, 'ctr');
});

test('stanza takes KEY as the exact passphrase bytes including trailing blanks, with warnings', () => {
  const r = compile('', `SOURCE ANY\nKEY pass word  \nHMAC_KEY hmac-secret\nREQUIRE_SOURCE Y\n`);
  const s = ok(r).stanzas[0];
  assert.equal(s.key.toString('utf8'), 'pass word  ');
  assert.equal(s.keyIsPassphrase, true);
  assert.equal(s.hmacKey?.toString('utf8'), 'hmac-secret');
  assert.equal(s.requireSourceAddress, true, 'REQUIRE_SOURCE is a synonym');
  const w = messages(r.warnings);
  assert.ok(w.some((m) => m.startsWith(`${ACCESS}:2: KEY ends in blanks`)));
  assert.ok(w.some((m) => m.startsWith(`${ACCESS}:2: KEY is a passphrase`)));
});

test('stanza without HMAC key or REQUIRE_SOURCE_ADDRESS compiles with fwknopd-style warnings', () => {
  const r = compile('', `SOURCE ANY\nKEY_BASE64 ${KEY_B64}\n`);
  ok(r);
  const w = messages(r.warnings);
  assert.ok(w.some((m) => m.startsWith(`${ACCESS}:1: stanza SOURCE ANY has no HMAC key`)));
  assert.ok(w.some((m) => m.startsWith(`${ACCESS}:1: stanza SOURCE ANY: REQUIRE_SOURCE_ADDRESS is not set`)));
});

test('stanza without any key is an error', () => {
  const r = compile('', 'SOURCE ANY\nREQUIRE_SOURCE_ADDRESS Y\n');
  assert.deepEqual(messages(r.errors), [
    `${ACCESS}:1: no key for stanza SOURCE ANY: set KEY_BASE64 (or KEY)`,
  ]);
});

test('stanza with __CHANGEME__ keys is an error for each key line', () => {
  const r = compile('', 'SOURCE ANY\nKEY_BASE64 __CHANGEME__\nHMAC_KEY_BASE64 __changeme__\n');
  assert.deepEqual(
    r.errors.map((e) => [e.line, /__CHANGEME__/.test(e.message)]),
    [
      [2, true],
      [3, true],
    ],
  );
});

test('stanza with identical encryption and HMAC keys is an error', () => {
  const r = compile('', `SOURCE ANY\nKEY_BASE64 ${KEY_B64}\nHMAC_KEY_BASE64 ${KEY_B64}\n`);
  assert.deepEqual(messages(r.errors), [
    `${ACCESS}:3: the encryption key and the HMAC key must not be identical (stanza SOURCE ANY)`,
  ]);
});

test('stanza key length limits: 32 bytes for Rijndael, 128 for HMAC, bad base64 refused', () => {
  const k33 = Buffer.alloc(33, 7).toString('base64');
  const h129 = Buffer.alloc(129, 9).toString('base64');
  const r = compile(
    '',
    `SOURCE ANY\nKEY_BASE64 ${k33}\nHMAC_KEY_BASE64 ${h129}\nSOURCE 10.0.0.1\nKEY_BASE64 not*base64\n`,
  );
  assert.deepEqual(
    r.errors.map((e) => e.line),
    [2, 3, 5],
  );
  assert.match(r.errors[0].message, /33 bytes; Rijndael keys are 1\.\.32 bytes/);
  assert.match(r.errors[1].message, /129 bytes; at most 128/);
  assert.match(r.errors[2].message, /not base64/);
});

test('stanza in legacy mode truncates keys longer than 16 bytes with a warning', () => {
  const r = compile(
    '',
    'SOURCE ANY\nKEY abcdefghijklmnopqrstuvwxyz\nENCRYPTION_MODE legacy\nREQUIRE_SOURCE_ADDRESS Y\n',
  );
  const s = ok(r).stanzas[0];
  assert.equal(s.encryptionMode, 'legacy');
  assert.equal(s.key.toString(), 'abcdefghijklmnop');
  assert.ok(
    messages(r.warnings).some((m) => m.startsWith(`${ACCESS}:2: truncating the encryption key to 16 bytes`)),
  );
  const short = ok(compile('', 'SOURCE ANY\nKEY testtest\nENCRYPTION_MODE LEGACY\n')).stanzas[0];
  assert.equal(short.key.toString(), 'testtest', 'padding is the codec’s job');
});

test('stanza refuses unknown and GnuPG encryption modes and unknown digest types', () => {
  const r = compile(
    '',
    `${stanza('ANY', 'ENCRYPTION_MODE asymmetric\nHMAC_DIGEST_TYPE sha224\n')}${stanza('10.0.0.1', 'ENCRYPTION_MODE pcbc\n')}`,
  );
  assert.deepEqual(
    r.errors.map((e) => e.line),
    [5, 6, 11],
  );
  assert.match(r.errors[0].message, /GnuPG is not supported/);
  assert.match(r.errors[1].message, /HMAC_DIGEST_TYPE 'sha224'/);
  assert.match(r.errors[2].message, /must be one of CBC, ECB, CFB, OFB, CTR, legacy/);
});

test('stanza timeouts below 1 become the defaults and out-of-range values are errors', () => {
  const s = ok(compile('', stanza('ANY', 'FW_ACCESS_TIMEOUT 0\nMAX_FW_TIMEOUT -0\n'))).stanzas[0];
  assert.equal(s.fwAccessTimeout, 30);
  assert.equal(s.maxFwTimeout, 300);
  const set = ok(compile('', stanza('ANY', 'FW_ACCESS_TIMEOUT 60\nMAX_FW_TIMEOUT 600\n'))).stanzas[0];
  assert.equal(set.fwAccessTimeout, 60);
  assert.equal(set.maxFwTimeout, 600);
  const bad = compile('', stanza('ANY', 'FW_ACCESS_TIMEOUT -5\nMAX_FW_TIMEOUT 9999999999\n'));
  assert.deepEqual(
    bad.errors.map((e) => e.line),
    [5, 6],
  );
});

test('stanza warns when FW_ACCESS_TIMEOUT exceeds MAX_FW_TIMEOUT and keeps the value as fwknopd does', () => {
  const r = compile('', stanza('ANY', 'FW_ACCESS_TIMEOUT 900\n'));
  assert.equal(ok(r).stanzas[0].fwAccessTimeout, 900);
  assert.ok(
    messages(r.warnings).some((m) =>
      m.startsWith(`${ACCESS}:5: FW_ACCESS_TIMEOUT 900 is above MAX_FW_TIMEOUT 300`),
    ),
  );
});

test('stanza refuses malformed SOURCE, DESTINATION and port lists', () => {
  const r = compile(
    '',
    `SOURCE 10.0.0.0/33\nKEY_BASE64 ${KEY_B64}\nDESTINATION 1.2.3\nOPEN_PORTS tcp/22,icmp/1\nRESTRICT_PORTS tcp/70000\n`,
  );
  assert.deepEqual(
    r.errors.map((e) => e.line),
    [1, 3, 4, 5],
  );
});

test('stanza ACCESS_EXPIRE is local midnight and ACCESS_EXPIRE_EPOCH is taken as is', () => {
  const s = ok(compile('', stanza('ANY', 'ACCESS_EXPIRE 12/31/2030\n'))).stanzas[0];
  assert.equal(s.accessExpire, new Date(2030, 11, 31).getTime() / 1000);
  const e = ok(compile('', stanza('ANY', 'ACCESS_EXPIRE_EPOCH 1900000000\n'))).stanzas[0];
  assert.equal(e.accessExpire, 1900000000);
  const bad = compile(
    '',
    stanza('ANY', 'ACCESS_EXPIRE 2030-12-31\nSOURCE ANY\nKEY x\nACCESS_EXPIRE 13/01/2030\n'),
  );
  assert.deepEqual(
    bad.errors.map((x) => x.line),
    [5, 8],
  );
});

test('stanza that has already expired gives a warning', () => {
  const past = Math.floor(NOW / 1000) - 10;
  const r = compile('', stanza('ANY', `ACCESS_EXPIRE_EPOCH ${past}\n`));
  ok(r);
  assert.ok(messages(r.warnings).some((m) => m.includes('has already expired')));
});

test('stanza refuses GnuPG and command execution keywords with file and line', () => {
  const r = compile(
    '',
    stanza('ANY', 'GPG_DECRYPT_ID ABCD\nENABLE_CMD_EXEC Y\nCMD_CYCLE_OPEN /bin/true\nENABLE_CMD_EXEC N\n'),
  );
  assert.deepEqual(messages(r.errors), [
    `${ACCESS}:5: GPG_DECRYPT_ID: GnuPG is not supported by spagate (use Rijndael keys: KEY_BASE64 and HMAC_KEY_BASE64)`,
    `${ACCESS}:6: ENABLE_CMD_EXEC Y: command execution is not supported by spagate`,
    `${ACCESS}:7: CMD_CYCLE_OPEN: command execution is not supported by spagate`,
  ]);
});

test('stanza refuses unknown keywords because a typo could widen access', () => {
  const r = compile('', stanza('ANY', 'OPEN_PORT tcp/22\n'));
  assert.deepEqual(messages(r.errors), [`${ACCESS}:5: unknown access.conf keyword 'OPEN_PORT'`]);
});

test('stanza repeated keyword: the last line wins with a warning', () => {
  const r = compile('', stanza('ANY', 'FW_ACCESS_TIMEOUT 10\nFW_ACCESS_TIMEOUT 20\n'));
  assert.equal(ok(r).stanzas[0].fwAccessTimeout, 20);
  assert.ok(messages(r.warnings).some((m) => m.startsWith(`${ACCESS}:6: FW_ACCESS_TIMEOUT is set again`)));
});

test('stanza FORCE_NAT needs the FORWARD chain and a valid IP and port', () => {
  const no = compile('', stanza('ANY', 'FORCE_NAT 192.168.1.5 22\n'));
  assert.match(messages(no.errors)[0], /:5: FORCE_NAT needs ENABLE_IPT_FORWARDING Y/);
  const yes = ok(compile(FWD, stanza('ANY', 'FORCE_NAT 192.168.1.5 22\n'))).stanzas[0];
  assert.deepEqual(yes.forceNat, { ip: '192.168.1.5', port: 22, implied: false });
  const localNat = ok(compile('ENABLE_IPT_LOCAL_NAT Y\n', stanza('ANY', 'FORCE_NAT 192.168.1.5 22\n')))
    .stanzas[0];
  assert.equal(localNat.forceNat?.ip, '192.168.1.5');
  const bad = compile(FWD, stanza('ANY', 'FORCE_NAT 192.168.1.5\nSOURCE ANY\nKEY x\nFORCE_NAT host 22\n'));
  assert.deepEqual(
    bad.errors.map((e) => e.line),
    [5, 8],
  );
});

test('stanza FORWARD_ALL needs the FORWARD chain', () => {
  const r = compile('', stanza('ANY', 'FORWARD_ALL Y\n'));
  assert.match(messages(r.errors)[0], /:5: FORWARD_ALL needs ENABLE_IPT_FORWARDING Y/);
  ok(compile('', stanza('ANY', 'FORWARD_ALL N\n')));
});

test('stanza FORCE_SNAT and FORCE_MASQUERADE need ENABLE_IPT_SNAT', () => {
  const r = compile(
    FWD,
    stanza('ANY', 'FORWARD_ALL Y\nDISABLE_DNAT Y\nFORCE_SNAT 198.51.100.1\n') +
      stanza('10.0.0.1', 'FORWARD_ALL Y\nDISABLE_DNAT Y\nFORCE_MASQUERADE Y\n'),
  );
  assert.deepEqual(
    r.errors.map((e) => [e.line, /ENABLE_IPT_SNAT Y/.test(e.message)]),
    [
      [7, true],
      [14, true],
    ],
  );
});

test('stanza FORCE_SNAT without FORCE_NAT or FORWARD_ALL is an error as in fwknopd', () => {
  const r = compile(SNAT, stanza('ANY', 'FORCE_SNAT 198.51.100.1\n'));
  assert.deepEqual(messages(r.errors), [
    `${ACCESS}:5: FORCE_SNAT requires FORCE_NAT or FORWARD_ALL Y in the same stanza (as in fwknopd)`,
  ]);
});

test('stanza FORCE_MASQUERADE with FORWARD_ALL implies FORCE_NAT 0.0.0.0 0', () => {
  const r = compile(SNAT, stanza('ANY', 'FORWARD_ALL Y\nDISABLE_DNAT Y\nFORCE_MASQUERADE Y\n'));
  const s = ok(r).stanzas[0];
  assert.deepEqual(s.forceNat, { ip: '0.0.0.0', port: 0, implied: true });
  assert.equal(s.forceMasquerade, true);
  assert.equal(s.forwardAll, true);
  assert.equal(s.disableDnat, true);
  assert.deepEqual(r.warnings, []);
  const snat = ok(compile(SNAT, stanza('ANY', 'FORWARD_ALL Y\nDISABLE_DNAT Y\nFORCE_SNAT 198.51.100.1\n')))
    .stanzas[0];
  assert.equal(snat.forceSnat, '198.51.100.1');
  assert.equal(snat.forceNat?.implied, true);
});

test('stanza with implied FORCE_NAT but DNAT enabled warns about DNAT to 0.0.0.0', () => {
  const r = compile(SNAT, stanza('ANY', 'FORWARD_ALL Y\nFORCE_MASQUERADE Y\n'));
  ok(r);
  assert.ok(messages(r.warnings).some((m) => m.includes('DNAT rule to 0.0.0.0')));
});

test('stanza FORWARD_ALL + DISABLE_DNAT without FORCE_* warns that fwknopd would only open INPUT', () => {
  const r = compile(SNAT, stanza('ANY', 'FORWARD_ALL Y\nDISABLE_DNAT Y\n'));
  const s = ok(r).stanzas[0];
  assert.equal(s.forceNat, null, 'the published recipe keeps no FORCE_NAT; the grant planner applies 12.7');
  assert.ok(
    messages(r.warnings).some((m) =>
      m.startsWith(
        `${ACCESS}:5: stanza SOURCE ANY: FORWARD_ALL Y + DISABLE_DNAT Y without FORCE_*: spagate grants FORWARD all + SNAT all`,
      ),
    ),
  );
});

test('stanza MAC_BINDING defaults to the fwknopd.conf setting and can be overridden per stanza', () => {
  const c = ok(compile('MAC_BINDING N\n', stanza('10.0.0.1') + stanza('10.0.0.2', 'MAC_BINDING Y\n')));
  assert.deepEqual(
    c.stanzas.map((s) => s.macBinding),
    [false, true],
  );
});
