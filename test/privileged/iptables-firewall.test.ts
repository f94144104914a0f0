import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IptablesFirewall } from '../../src/adapters/iptables.js';
import { FirewallError } from '../../src/core/errors.js';
import type { Grant, GrantRules } from '../../src/core/model.js';
import type { Logger } from '../../src/core/ports.js';
import type { IptChains } from '../../src/core/rules/iptables.js';
import { Netns, requireRoot } from '../helpers/netns.js';
import { ALL_CHAINS, rules } from '../unit/rules/iptables-fixtures.js';
import { IPTABLES, NetnsRunner, silentLogger } from './iptables-helpers.js';

const EXP = 1_900_000_000_000;

function grant(id: string, r: Partial<GrantRules>, expiresAt = EXP): Grant {
  return { id, stanzaId: 's:1', user: 'u', rules: rules(r), grantedAt: EXP - 30_000, expiresAt };
}

/** The rule lines of iptables-save, without counters, sorted per table. */
function saved(ns: Netns, name: string): string[] {
  const out: string[] = [];
  let table = '';
  for (const l of ns.exec(name, '/usr/sbin/iptables-save', []).split('\n')) {
    if (l.startsWith('*')) table = l.slice(1);
    else if (
      l.startsWith('-A') ||
      (l.startsWith(':') && !/^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) /.test(l))
    )
      out.push(`${table} ${l}`);
  }
  return out.sort();
}

async function withGateway(
  t: import('node:test').TestContext,
  chains: IptChains,
  fn: (ns: Netns, gw: string, fw: IptablesFirewall, runner: NetnsRunner) => Promise<void>,
  opts: { rulePrepend?: boolean; logger?: Logger } = {},
): Promise<void> {
  if (!requireRoot(t)) return;
  const ns = new Netns();
  try {
    const gw = ns.add('gw');
    const runner = new NetnsRunner(gw);
    const fw = new IptablesFirewall({
      chains,
      iptables: IPTABLES,
      runner,
      logger: opts.logger ?? silentLogger,
      rulePrepend: opts.rulePrepend ?? false,
      conntrackAccept: true,
    });
    await fn(ns, gw, fw, runner);
  } finally {
    await ns.cleanup();
  }
}

const SETUP = [
  'filter :FWKNOP_FORWARD - [0:0]',
  'filter :FWKNOP_INPUT - [0:0]',
  'filter :FWKNOP_OUTPUT - [0:0]',
  'filter -A FORWARD -j FWKNOP_FORWARD',
  'filter -A FWKNOP_FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment spagate-conntrack -j ACCEPT',
  'filter -A INPUT -j FWKNOP_INPUT',
  'filter -A OUTPUT -j FWKNOP_OUTPUT',
  'nat :FWKNOP_MASQUERADE - [0:0]',
  'nat :FWKNOP_POSTROUTING - [0:0]',
  'nat :FWKNOP_PREROUTING - [0:0]',
  'nat -A POSTROUTING -j FWKNOP_MASQUERADE',
  'nat -A POSTROUTING -j FWKNOP_POSTROUTING',
  'nat -A PREROUTING -j FWKNOP_PREROUTING',
];

test(
  'iptables firewall start creates chains, jumps and conntrack accept idempotently, and stop removes them',
  { timeout: 60_000 },
  async (t) => {
    await withGateway(t, ALL_CHAINS, async (ns, gw, fw) => {
      const before = saved(ns, gw);
      await assert.rejects(
        fw.install([grant('early', { src: '10.0.0.1', forward: { all: true } })]),
        /not started/,
      );
      await fw.start({ flush: true });
      assert.deepEqual(saved(ns, gw), [...before, ...SETUP].sort());
      await fw.start({ flush: false });
      assert.deepEqual(saved(ns, gw), [...before, ...SETUP].sort(), 'a second start adds nothing');
      await fw.stop({ flush: true });
      assert.deepEqual(saved(ns, gw), before);
    });
  },
);

