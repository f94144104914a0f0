import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FirewallError } from '../../../src/core/errors.js';
import {
  NFT_SETS,
  NFT_SET_NAMES,
  buildElementScript,
  buildSetupScript,
  buildTeardownScript,
  elementComment,
  grantElements,
  parseElementComment,
  type NftElement,
} from '../../../src/core/rules/nftables.js';
import { parseElementCounters, parseTableListing } from '../../../src/core/rules/nftables-listing.js';
import { gateArgv } from '../../../src/core/rules/nftables-gate.js';
import { rules } from './nftables-fixtures.js';

const layout = { table: 'spagate', mark: 0x02000000, conntrackAccept: true };

function els(list: NftElement[]): string[] {
  return list.map((e) => `${e.set} ${e.key}${e.value === null ? '' : ` : ${e.value}`}`).sort();
}

test('grantElements gives FORWARD_ALL with MASQUERADE one forward and one masquerade element', () => {
  assert.deepEqual(
    els(grantElements(rules({ forward: { all: true }, snat: { all: true, kind: 'MASQUERADE' } }))),
    ['fwd_all 10.0.0.7', 'masq_all 10.0.0.7'],
  );
});

test('grantElements binds the MAC into forward and DNAT keys when the grant has one', () => {
  const r = rules({
    mac: 'aa:bb:cc:dd:ee:ff',
    forward: { all: true },
    dnat: { all: true, toIp: '10.1.0.2' },
    snat: { all: true, kind: 'SNAT', toSource: '192.0.2.1' },
  });
  assert.deepEqual(els(grantElements(r)), [
    'dnat_all_m 10.0.0.7 . aa:bb:cc:dd:ee:ff : 10.1.0.2',
    'fwd_all_m 10.0.0.7 . aa:bb:cc:dd:ee:ff',
    // POSTROUTING sees no Ethernet source: SNAT is never MAC-bound (like iptables' -m mac).
    'snat_all 10.0.0.7 : 192.0.2.1',
  ]);
});

test('grantElements writes one INPUT element per port, numeric protocol, and mirrors them in OUTPUT', () => {
  const r = rules({
    dst: '192.0.2.1',
    input: [
      { proto: 'tcp', port: 22 },
      { proto: 'udp', port: 53 },
    ],
    output: true,
  });
  assert.deepEqual(els(grantElements(r)), [
    'in4_d 10.0.0.7 . 192.0.2.1 . 17 . 53',
    'in4_d 10.0.0.7 . 192.0.2.1 . 6 . 22',
    'out4_d 10.0.0.7 . 192.0.2.1 . 17 . 53',
    'out4_d 10.0.0.7 . 192.0.2.1 . 6 . 22',
  ]);
});

test('grantElements maps a ghost-service DNAT to the internal address and port', () => {
  const r = rules({
    forward: { all: false, proto: 'tcp', port: 22 },
    dnat: { all: false, proto: 'tcp', port: 80, toIp: '10.1.0.5', toPort: 22 },
    snat: { all: false, kind: 'MASQUERADE', toPorts: 80, proto: 'tcp', ip: '10.1.0.5', port: 22 },
  });
  assert.deepEqual(els(grantElements(r)), [
    'dnat_port 10.0.0.7 . 6 . 80 : 10.1.0.5 . 22',
    'fwd_port 10.0.0.7 . 6 . 22',
    'masq_flow 10.1.0.5 . 6 . 22 : 80',
  ]);
});

test('grantElements collapses duplicate ports into one element', () => {
  assert.equal(
    grantElements(
      rules({
        input: [
          { proto: 'tcp', port: 22 },
          { proto: 'tcp', port: 22 },
        ],
      }),
    ).length,
    1,
  );
});

test('grantElements refuses values that would not be an address, MAC or port', () => {
  assert.throws(() => grantElements(rules({ src: '10.0.0.1; flush ruleset' })), FirewallError);
  assert.throws(() => grantElements(rules({ mac: 'AA:BB:CC:DD:EE:FF' })), FirewallError);
  assert.throws(() => grantElements(rules({ input: [{ proto: 'tcp', port: 0 }] })), FirewallError);
  assert.throws(() => grantElements(rules({ dnat: { all: true, toIp: '10.1.0.256' } })), FirewallError);
});

