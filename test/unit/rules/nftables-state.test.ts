import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallError } from '../../../src/core/errors.js';
import type { NftElementChange } from '../../../src/core/rules/nftables.js';
import type { TableListing } from '../../../src/core/rules/nftables-listing.js';
import { KERNEL_GRACE_MS, NftGrantBook } from '../../../src/core/rules/nftables-state.js';
import { grant } from './nftables-fixtures.js';

const NOW = 1_800_000_000_000;
const EMPTY: TableListing = { sets: new Set(), elements: [] };

/** Timeouts shown without the kernel grace, which one test checks on its own. */
function brief(changes: NftElementChange[]): string[] {
  return changes.map((c) =>
    c.kind === 'upsert'
      ? `upsert ${c.element.set} ${c.element.key} ${c.comment} ${c.timeoutMs - KERNEL_GRACE_MS}`
      : `delete ${c.element.set} ${c.element.key}`,
  );
}

function applied(book: NftGrantBook, ops: Parameters<NftGrantBook['plan']>[0], now = NOW): string[] {
  const p = book.plan(ops, now);
  p.commit();
  return brief(p.changes);
}

function listingOf(changes: string[][]): TableListing {
  return {
    sets: new Set(),
    elements: changes.map(([set, key, id, exp]) => ({
      set: set as 'fwd_all',
      key: key,
      value: null,
      owner: id ? { id, expiresAt: Number(exp) } : null,
      expiresSec: null,
      counter: null,
    })),
  };
}

test('kernel timeouts run a grace past the stored expiry, so the daemon, not the kernel, closes on time', () => {
  const p = new NftGrantBook().plan([{ kind: 'install', grant: grant('g1', { forward: { all: true } }, NOW + 5_000) }], NOW);
  const up = p.changes.find((c) => c.kind === 'upsert');
  assert.equal(up?.kind === 'upsert' ? up.timeoutMs : null, 5_000 + KERNEL_GRACE_MS);
  assert.ok(KERNEL_GRACE_MS > 0 && KERNEL_GRACE_MS <= 250, 'a dead daemon\'s grants still end within a quarter second');
});

test('NftGrantBook installs a grant as timed elements carrying its id', () => {
  const book = new NftGrantBook();
  const out = applied(book, [
    { kind: 'install', grant: grant('g1', { forward: { all: true } }, NOW + 60_000) },
  ]);
  assert.deepEqual(out, ['upsert fwd_all 10.0.0.7 _exp_1800000060 spagate:g1 60000']);
});

test('NftGrantBook keeps a shared element for the other grant when one is removed', () => {
  const book = new NftGrantBook();
  const a = grant('a', { forward: { all: true } }, NOW + 60_000);
  const b = grant('b', { forward: { all: true } }, NOW + 120_000);
  applied(book, [{ kind: 'install', grant: a }]);
  // b expires later: the element now carries b's timeout and id.
  assert.deepEqual(applied(book, [{ kind: 'install', grant: b }]), [
    'upsert fwd_all 10.0.0.7 _exp_1800000120 spagate:b 120000',
  ]);
  // Removing b hands the element back to a, with a's remaining time.
  assert.deepEqual(applied(book, [{ kind: 'remove', grant: b }], NOW + 1000), [
    'upsert fwd_all 10.0.0.7 _exp_1800000060 spagate:a 59000',
  ]);
  assert.deepEqual(applied(book, [{ kind: 'remove', grant: a }], NOW + 2000), ['delete fwd_all 10.0.0.7']);
});

test('NftGrantBook extends a grant in place when it is installed again with a later expiry', () => {
  const book = new NftGrantBook();
  const g = grant('g', { input: [{ proto: 'tcp', port: 22 }] }, NOW + 10_000);
  applied(book, [{ kind: 'install', grant: g }]);
  const out = applied(book, [{ kind: 'install', grant: { ...g, expiresAt: NOW + 70_000 } }], NOW + 5000);
  assert.deepEqual(out, ['upsert in4 10.0.0.7 . 6 . 22 _exp_1800000070 spagate:g 65000']);
});