test(
  'iptables firewall install, replace, remove and removeOrphans leave exactly the expected rules',
  { timeout: 60_000 },
  async (t) => {
    await withGateway(t, ALL_CHAINS, async (ns, gw, fw) => {
      await fw.start({ flush: true });
      const base = saved(ns, gw);
      const gwAll = grant('fa', {
        src: '10.0.0.7',
        mac: '02:00:00:00:00:07',
        forward: { all: true },
        snat: { all: true, kind: 'SNAT', toSource: '198.51.100.1' },
      });
      const acc = grant('acc', {
        src: '10.0.0.8',
        input: [
          { proto: 'tcp', port: 22 },
          { proto: 'udp', port: 53 },
        ],
      });
      const nat = grant('nat', {
        src: '10.0.0.9',
        forward: { all: false, proto: 'tcp', port: 22 },
        dnat: { all: false, proto: 'tcp', port: 2222, toIp: '192.168.10.5', toPort: 22 },
        snat: { all: false, kind: 'MASQUERADE', toPorts: 2222, proto: 'tcp', ip: '192.168.10.5', port: 22 },
      });
      await fw.install([gwAll, acc, nat]);
      const c = (id: string, exp = 1_900_000_000): string =>
        `-m comment --comment "_exp_${exp} spagate:${id}"`;
      const grantLines = [
        `filter -A FWKNOP_FORWARD -s 10.0.0.7/32 -m mac --mac-source 02:00:00:00:00:07 ${c('fa')} -j ACCEPT`,
        `nat -A FWKNOP_POSTROUTING -s 10.0.0.7/32 ${c('fa')} -j SNAT --to-source 198.51.100.1`,
        `filter -A FWKNOP_INPUT -s 10.0.0.8/32 -p tcp -m tcp --dport 22 ${c('acc')} -j ACCEPT`,
        `filter -A FWKNOP_INPUT -s 10.0.0.8/32 -p udp -m udp --dport 53 ${c('acc')} -j ACCEPT`,
        `filter -A FWKNOP_FORWARD -s 10.0.0.9/32 -p tcp -m tcp --dport 22 ${c('nat')} -j ACCEPT`,
        `nat -A FWKNOP_PREROUTING -s 10.0.0.9/32 -p tcp -m tcp --dport 2222 ${c('nat')} -j DNAT --to-destination 192.168.10.5:22`,
        `nat -A FWKNOP_MASQUERADE -d 192.168.10.5/32 -p tcp -m tcp --dport 22 ${c('nat')} -j MASQUERADE --to-ports 2222`,
      ];
      assert.deepEqual(saved(ns, gw), [...base, ...grantLines].sort());
      assert.deepEqual(
        (await fw.listInstalled()).sort((a, b) => a.id.localeCompare(b.id)),
        ['acc', 'fa', 'nat'].map((id) => ({ id, expiresAt: EXP })),
      );

      // Extending moves the expiry in place: no gap, no duplicate.
      await fw.install([{ ...acc, expiresAt: EXP + 60_500 }]);
      const extended = grantLines.map((l) =>
        l.includes('spagate:acc') ? l.replace('_exp_1900000000', '_exp_1900000061') : l,
      );
      assert.deepEqual(saved(ns, gw), [...base, ...extended].sort());
      assert.deepEqual(
        (await fw.listInstalled()).find((g) => g.id === 'acc'),
        { id: 'acc', expiresAt: EXP + 61_000 },
      );

      await fw.remove([nat, grant('absent', {})]);
      assert.deepEqual(
        saved(ns, gw),
        [...base, ...extended.filter((l) => !l.includes('spagate:nat'))].sort(),
      );

      // A foreign fwknopd-style rule in an owned chain counts as an orphan too.
      ns.exec(gw, IPTABLES, [
        '-A',
        'FWKNOP_INPUT',
        '-s',
        '10.0.0.99',
        '-m',
        'comment',
        '--comment',
        '_exp_1',
        '-j',
        'ACCEPT',
      ]);
      assert.deepEqual(await fw.removeOrphans(new Set(['acc'])), ['fa']);
      assert.deepEqual(saved(ns, gw), [...base, ...extended.filter((l) => l.includes('spagate:acc'))].sort());

      await fw.remove([acc]);
      assert.deepEqual(saved(ns, gw), base);
      assert.deepEqual(await fw.listInstalled(), []);
      await fw.stop({ flush: true });
      assert.equal(saved(ns, gw).length, 0);
    });
  },
);

test(
  'iptables firewall prepends grant rules below the conntrack accept when asked',
  { timeout: 60_000 },
  async (t) => {
    await withGateway(
      t,
      ALL_CHAINS,
      async (ns, gw, fw) => {
        await fw.start({ flush: true });
        await fw.install([grant('a', { src: '10.0.0.1', forward: { all: true } })]);
        await fw.install([grant('b', { src: '10.0.0.2', forward: { all: true } })]);
        const chain = ns.exec(gw, IPTABLES, ['-S', 'FWKNOP_FORWARD']).trim().split('\n');
        assert.match(chain[1], /spagate-conntrack/);
        assert.match(chain[2], /spagate:b/);
        assert.match(chain[3], /spagate:a/);
      },
      { rulePrepend: true },
    );
  },
);

test(
  'iptables firewall recreates a chain removed behind its back before installing',
  { timeout: 60_000 },
  async (t) => {
    await withGateway(t, ALL_CHAINS, async (ns, gw, fw) => {
      await fw.start({ flush: true });
      ns.exec(gw, IPTABLES, ['-t', 'nat', '-D', 'POSTROUTING', '-j', 'FWKNOP_MASQUERADE']);
      ns.exec(gw, IPTABLES, ['-t', 'nat', '-X', 'FWKNOP_MASQUERADE']);
      await fw.install([
        grant('a', { src: '10.0.0.1', forward: { all: true }, snat: { all: true, kind: 'MASQUERADE' } }),
      ]);
      const lines = saved(ns, gw);
      assert.ok(lines.includes('nat -A POSTROUTING -j FWKNOP_MASQUERADE'));
      assert.ok(lines.some((l) => l.startsWith('nat -A FWKNOP_MASQUERADE -s 10.0.0.1/32')));
    });
  },
);

