import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandFirewallProbe } from '../../src/adapters/firewall-detect.js';
import { buildElementScript, buildSetupScript, grantElements } from '../../src/core/rules/nftables.js';
import { Netns, requireRoot } from '../helpers/netns.js';
import { everyShape, grant } from '../unit/rules/nftables-fixtures.js';
import { IPTABLES, NFT, NsRunner, nftFirewall, waitUntil } from './nftables-helpers.js';

const LAYOUT = { table: 'spagate', mark: 0x02000000, conntrackAccept: true };

test(
  'nft --check accepts the table layout and the elements of every grant shape',
  { timeout: 30_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const ns = new Netns();
    try {
      const n = ns.add('k');
      const changes = everyShape(Date.now() + 60_000).flatMap((g) =>
        grantElements(g.rules).map((element) => ({
          kind: 'upsert' as const,
          element,
          comment: `_exp_1 spagate:${g.id}`,
          timeoutMs: 60_000,
          currentValue: null,
          counter: null,
        })),
      );
      const script = buildSetupScript(LAYOUT, true) + buildElementScript('spagate', changes);
      ns.exec(n, NFT, ['--check', '-f', '-'], script);
      // --check goes through the kernel and aborts: nothing is left behind.
      assert.equal(ns.exec(n, NFT, ['list', 'tables']).trim(), '');
      const broken = script.replace('add element ip spagate in4 {', 'add element ip spagate in4_m {');
      assert.throws(() => ns.exec(n, NFT, ['--check', '-f', '-'], broken));
    } finally {
      await ns.cleanup();
    }
  },
);

test('NftablesFirewall round-trips every grant shape through the kernel', { timeout: 60_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const ns = new Netns();
  try {
    const n = ns.add('r');
    const fw = nftFirewall(n);
    await fw.start({ flush: true });
    const exp = Date.now() + 120_000;
    const grants = everyShape(exp);
    await fw.install(grants);
    const listed = await fw.listInstalled();
    assert.deepEqual(listed.map((g) => g.id).sort(), grants.map((g) => g.id).sort());

    // A second process reading the same kernel finds the same grants from the element comments.
    const other = nftFirewall(n);
    await other.start({ flush: false });
    assert.deepEqual(
      (await other.listInstalled()).map((g) => [g.id, g.expiresAt]).sort(),
      grants.map((g) => [g.id, Math.ceil(exp / 1000) * 1000]).sort(),
    );

    // Extending: the same id with a later expiry, gap-free, and the kernel timeout follows.
    const access = grants.find((g) => g.id === 'access')!;
    await fw.install([{ ...access, expiresAt: Date.now() + 600_000 }]);
    const json = JSON.parse(ns.exec(n, NFT, ['-j', 'list', 'set', 'ip', 'spagate', 'in4'])) as {
      nftables: { set?: { elem?: { elem: { expires: number } }[] } }[];
    };
    const expires = json.nftables.flatMap((x) => x.set?.elem ?? []).map((e) => e.elem.expires);
    assert.equal(expires.length, 2);
    assert.ok(
      expires.every((s) => s > 500),
      `extended timeouts: ${expires.join(',')}`,
    );

    await fw.remove(grants);
    assert.deepEqual(await fw.listInstalled(), []);
    assert.doesNotMatch(ns.exec(n, NFT, ['list', 'table', 'ip', 'spagate']), /elements/);

    // Replacing one grant by another with the same id drops the old element.
    await fw.install([grant('re', { src: '10.0.0.1', forward: { all: true } }, Date.now() + 60_000)]);
    await fw.install([grant('re', { src: '10.0.0.2', forward: { all: true } }, Date.now() + 60_000)]);
    const text = ns.exec(n, NFT, ['list', 'set', 'ip', 'spagate', 'fwd_all']);
    assert.match(text, /10\.0\.0\.2/);
    assert.doesNotMatch(text, /10\.0\.0\.1 /);

    assert.deepEqual(await fw.removeOrphans(new Set()), ['re']);
    await fw.stop({ flush: true });
    assert.doesNotMatch(ns.exec(n, NFT, ['list', 'tables']), /spagate/);
    assert.doesNotMatch(ns.exec(n, IPTABLES, ['-S']), /spagate/);
  } finally {
    await ns.cleanup();
  }
});

test(
  'NftablesFirewall grants vanish at their kernel timeout with no call from the daemon',
  { timeout: 30_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const ns = new Netns();
    try {
      const n = ns.add('x');
      const fw = nftFirewall(n);
      await fw.start({ flush: true });
      const g = grant(
        'short',
        { src: '10.0.0.3', forward: { all: true }, snat: { all: true, kind: 'MASQUERADE' } },
        Date.now() + 2000,
      );
      await fw.install([g]);
      assert.deepEqual(
        (await fw.listInstalled()).map((x) => x.id),
        ['short'],
      );
      const observer = nftFirewall(n);
      const start = Date.now();
      const gone = await waitUntil(
        () => !ns.exec(n, NFT, ['list', 'table', 'ip', 'spagate']).includes('10.0.0.3'),
        8000,
      );
      assert.ok(gone, 'the kernel removed the elements');
      assert.ok(Date.now() - start >= 1000, 'not before its time');
      await observer.start({ flush: false });
      assert.deepEqual(await observer.listInstalled(), []);
    } finally {
      await ns.cleanup();
    }
  },
);

test(
  'CommandFirewallProbe finds nftables and iptables working and leaves nothing behind',
  { timeout: 30_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const ns = new Netns();
    try {
      const n = ns.add('p');
      const probe = new CommandFirewallProbe(new NsRunner(n), { nft: NFT, iptables: IPTABLES });
      assert.equal(await probe.nftWorks(), true);
      assert.equal(await probe.iptablesWorks(), true);
      assert.equal(ns.exec(n, NFT, ['list', 'tables']).includes('spagate_probe'), false);
      const broken = new CommandFirewallProbe(new NsRunner(n), {
        nft: '/nonexistent/nft',
        iptables: '/nonexistent/iptables',
      });
      assert.equal(await broken.nftWorks(), false);
      assert.equal(await broken.iptablesWorks(), false);
    } finally {
      await ns.cleanup();
    }
  },
);
