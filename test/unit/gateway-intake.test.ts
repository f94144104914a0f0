/**
 * Packets wait in a fair queue between the capture and verification: a flood from one source
 * neither delays another client's knock behind it nor grows memory without bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DEFAULT_QUEUE_LIMITS } from '../../src/core/fair-queue.js';
import type { GatewayMetrics } from '../../src/gateway.js';
import { startInProcess } from '../helpers/in-process-gateway.js';

/** The order of every packet's outcome. */
function recorder(): GatewayMetrics & { outcomes: string[] } {
  const outcomes: string[] = [];
  return { outcomes, packet: (o, r) => outcomes.push(`${o}:${r}`), grantLatency: () => undefined, sweep: () => undefined };
}

/** Shaped like a packet (base64, right length) but under no key: costs an HMAC per stanza. */
function wrongHmacLike(): Buffer {
  return Buffer.from(randomBytes(180).toString('base64').replace(/=+$/, ''), 'latin1');
}

async function until(cond: () => boolean, turns = 2000): Promise<void> {
  for (let i = 0; i < turns && !cond(); i++) await new Promise((r) => setImmediate(r));
}

test('a knock sent after 3,000 flood packets from another source is verified among the first', async () => {
  const metrics = recorder();
  const g = await startInProcess({ metrics, logLevel: 'warn' });
  try {
    for (let i = 0; i < 3000; i++) g.inject(wrongHmacLike(), '10.0.0.66');
    g.knock({ src: '10.0.0.9' });
    await until(() => metrics.outcomes.includes('accepted:granted'));
    const at = metrics.outcomes.indexOf('accepted:granted');
    assert.ok(at >= 0, 'granted');
    assert.ok(at < 300, `verified after ${at} flood packets, not after all 3,000`);
    await until(() => metrics.outcomes.length === 3001);
    assert.equal(metrics.outcomes.length, 3001, 'every flood packet still ends in an outcome');
  } finally {
    await g.stop();
  }
});

test('beyond its share a source is refused as overload, counted, and other sources still get in', async () => {
  const metrics = recorder();
  const g = await startInProcess({ metrics, logLevel: 'warn' });
  try {
    const extra = 25;
    // Injected in one go, before any verification slice runs: the queue holds exactly a share.
    for (let i = 0; i < DEFAULT_QUEUE_LIMITS.perSource + extra; i++) g.inject(wrongHmacLike(), '10.0.0.66');
    g.knock({ src: '10.0.0.9' });
    assert.equal(metrics.outcomes.filter((o) => o === 'rejected:overload').length, extra);
    await until(() => metrics.outcomes.includes('accepted:granted'));
    assert.ok(metrics.outcomes.includes('accepted:granted'), 'the other source was granted');
    assert.equal(g.running.gateway.liveGrants().length, 1);
  } finally {
    await g.stop();
  }
});
