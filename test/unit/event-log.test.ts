import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { silentLogger } from '../../src/adapters/pino-logger.js';
import type { EventOutcome, SpaEvent } from '../../src/core/model.js';
import { EventLog } from '../../src/event-log.js';

function ev(outcome: EventOutcome, n = 0): SpaEvent {
  return { at: n, outcome, reason: outcome === 'rejected' ? 'hmac_mismatch' : 'granted', srcIp: '10.0.0.9', srcPort: 1, mac: null, user: null, stanzaId: null, grantId: null, detail: null };
}

/** Records each addEvents call's size, and whether the event loop ran since the previous one. */
class ChunkStore extends MemoryStore {
  readonly chunks: number[] = [];
  readonly yielded: boolean[] = [];
  private ticked = true;
  override async addEvents(events: readonly SpaEvent[]): Promise<void> {
    this.chunks.push(events.length);
    this.yielded.push(this.ticked);
    this.ticked = false;
    setImmediate(() => (this.ticked = true));
    return super.addEvents(events);
  }
}

test('rejections beyond the budget of one flush are counted, not stored; grants always are', async () => {
  const store = new MemoryStore();
  const log = new EventLog(store, silentLogger, 20_000, 60_000, 100);
  for (let i = 0; i < 250; i++) log.add(ev('rejected', i));
  for (let i = 0; i < 5; i++) log.add(ev('accepted', i));
  await log.flush();
  const stored = await store.listEvents({ limit: 1000 });
  assert.equal(stored.filter((e) => e.outcome === 'rejected').length, 100);
  assert.equal(stored.filter((e) => e.outcome === 'accepted').length, 5);
  assert.equal(log.dropped, 150);
  // A new flush period has a new budget.
  for (let i = 0; i < 10; i++) log.add(ev('rejected', i));
  await log.stop();
  assert.equal((await store.listEvents({ limit: 1000 })).length, 115);
});

test('a large batch is written in chunks with the event loop let through between them', async () => {
  const store = new ChunkStore();
  const log = new EventLog(store, silentLogger, 20_000, 60_000, 5_000, 500);
  for (let i = 0; i < 1200; i++) log.add(ev('rejected', i));
  await log.stop();
  assert.deepEqual(store.chunks, [500, 500, 200]);
  assert.deepEqual(store.yielded, [true, true, true], 'the loop ran before every chunk');
  assert.equal((await store.listEvents({ limit: 2000 })).length, 1200);
});

test('a failing write loses only what was not written, counts it, and the log keeps working', async () => {
  let calls = 0;
  const store = new (class extends MemoryStore {
    override async addEvents(events: readonly SpaEvent[]): Promise<void> {
      if (++calls === 2) throw new Error('disk full');
      return super.addEvents(events);
    }
  })();
  const log = new EventLog(store, silentLogger, 20_000, 60_000, 5_000, 500);
  for (let i = 0; i < 1200; i++) log.add(ev('rejected', i));
  await log.flush();
  assert.equal(log.dropped, 700);
  log.add(ev('accepted'));
  await log.stop();
  assert.equal((await store.listEvents({ limit: 2000 })).length, 501);
});
