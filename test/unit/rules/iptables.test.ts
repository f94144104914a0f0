import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallError } from '../../../src/core/errors.js';
import {
  appendLine,
  buildGrantRules,
  conntrackAcceptRule,
  deleteLine,
  expirySeconds,
  grantComment,
  insertLine,
  jumpRule,
  ownedChainSpecs,
  parseGrantComment,
  renderRestore,
} from '../../../src/core/rules/iptables.js';
import { ALL_CHAINS, COMMENT, EXP_MS, INPUT_ONLY, rules } from './iptables-fixtures.js';

const MAC = ['-m', 'mac', '--mac-source', '02:00:00:00:00:0a'];

test('access rule builder matches spec 12.6 plain access shape', () => {
  const r = buildGrantRules('g1', rules({ input: [{ proto: 'tcp', port: 2222 }] }), EXP_MS, ALL_CHAINS);
  assert.deepEqual(r, [
    {
      table: 'filter',
      chain: 'FWKNOP_INPUT',
      args: [
        '-p',
        '6',
        '-s',
        '203.0.113.7',
        '-d',
        '0.0.0.0/0',
        '--dport',
        '2222',
        ...COMMENT,
        '-j',
        'ACCEPT',
      ],
    },
  ]);
});

test('access rule builder emits one INPUT rule per proto/port and mirrors each in OUTPUT when asked', () => {
  const r = buildGrantRules(
    'g1',
    rules({
      dst: '198.51.100.1',
      output: true,
      input: [
        { proto: 'tcp', port: 22 },
        { proto: 'udp', port: 53 },
      ],
    }),
    EXP_MS,
    ALL_CHAINS,
  );
  assert.deepEqual(
    r.map((x) => [x.chain, ...x.args]),
    [
      [
        'FWKNOP_INPUT',
        '-p',
        '6',
        '-s',
        '203.0.113.7',
        '-d',
        '198.51.100.1',
        '--dport',
        '22',
        ...COMMENT,
        '-j',
        'ACCEPT',
      ],
      [
        'FWKNOP_OUTPUT',
        '-p',
        '6',
        '-d',
        '203.0.113.7',
        '-s',
        '198.51.100.1',
        '--sport',
        '22',
        ...COMMENT,
        '-j',
        'ACCEPT',
      ],
      [
        'FWKNOP_INPUT',
        '-p',
        '17',
        '-s',
        '203.0.113.7',
        '-d',
        '198.51.100.1',
        '--dport',
        '53',
        ...COMMENT,
        '-j',
        'ACCEPT',
      ],
      [
        'FWKNOP_OUTPUT',
        '-p',
        '17',
        '-d',
        '203.0.113.7',
        '-s',
        '198.51.100.1',
        '--sport',
        '53',
        ...COMMENT,
        '-j',
        'ACCEPT',
      ],
    ],
  );
});

test('NAT builder gives forward, DNAT and per-port MASQUERADE shapes of spec 12.6', () => {
  const r = buildGrantRules(
    'g1',
    rules({
      forward: { all: false, proto: 'tcp', port: 22 },
      dnat: { all: false, proto: 'tcp', port: 2222, toIp: '192.168.10.5', toPort: 22 },
      snat: { all: false, kind: 'MASQUERADE', toPorts: 2222, proto: 'tcp', ip: '192.168.10.5', port: 22 },
    }),
    EXP_MS,
    ALL_CHAINS,
  );
  assert.deepEqual(r, [
    {
      table: 'filter',
      chain: 'FWKNOP_FORWARD',
      args: ['-p', '6', '-s', '203.0.113.7', '--dport', '22', ...COMMENT, '-j', 'ACCEPT'],
    },
    {
      table: 'nat',
      chain: 'FWKNOP_PREROUTING',
      args: [
        '-p',
        '6',
        '-s',
        '203.0.113.7',
        '-d',
        '0.0.0.0/0',
        '--dport',
        '2222',
        ...COMMENT,
        '-j',
        'DNAT',
        '--to-destination',
        '192.168.10.5:22',
      ],
    },
    {
      table: 'nat',
      chain: 'FWKNOP_MASQUERADE',
      args: [
        '-p',
        '6',
        '-d',
        '192.168.10.5',
        '--dport',
        '22',
        ...COMMENT,
        '-j',
        'MASQUERADE',
        '--to-ports',
        '2222',
      ],
    },
  ]);
});

