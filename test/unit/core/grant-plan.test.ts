import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessTimeout, planGrantRules, type PlanRequest } from '../../../src/core/grant-plan.js';
import { serverConfig, stanza } from '../../helpers/fixtures.js';

const base: Omit<PlanRequest, 'stanza'> = {
  messageType: 1,
  src: '192.168.1.20',
  mac: 'aa:bb:cc:dd:ee:01',
  dstIp: '192.168.1.1',
  access: [{ proto: 'tcp', port: 22 }],
  nat: null,
};

test('planGrantRules opens forward-all and SNAT-all for the fwknop 2.6.6 gateway stanza without FORCE_*', () => {
  const r = planGrantRules({ ...base, stanza: stanza({ forwardAll: true, disableDnat: true }) }, serverConfig({ snatTranslateIp: '198.51.100.1' }));
  assert.deepEqual(r, {
    src: '192.168.1.20',
    mac: 'aa:bb:cc:dd:ee:01',
    dst: null,
    input: [],
    output: false,
    forward: { all: true },
    dnat: null,
    snat: { all: true, kind: 'SNAT', toSource: '198.51.100.1' },
  });
});

test('planGrantRules masquerades forward-all when no translate address is configured', () => {
  const r = planGrantRules({ ...base, stanza: stanza({ forwardAll: true, disableDnat: true }) }, serverConfig());
  assert.deepEqual(r?.snat, { all: true, kind: 'MASQUERADE' });
});

test('planGrantRules prefers FORCE_MASQUERADE over SNAT_TRANSLATE_IP and FORCE_SNAT over both', () => {
  const opts = serverConfig({ snatTranslateIp: '198.51.100.1' });
  const masq = planGrantRules({ ...base, stanza: stanza({ forwardAll: true, disableDnat: true, forceMasquerade: true }) }, opts);
  assert.deepEqual(masq?.snat, { all: true, kind: 'MASQUERADE' });
  const snat = planGrantRules({ ...base, stanza: stanza({ forwardAll: true, disableDnat: true, forceSnat: '203.0.113.9' }) }, opts);
  assert.deepEqual(snat?.snat, { all: true, kind: 'SNAT', toSource: '203.0.113.9' });
});

test('planGrantRules gives no SNAT for forward-all when ENABLE_IPT_SNAT is off and no FORCE_* is set', () => {
  const r = planGrantRules({ ...base, stanza: stanza({ forwardAll: true, disableDnat: true }) }, serverConfig({ enableIptSnat: false }));
  assert.equal(r?.snat, null);
  assert.deepEqual(r?.forward, { all: true });
});

test('planGrantRules opens one INPUT rule per requested port for a plain access message', () => {
  const r = planGrantRules(
    { ...base, stanza: stanza(), access: [{ proto: 'tcp', port: 22 }, { proto: 'udp', port: 53 }] },
    serverConfig({ enableIptOutput: true }),
  );
  assert.deepEqual(r?.input, [{ proto: 'tcp', port: 22 }, { proto: 'udp', port: 53 }]);
  assert.equal(r?.output, true);
  assert.equal(r?.forward, null);
  assert.equal(r?.dnat, null);
});

test('planGrantRules translates a NAT request to forward, DNAT and per-flow SNAT rules', () => {
  const r = planGrantRules(
    { ...base, stanza: stanza(), messageType: 2, access: [{ proto: 'tcp', port: 80 }], nat: { ip: '10.0.0.5', port: 22 } },
    serverConfig({ snatTranslateIp: '10.0.0.1' }),
  );
  assert.deepEqual(r?.forward, { all: false, proto: 'tcp', port: 22 });
  assert.deepEqual(r?.dnat, { all: false, proto: 'tcp', port: 80, toIp: '10.0.0.5', toPort: 22 });
  assert.deepEqual(r?.snat, { all: false, kind: 'SNAT', toSource: '10.0.0.1', proto: 'tcp', ip: '10.0.0.5', port: 22 });
});

test('planGrantRules uses an explicit FORCE_NAT target even for a plain access message', () => {
  const r = planGrantRules(
    { ...base, stanza: stanza({ forceNat: { ip: '10.0.0.7', port: 22, implied: false } }), access: [{ proto: 'tcp', port: 80 }] },
    serverConfig({ enableIptSnat: false }),
  );
  assert.deepEqual(r?.dnat, { all: false, proto: 'tcp', port: 80, toIp: '10.0.0.7', toPort: 22 });
  assert.deepEqual(r?.forward, { all: false, proto: 'tcp', port: 22 });
  assert.equal(r?.snat, null);
});

test('planGrantRules honours DISABLE_DNAT in the NAT branch', () => {
  const r = planGrantRules(
    { ...base, stanza: stanza({ disableDnat: true }), messageType: 2, nat: { ip: '10.0.0.5', port: 22 } },
    serverConfig({ enableIptSnat: false }),
  );
  assert.equal(r?.dnat, null);
  assert.deepEqual(r?.forward, { all: false, proto: 'tcp', port: 22 });
});

test('planGrantRules opens the real service port in INPUT for local NAT', () => {
  const r = planGrantRules(
    { ...base, stanza: stanza(), messageType: 5, access: [{ proto: 'tcp', port: 8022 }], nat: { ip: '192.168.1.1', port: 22 } },
    serverConfig({ enableIptSnat: false, enableIptLocalNat: true }),
  );
  assert.deepEqual(r?.input, [{ proto: 'tcp', port: 22 }]);
  assert.equal(r?.forward, null);
  assert.deepEqual(r?.dnat, { all: false, proto: 'tcp', port: 8022, toIp: '192.168.1.1', toPort: 22 });
});

test('planGrantRules leaves the MAC out when the stanza does not bind MACs', () => {
  const r = planGrantRules({ ...base, stanza: stanza({ macBinding: false }) }, serverConfig());
  assert.equal(r?.mac, null);
});

test('accessTimeout caps client timeouts at MAX_FW_TIMEOUT but uses FW_ACCESS_TIMEOUT as is', () => {
  const s = stanza({ fwAccessTimeout: 600, maxFwTimeout: 300 });
  assert.equal(accessTimeout(s, 3600), 300);
  assert.equal(accessTimeout(s, 60), 60);
  assert.equal(accessTimeout(s, 0), 600);
});