test('elementComment rounds the expiry up and parses back', () => {
  const c = elementComment('abc123', 1_800_000_000_001);
  assert.equal(c, '_exp_1800000001 spagate:abc123');
  assert.deepEqual(parseElementComment(c), { id: 'abc123', expiresAt: 1_800_000_001_000 });
  assert.equal(parseElementComment('hand made'), null);
  assert.throws(() => elementComment('bad id"', 1), FirewallError);
});

test('buildSetupScript gives every set exactly one rule, in the chain that reads it', () => {
  const lines = buildSetupScript(layout, false).trim().split('\n');
  for (const name of NFT_SET_NAMES) {
    const ref = new RegExp(`@${name}(\\s|$)`);
    const users = lines.filter((l) => l.startsWith('add rule') && ref.test(l));
    assert.equal(users.length, 1, name);
    assert.ok(users[0].startsWith(`add rule ip spagate ${NFT_SETS[name].chain} `), name);
  }
  // Without flush the table's sets, and so its elements, are kept.
  assert.ok(!lines.some((l) => l.startsWith('delete')));
});

test('buildSetupScript puts the conntrack accept after the grant rules and only when asked', () => {
  const withCt = buildSetupScript(layout, true).trim().split('\n');
  const fwd = withCt.filter((l) => l.startsWith('add rule ip spagate filter_forward'));
  assert.match(fwd.at(-1)!, /ct state established,related ct mark & 0x02000000 == 0x02000000/);
  assert.ok(fwd.slice(0, -1).every((l) => l.includes(' @fwd_')));
  assert.deepEqual(withCt.slice(0, 3), [
    'add table ip spagate',
    'delete table ip spagate',
    'add table ip spagate',
  ]);
  const noCt = buildSetupScript({ ...layout, conntrackAccept: false }, false);
  assert.ok(!noCt.includes('ct state'));
  assert.ok(!noCt.includes('ct mark'));
});

test('buildSetupScript refuses a table name nft would misread', () => {
  assert.throws(() => buildSetupScript({ ...layout, table: 'x y' }, false), FirewallError);
  assert.equal(buildTeardownScript('spagate'), 'add table ip spagate\ndelete table ip spagate\n');
});

test('buildElementScript replaces an element with add, delete and add again', () => {
  const element = { set: 'dnat_port' as const, key: '10.0.0.7 . 6 . 80', value: '10.1.0.5 . 22' };
  const s = buildElementScript('spagate', [
    {
      kind: 'upsert',
      element,
      comment: '_exp_5 spagate:g1',
      timeoutMs: 1500,
      currentValue: '10.1.0.9 . 22',
      counter: null,
    },
  ]);
  assert.equal(
    s,
    [
      // The first add must carry the data the map holds now, or the kernel says EEXIST.
      'add element ip spagate dnat_port { 10.0.0.7 . 6 . 80 : 10.1.0.9 . 22 }',
      'delete element ip spagate dnat_port { 10.0.0.7 . 6 . 80 }',
      'add element ip spagate dnat_port { 10.0.0.7 . 6 . 80 timeout 1500ms comment "_exp_5 spagate:g1" : 10.1.0.5 . 22 }',
      '',
    ].join('\n'),
  );
});

