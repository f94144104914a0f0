import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { UdpPacketSource } from '../../src/adapters/udp-socket.js';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { CaptureError } from '../../src/core/errors.js';
import type { ReceivedPacket } from '../../src/core/model.js';
import type { Logger } from '../../src/core/ports.js';

const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => quiet,
};

async function sender(port = 0): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(port, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

function waitFor(got: ReceivedPacket[], n: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (got.length >= n) resolve();
      else if (Date.now() > deadline) reject(new Error(`only ${got.length} of ${n} packets arrived`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

test(
  'UdpPacketSource delivers a loopback datagram with its source, the bound port and the exact payload',
  { timeout: 10_000 },
  async () => {
    const clock = new ManualClock(1_800_000_123_000);
    const src = new UdpPacketSource({ port: 0, host: '127.0.0.1', logger: quiet, clock });
    const got: ReceivedPacket[] = [];
    await src.start((p) => got.push(p));
    const s = await sender();
    try {
      const { port } = src.address();
      assert.ok(port > 0);
      const payload = Buffer.from('Z'.repeat(180) + '\x00tail');
      s.send(payload, port, '127.0.0.1');
      await waitFor(got, 1);
      const p = got[0];
      assert.deepEqual(p.payload, payload);
      assert.equal(p.srcIp, '127.0.0.1');
      assert.equal(p.srcPort, s.address().port);
      assert.equal(p.dstIp, '0.0.0.0');
      assert.equal(p.dstPort, port);
      assert.equal(p.srcMac, null);
      assert.equal(p.proto, 17);
      assert.equal(p.receivedAt, 1_800_000_123_000);
      assert.equal(src.stats().delivered, 1);
    } finally {
      s.close();
      await src.stop();
    }
  },
);

test('UdpPacketSource keeps receiving when the handler throws', { timeout: 10_000 }, async () => {
  const src = new UdpPacketSource({ port: 0, host: '127.0.0.1', logger: quiet, clock: new ManualClock() });
  const got: ReceivedPacket[] = [];
  await src.start((p) => {
    got.push(p);
    if (p.payload.toString() === 'bad') throw new Error('handler bug');
  });
  const s = await sender();
  try {
    s.send('bad', src.address().port, '127.0.0.1');
    await waitFor(got, 1);
    s.send('good', src.address().port, '127.0.0.1');
    await waitFor(got, 2);
    assert.equal(got[1].payload.toString(), 'good');
    assert.equal(src.stats().handlerErrors, 1);
  } finally {
    s.close();
    await src.stop();
  }
});

test(
  'UdpPacketSource rejects with a CaptureError when the port is already in use',
  { timeout: 10_000 },
  async () => {
    const taken = await sender();
    const src = new UdpPacketSource({
      port: taken.address().port,
      host: '127.0.0.1',
      logger: quiet,
      clock: new ManualClock(),
    });
    try {
      await assert.rejects(
        src.start(() => {}),
        (e: unknown) =>
          e instanceof CaptureError && e.code === 'SG_CAPTURE' && /already in use/.test(e.message),
      );
    } finally {
      taken.close();
    }
  },
);

test(
  'UdpPacketSource rejects with a CaptureError when the host is not a local address',
  { timeout: 10_000 },
  async () => {
    const src = new UdpPacketSource({ port: 0, host: '192.0.2.77', logger: quiet, clock: new ManualClock() });
    await assert.rejects(
      src.start(() => {}),
      (e: unknown) => e instanceof CaptureError && /not an address of this host/.test(e.message),
    );
  },
);

test(
  'UdpPacketSource delivers nothing after stop and can be stopped twice',
  { timeout: 10_000 },
  async () => {
    const src = new UdpPacketSource({ port: 0, host: '127.0.0.1', logger: quiet, clock: new ManualClock() });
    const got: ReceivedPacket[] = [];
    await src.start((p) => got.push(p));
    const port = src.address().port;
    await src.stop();
    await src.stop();
    assert.throws(() => src.address(), CaptureError);
    // The port is free again: a new socket can take it.
    const again = await sender(port);
    again.close();
    assert.equal(got.length, 0);
  },
);

test(
  'UdpPacketSource sets the receive buffer and warns when the kernel caps it below the request',
  { timeout: 10_000 },
  async () => {
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
    for (const wanted of [Math.floor(rmemMax / 2), rmemMax * 4]) {
      const infos: Record<string, unknown>[] = [];
      const warnings: Record<string, unknown>[] = [];
      const logger: Logger = {
        ...quiet,
        info: (o) => infos.push(o as Record<string, unknown>),
        warn: (o) => warnings.push(o as Record<string, unknown>),
        child: () => logger,
      };
      const src = new UdpPacketSource({
        port: 0,
        host: '127.0.0.1',
        logger,
        clock: new ManualClock(),
        recvBufferSize: wanted,
      });
      await src.start(() => {});
      await src.stop();
      // Linux doubles the value it stores for bookkeeping overhead and caps the request at rmem_max.
      assert.equal(infos[0].recvBufferSize, Math.min(wanted, rmemMax) * 2, `wanted ${wanted}`);
      assert.equal(warnings.length, wanted > rmemMax ? 1 : 0, `wanted ${wanted}, rmem_max ${rmemMax}`);
    }
  },
);
