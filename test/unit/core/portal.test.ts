import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Grant } from '../../../src/core/model.js';
import { captiveApiObject, clientStatus, formatDuration, grantCovers, knockCommands, rcStanzaName, safeStanzaName } from '../../../src/core/portal.js';

const NOW = 1_800_000_000_000;
function grant(over: { id?: string; src?: string; mac?: string | null; expiresAt?: number; user?: string } = {}): Grant {
  return {
    id: over.id ?? 'g1',
    stanzaId: 'user:alice',
    user: over.user ?? 'alice',
    grantedAt: NOW - 1000,
    expiresAt: over.expiresAt ?? NOW + 90_500,
    rules: { src: over.src ?? '10.0.0.9', mac: over.mac === undefined ? '02:00:00:00:00:09' : over.mac, dst: null, input: [], output: false, forward: { all: true }, dnat: null, snat: null },
  };
}
const CLIENT = { ip: '10.0.0.9', mac: '02:00:00:00:00:09' };

test('clientStatus is online with whole seconds left when a live grant covers the client', () => {
  const s = clientStatus([grant()], CLIENT, NOW);
  assert.equal(s.online, true);
  assert.equal(s.secondsRemaining, 90);
  assert.equal(s.grant?.id, 'g1');
});

test('clientStatus picks the grant that lasts longest when given several', () => {
  const s = clientStatus([grant({ id: 'a', expiresAt: NOW + 5000 }), grant({ id: 'b', expiresAt: NOW + 50_000 })], CLIENT, NOW);
  assert.equal(s.grant?.id, 'b');
});

test('grantCovers refuses another MAC, an unknown MAC, another address and an expired grant', () => {
  assert.equal(grantCovers(grant(), { ...CLIENT, mac: '02:00:00:00:00:0a' }, NOW), false);
  assert.equal(grantCovers(grant(), { ...CLIENT, mac: null }, NOW), false, 'a MAC we cannot see is not a match');
  assert.equal(grantCovers(grant(), { ...CLIENT, ip: '10.0.0.10' }, NOW), false);
  assert.equal(grantCovers(grant({ expiresAt: NOW }), CLIENT, NOW), false);
  assert.equal(grantCovers(grant({ mac: null }), { ...CLIENT, mac: null }, NOW), true, 'an unbound grant covers its address');
  assert.deepEqual(clientStatus([], CLIENT, NOW), { online: false, grant: null, secondsRemaining: 0 });
});

test('captiveApiObject follows RFC 8908 when given offline and online clients', () => {
  const url = 'http://10.0.0.1:8081/';
  assert.deepEqual(captiveApiObject(clientStatus([], CLIENT, NOW), url), { captive: true, 'user-portal-url': url });
  assert.deepEqual(captiveApiObject(clientStatus([grant()], CLIENT, NOW), url), {
    captive: false,
    'user-portal-url': url,
    'seconds-remaining': 90,
    'can-extend-session': true,
  });
});

test('stanza names: the first [name] of an rc text, and only shell-safe names are shown', () => {
  assert.equal(rcStanzaName('# c\n[phone]\nKEY_BASE64 x\n[other]\n'), 'phone');
  assert.equal(rcStanzaName('KEY x\n'), null);
  assert.equal(safeStanzaName('phone.1_a-b'), 'phone.1_a-b');
  assert.equal(safeStanzaName('a b'), null);
  assert.equal(safeStanzaName('x;rm -rf /'), null);
  assert.equal(safeStanzaName(null), null);
  assert.deepEqual(knockCommands('phone'), { fwknop: 'fwknop -n phone', spagate: 'spagate knock -n phone' });
});

test('formatDuration shows hours, minutes and seconds when given seconds', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(65), '1m 05s');
  assert.equal(formatDuration(3725), '1h 02m 05s');
  assert.equal(formatDuration(-3), '0s');
});
