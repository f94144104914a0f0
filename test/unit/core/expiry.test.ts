import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planExpiry, planReconcile } from '../../../src/core/expiry.js';
import type { Grant } from '../../../src/core/model.js';

function g(id: string, expiresAt: number): Grant {
  return {
    id,
    stanzaId: 's',
    user: 'u',
    grantedAt: 0,
    expiresAt,
    rules: { src: '10.0.0.1', mac: null, dst: null, input: [], output: false, forward: { all: true }, dnat: null, snat: null },
  };
}

test('planExpiry returns grants due at exactly their expiry and never before', () => {
  const plan = planExpiry(1000, [g('a', 999), g('b', 1000), g('c', 1001), g('d', 5000)]);
  assert.deepEqual(plan.due.map((x) => x.id), ['a', 'b']);
  assert.equal(plan.nextAt, 1001);
});

test('planExpiry has no next expiry when nothing is live', () => {
  assert.deepEqual(planExpiry(1000, []), { due: [], nextAt: null });
});

test('planReconcile restores missing and stale grants, expires overdue ones and finds orphans', () => {
  const plan = planReconcile(
    10_000,
    [g('live-ok', 20_000), g('live-missing', 20_000), g('live-stale', 30_000), g('overdue', 9_000)],
    [
      { id: 'live-ok', expiresAt: 20_000 },
      { id: 'live-stale', expiresAt: 20_000 },
      { id: 'overdue', expiresAt: 9_000 },
      { id: 'stray', expiresAt: 50_000 },
    ],
  );
  assert.deepEqual(plan.restore.map((x) => x.id), ['live-missing', 'live-stale']);
  assert.deepEqual(plan.expire.map((x) => x.id), ['overdue']);
  assert.deepEqual(plan.orphanIds, ['stray']);
});

test('planReconcile with restoreAll installs every live grant again, present or not, but not overdue ones', () => {
  const plan = planReconcile(10_000, [g('present', 20_000), g('missing', 20_000), g('overdue', 9_000)], [{ id: 'present', expiresAt: 20_000 }], {
    restoreAll: true,
  });
  assert.deepEqual(plan.restore.map((x) => x.id), ['present', 'missing']);
  assert.deepEqual(plan.expire.map((x) => x.id), ['overdue']);
});

test('planReconcile accepts whole-second expiry stamps within the tolerance', () => {
  const plan = planReconcile(0, [g('a', 10_400)], [{ id: 'a', expiresAt: 11_000 }]);
  assert.deepEqual(plan.restore, []);
});
