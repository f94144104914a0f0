/**
 * Issue 8, bad input: the DHCP lease-file parsers (dnsmasq, ISC dhcpd, Kea CSV). Lease files
 * carry client-chosen text (hostnames), so whatever the file holds: parsing never throws,
 * every lease it returns is well formed (dotted IPv4, lower-case MAC, hostname without
 * control characters and at most 255 characters), and every skipped line has a reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LEASE_FORMATS, parseLeaseFile, type LeaseFormat, type LeaseParseResult } from '../../../src/core/leases.js';
import { parserInput, RUNS } from './mutate.js';

const SAMPLES: Record<LeaseFormat, string[]> = {
  dnsmasq: [
    '1700000600 aa:bb:cc:dd:ee:01 10.0.0.10 laptop 01:aa:bb:cc:dd:ee:01\n0 AA:BB:CC:DD:EE:02 10.0.0.11 * *\nduid 00:01:00:01:2c:1b:6e:6a:aa:bb:cc:dd:ee:ff\n1700000600 12345 fd00::10 phone 00:01:00:01\n',
  ],
  isc: [
    `authoring-byte-order little-endian;
lease 10.0.0.20 {
  starts 4 2024/01/04 10:00:00;
  ends 4 2024/01/04 11:00:00;
  binding state active;
  hardware ethernet 00:11:22:33:44:55;
  client-hostname "desk\\073top";
}
lease 10.0.0.21 {
  ends epoch 1704405600; # Thu Jan 04 22:00:00 2024
  binding state active;
  hardware ethernet 00:11:22:33:44:56;
  uid "\\001\\000\\021\\"3DV";
}
lease 10.0.0.22 { ends never; hardware ethernet 00:11:22:33:44:57; }
host fixed { dynamic; hardware ethernet 00:11:22:33:44:99; fixed-address 10.0.0.99; }
lease6 fd00::1 { ends never; }
`,
  ],
  kea: [
    'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n10.0.0.40,aa:bb:cc:00:00:01,01:aa,3600,1700003600,1,0,0,host&#x2ca,0,,0\n10.0.0.41,aa:bb:cc:00:00:02,,0,1700000000,1,0,0,,0,,0\n10.0.0.43,,,3600,1700003600,1,0,0,,1,,0\n',
  ],
};

function check(r: LeaseParseResult, text: string): void {
  const lines = text.split('\n').length;
  for (const l of r.leases) {
    assert.match(l.ip, /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
    assert.ok(l.ip.split('.').every((o) => Number(o) <= 255), l.ip);
    assert.match(l.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    if (l.hostname !== null) {
      assert.ok(l.hostname.length <= 255, 'hostname bounded');
      // eslint-disable-next-line no-control-regex
      assert.ok(!/[\x00-\x1f\x7f]/.test(l.hostname), `control characters in ${JSON.stringify(l.hostname)}`);
    }
    assert.ok(l.expiresAt === null || Number.isFinite(l.expiresAt));
  }
  const ips = r.leases.map((l) => l.ip);
  for (const p of r.problems) {
    assert.ok(Number.isInteger(p.line) && p.line >= 0 && p.line <= lines, `line ${p.line} of ${lines}`);
    assert.ok(p.reason.trim().length > 0, 'every skipped line has a reason');
  }
  assert.ok(ips.length <= lines * 2, 'no more leases than the text can hold');
}

test('the seed lease files parse without problems', () => {
  for (const f of LEASE_FORMATS) for (const s of SAMPLES[f]) {
    const r = parseLeaseFile(f, s);
    assert.deepEqual(r.problems, [], f);
    assert.ok(r.leases.length > 0, f);
  }
});


for (const format of LEASE_FORMATS) {
  test(`${format} leases: mutated and junk files never throw; leases well formed; problems have reasons`, { timeout: 60_000 }, () => {
    const input = parserInput(SAMPLES[format]);
    fc.assert(fc.property(input, (text) => check(parseLeaseFile(format, text), text)), RUNS);
  });
}

test('isc leases: a vertical tab, form feed, NBSP or U+2028 outside a string is a blank, not a hang', () => {
  for (const blank of ['\u000b', '\f', '\u00a0', '\u2028']) {
    const r = parseLeaseFile('isc', `lease 10.0.0.9 {${blank}ends never;${blank}hardware ethernet 00:11:22:33:44:55; }\n`);
    assert.equal(r.leases.length, 1, JSON.stringify(blank));
  }
});

test('a file of one format given to another parser is reported, not thrown', () => {
  for (const f of LEASE_FORMATS) for (const g of LEASE_FORMATS) for (const s of SAMPLES[g]) check(parseLeaseFile(f, s), s);
});

test('hostile hostnames come out clean in every format', { timeout: 60_000 }, () => {
  const hostile = fc.string({ unit: 'binary', maxLength: 400 });
  fc.assert(
    fc.property(hostile, (h) => {
      const dn = h.replace(/[\s\n]/g, '_') || 'x';
      check(parseLeaseFile('dnsmasq', `1700000600 aa:bb:cc:dd:ee:01 10.0.0.10 ${dn} *\n`), 'x');
      const isc = h.replace(/["\\]/g, '');
      check(parseLeaseFile('isc', `lease 10.0.0.20 { ends never; hardware ethernet 00:11:22:33:44:55; client-hostname "${isc}"; }\n`), isc);
      const kea = h.replace(/[,\n\r]/g, '');
      check(parseLeaseFile('kea', `address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context,pool_id\n10.0.0.40,aa:bb:cc:00:00:01,,3600,1700003600,1,0,0,${kea},0,,0\n`), 'x\nx');
    }),
    RUNS,
  );
});
