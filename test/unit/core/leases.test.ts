import { test } from 'node:test';
import assert from 'node:assert/strict';
import { leaseTable, normalizeMac, parseLeaseFile, utcDateTimeMs } from '../../../src/core/leases.js';

test('normalizeMac lower-cases and pads when given mixed separators and case', () => {
  assert.equal(normalizeMac('AA-b:0c:D:ee:FF'), 'aa:0b:0c:0d:ee:ff'.replace('aa:0b', 'aa:0b'));
  assert.equal(normalizeMac('aa:bb:cc:dd:ee'), null);
  assert.equal(normalizeMac('20-aa:bb:cc:dd:ee:ff'), null);
  assert.equal(normalizeMac('gg:bb:cc:dd:ee:ff'), null);
});

test('utcDateTimeMs matches Date.UTC when given valid and invalid dates', () => {
  assert.equal(utcDateTimeMs('2024/01/04', '22:00:00'), Date.UTC(2024, 0, 4, 22, 0, 0));
  assert.equal(utcDateTimeMs('2000/02/29', '00:00:01'), Date.UTC(2000, 1, 29, 0, 0, 1));
  assert.equal(utcDateTimeMs('1970/01/01', '00:00:00'), 0);
  assert.equal(utcDateTimeMs('2100/02/29', '00:00:00'), null, '2100 is not a leap year');
  assert.equal(utcDateTimeMs('2024/13/01', '00:00:00'), null);
  assert.equal(utcDateTimeMs('2024/01/01', '24:00:00'), null);
  for (let d = Date.UTC(1999, 11, 25); d < Date.UTC(2001, 2, 5); d += 86_400_000 + 3_723_000) {
    const x = new Date(d);
    const date = `${x.getUTCFullYear()}/${x.getUTCMonth() + 1}/${x.getUTCDate()}`;
    const time = `${x.getUTCHours()}:${String(x.getUTCMinutes()).padStart(2, '0')}:${String(x.getUTCSeconds()).padStart(2, '0')}`;
    assert.equal(utcDateTimeMs(date, time), d, `${date} ${time}`);
  }
});

test('dnsmasq parser reads IPv4 leases and skips DHCPv6 when given a mixed lease file', () => {
  const text = [
    '1700000600 aa:bb:cc:dd:ee:01 10.0.0.10 laptop 01:aa:bb:cc:dd:ee:01',
    '0 AA:BB:CC:DD:EE:02 10.0.0.11 * *',
    'duid 00:01:00:01:2c:1b:6e:6a:aa:bb:cc:dd:ee:ff',
    '1700000600 12345 fd00::10 phone 00:01:00:01',
    '',
  ].join('\n');
  const r = parseLeaseFile('dnsmasq', text);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.leases, [
    { ip: '10.0.0.10', mac: 'aa:bb:cc:dd:ee:01', hostname: 'laptop', expiresAt: 1_700_000_600_000 },
    { ip: '10.0.0.11', mac: 'aa:bb:cc:dd:ee:02', hostname: null, expiresAt: null },
  ]);
});

test('dnsmasq parser reports each bad line with a reason and keeps the good ones', () => {
  const text = [
    'garbage',
    'soon aa:bb:cc:dd:ee:01 10.0.0.10 a *',
    '1700000600 aa:bb:cc:dd:ee:01 10.0.0.300 a *',
    '1700000600 20-aa:bb:cc:dd:ee:01 10.0.0.12 a *',
    '1700000600 aa:bb:cc:dd:ee:05 10.0.0.13 ok *',
  ].join('\n');
  const r = parseLeaseFile('dnsmasq', text);
  assert.deepEqual(r.problems.map((p) => p.line), [1, 2, 3, 4]);
  assert.ok(r.problems.every((p) => p.reason.length > 0));
  assert.deepEqual(r.leases.map((l) => l.ip), ['10.0.0.13']);
});

test('dnsmasq parser strips control characters from hostnames when given hostile text', () => {
  const r = parseLeaseFile('dnsmasq', '1700000600 aa:bb:cc:dd:ee:01 10.0.0.10 a\x1b[31mb *\n');
  assert.equal(r.leases[0].hostname, 'a[31mb');
});

const ISC = `# The format of this file is documented in the dhcpd.leases(5) manual page.
authoring-byte-order little-endian;
server-duid "\\000\\001\\000\\001";

lease 10.0.0.20 {
  starts 4 2024/01/04 10:00:00;
  ends 4 2024/01/04 22:00:00;
  cltt 4 2024/01/04 10:00:00;
  binding state active;
  next binding state free;
  hardware ethernet 00:11:22:33:44:55;
  uid "\\001\\000\\021\\"3DU";
  client-hostname "desk;top";
}
lease 10.0.0.21 {
  starts 4 2024/01/04 10:00:00;
  ends epoch 1704405600; # Thu Jan 04 22:00:00 2024
  binding state active;
  hardware ethernet 00:11:22:33:44:56;
}
lease 10.0.0.22 {
  ends never;
  binding state active;
  hardware ethernet 00:11:22:33:44:57;
  set vendor-class-identifier = "MSFT 5.0";
}
lease 10.0.0.20 {
  ends 4 2024/01/04 11:00:00;
  binding state active;
  hardware ethernet 00:11:22:33:44:55;
  client-hostname "desktop";
}
lease 10.0.0.21 {
  ends 4 2024/01/04 12:00:00;
  binding state free;
  hardware ethernet 00:11:22:33:44:56;
}
host fixed { dynamic; hardware ethernet 00:11:22:33:44:99; fixed-address 10.0.0.99; }
lease6 fd00::1 { ends never; }
`;

