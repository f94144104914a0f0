import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONF, compile, messages, ok, stanza } from './helpers.js';

test('DASHBOARD_TLS_CERT and DASHBOARD_TLS_KEY together turn on HTTPS for the dashboard', () => {
  assert.equal(ok(compile('', stanza())).server.dashboardTls, null, 'plain HTTP by default');
  const s = ok(compile('DASHBOARD_TLS_CERT /etc/spagate/d.crt\nDASHBOARD_TLS_KEY /etc/spagate/d.key\n', stanza())).server;
  assert.deepEqual(s.dashboardTls, { cert: '/etc/spagate/d.crt', key: '/etc/spagate/d.key' });
});

test('a TLS certificate without its key, or a relative path, is a configuration error', () => {
  const one = compile('DASHBOARD_TLS_CERT /etc/spagate/d.crt\n', stanza());
  assert.deepEqual(messages(one.errors), [
    `${CONF}:1: DASHBOARD_TLS_CERT and DASHBOARD_TLS_KEY go together: set both for HTTPS, or neither`,
  ]);
  const rel = compile('DASHBOARD_TLS_CERT d.crt\nDASHBOARD_TLS_KEY /etc/spagate/d.key\n', stanza());
  assert.deepEqual(messages(rel.errors), [`${CONF}:1: DASHBOARD_TLS_CERT 'd.crt' must be an absolute path`]);
});
