/**
 * Issue 8: repeated rejections from one source are logged as one line plus one summary with a
 * count per window, never one line per packet; the tracked (source, reason) pairs are capped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/adapters/pino-logger.js';
import { RejectSummary } from '../../src/reject-summary.js';
import { LogBuffer, startInProcess } from '../helpers/in-process-gateway.js';

test('RejectSummary: first rejection logged at once, the rest as one line with a count per window', () => {
  const logs = new LogBuffer();
  const s = new RejectSummary(createLogger('info', logs), 10_000);
  for (let i = 0; i < 1000; i++) s.note('10.0.0.66', 'bad_hmac', 1000 + i);
  s.note('10.0.0.67', 'bad_hmac', 2000);
  assert.equal(logs.lines().length, 2, 'one line per (source, reason) inside the window');
  s.note('10.0.0.66', 'bad_hmac', 12_000); // next window: the previous one is summarised first
  const lines = logs.lines();
  const summary = lines.filter((l) => l.msg === 'more SPA packets rejected');
  assert.deepEqual(summary.map((l) => [l.src, l.reason, l.count]), [['10.0.0.66', 'bad_hmac', 999]]);
  assert.equal(lines.filter((l) => l.msg === 'SPA packet rejected' && l.src === '10.0.0.66').length, 2);
});

test('RejectSummary: spoofed sources beyond the cap are counted together, not tracked one by one', () => {
  const logs = new LogBuffer();
  const s = new RejectSummary(createLogger('info', logs), 10_000, 50);
  for (let i = 0; i < 5000; i++) s.note(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'too_short', 1000);
  assert.equal(logs.lines().length, 50, 'at most maxKeys immediate lines per window');
  s.flush();
  const other = logs.lines().find((l) => l.src === '*');
  assert.equal(other?.count, 4950);
});

test('the gateway summarises a flood from one source: one line now, one count line later', async () => {
  const g = await startInProcess({ logLevel: 'info' });
  try {
    for (let i = 0; i < 300; i++) g.inject(randomBytes(120), '10.0.0.66');
    await g.settle();
    const rejected = (): Record<string, unknown>[] => g.logs.lines().filter((l) => l.src === '10.0.0.66' && String(l.msg).includes('rejected'));
    assert.equal(rejected().length, 1, rejected().map((l) => JSON.stringify(l)).join('\n'));
    g.clock.advance(11_000);
    g.inject(randomBytes(120), '10.0.0.66');
    await g.settle();
    const count = rejected().find((l) => l.msg === 'more SPA packets rejected');
    assert.equal(count?.count, 299);
    // A legitimate knock from the same source still gets through.
    g.knock({ src: '10.0.0.66' });
    await g.settle();
    assert.equal(g.running.gateway.liveGrants().length, 1);
  } finally {
    await g.stop();
  }
});

test('RejectSummary.flushIfDue: a flood that stopped still gets its count line once the window is over', () => {
  const logs = new LogBuffer();
  const s = new RejectSummary(createLogger('info', logs), 10_000);
  for (let i = 0; i < 50; i++) s.note('10.0.0.66', 'replay', 1000);
  s.flushIfDue(5000);
  assert.equal(logs.lines().length, 1, 'not before the window ends');
  s.flushIfDue(11_000);
  assert.deepEqual(logs.lines().map((l) => l.count ?? null), [null, 49]);
  s.flushIfDue(30_000);
  assert.equal(logs.lines().length, 2, 'nothing more without new rejections');
  s.note('10.0.0.66', 'replay', 30_001);
  assert.equal(logs.lines().length, 3, 'the next rejection is logged at once again');
});
