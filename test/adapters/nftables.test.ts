import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { NftablesFirewall } from '../../src/adapters/nftables.js';
import { KERNEL_GRACE_MS } from '../../src/core/rules/nftables-state.js';
import { silentLogger } from '../../src/adapters/pino-logger.js';
import { FirewallError } from '../../src/core/errors.js';
import { everyShape, grant } from '../unit/rules/nftables-fixtures.js';
import { FakeNetfilter } from './nftables-fake.js';

function setup(opts: { iptables?: boolean; conntrackAccept?: boolean } = {}): {
  fw: NftablesFirewall;
  fake: FakeNetfilter;
  clock: ManualClock;
} {
  const clock = new ManualClock();
  const fake = new FakeNetfilter(clock);
  const fw = new NftablesFirewall({
    nft: '/usr/sbin/nft',
    runner: fake,
    logger: silentLogger,
    clock,
    conntrackAccept: opts.conntrackAccept ?? true,
    ...(opts.iptables === false ? {} : { iptables: '/usr/sbin/iptables' }),
  });
  return { fw, fake, clock };
}

function elementCount(fake: FakeNetfilter): number {
  let n = 0;
  for (const s of fake.tables.get('spagate')?.sets.keys() ?? []) n += fake.live('spagate', s).size;
  return n;
}

test('NftablesFirewall start creates the table and one gate rule per iptables chain', async () => {
  const { fw, fake } = setup();
  await fw.start({ flush: true });
  assert.ok(fake.tables.get('spagate')?.chains.get('filter_forward')?.length);
  for (const chain of ['INPUT', 'FORWARD', 'OUTPUT'])
    assert.equal(fake.iptables.get(chain)!.length, 1, chain);
  // A second start does not stack a second gate rule.
  await fw.start({ flush: false });
  await fw.start({ flush: true });
  for (const chain of ['INPUT', 'FORWARD', 'OUTPUT'])
    assert.equal(fake.iptables.get(chain)!.length, 1, chain);
});

test('NftablesFirewall installs, lists and removes every grant shape, leaving nothing behind', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  const grants = everyShape(clock.now() + 60_000);
  await fw.install(grants);
  const listed = await fw.listInstalled();
  assert.deepEqual(listed.map((g) => g.id).sort(), grants.map((g) => g.id).sort());
  assert.ok(listed.every((g) => g.expiresAt === clock.now() + 60_000));
  assert.equal(fake.live('spagate', 'dnat_port').get('198.51.100.4 . 6 . 80')?.value, '10.1.0.5 . 22');
  await fw.remove(grants);
  assert.deepEqual(await fw.listInstalled(), []);
  assert.equal(elementCount(fake), 0);
});

test('NftablesFirewall keeps working when the table survives a restart without flush', async () => {
  const { fake, clock } = setup();
  const first = new NftablesFirewall({
    nft: '/usr/sbin/nft',
    runner: fake,
    logger: silentLogger,
    clock,
    conntrackAccept: true,
  });
  await first.start({ flush: true });
  const g = grant('g1', { forward: { all: true } }, clock.now() + 60_000);
  await first.install([g]);
  await first.stop({ flush: false });
  const second = new NftablesFirewall({
    nft: '/usr/sbin/nft',
    runner: fake,
    logger: silentLogger,
    clock,
    conntrackAccept: true,
  });
  await second.start({ flush: false });
  assert.deepEqual(await second.listInstalled(), [
    { id: 'g1', expiresAt: Math.ceil((clock.now() + 60_000) / 1000) * 1000 },
  ]);
  await second.remove([g]);
  assert.equal(elementCount(fake), 0);
});

test('NftablesFirewall coalesces a burst of 10,000 installs into a handful of transactions', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  const before = fake.nftScripts;
  const grants = Array.from({ length: 10_000 }, (_, i) =>
    grant(
      `g${i}`,
      {
        src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        forward: { all: true },
        snat: { all: true, kind: 'MASQUERADE' },
      },
      clock.now() + 60_000,
    ),
  );
  await Promise.all(grants.map((g) => fw.install([g])));
  assert.ok(fake.nftScripts - before <= 3, `${fake.nftScripts - before} transactions`);
  assert.equal(fake.live('spagate', 'fwd_all').size, 10_000);
  assert.equal((await fw.listInstalled()).length, 10_000);
});

test('NftablesFirewall fails only the refused call of a coalesced batch', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  fake.failWhen = (s) => s.includes('10.0.0.66');
  const ok1 = fw.install([grant('a', { src: '10.0.0.1', forward: { all: true } }, clock.now() + 60_000)]);
  const bad = fw.install([grant('b', { src: '10.0.0.66', forward: { all: true } }, clock.now() + 60_000)]);
  const ok2 = fw.install([grant('c', { src: '10.0.0.2', forward: { all: true } }, clock.now() + 60_000)]);
  const results = await Promise.allSettled([ok1, bad, ok2]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual((await fw.listInstalled()).map((g) => g.id).sort(), ['a', 'c']);
});

test('NftablesFirewall rejects a malformed grant before it reaches nft', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  const before = fake.nftScripts;
  await assert.rejects(
    fw.install([grant('x', { src: 'not-an-ip', forward: { all: true } }, clock.now() + 1000)]),
    FirewallError,
  );
  await assert.rejects(
    fw.install([grant('bad id', { forward: { all: true } }, clock.now() + 1000)]),
    FirewallError,
  );
  assert.equal(fake.nftScripts, before);
});

