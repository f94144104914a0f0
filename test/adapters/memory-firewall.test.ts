import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandError, FirewallError } from '../../src/core/errors.js';
import type { Grant } from '../../src/core/model.js';
import { MemoryFirewall } from '../../src/adapters/memory-firewall.js';
import { ALL_CHAINS, INPUT_ONLY, rules } from '../unit/rules/iptables-fixtures.js';

function grant(id: string, over: Partial<Grant> = {}): Grant {
  return {
    id,
    stanzaId: 'access.conf:1',
    user: 'alice',
    rules: rules({ forward: { all: true }, snat: { all: true, kind: 'MASQUERADE' } }),
    grantedAt: 1_800_000_000_000,
    expiresAt: 1_800_000_030_000,
    ...over,
  };
}

async function started(chains = ALL_CHAINS): Promise<MemoryFirewall> {
  const fw = new MemoryFirewall({ chains });
  await fw.start({ flush: false });
  return fw;
}

test('memory firewall installs, lists and removes grants', async () => {
  const fw = await started();
  await fw.install([grant('a'), grant('b')]);
  assert.deepEqual((await fw.listInstalled()).map((g) => g.id).sort(), ['a', 'b']);
  assert.equal(fw.rulesOf('a').length, 2);
  await fw.remove([grant('a'), grant('absent')]);
  assert.deepEqual(
    (await fw.listInstalled()).map((g) => g.id),
    ['b'],
  );
});

test('memory firewall replaces a re-installed grant and keeps whole-second expiry', async () => {
  const fw = await started();
  await fw.install([grant('a')]);
  await fw.install([grant('a', { expiresAt: 1_800_000_090_001 })]);
  assert.deepEqual(await fw.listInstalled(), [{ id: 'a', expiresAt: 1_800_000_091_000 }]);
  assert.equal(fw.rulesOf('a').length, 2);
});

test('memory firewall refuses a grant needing an unconfigured chain and installs none of the batch', async () => {
  const fw = await started(INPUT_ONLY);
  const ok = grant('ok', { rules: rules({ input: [{ proto: 'tcp', port: 22 }] }) });
  await assert.rejects(fw.install([ok, grant('bad')]), FirewallError);
  assert.deepEqual(await fw.listInstalled(), []);
  await fw.install([ok]);
  assert.deepEqual(
    (await fw.listInstalled()).map((g) => g.id),
    ['ok'],
  );
});

test('memory firewall refuses changes before start', async () => {
  const fw = new MemoryFirewall({ chains: ALL_CHAINS });
  await assert.rejects(fw.install([grant('a')]), /not started/);
});

test('memory firewall fails exactly the next N operations when told to', async () => {
  const fw = await started();
  fw.failNext(2, () => new CommandError('/usr/sbin/iptables-restore', [], 1, 'boom', 'boom'));
  await assert.rejects(fw.install([grant('a')]), CommandError);
  await assert.rejects(fw.listInstalled(), CommandError);
  assert.deepEqual(await fw.listInstalled(), []);
  await fw.install([grant('a')]);
  assert.equal((await fw.listInstalled()).length, 1);
});

test('memory firewall removes orphans not in the keep set', async () => {
  const fw = await started();
  await fw.install([grant('a'), grant('b'), grant('c')]);
  assert.deepEqual((await fw.removeOrphans(new Set(['b']))).sort(), ['a', 'c']);
  assert.deepEqual(
    (await fw.listInstalled()).map((g) => g.id),
    ['b'],
  );
});

test('memory firewall counts traffic per grant and resets counters on replace', async () => {
  const fw = await started();
  await fw.install([grant('a')]);
  fw.addTraffic('a', 3, 180);
  fw.addTraffic('a', 1, 60);
  assert.deepEqual((await fw.counters()).get('a'), { packets: 4, bytes: 240 });
  await fw.install([grant('a')]);
  assert.deepEqual((await fw.counters()).get('a'), { packets: 0, bytes: 0 });
});

test('memory firewall clears everything on flush at stop and at start', async () => {
  const fw = await started();
  await fw.install([grant('a')]);
  await fw.stop({ flush: false });
  await fw.start({ flush: false });
  assert.equal((await fw.listInstalled()).length, 1);
  await fw.stop({ flush: true });
  await fw.start({ flush: false });
  assert.equal((await fw.listInstalled()).length, 0);
});
