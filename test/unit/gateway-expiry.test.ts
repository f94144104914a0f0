import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_INSTALL_CREDIT_MS } from '../../src/core/expiry.js';
import type { Grant } from '../../src/core/model.js';
import { KERNEL_GRACE_MS } from '../../src/core/rules/nftables-state.js';
import { NOW, startInProcess } from '../helpers/in-process-gateway.js';

/** An install that takes `ms` of the gateway's clock, as a real nft or iptables run does. */
function slowInstall(g: Awaited<ReturnType<typeof startInProcess>>, ms: number): void {
  const install = g.firewall.install.bind(g.firewall);
  g.firewall.install = (grants: readonly Grant[]) => {
    g.clock.advance(ms);
    return install(grants);
  };
}

test('a grant’s time counts from when its rules are in place, in memory and in the store', async () => {
  const g = await startInProcess();
  try {
    slowInstall(g, 40);
    g.knock();
    await g.settle();
    const [live] = g.running.gateway.liveGrants();
    assert.ok(live, 'granted');
    assert.equal(live.grantedAt, NOW);
    assert.equal(live.expiresAt, NOW + 40 + 30_000, 'the 40 ms install is not taken out of FW_ACCESS_TIMEOUT');
    assert.equal((await g.store.getGrant(live.id))?.expiresAt, live.expiresAt);
    const line = g.logs.lines().find((l) => l.msg === 'grant installed');
    assert.equal(line?.expiresAt, new Date(live.expiresAt).toISOString(), 'the log shows the expiry the sweeper uses');
  } finally {
    await g.stop();
  }
});

test('a re-knock that does not move the expiry keeps it as it was', async () => {
  const g = await startInProcess();
  try {
    g.knock({ fields: { message_type: 3, client_timeout: 120 } });
    await g.settle();
    const [first] = g.running.gateway.liveGrants();
    assert.equal(first.expiresAt, NOW + 120_000);
    slowInstall(g, 40);
    g.knock();
    await g.settle();
    const [after] = g.running.gateway.liveGrants();
    assert.equal(after.id, first.id, 'extended in place');
    assert.equal(after.expiresAt, first.expiresAt, 'a shorter timeout never shortens, and the install time is not added to it');
  } finally {
    await g.stop();
  }
});

test('the credit for a slow install is capped, staying inside the kernel timeouts\' grace', async () => {
  const g = await startInProcess();
  try {
    slowInstall(g, 400);
    g.knock();
    await g.settle();
    const [live] = g.running.gateway.liveGrants();
    assert.equal(live.expiresAt, NOW + MAX_INSTALL_CREDIT_MS + 30_000);
    assert.ok(MAX_INSTALL_CREDIT_MS < KERNEL_GRACE_MS);
  } finally {
    await g.stop();
  }
});

test('grants already due ask for an immediate sweep, unless the last removal failed', async () => {
  const g = await startInProcess();
  try {
    g.knock();
    await g.settle();
    const gw = g.running.gateway;
    assert.equal(gw.nextExpiry(), NOW + 30_000);
    g.clock.advance(30_500);
    assert.equal(gw.nextExpiry(), g.clock.now(), 'due now: no waiting for the next cron tick');
    g.firewall.failNext(1);
    await gw.sweep();
    assert.equal(gw.liveGrants().length, 1, 'kept while its rules could not be removed');
    assert.equal(gw.nextExpiry(), null, 'a failing firewall is retried by the cron, not in a loop');
    await gw.sweep();
    assert.equal(gw.liveGrants().length, 0);
  } finally {
    await g.stop();
  }
});