test('NAT builder uses the SNAT chain and --to-source for per-port SNAT', () => {
  const r = buildGrantRules(
    'g1',
    rules({
      snat: {
        all: false,
        kind: 'SNAT',
        toSource: '198.51.100.9',
        proto: 'udp',
        ip: '192.168.10.5',
        port: 53,
      },
    }),
    EXP_MS,
    ALL_CHAINS,
  );
  assert.deepEqual(r, [
    {
      table: 'nat',
      chain: 'FWKNOP_POSTROUTING',
      args: [
        '-p',
        '17',
        '-d',
        '192.168.10.5',
        '--dport',
        '53',
        ...COMMENT,
        '-j',
        'SNAT',
        '--to-source',
        '198.51.100.9',
      ],
    },
  ]);
});

test('forward-all builder gives forward-all, DNAT-all and SNAT-all shapes', () => {
  const r = buildGrantRules(
    'g1',
    rules({
      forward: { all: true },
      dnat: { all: true, toIp: '192.168.10.5' },
      snat: { all: true, kind: 'SNAT', toSource: '198.51.100.9' },
    }),
    EXP_MS,
    ALL_CHAINS,
  );
  assert.deepEqual(r, [
    { table: 'filter', chain: 'FWKNOP_FORWARD', args: ['-s', '203.0.113.7', ...COMMENT, '-j', 'ACCEPT'] },
    {
      table: 'nat',
      chain: 'FWKNOP_PREROUTING',
      args: [
        '-s',
        '203.0.113.7',
        '-d',
        '0.0.0.0/0',
        ...COMMENT,
        '-j',
        'DNAT',
        '--to-destination',
        '192.168.10.5',
      ],
    },
    {
      table: 'nat',
      chain: 'FWKNOP_POSTROUTING',
      args: ['-s', '203.0.113.7', ...COMMENT, '-j', 'SNAT', '--to-source', '198.51.100.9'],
    },
  ]);
});

test('forward-all builder gives a MASQUERADE-all rule without target arguments', () => {
  const r = buildGrantRules(
    'g1',
    rules({ forward: { all: true }, snat: { all: true, kind: 'MASQUERADE' } }),
    EXP_MS,
    ALL_CHAINS,
  );
  assert.deepEqual(r[1], {
    table: 'nat',
    chain: 'FWKNOP_MASQUERADE',
    args: ['-s', '203.0.113.7', ...COMMENT, '-j', 'MASQUERADE'],
  });
});

test('grant builder adds the MAC match only in chains reached from PREROUTING, INPUT or FORWARD', () => {
  const r = buildGrantRules(
    'g1',
    rules({
      mac: '02:00:00:00:00:0a',
      input: [{ proto: 'tcp', port: 22 }],
      output: true,
      forward: { all: true },
      dnat: { all: true, toIp: '192.168.10.5' },
      snat: { all: true, kind: 'MASQUERADE' },
    }),
    EXP_MS,
    ALL_CHAINS,
  );
  const withMac = r.filter((x) => x.args.includes('--mac-source')).map((x) => x.chain);
  assert.deepEqual(withMac, ['FWKNOP_INPUT', 'FWKNOP_FORWARD', 'FWKNOP_PREROUTING']);
  assert.deepEqual(r[0].args, [
    '-p',
    '6',
    '-s',
    '203.0.113.7',
    '-d',
    '0.0.0.0/0',
    '--dport',
    '22',
    ...MAC,
    ...COMMENT,
    '-j',
    'ACCEPT',
  ]);
  assert.deepEqual(r[2].args, ['-s', '203.0.113.7', ...MAC, ...COMMENT, '-j', 'ACCEPT']);
});

test('grant builder uses the configured table, chain and target of a chain variable', () => {
  const chains = {
    ...INPUT_ONLY,
    input: {
      target: 'RETURN',
      table: 'mangle',
      fromChain: 'PREROUTING',
      jumpPosition: 2,
      toChain: 'MY_IN',
      rulePosition: 1,
    },
  };
  const [r] = buildGrantRules('g1', rules({ input: [{ proto: 'udp', port: 1 }] }), EXP_MS, chains);
  assert.equal(r.table, 'mangle');
  assert.equal(r.chain, 'MY_IN');
  assert.deepEqual(r.args.slice(-2), ['-j', 'RETURN']);
});

