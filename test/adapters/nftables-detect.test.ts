import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detectFirewallBackend, type FirewallProbe } from '../../src/adapters/firewall-detect.js';
import { FirewallError } from '../../src/core/errors.js';

function probe(nft: boolean, ipt: boolean): FirewallProbe & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    nftWorks: () => {
      calls.push('nft');
      return Promise.resolve(nft);
    },
    iptablesWorks: () => {
      calls.push('iptables');
      return Promise.resolve(ipt);
    },
  };
}

test('detectFirewallBackend auto picks nftables when nft works', async () => {
  const r = await detectFirewallBackend('auto', probe(true, true));
  assert.equal(r.backend, 'nftables');
  assert.match(r.reason, /^auto: /);
});

test('detectFirewallBackend auto falls back to iptables when nft does not work', async () => {
  const p = probe(false, true);
  const r = await detectFirewallBackend('auto', p);
  assert.equal(r.backend, 'iptables');
  assert.deepEqual(p.calls, ['nft', 'iptables']);
});

test('detectFirewallBackend auto fails when neither backend works', async () => {
  await assert.rejects(detectFirewallBackend('auto', probe(false, false)), FirewallError);
});

test('detectFirewallBackend honours an explicit choice without probing', async () => {
  for (const choice of ['iptables', 'nftables'] as const) {
    const p = probe(false, false);
    const r = await detectFirewallBackend(choice, p);
    assert.equal(r.backend, choice);
    assert.deepEqual(p.calls, []);
  }
});