test(
  'iptables firewall installs a burst of 1000 grants through few restores',
  { timeout: 120_000 },
  async (t) => {
    await withGateway(t, ALL_CHAINS, async (_ns, _gw, fw, runner) => {
      await fw.start({ flush: true });
      const restoresBefore = runner.count(`${IPTABLES}-restore`);
      const grants = Array.from({ length: 1000 }, (_, i) =>
        grant(`g${i}`, {
          src: `10.1.${i >> 8}.${i & 255}`,
          forward: { all: true },
          snat: { all: true, kind: 'MASQUERADE' },
        }),
      );
      await Promise.all(grants.map((g) => fw.install([g])));
      const restores = runner.count(`${IPTABLES}-restore`) - restoresBefore;
      assert.ok(restores <= 3, `1000 grants took ${restores} restores`);
      assert.equal((await fw.listInstalled()).length, 1000);
      await Promise.all(grants.map((g) => fw.remove([g])));
      assert.equal((await fw.listInstalled()).length, 0);
    });
  },
);

test(
  'iptables firewall plans new grants and removals from the rules it knows, and lists again when a rule was changed by hand',
  { timeout: 60_000 },
  async (t) => {
    await withGateway(t, ALL_CHAINS, async (ns, gw, fw, runner) => {
      const save = `${IPTABLES}-save`;
      const fwd = (i: number) =>
        grant(`k${i}`, {
          src: `10.2.0.${i}`,
          forward: { all: true },
          snat: { all: true, kind: 'MASQUERADE' },
        });
      await fw.start({ flush: true });
      await fw.install([fwd(0)]);
      const listed = runner.count(save);
      for (const i of [1, 2, 3]) await fw.install([fwd(i)]);
      await fw.remove([fwd(3)]);
      assert.equal(runner.count(save), listed, 'new grants and a removal listed the ruleset');
      assert.equal(
        saved(ns, gw).filter((l) => l.includes('spagate:k')).length,
        6,
        'k0..k2: a FORWARD and a MASQUERADE rule each',
      );

      // An admin deletes k1's FORWARD rule (position 3, below the conntrack accept and k0).
      const k1 = saved(ns, gw).find(
        (l) => l.startsWith('filter -A FWKNOP_FORWARD') && l.includes('spagate:k1'),
      );
      assert.ok(k1, 'k1 has a FORWARD rule');
      ns.exec(gw, IPTABLES, ['-t', 'filter', '-D', 'FWKNOP_FORWARD', '3']);
      assert.ok(
        !saved(ns, gw).some((l) => l.startsWith('filter -A FWKNOP_FORWARD') && l.includes('spagate:k1')),
      );
      // Its removal from the known rules fails on the missing rule; it is undone and redone from a listing.
      await fw.remove([fwd(1)]);
      assert.ok(runner.count(save) > listed, 'the failed batch was followed by a listing');
      assert.deepEqual(
        saved(ns, gw).filter((l) => l.includes('spagate:k1')),
        [],
        'nothing of k1 is left',
      );
      assert.deepEqual((await fw.listInstalled()).map((g) => g.id).sort(), ['k0', 'k2']);
    });
  },
);

test(
  'iptables firewall leaves no partial grant when a restore fails and spares the rest of a merged batch',
  { timeout: 60_000 },
  async (t) => {
    // A target the kernel does not know: the nat half of a grant fails after the filter half committed.
    const chains: IptChains = {
      ...ALL_CHAINS,
      masquerade: { ...ALL_CHAINS.masquerade!, target: 'NOSUCHTARGET' },
    };
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_o, msg) => void warnings.push(msg ?? '') };
    await withGateway(
      t,
      chains,
      async (ns, gw, fw) => {
        await fw.start({ flush: true });
        const base = saved(ns, gw);
        const bad = grant('bad', {
          src: '10.0.0.66',
          forward: { all: true },
          snat: { all: true, kind: 'MASQUERADE' },
        });
        await assert.rejects(fw.install([bad]), FirewallError);
        assert.deepEqual(saved(ns, gw), base, 'no rule of the failed grant is left');
        assert.ok(
          warnings.includes('undid a partly applied iptables batch'),
          'the filter half had committed and was undone',
        );

        const good = [1, 2, 3].map((i) => grant(`ok${i}`, { src: `10.0.0.${i}`, forward: { all: true } }));
        const results = await Promise.allSettled([...good.map((g) => fw.install([g])), fw.install([bad])]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'fulfilled', 'fulfilled', 'rejected'],
        );
        assert.deepEqual((await fw.listInstalled()).map((g) => g.id).sort(), ['ok1', 'ok2', 'ok3']);

        // A failed replace keeps the old rules of that grant.
        const okThenBad = { ...good[0], rules: bad.rules, expiresAt: EXP + 5000 };
        await assert.rejects(fw.install([okThenBad]), FirewallError);
        assert.deepEqual(
          (await fw.listInstalled()).find((g) => g.id === 'ok1'),
          { id: 'ok1', expiresAt: EXP },
        );
        assert.equal(saved(ns, gw).filter((l) => l.includes('spagate:ok1')).length, 1);
      },
      { logger },
    );
  },
);
