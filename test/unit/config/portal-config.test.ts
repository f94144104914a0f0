import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compile, messages, ok, stanza } from './helpers.js';

test('portal and lease keywords default to off, dnsmasq format, no walled garden', () => {
  const p = ok(compile('', stanza())).server.portal;
  assert.deepEqual(p, { tls: null, leaseFile: null, leaseFormat: 'dnsmasq', portalUrl: null, walledGarden: [] });
});

test('portal and lease keywords are read when given valid values', () => {
  const conf = [
    'PORTAL_LISTEN 10.0.0.1:8081',
    'PORTAL_URL https://portal.lan:8443/',
    'PORTAL_TLS_LISTEN 10.0.0.1:8443',
    'PORTAL_TLS_CERT /etc/spagate/portal.crt',
    'PORTAL_TLS_KEY /etc/spagate/portal.key',
    'WALLED_GARDEN 192.0.2.10, 198.51.100.0/24',
    'LEASE_FILE /var/lib/misc/dnsmasq.leases',
    'LEASE_FORMAT Kea',
  ].join('\n');
  const s = ok(compile(conf, stanza())).server;
  assert.equal(s.portalListen, '10.0.0.1:8081');
  assert.deepEqual(s.portal, {
    tls: { listen: '10.0.0.1:8443', cert: '/etc/spagate/portal.crt', key: '/etc/spagate/portal.key' },
    leaseFile: '/var/lib/misc/dnsmasq.leases',
    leaseFormat: 'kea',
    portalUrl: 'https://portal.lan:8443/',
    walledGarden: ['192.0.2.10', '198.51.100.0/24'],
  });
});

test('malformed portal and lease keywords are errors naming the keyword', () => {
  const conf = [
    'PORTAL_URL ftp://x/',
    'WALLED_GARDEN 192.0.2.10, example.com, 0.0.0.0/0',
    'LEASE_FILE leases.txt',
    'LEASE_FORMAT dhcpcd',
    'PORTAL_TLS_CERT /etc/c.pem',
  ].join('\n');
  const r = compile(conf, stanza());
  assert.equal(r.config, null);
  const m = messages(r.errors).join('\n');
  for (const k of ["PORTAL_URL 'ftp://x/'", "WALLED_GARDEN: 'example.com'", "WALLED_GARDEN: '0.0.0.0/0'", "LEASE_FILE 'leases.txt'", "LEASE_FORMAT 'dhcpcd'", 'PORTAL_TLS_LISTEN, PORTAL_TLS_CERT and PORTAL_TLS_KEY go together']) {
    assert.ok(m.includes(k), `${k} in:\n${m}`);
  }
});