test('NftGrantBook drops elements a re-installed grant no longer has', () => {
  const book = new NftGrantBook();
  applied(book, [
    { kind: 'install', grant: grant('g', { input: [{ proto: 'tcp', port: 22 }] }, NOW + 10_000) },
  ]);
  const out = applied(book, [
    { kind: 'install', grant: grant('g', { input: [{ proto: 'tcp', port: 23 }] }, NOW + 10_000) },
  ]);
  assert.deepEqual(out.sort(), [
    'delete in4 10.0.0.7 . 6 . 22',
    'upsert in4 10.0.0.7 . 6 . 23 _exp_1800000010 spagate:g 10000',
  ]);
});

test('NftGrantBook treats installing an already expired grant as removing it', () => {
  const book = new NftGrantBook();
  assert.deepEqual(applied(book, [{ kind: 'install', grant: grant('g', { forward: { all: true } }, NOW) }]), [
    'delete fwd_all 10.0.0.7',
  ]);
  assert.deepEqual(book.installed(), []);
});

test('NftGrantBook changes nothing when a plan is not committed', () => {
  const book = new NftGrantBook();
  book.plan([{ kind: 'install', grant: grant('g', { forward: { all: true } }, NOW + 1000) }], NOW);
  assert.deepEqual([...book.knownIds()], []);
  assert.throws(
    () =>
      book.plan([{ kind: 'install', grant: grant('bad id', { forward: { all: true } }, NOW + 1000) }], NOW),
    FirewallError,
  );
});

test('NftGrantBook lists a grant only while all its elements are in the kernel', () => {
  const book = new NftGrantBook();
  const g = grant('g', { forward: { all: true }, snat: { all: true, kind: 'MASQUERADE' } }, NOW + 60_000);
  applied(book, [{ kind: 'install', grant: g }]);
  assert.deepEqual(book.installed(), [{ id: 'g', expiresAt: NOW + 60_000 }]);
  // Someone removed the masquerade element by hand: the grant is no longer whole.
  book.refresh(listingOf([['fwd_all', '10.0.0.7', 'g', String(NOW + 60_000)]]), NOW);
  assert.deepEqual(book.installed(), []);
  // After its expiry the kernel has nothing, and the book forgets the grant.
  book.refresh(EMPTY, NOW + 60_000);
  assert.deepEqual([...book.knownIds()], []);
});

test('NftGrantBook recovers owners from element comments after a restart', () => {
  const book = new NftGrantBook();
  book.load(
    listingOf([
      ['fwd_all', '10.0.0.7', 'g', String(NOW + 60_000)],
      ['masq_all', '10.0.0.7', 'g', String(NOW + 60_000)],
      ['fwd_all', '10.0.0.99', '', ''],
    ]),
  );
  assert.deepEqual(book.installed(), [{ id: 'g', expiresAt: NOW + 60_000 }]);
  assert.deepEqual(book.unownedElements(), [{ set: 'fwd_all', key: '10.0.0.99', value: null }]);
  const out = applied(book, [{ kind: 'removeId', id: 'g' }]);
  assert.deepEqual(out.sort(), ['delete fwd_all 10.0.0.7', 'delete masq_all 10.0.0.7']);
});

test('NftGrantBook.counters sums the counter sets per owner and ignores NAT maps', () => {
  const l: TableListing = {
    sets: new Set(),
    elements: [
      {
        set: 'in4',
        key: 'k1',
        value: null,
        owner: { id: 'g', expiresAt: 1 },
        expiresSec: 1,
        counter: { packets: 2, bytes: 100 },
      },
      {
        set: 'out4',
        key: 'k2',
        value: null,
        owner: { id: 'g', expiresAt: 1 },
        expiresSec: 1,
        counter: { packets: 3, bytes: 50 },
      },
      {
        set: 'dnat_all',
        key: 'k3',
        value: 'v',
        owner: { id: 'g', expiresAt: 1 },
        expiresSec: 1,
        counter: { packets: 99, bytes: 99 },
      },
    ],
  };
  assert.deepEqual([...NftGrantBook.counters(l)], [['g', { packets: 5, bytes: 150 }]]);
});
