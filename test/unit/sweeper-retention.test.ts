/**
 * Issue 8: the daemon keeps the database bounded. The composition root gives the sweeper the
 * store's retention (StoreRetention), which prunes old events and ended grants at start and
 * then on its schedule; live grants and recent history stay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { MemoryFirewall } from '../../src/adapters/memory-firewall.js';
import { MemoryPacketSource } from '../../src/adapters/memory-packet-source.js';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { createLogger } from '../../src/adapters/pino-logger.js';
import type { Grant, SpaEvent } from '../../src/core/model.js';
import { createGateway } from '../../src/daemon.js';
import { Gateway } from '../../src/gateway.js';
import { HISTORY_RETENTION_MS, Sweeper } from '../../src/sweeper.js';
import { counterRandom, LogBuffer, NOW } from '../helpers/in-process-gateway.js';
import { serverConfig, stanza } from '../helpers/fixtures.js';

const DAY = 24 * 3600 * 1000;

function event(at: number, reason = 'bad_hmac'): SpaEvent {
  return { at, outcome: 'rejected', reason, srcIp: '10.0.0.9', srcPort: 1, mac: null, user: null, stanzaId: null, grantId: null, detail: null };
}

function grant(id: string, grantedAt: number, expiresAt: number): Grant {
  return {
    id,
    stanzaId: 's',
    user: 'alice',
    rules: { src: '10.0.0.9', mac: null, dst: null, input: [], output: false, forward: { all: true }, dnat: null, snat: { all: true, kind: 'MASQUERADE' } },
    grantedAt,
    expiresAt,
  };
}

async function seed(store: MemoryStore): Promise<void> {
  await store.addEvents([event(NOW - 40 * DAY), event(NOW - 31 * DAY), event(NOW - 29 * DAY), event(NOW - 1000)]);
  await store.saveGrant(grant('old-ended', NOW - 60 * DAY, NOW - 59 * DAY));
  await store.endGrant('old-ended', NOW - 59 * DAY, 'expired');
  await store.saveGrant(grant('recent-ended', NOW - 2 * DAY, NOW - DAY));
  await store.endGrant('recent-ended', NOW - DAY, 'expired');
}

test('the composition root prunes events and ended grants older than the retention at start', async () => {
  const store = new MemoryStore();
  await seed(store);
  const clock = new ManualClock(NOW);
  const logs = new LogBuffer();
  const logger = createLogger('info', logs);
  const server = serverConfig({ testMode: false });
  const running = await createGateway(
    { server, stanzas: [stanza()], warnings: [] },
    { store, firewall: new MemoryFirewall({ chains: server.chains }), source: new MemoryPacketSource({ logger, clock }), clock, random: counterRandom('ret'), logger },
  );
  try {
    for (let i = 0; i < 10 && !logs.text.includes('old history pruned'); i++) await new Promise((r) => setTimeout(r, 20));
    const events = await store.listEvents({ limit: 100 });
    assert.deepEqual(events.map((e) => e.at).sort(), [NOW - 29 * DAY, NOW - 1000].sort(), 'only events inside 30 days remain');
    assert.equal(await store.getGrant('old-ended'), null, 'an ended grant past retention is gone');
    assert.ok(await store.getGrant('recent-ended'), 'a recently ended grant stays');
    const line = logs.lines().find((l) => l.msg === 'old history pruned');
    assert.deepEqual({ events: line?.events, grants: line?.grants }, { events: 2, grants: 1 });
    assert.equal(HISTORY_RETENTION_MS, 30 * DAY);
  } finally {
    await running.stop();
  }
});

test('the sweeper prunes again on its schedule, never touches live grants, and survives a failing store', async () => {
  const store = new MemoryStore();
  const clock = new ManualClock(NOW);
  const logs = new LogBuffer();
  const logger = createLogger('info', logs);
  const server = serverConfig({ testMode: false });
  const firewall = new MemoryFirewall({ chains: server.chains });
  await store.saveGrant(grant('live-old', NOW - 90 * DAY, NOW + DAY));
  const gw = new Gateway({ config: { server, stanzas: [stanza()], warnings: [] }, store, firewall, clock, random: counterRandom('sw'), logger });
  await firewall.start({ flush: false });
  await gw.start();
  let calls = 0;
  let fail = false;
  const retention = {
    pruneEvents: (before: number) => {
      calls++;
      if (fail) return Promise.reject(new Error('disk I/O error'));
      return store.pruneEvents(before);
    },
    pruneEndedGrants: (before: number) => store.pruneEndedGrants(before),
  };
  // One tick per second (node-cron): historyEvery 1 prunes on every tick.
  const sweeper = new Sweeper(gw, clock, logger, { reconcileEvery: 1000, pruneEvery: 1000, historyEvery: 1 }, { store: retention, eventsMs: DAY, endedGrantsMs: DAY });
  sweeper.start();
  try {
    assert.equal(calls, 1, 'the first prune runs at start');
    await store.addEvents([event(NOW - 2 * DAY)]);
    fail = true;
    const until = Date.now() + 3500;
    while (calls < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok(calls >= 2, 'pruned again by the schedule');
    fail = false;
    while (calls < 3 && Date.now() < until + 1500) await new Promise((r) => setTimeout(r, 50));
    assert.ok(calls >= 3, 'a failed prune is retried on the next scheduled run');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await store.listEvents({ limit: 10 }), [], 'the old event went once the store recovered');
    assert.ok(logs.lines().some((l) => l.msg === 'history prune failed; will retry'));
    assert.ok(await store.getGrant('live-old'), 'a live grant is never pruned, however old');
  } finally {
    await sweeper.stop();
    await gw.stop();
  }
});