test('buildElementScript carries counters into a replaced counter-set element', () => {
  const element = { set: 'fwd_all' as const, key: '10.0.0.7', value: null };
  const s = buildElementScript('spagate', [
    {
      kind: 'upsert',
      element,
      comment: '_exp_5 spagate:g1',
      timeoutMs: 10,
      currentValue: null,
      counter: { packets: 3, bytes: 180 },
    },
  ]);
  assert.match(s, /\{ 10\.0\.0\.7 counter packets 3 bytes 180 timeout 10ms comment/);
  assert.throws(
    () =>
      buildElementScript('spagate', [
        { kind: 'upsert', element, comment: 'x', timeoutMs: 0, currentValue: null, counter: null },
      ]),
    FirewallError,
  );
  assert.equal(
    buildElementScript('spagate', [{ kind: 'delete', element, currentValue: null }]),
    'add element ip spagate fwd_all { 10.0.0.7 }\ndelete element ip spagate fwd_all { 10.0.0.7 }\n',
  );
});

test('parseTableListing reads keys, map data, comments, expiry and counters as nft -j -n prints them', () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      { table: { family: 'ip', name: 'spagate', handle: 1 } },
      {
        set: {
          family: 'ip',
          name: 'fwd_all_m',
          table: 'spagate',
          type: ['ipv4_addr', 'ether_addr'],
          elem: [
            {
              elem: {
                val: { concat: ['10.0.0.7', 'aa:bb:cc:dd:ee:ff'] },
                timeout: 10,
                expires: 9,
                comment: '_exp_1800000010 spagate:g1',
                counter: { packets: 4, bytes: 240 },
              },
            },
          ],
        },
      },
      {
        map: {
          family: 'ip',
          name: 'dnat_port',
          table: 'spagate',
          map: 'ipv4_addr . inet_service',
          elem: [
            [
              {
                elem: {
                  val: { concat: ['10.0.0.7', 6, 80] },
                  timeout: 50,
                  expires: 41,
                  comment: '_exp_1800000050 spagate:g2',
                },
              },
              { concat: ['10.1.0.5', 22] },
            ],
          ],
        },
      },
      {
        map: {
          family: 'ip',
          name: 'dnat_all',
          table: 'spagate',
          map: 'ipv4_addr',
          elem: [['10.0.0.8', '10.1.0.6']],
        },
      },
      { set: { family: 'ip', name: 'fwd_all', table: 'other', elem: ['10.9.9.9'] } },
    ],
  });
  const l = parseTableListing(json, 'spagate');
  assert.deepEqual([...l.sets].sort(), ['dnat_all', 'dnat_port', 'fwd_all_m']);
  assert.deepEqual(l.elements, [
    {
      set: 'fwd_all_m',
      key: '10.0.0.7 . aa:bb:cc:dd:ee:ff',
      value: null,
      owner: { id: 'g1', expiresAt: 1_800_000_010_000 },
      expiresSec: 9,
      counter: { packets: 4, bytes: 240 },
    },
    {
      set: 'dnat_port',
      key: '10.0.0.7 . 6 . 80',
      value: '10.1.0.5 . 22',
      owner: { id: 'g2', expiresAt: 1_800_000_050_000 },
      expiresSec: 41,
      counter: null,
    },
    { set: 'dnat_all', key: '10.0.0.8', value: '10.1.0.6', owner: null, expiresSec: null, counter: null },
  ]);
  assert.throws(() => parseTableListing('not json', 'spagate'), FirewallError);
});

test('gateArgv builds check, insert-at-top and delete from the same rule', () => {
  const tail = [
    '-m',
    'mark',
    '--mark',
    '0x2000000/0x2000000',
    '-m',
    'comment',
    '--comment',
    'spagate-nft-gate',
    '-j',
    'ACCEPT',
  ];
  assert.deepEqual(gateArgv('-I', 'FORWARD', 0x02000000), [
    '-w',
    '5',
    '-t',
    'filter',
    '-I',
    'FORWARD',
    '1',
    ...tail,
  ]);
  assert.deepEqual(gateArgv('-D', 'FORWARD', 0x02000000), [
    '-w',
    '5',
    '-t',
    'filter',
    '-D',
    'FORWARD',
    ...tail,
  ]);
  assert.throws(() => gateArgv('-C', 'INPUT', 0), FirewallError);
});

test('parseElementCounters reads the counters nft get element prints as text', () => {
  const text = [
    'table ip spagate {',
    '\tset in4 {',
    '\t\ttype ipv4_addr . inet_proto . inet_service',
    '\t\tflags timeout',
    '\t\telements = { 1.2.3.4 . 6 . 22 counter packets 5 bytes 9 timeout 60s expires 59s comment "_exp_1 spagate:x",',
    '\t\t\t     1.2.3.5 . 17 . 53 counter packets 0 bytes 0 timeout 60s expires 59s }',
    '\t}',
    '}',
  ].join('\n');
  assert.deepEqual(
    [...parseElementCounters(text)],
    [
      ['1.2.3.4 . 6 . 22', { packets: 5, bytes: 9 }],
      ['1.2.3.5 . 17 . 53', { packets: 0, bytes: 0 }],
    ],
  );
});
