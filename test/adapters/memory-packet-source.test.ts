import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPacketSource } from '../../src/adapters/memory-packet-source.js';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import type { ReceivedPacket } from '../../src/core/model.js';
import type { Logger } from '../../src/core/ports.js';

function packet(n: number): ReceivedPacket {
  return {
    payload: Buffer.from(`p${n}`),
    srcIp: '192.0.2.10',
    srcPort: 40000 + n,
    dstIp: '192.0.2.1',
    dstPort: 62201,
    srcMac: '02:00:00:00:00:01',
    proto: 17,
    receivedAt: 1_800_000_000_000,
  };
}

function recordingLogger(lines: { level: string; msg?: string }[]): Logger {
  const l: Logger = {
    debug: (_o, msg) => lines.push({ level: 'debug', msg }),
    info: (_o, msg) => lines.push({ level: 'info', msg }),
    warn: (_o, msg) => lines.push({ level: 'warn', msg }),
    error: (_o, msg) => lines.push({ level: 'error', msg }),
    child: () => l,
  };
  return l;
}

test('MemoryPacketSource delivers injected packets in order when started', async () => {
  const src = new MemoryPacketSource();
  const got: ReceivedPacket[] = [];
  await src.start((p) => got.push(p));
  assert.equal(src.inject(packet(1)), true);
  assert.equal(src.inject(packet(2)), true);
  assert.deepEqual(
    got.map((p) => p.srcPort),
    [40001, 40002],
  );
  assert.equal(got[0].payload.toString(), 'p1');
  assert.equal(src.stats().delivered, 2);
});

test('MemoryPacketSource delivers nothing when not started or after stop', async () => {
  const src = new MemoryPacketSource();
  const got: ReceivedPacket[] = [];
  assert.equal(src.inject(packet(1)), false);
  await src.start((p) => got.push(p));
  assert.equal(src.running, true);
  await src.stop();
  assert.equal(src.running, false);
  assert.equal(src.inject(packet(2)), false);
  assert.equal(got.length, 0);
  assert.equal(src.stats().received, 0);
});

test('MemoryPacketSource counts and logs a throwing handler when the handler throws, and keeps delivering', async () => {
  const lines: { level: string; msg?: string }[] = [];
  const src = new MemoryPacketSource({ logger: recordingLogger(lines), clock: new ManualClock() });
  let calls = 0;
  await src.start((p) => {
    calls++;
    if (p.srcPort === 40001) throw new Error('boom');
  });
  assert.equal(src.inject(packet(1)), true);
  assert.equal(src.inject(packet(2)), true);
  assert.equal(calls, 2);
  const s = src.stats();
  assert.equal(s.handlerErrors, 1);
  assert.equal(s.delivered, 1);
  assert.equal(s.received, 2);
  assert.equal(lines.filter((l) => l.level === 'error').length, 1);
});

test('MemoryPacketSource bounds error logging when the handler throws on every packet', async () => {
  const lines: { level: string; msg?: string }[] = [];
  const clock = new ManualClock();
  const src = new MemoryPacketSource({ logger: recordingLogger(lines), clock });
  await src.start(() => {
    throw new Error('always');
  });
  for (let i = 0; i < 1000; i++) src.inject(packet(i));
  const first = lines.filter((l) => l.level === 'error').length;
  assert.ok(first > 0 && first <= 10, `logged ${first} errors for 1000 throws`);
  clock.advance(11_000);
  src.inject(packet(0));
  assert.equal(lines.filter((l) => l.level === 'error').length, first + 1);
  assert.equal(src.stats().handlerErrors, 1001);
});
