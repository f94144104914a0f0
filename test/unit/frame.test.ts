import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeFrame,
  decodeFrameInto,
  formatMac,
  newFrameFields,
  type FrameDecodeResult,
} from '../../src/core/frame.js';

// Hand-built frames: every header is written byte by byte here, not by the code under test.

const MAC_SRC = Buffer.from([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
const MAC_DST = Buffer.from([0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee]);

interface IpOpts {
  src?: number[];
  dst?: number[];
  proto?: number;
  ihlWords?: number;
  options?: Buffer;
  totalLength?: number;
  fragment?: number;
  version?: number;
}

function udp(srcPort: number, dstPort: number, payload: Buffer, lengthField?: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(srcPort, 0);
  h.writeUInt16BE(dstPort, 2);
  h.writeUInt16BE(lengthField ?? 8 + payload.length, 4);
  h.writeUInt16BE(0, 6); // checksum 0: "none" for IPv4, and we do not verify it
  return Buffer.concat([h, payload]);
}

function ipv4(l4: Buffer, o: IpOpts = {}): Buffer {
  const options = o.options ?? Buffer.alloc(0);
  const ihl = o.ihlWords ?? 5 + options.length / 4;
  const h = Buffer.alloc(20);
  h[0] = ((o.version ?? 4) << 4) | ihl;
  h.writeUInt16BE(o.totalLength ?? 20 + options.length + l4.length, 2);
  h.writeUInt16BE(0x1234, 4);
  h.writeUInt16BE(o.fragment ?? 0x4000, 6); // DF
  h[8] = 64;
  h[9] = o.proto ?? 17;
  Buffer.from(o.src ?? [192, 0, 2, 10]).copy(h, 12);
  Buffer.from(o.dst ?? [192, 0, 2, 1]).copy(h, 16);
  return Buffer.concat([h, options, l4]);
}

function ether(ip: Buffer, vlanTags: number[] = [], ethertype = 0x0800): Buffer {
  const parts: Buffer[] = [MAC_DST, MAC_SRC];
  for (const tpid of vlanTags) {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(tpid, 0);
    t.writeUInt16BE(100, 2); // VLAN id 100
    parts.push(t);
  }
  const et = Buffer.alloc(2);
  et.writeUInt16BE(ethertype, 0);
  parts.push(et, ip);
  return Buffer.concat(parts);
}

function sll(ip: Buffer, pkttype = 0, hatype = 1, halen = 6, protocol = 0x0800): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(pkttype, 0);
  h.writeUInt16BE(hatype, 2);
  h.writeUInt16BE(halen, 4);
  MAC_SRC.copy(h, 6);
  h.writeUInt16BE(protocol, 14);
  return Buffer.concat([h, ip]);
}

function sll2(ip: Buffer, pkttype = 0, hatype = 1, halen = 6, protocol = 0x0800): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(protocol, 0);
  h.writeUInt32BE(3, 4); // ifindex
  h.writeUInt16BE(hatype, 8);
  h[10] = pkttype;
  h[11] = halen;
  MAC_SRC.copy(h, 12);
  return Buffer.concat([h, ip]);
}

const PAYLOAD = Buffer.from('A'.repeat(150));
const GOOD_UDP = udp(40001, 62201, PAYLOAD);

function ok(r: FrameDecodeResult) {
  assert.equal(r.ok, true, r.ok ? '' : `dropped: ${r.reason}`);
  if (!r.ok) throw new Error('unreachable');
  return r.frame;
}

function reason(r: FrameDecodeResult): string {
  assert.equal(r.ok, false, 'expected a drop');
  return r.ok ? '' : r.reason;
}

test('decodeFrame gives MAC, addresses, ports and exact payload when an Ethernet frame carries UDP', () => {
  const f = ok(decodeFrame('ethernet', ether(ipv4(GOOD_UDP))));
  assert.equal(f.srcMac, '02:11:22:33:44:55');
  assert.equal(f.srcIp, '192.0.2.10');
  assert.equal(f.dstIp, '192.0.2.1');
  assert.equal(f.srcPort, 40001);
  assert.equal(f.dstPort, 62201);
  assert.equal(f.proto, 17);
  assert.deepEqual(f.payload, PAYLOAD);
});

test('decodeFrame ignores Ethernet padding when the frame is longer than the IP total length', () => {
  const small = udp(1, 2, Buffer.from('hi'));
  const frame = Buffer.concat([ether(ipv4(small)), Buffer.alloc(20, 0xee)]);
  const f = ok(decodeFrame('ethernet', frame));
  assert.equal(f.payload.toString(), 'hi');
});

test('decodeFrame skips 802.1Q and 802.1ad tags when the frame is VLAN tagged', () => {
  assert.deepEqual(ok(decodeFrame('ethernet', ether(ipv4(GOOD_UDP), [0x8100]))).payload, PAYLOAD);
  const qinq = ok(decodeFrame('ethernet', ether(ipv4(GOOD_UDP), [0x88a8, 0x8100])));
  assert.equal(qinq.srcIp, '192.0.2.10');
  assert.deepEqual(qinq.payload, PAYLOAD);
});