test('ISC parser keeps the last block per address and drops freed leases', () => {
  const r = parseLeaseFile('isc', ISC);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.leases, [
    { ip: '10.0.0.22', mac: '00:11:22:33:44:57', hostname: null, expiresAt: null },
    { ip: '10.0.0.20', mac: '00:11:22:33:44:55', hostname: 'desktop', expiresAt: Date.UTC(2024, 0, 4, 11) },
  ]);
});

test('ISC parser reads epoch ends and escaped strings when given db-time-format local', () => {
  const r = parseLeaseFile('isc', ISC.split('lease 10.0.0.22')[0]);
  const l = leaseTable(r.leases);
  assert.equal(l.get('10.0.0.21')?.expiresAt, 1_704_405_600_000);
  assert.equal(l.get('10.0.0.20')?.hostname, 'desk;top');
});

test('ISC parser reports bad blocks and unterminated input without throwing', () => {
  const text = `lease 10.0.0.30 { ends 4 2024/02/30 00:00:00; hardware ethernet 00:11:22:33:44:55; }
lease 10.0.0.31 { ends never; }
lease 10.0.0.32 { ends never; hardware token-ring 00:11:22:33:44:55; }
lease 10.0.0.33 { ends never; hardware ethernet 00:11:22:33:44:66; }
lease 10.0.0.34 { ends never; client-hostname "unterminated
`;
  const r = parseLeaseFile('isc', text);
  assert.deepEqual(r.leases.map((l) => l.ip), ['10.0.0.33']);
  assert.deepEqual(r.problems.map((p) => p.line).sort(), [1, 2, 3, 5].sort());
});

const KEA_HEADER = 'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id';

test('Kea parser applies rows in order when given assignments, releases and deletions', () => {
  const text = [
    KEA_HEADER,
    '10.0.0.40,aa:bb:cc:00:00:01,01:aa,3600,1700003600,1,0,0,host&#x2ca,0,,0',
    '10.0.0.41,aa:bb:cc:00:00:02,,3600,1700003600,1,0,0,,0,,0',
    '10.0.0.42,aa:bb:cc:00:00:03,,3600,1700003600,1,0,0,b,0,,0',
    '10.0.0.41,aa:bb:cc:00:00:02,,0,1700000000,1,0,0,,0,,0',
    '10.0.0.42,aa:bb:cc:00:00:03,,3600,1700000000,1,0,0,b,2,,0',
    '10.0.0.43,,,3600,1700003600,1,0,0,,1,,0',
    '',
  ].join('\n');
  const r = parseLeaseFile('kea', text);
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.leases, [{ ip: '10.0.0.40', mac: 'aa:bb:cc:00:00:01', hostname: 'host,a', expiresAt: 1_700_003_600_000 }]);
});

test('Kea parser reports rows that do not fit the header and files without one', () => {
  const r = parseLeaseFile('kea', `${KEA_HEADER}\n10.0.0.40,aa:bb:cc:00:00:01\n10.0.0.44,,,3600,1700003600,1,0,0,,0,,0\n`);
  assert.deepEqual(r.problems.map((p) => p.line), [2, 3]);
  assert.equal(r.leases.length, 0);
  const old = parseLeaseFile('kea', 'address,hwaddr,valid_lifetime,expire\n10.0.0.45,aa:bb:cc:00:00:05,60,1700000060\n');
  assert.deepEqual(old.leases, [{ ip: '10.0.0.45', mac: 'aa:bb:cc:00:00:05', hostname: null, expiresAt: 1_700_000_060_000 }]);
  assert.equal(parseLeaseFile('kea', 'address,foo\n').problems.length, 2);
});

test('every parser returns an empty table without problems when given an empty file', () => {
  for (const f of ['dnsmasq', 'isc', 'kea'] as const) assert.deepEqual(parseLeaseFile(f, ''), { leases: [], problems: [] });
});

test('parsers never throw when given random bytes', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const alphabet = 'lease {};"#\\\n 10.0.0.1 aa:bb ends never binding state active hardware ethernet ,0123456789';
  for (let i = 0; i < 300; i++) {
    let s = '';
    const n = Math.floor(rnd() * 200);
    for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    for (const f of ['dnsmasq', 'isc', 'kea'] as const) assert.doesNotThrow(() => parseLeaseFile(f, s));
  }
});