test('NftablesFirewall extends a grant without losing its counters', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  const g = grant('g', { forward: { all: true } }, clock.now() + 10_000);
  await fw.install([g]);
  fake.hit('spagate', 'fwd_all', '10.0.0.7', 5, 300);
  clock.advance(5000);
  await fw.install([{ ...g, expiresAt: clock.now() + 60_000 }]);
  assert.deepEqual(await fw.counters(), new Map([['g', { packets: 5, bytes: 300 }]]));
  assert.equal(fake.gets, 1, 'the counts were read by key, not by listing the table');
  // The old expiry passes: the element stays, with the new one.
  clock.advance(10_000);
  assert.deepEqual(await fw.listInstalled(), [{ id: 'g', expiresAt: clock.now() + 50_000 }]);
});

test('NftablesFirewall sees a grant gone once the kernel timeout passes, with no call in between', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  await fw.install([grant('g', { input: [{ proto: 'tcp', port: 22 }] }, clock.now() + 2000)]);
  const scripts = fake.nftScripts;
  clock.advance(2000 + KERNEL_GRACE_MS);
  assert.deepEqual(await fw.listInstalled(), []);
  assert.equal(fake.nftScripts, scripts);
  // Removing it afterwards is harmless although the kernel already dropped it.
  await fw.remove([grant('g', { input: [{ proto: 'tcp', port: 22 }] }, clock.now())]);
});

test('NftablesFirewall keeps a shared element for the grant that still needs it', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  const a = grant('a', { forward: { all: true } }, clock.now() + 60_000);
  const b = grant('b', { forward: { all: true } }, clock.now() + 30_000);
  await fw.install([a, b]);
  await fw.remove([a]);
  assert.deepEqual(await fw.listInstalled(), [{ id: 'b', expiresAt: clock.now() + 30_000 }]);
  assert.match(fake.live('spagate', 'fwd_all').get('10.0.0.7')!.comment!, /spagate:b$/);
});

test('NftablesFirewall removeOrphans removes every grant not kept, and hand-made elements', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  await fw.install(everyShape(clock.now() + 60_000));
  fake.tables.get('spagate')!.sets.get('fwd_all')!.elements.set('10.9.9.9', {
    value: null,
    expiresAt: null,
    timeoutMs: null,
    comment: null,
    packets: 0,
    bytes: 0,
  });
  const removed = await fw.removeOrphans(new Set(['nat']));
  assert.deepEqual(removed, ['access', 'accessdst', 'dnatall', 'fwdall', 'fwdallmac', 'natsnat']);
  assert.deepEqual(
    (await fw.listInstalled()).map((g) => g.id),
    ['nat'],
  );
  assert.equal(fake.live('spagate', 'fwd_all').size, 0);
});

test('NftablesFirewall recovers when a map element was changed behind its back', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  const g = grant(
    'g',
    {
      forward: { all: false, proto: 'tcp', port: 22 },
      dnat: { all: false, proto: 'tcp', port: 80, toIp: '10.1.0.5', toPort: 22 },
    },
    clock.now() + 60_000,
  );
  await fw.install([g]);
  fake.live('spagate', 'dnat_port').get('10.0.0.7 . 6 . 80')!.value = '10.1.0.99 . 22';
  await fw.install([{ ...g, expiresAt: clock.now() + 90_000 }]);
  assert.equal(fake.live('spagate', 'dnat_port').get('10.0.0.7 . 6 . 80')!.value, '10.1.0.5 . 22');
});

test('NftablesFirewall stop with flush removes the table and the gate rules; without flush it keeps them', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  await fw.install([grant('g', { forward: { all: true } }, clock.now() + 60_000)]);
  await fw.stop({ flush: false });
  assert.equal(fake.live('spagate', 'fwd_all').size, 1);
  await fw.stop({ flush: true });
  assert.equal(fake.tables.has('spagate'), false);
  for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) assert.deepEqual(fake.iptables.get(chain), []);
});

test('NftablesFirewall leaves iptables alone when no iptables path is given', async () => {
  const { fw, fake } = setup({ iptables: false });
  await fw.start({ flush: true });
  for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) assert.deepEqual(fake.iptables.get(chain), []);
});

test('NftablesFirewall still carries counters when a replaced element expired before it was read', async () => {
  const { fw, fake, clock } = setup();
  await fw.start({ flush: true });
  const a = grant('a', { src: '10.0.0.1', forward: { all: true } }, clock.now() + 10_000);
  const b = grant('b', { src: '10.0.0.2', forward: { all: true } }, clock.now() + 5_000);
  await fw.install([a, b]);
  fake.hit('spagate', 'fwd_all', '10.0.0.1', 7, 700);
  clock.advance(6000);
  // b's element is gone in the kernel: reading both by key fails, the set listing does not.
  await fw.install([
    { ...a, expiresAt: clock.now() + 60_000 },
    { ...b, expiresAt: clock.now() + 60_000 },
  ]);
  assert.deepEqual(
    await fw.counters(),
    new Map([
      ['a', { packets: 7, bytes: 700 }],
      ['b', { packets: 0, bytes: 0 }],
    ]),
  );
});
