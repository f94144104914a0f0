import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { compileStanzas, verifyPacket, type Verdict } from '../../../src/core/verify.js';
import { encodeSpa } from '../../../src/core/spa/encode.js';
import type { SpaFields } from '../../../src/core/spa/types.js';
import type { AccessStanza } from '../../../src/core/config-model.js';
import { parseIpv4Net } from '../../../src/core/ipv4.js';
import { accessFields, serverConfig, stanza } from '../../helpers/fixtures.js';

const NOW = 1_800_000_000_000;
let counter = 0;
// Deterministic "randomness" so failures reproduce.
const random = { bytes: (n: number) => createHash('sha512').update(String(counter++)).digest().subarray(0, n) };

function fields(over: Partial<SpaFields> = {}): SpaFields {
  return accessFields(NOW / 1000, { random_value: '1234567890123456', ...over });
}

function packetFor(s: AccessStanza, f: SpaFields): Buffer {
  const text = encodeSpa(f, { key: s.key, hmacKey: s.hmacKey, hmacType: s.hmacType, mode: s.encryptionMode }, { digestType: 'sha256', random });
  return Buffer.from(text, 'latin1');
}

function verify(stanzas: AccessStanza[], payload: Buffer, o: { src?: string; seen?: Set<string>; now?: number; server?: Parameters<typeof serverConfig>[0]; prefer?: string } = {}): Verdict {
  return verifyPacket({
    packet: { payload, srcIp: o.src ?? '10.0.0.9', srcPort: 40000, dstIp: '10.0.0.1', dstPort: 62201, srcMac: 'aa:bb:cc:00:00:09', proto: 17, receivedAt: o.now ?? NOW },
    stanzas: compileStanzas(stanzas),
    options: serverConfig(o.server),
    now: o.now ?? NOW,
    seen: (d) => o.seen?.has(d) ?? false,
    preferStanzaId: o.prefer ?? null,
  });
}

function reason(v: Verdict): string {
  return v.kind === 'reject' ? v.reason : v.kind;
}

test('verifyPacket grants a valid packet and opens for the packet source when the allow IP is 0.0.0.0', () => {
  const s = stanza();
  const v = verify([s], packetFor(s, fields()));
  assert.equal(v.kind, 'grant');
  if (v.kind !== 'grant') return;
  assert.equal(v.rules.src, '10.0.0.9');
  assert.equal(v.rules.mac, 'aa:bb:cc:00:00:09');
  assert.deepEqual(v.rules.input, [{ proto: 'tcp', port: 22 }]);
  assert.equal(v.timeout, 30);
});

test('verifyPacket rejects junk before any stanza is tried', () => {
  const v = verify([stanza()], Buffer.from('x'.repeat(200)));
  assert.equal(v.kind, 'reject');
  assert.equal(v.kind === 'reject' && v.burnDigest, false);
});

test('verifyPacket rejects a source no stanza lists', () => {
  const s = stanza({ source: [parseIpv4Net('192.168.0.0/16')!] });
  assert.equal(reason(verify([s], packetFor(s, fields()))), 'no_stanza_for_source');
});

test('verifyPacket rejects a replayed digest', () => {
  const s = stanza();
  const p = packetFor(s, fields());
  const first = verify([s], p);
  assert.equal(first.kind, 'grant');
  assert.equal(reason(verify([s], p, { seen: new Set([first.digest]) })), 'replay');
});

test('verifyPacket reports an HMAC mismatch for the wrong keys and burns nothing', () => {
  const other = stanza({ hmacKey: Buffer.from('other-hmac-key') });
  const v = verify([stanza()], packetFor(other, fields()));
  assert.equal(reason(v), 'hmac_mismatch');
  assert.equal(v.kind === 'reject' && v.burnDigest, false);
});

test('verifyPacket refuses stale and future timestamps but burns the digest', () => {
  const s = stanza();
  const old = verify([s], packetFor(s, fields({ timestamp: NOW / 1000 - 121 })));
  assert.equal(reason(old), 'stale_timestamp');
  assert.equal(old.kind === 'reject' && old.burnDigest, true);
  assert.equal(reason(verify([s], packetFor(s, fields({ timestamp: NOW / 1000 + 121 })))), 'stale_timestamp');
  assert.equal(verify([s], packetFor(s, fields({ timestamp: NOW / 1000 - 121 })), { server: { enableSpaPacketAging: false } }).kind, 'grant');
});

test('verifyPacket applies REQUIRE_SOURCE_ADDRESS, REQUIRE_USERNAME and the port lists', () => {
  assert.equal(reason(verify([stanza({ requireSourceAddress: true })], packetFor(stanza(), fields()))), 'source_required');
  assert.equal(verify([stanza({ requireSourceAddress: true })], packetFor(stanza(), fields({ message: '10.0.0.9,tcp/22' }))).kind, 'grant');
  assert.equal(reason(verify([stanza({ requireUsername: 'bob' })], packetFor(stanza(), fields()))), 'username_mismatch');
  assert.equal(reason(verify([stanza({ restrictPorts: [{ proto: 'tcp', port: 22 }] })], packetFor(stanza(), fields()))), 'port_restricted');
  assert.equal(
    reason(verify([stanza({ openPorts: [{ proto: 'tcp', port: 22 }] })], packetFor(stanza(), fields({ message: '0.0.0.0,tcp/22,udp/53' })))),
    'port_not_open',
  );
});

test('verifyPacket refuses command messages and NAT requests when NAT is not enabled', () => {
  assert.equal(reason(verify([stanza()], packetFor(stanza(), fields({ message_type: 0, message: '0.0.0.0,echo hi' })))), 'command_refused');
  const nat = fields({ message_type: 2, message: '0.0.0.0,tcp/80', nat_access: '10.1.1.5,22' });
  assert.equal(reason(verify([stanza()], packetFor(stanza(), nat), { server: { enableIptForwarding: false } })), 'nat_disabled');
  assert.equal(verify([stanza()], packetFor(stanza(), nat)).kind, 'grant');
});

test('verifyPacket skips an expired stanza and uses the next one that decrypts', () => {
  const expired = stanza({ id: 'a:1', accessExpire: NOW / 1000 - 1 });
  const live = stanza({ id: 'a:2' });
  const v = verify([expired, live], packetFor(live, fields()));
  assert.equal(v.kind === 'grant' && v.stanza.id, 'a:2');
  assert.equal(reason(verify([expired], packetFor(live, fields()))), 'stanza_expired');
});

test('verifyPacket reports the policy refusal of the stanza that decrypted, not the HMAC mismatch of others', () => {
  const a = stanza({ id: 'a:1', hmacKey: Buffer.from('key-a-hmac'), requireUsername: 'bob' });
  const b = stanza({ id: 'a:2', hmacKey: Buffer.from('key-b-hmac') });
  const v = verify([a, b], packetFor(a, fields()));
  assert.equal(reason(v), 'username_mismatch');
  assert.equal(v.kind === 'reject' && v.burnDigest, true);
});

test('verifyPacket asks for resolution of a NAT hostname and refuses it when NAT DNS is off', () => {
  const nat = fields({ message_type: 2, message: '0.0.0.0,tcp/80', nat_access: 'intranet.example,22' });
  const v = verify([stanza()], packetFor(stanza(), nat));
  assert.equal(v.kind, 'resolve');
  assert.equal(v.kind === 'resolve' && v.host, 'intranet.example');
  assert.equal(reason(verify([stanza()], packetFor(stanza(), nat), { server: { enableNatDns: false } })), 'nat_host_invalid');
});