test('decodeFrame drops the frame when it has more VLAN tags than the limit', () => {
  assert.equal(
    reason(decodeFrame('ethernet', ether(ipv4(GOOD_UDP), [0x8100, 0x8100, 0x8100, 0x8100, 0x8100]))),
    'too-many-vlan-tags',
  );
});

test('decodeFrame drops the frame when a VLAN tag is cut off', () => {
  const frame = ether(ipv4(GOOD_UDP), [0x8100]).subarray(0, 16);
  assert.equal(reason(decodeFrame('ethernet', frame)), 'truncated');
});

test('decodeFrame reads the source MAC from a cooked SLL header when capturing on any', () => {
  const f = ok(decodeFrame('sll', sll(ipv4(GOOD_UDP))));
  assert.equal(f.srcMac, '02:11:22:33:44:55');
  assert.equal(f.srcPort, 40001);
  assert.deepEqual(f.payload, PAYLOAD);
});

test('decodeFrame gives a null MAC when the SLL link address is not Ethernet', () => {
  const f = ok(decodeFrame('sll', sll(ipv4(GOOD_UDP), 0, 772, 0))); // ARPHRD_LOOPBACK
  assert.equal(f.srcMac, null);
  assert.equal(ok(decodeFrame('sll2', sll2(ipv4(GOOD_UDP), 0, 65534, 0))).srcMac, null); // ARPHRD_NONE (tun)
});

test('decodeFrame decodes SLL2 headers with the protocol first and the MAC at offset 12', () => {
  const f = ok(decodeFrame('sll2', sll2(ipv4(GOOD_UDP))));
  assert.equal(f.srcMac, '02:11:22:33:44:55');
  assert.equal(f.dstIp, '192.0.2.1');
  assert.deepEqual(f.payload, PAYLOAD);
});

test('decodeFrame drops outgoing packets when the cooked header says this host sent them', () => {
  assert.equal(reason(decodeFrame('sll', sll(ipv4(GOOD_UDP), 4))), 'outgoing');
  assert.equal(reason(decodeFrame('sll2', sll2(ipv4(GOOD_UDP), 4))), 'outgoing');
});

test('decodeFrame handles VLAN tags inside a cooked header', () => {
  const tag = Buffer.from([0x00, 0x64, 0x08, 0x00]);
  const f = ok(decodeFrame('sll', sll(Buffer.concat([tag, ipv4(GOOD_UDP)]), 0, 1, 6, 0x8100)));
  assert.deepEqual(f.payload, PAYLOAD);
});

test('decodeFrame decodes raw IPv4 frames with no link header and no MAC', () => {
  const f = ok(decodeFrame('raw', ipv4(GOOD_UDP)));
  assert.equal(f.srcMac, null);
  assert.equal(f.srcIp, '192.0.2.10');
  assert.deepEqual(f.payload, PAYLOAD);
});

test('decodeFrame drops non-IPv4 when the ethertype or IP version is something else', () => {
  assert.equal(reason(decodeFrame('ethernet', ether(ipv4(GOOD_UDP), [], 0x86dd))), 'not-ipv4');
  assert.equal(reason(decodeFrame('ethernet', ether(ipv4(GOOD_UDP), [], 0x0806))), 'not-ipv4');
  assert.equal(reason(decodeFrame('ethernet', ether(ipv4(GOOD_UDP, { version: 6 })))), 'not-ipv4');
  assert.equal(reason(decodeFrame('raw', ipv4(GOOD_UDP, { version: 6 }))), 'not-ipv4');
  assert.equal(reason(decodeFrame('sll', sll(ipv4(GOOD_UDP), 0, 1, 6, 0x86dd))), 'not-ipv4');
});

test('decodeFrame skips IP options when the header is longer than 20 bytes', () => {
  const options = Buffer.from([0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]); // router alert, NOP x3, EOL
  const f = ok(decodeFrame('ethernet', ether(ipv4(GOOD_UDP, { options }))));
  assert.equal(f.srcPort, 40001);
  assert.equal(f.dstPort, 62201);
  assert.deepEqual(f.payload, PAYLOAD);
  const max = ok(decodeFrame('raw', ipv4(GOOD_UDP, { options: Buffer.alloc(40, 1) })));
  assert.deepEqual(max.payload, PAYLOAD);
});

test('decodeFrame drops the frame when the IP header length is below 20 or beyond the total length', () => {
  assert.equal(reason(decodeFrame('raw', ipv4(GOOD_UDP, { ihlWords: 4 }))), 'bad-ip-header');
  assert.equal(reason(decodeFrame('raw', ipv4(GOOD_UDP, { totalLength: 19 }))), 'bad-ip-header');
  // IHL claims 60 bytes of header but the total length says 40.
  assert.equal(
    reason(decodeFrame('raw', ipv4(Buffer.alloc(40), { ihlWords: 15, totalLength: 40 }))),
    'bad-ip-header',
  );
});