test('grant builder refuses a rule whose chain is not configured', () => {
  assert.throws(
    () => buildGrantRules('g1', rules({ forward: { all: true } }), EXP_MS, INPUT_ONLY),
    FirewallError,
  );
  assert.throws(
    () => buildGrantRules('g1', rules({ snat: { all: true, kind: 'MASQUERADE' } }), EXP_MS, INPUT_ONLY),
    /masquerade chain/,
  );
  assert.throws(
    () =>
      buildGrantRules('g1', rules({ input: [{ proto: 'tcp', port: 1 }], output: true }), EXP_MS, INPUT_ONLY),
    /output chain/,
  );
});

test('grant builder refuses values that could break the restore input', () => {
  const ok = { input: [{ proto: 'tcp' as const, port: 22 }] };
  assert.throws(() => buildGrantRules('g 1', rules(ok), EXP_MS, ALL_CHAINS), FirewallError);
  assert.throws(() => buildGrantRules('g1"\n-F', rules(ok), EXP_MS, ALL_CHAINS), FirewallError);
  assert.throws(
    () => buildGrantRules('g1', rules({ ...ok, src: '1.2.3.4\n' }), EXP_MS, ALL_CHAINS),
    FirewallError,
  );
  assert.throws(
    () => buildGrantRules('g1', rules({ ...ok, mac: '02:00:00:00:00' }), EXP_MS, ALL_CHAINS),
    FirewallError,
  );
  assert.throws(
    () => buildGrantRules('g1', rules({ input: [{ proto: 'tcp', port: 0 }] }), EXP_MS, ALL_CHAINS),
    FirewallError,
  );
  assert.throws(
    () => buildGrantRules('g1', rules({ dnat: { all: true, toIp: 'example.com' } }), EXP_MS, ALL_CHAINS),
    FirewallError,
  );
});

test('expiry comment rounds up to the next second and round-trips through the parser', () => {
  assert.equal(expirySeconds(1_796_325_000_000), 1_796_325_000);
  assert.equal(expirySeconds(1_796_325_000_001), 1_796_325_001);
  assert.equal(grantComment('ab-12', 1_796_325_000_500), '_exp_1796325001 spagate:ab-12');
  assert.deepEqual(parseGrantComment('_exp_1796325001 spagate:ab-12'), {
    id: 'ab-12',
    expiresAt: 1_796_325_001_000,
  });
  assert.equal(parseGrantComment('_exp_1796325001'), null, 'fwknopd rules are not ours');
  assert.equal(parseGrantComment('spagate-conntrack'), null);
});

test('restore lines for add and delete differ only in the verb', () => {
  const [r] = buildGrantRules('g1', rules({ forward: { all: true } }), EXP_MS, ALL_CHAINS);
  const add = appendLine(r);
  const del = deleteLine(r);
  assert.equal(
    add.text,
    '-A FWKNOP_FORWARD -s 203.0.113.7 -m comment --comment "_exp_1796325000 spagate:g1" -j ACCEPT',
  );
  assert.equal(del.text, add.text.replace(/^-A/, '-D'));
  assert.equal(insertLine(r, 2).text, add.text.replace(/^-A FWKNOP_FORWARD/, '-I FWKNOP_FORWARD 2'));
});

test('restore rendering groups lines per table with declarations first', () => {
  const text = renderRestore([
    { table: 'filter', text: '-A X -j ACCEPT' },
    { table: 'nat', text: '-A Y -j MASQUERADE' },
    { table: 'filter', text: ':X - [0:0]' },
  ]);
  assert.equal(text, '*filter\n:X - [0:0]\n-A X -j ACCEPT\nCOMMIT\n*nat\n-A Y -j MASQUERADE\nCOMMIT\n');
});

test('chain set-up builders give the jump and the conntrack accept', () => {
  assert.deepEqual(jumpRule(ALL_CHAINS.dnat!), {
    table: 'nat',
    chain: 'PREROUTING',
    args: ['-j', 'FWKNOP_PREROUTING'],
  });
  assert.deepEqual(conntrackAcceptRule(ALL_CHAINS.forward!).args, [
    '-m',
    'conntrack',
    '--ctstate',
    'ESTABLISHED,RELATED',
    '-m',
    'comment',
    '--comment',
    'spagate-conntrack',
    '-j',
    'ACCEPT',
  ]);
  assert.equal(ownedChainSpecs(ALL_CHAINS).length, 6);
  assert.equal(ownedChainSpecs(INPUT_ONLY).length, 1);
});
