import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextLeaseExpiry, planLeaseEnds } from '../../../src/core/lease-policy.js';
import { leaseTable, type Lease } from '../../../src/core/leases.js';
import type { Grant } from '../../../src/core/model.js';

const NOW = 1_800_000_000_000;
const MAC = '02:00:00:00:00:09';
function grant(src = '10.0.0.9', mac: string | null = MAC): Grant {
  return { id: `g-${src}`, stanzaId: 's', user: 'u', grantedAt: NOW - 1, expiresAt: NOW + 60_000, rules: { src, mac, dst: null, input: [], output: false, forward: { all: true }, dnat: null, snat: null } };
}
function lease(ip: string, mac: string, expiresAt: number | null = NOW + 600_000): Lease {
  return { ip, mac, hostname: null, expiresAt };
}

test('a grant whose address is leased to another MAC ends', () => {
  const ends = planLeaseEnds({ grants: [grant()], previous: null, current: leaseTable([lease('10.0.0.9', '02:00:00:00:00:0a')]), now: NOW });
  assert.equal(ends.length, 1);
  assert.equal(ends[0].reason, 'lease_other_mac');
  assert.match(ends[0].detail, /02:00:00:00:00:0a/);
});

test('a released lease ends its grant; a lease never seen leaves the grant alone', () => {
  const prev = leaseTable([lease('10.0.0.9', MAC)]);
  assert.deepEqual(planLeaseEnds({ grants: [grant()], previous: prev, current: new Map(), now: NOW }).map((e) => e.reason), ['lease_released']);
  assert.deepEqual(planLeaseEnds({ grants: [grant()], previous: new Map(), current: new Map(), now: NOW }), []);
  assert.deepEqual(planLeaseEnds({ grants: [grant()], previous: null, current: new Map(), now: NOW }), []);
});

test('an expired lease ends its grant, whether still listed or gone', () => {
  const old = leaseTable([lease('10.0.0.9', MAC, NOW - 1)]);
  assert.deepEqual(planLeaseEnds({ grants: [grant()], previous: null, current: old, now: NOW }).map((e) => e.reason), ['lease_expired']);
  assert.deepEqual(planLeaseEnds({ grants: [grant()], previous: old, current: new Map(), now: NOW }).map((e) => e.reason), ['lease_expired']);
});

test('the same MAC renewing, an infinite lease and another MAC leaving change nothing', () => {
  const cur = leaseTable([lease('10.0.0.9', MAC, null)]);
  assert.deepEqual(planLeaseEnds({ grants: [grant()], previous: cur, current: cur, now: NOW }), []);
  const otherGone = leaseTable([lease('10.0.0.9', '02:00:00:00:00:0a')]);
  assert.deepEqual(planLeaseEnds({ grants: [grant()], previous: otherGone, current: new Map(), now: NOW }), []);
});

test('an unbound grant ends only when its lease goes, not for a MAC it never had', () => {
  const cur = leaseTable([lease('10.0.0.9', '02:00:00:00:00:0a')]);
  assert.deepEqual(planLeaseEnds({ grants: [grant('10.0.0.9', null)], previous: null, current: cur, now: NOW }), []);
  assert.deepEqual(planLeaseEnds({ grants: [grant('10.0.0.9', null)], previous: cur, current: new Map(), now: NOW }).map((e) => e.reason), ['lease_released']);
});

test('nextLeaseExpiry is the earliest future expiry among the grants own leases', () => {
  const cur = leaseTable([lease('10.0.0.9', MAC, NOW + 5000), lease('10.0.0.10', MAC, NOW + 1000), lease('10.0.0.11', '02:00:00:00:00:0b', NOW + 10)]);
  assert.equal(nextLeaseExpiry([grant('10.0.0.9'), grant('10.0.0.10'), grant('10.0.0.11')], cur, NOW), NOW + 1000);
  assert.equal(nextLeaseExpiry([], cur, NOW), null);
});