test('decodeFrame drops non-UDP when a custom filter lets TCP or ICMP through', () => {
  assert.equal(reason(decodeFrame('ethernet', ether(ipv4(Buffer.alloc(40), { proto: 6 })))), 'not-udp');
  assert.equal(reason(decodeFrame('ethernet', ether(ipv4(Buffer.alloc(40), { proto: 1 })))), 'not-udp');
});

test('decodeFrame drops fragments whether first, middle or last', () => {
  assert.equal(reason(decodeFrame('raw', ipv4(GOOD_UDP, { fragment: 0x2000 }))), 'fragment'); // MF, offset 0
  assert.equal(reason(decodeFrame('raw', ipv4(GOOD_UDP, { fragment: 0x2000 | 185 }))), 'fragment'); // MF, offset
  assert.equal(reason(decodeFrame('raw', ipv4(GOOD_UDP, { fragment: 185 }))), 'fragment'); // last
  assert.equal(decodeFrame('raw', ipv4(GOOD_UDP, { fragment: 0 })).ok, true); // DF clear, unfragmented
});

test('decodeFrame drops the frame when the IP total length claims more than was captured', () => {
  const ip = ipv4(GOOD_UDP, { totalLength: 20 + GOOD_UDP.length + 1 });
  assert.equal(reason(decodeFrame('raw', ip)), 'truncated');
});

test('decodeFrame drops the frame when the UDP length lies', () => {
  assert.equal(
    reason(decodeFrame('raw', ipv4(udp(1, 2, PAYLOAD, 8 + PAYLOAD.length + 1)))),
    'bad-udp-length',
  );
  assert.equal(reason(decodeFrame('raw', ipv4(udp(1, 2, PAYLOAD, 7)))), 'bad-udp-length');
  assert.equal(reason(decodeFrame('raw', ipv4(udp(1, 2, PAYLOAD, 0xffff)))), 'bad-udp-length');
});

test('decodeFrame takes exactly the UDP length when it is shorter than the IP payload', () => {
  const f = ok(decodeFrame('raw', ipv4(udp(1, 2, PAYLOAD, 8 + 10))));
  assert.equal(f.payload.length, 10);
  assert.deepEqual(f.payload, PAYLOAD.subarray(0, 10));
});

test('decodeFrame accepts an empty UDP payload', () => {
  assert.equal(ok(decodeFrame('raw', ipv4(udp(1, 2, Buffer.alloc(0))))).payload.length, 0);
});

test('decodeFrame drops the frame when the IP payload is too short for a UDP header', () => {
  assert.equal(reason(decodeFrame('raw', ipv4(Buffer.alloc(4)))), 'truncated');
});

test('decodeFrame never throws and never reads past the end when frames are cut at every length', () => {
  const frames: [Parameters<typeof decodeFrame>[0], Buffer][] = [
    ['ethernet', ether(ipv4(GOOD_UDP, { options: Buffer.alloc(8, 1) }), [0x8100])],
    ['sll', sll(ipv4(GOOD_UDP))],
    ['sll2', sll2(ipv4(GOOD_UDP))],
    ['raw', ipv4(GOOD_UDP)],
  ];
  for (const [link, full] of frames) {
    assert.equal(decodeFrame(link, full).ok, true);
    for (let n = 0; n < full.length; n++) {
      // A fresh copy of exactly n bytes: any read past n would throw a RangeError.
      assert.equal(
        reason(decodeFrame(link, Buffer.from(full.subarray(0, n)))),
        'truncated',
        `${link} cut at ${n}`,
      );
    }
  }
});

test('decodeFrame never throws when given random bytes', () => {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.alloc(next() % 120);
    for (let j = 0; j < b.length; j++) b[j] = next() & 255;
    if (b.length > 14 && i % 2 === 0) b.writeUInt16BE(0x0800, 12); // reach the IP decoder often
    for (const link of ['ethernet', 'sll', 'sll2', 'raw'] as const) decodeFrame(link, b);
  }
});

test('decodeFrameInto reads only the captured length when the buffer is a larger shared one', () => {
  const frame = ether(ipv4(GOOD_UDP));
  const shared = Buffer.alloc(4096, 0x55);
  frame.copy(shared);
  const out = newFrameFields();
  assert.equal(decodeFrameInto('ethernet', shared, frame.length, out), null);
  assert.equal(out.payloadLength, PAYLOAD.length);
  assert.equal(formatMac(shared, out.srcMacOffset), '02:11:22:33:44:55');
  assert.equal(decodeFrameInto('ethernet', shared, frame.length - 1, out), 'truncated');
});
