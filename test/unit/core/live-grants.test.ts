import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveGrants } from '../../../src/core/live-grants.js';
import type { Grant } from '../../../src/core/model.js';
import { grant as fixtureGrant } from '../rules/nftables-fixtures.js';

const grant = (id: string, src: string): Grant => fixtureGrant(id, { src }, 1000);

const ids = (l: LiveGrants, src: string) => [...l.from(src)].map((g) => g.id).sort();

test('grants are found by client address, and the index follows set, replace, delete and clear', () => {
  const l = new LiveGrants();
  l.set('a', grant('a', '10.0.0.1')).set('b', grant('b', '10.0.0.1')).set('c', grant('c', '10.0.0.2'));
  assert.deepEqual(ids(l, '10.0.0.1'), ['a', 'b']);
  assert.deepEqual(ids(l, '10.0.0.2'), ['c']);
  assert.deepEqual(ids(l, '10.0.0.3'), []);
  l.set('b', grant('b', '10.0.0.2'));
  assert.deepEqual(ids(l, '10.0.0.1'), ['a']);
  assert.deepEqual(ids(l, '10.0.0.2'), ['b', 'c']);
  assert.equal(l.delete('a'), true);
  assert.equal(l.delete('a'), false);
  assert.deepEqual(ids(l, '10.0.0.1'), []);
  assert.equal(l.size, 2);
  l.clear();
  assert.deepEqual(ids(l, '10.0.0.2'), []);
  assert.equal(l.size, 0);
});
