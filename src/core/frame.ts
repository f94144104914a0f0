/**
 * Decoding of captured frames down to the UDP payload. Pure and bounds-checked: every read
 * is preceded by a length check, nothing throws, and a frame that cannot be used comes back
 * as a FrameDropReason. See docs/capture.md for what is dropped and why.
 *
 * Two entry points: `decodeFrameInto` fills a caller-owned `FrameFields` with numbers and
 * offsets and allocates nothing (the capture loop uses it once per packet, so a flood costs
 * no garbage); `decodeFrame` wraps it into a friendly value with strings and a payload slice.
 */

/** Link-layer header types spagate decodes (libpcap DLT names in the comments). */
export type LinkType =
  /** DLT_EN10MB: Ethernet II, with any number (up to MAX_VLAN_TAGS) of 802.1Q/802.1ad tags. */
  | 'ethernet'
  /** DLT_LINUX_SLL: Linux cooked capture v1, what `-i any` gives by default. */
  | 'sll'
  /** DLT_LINUX_SLL2: Linux cooked capture v2. */
  | 'sll2'
  /** DLT_RAW / DLT_IPV4: the frame starts with the IP header. */
  | 'raw';

export type FrameDropReason =
  /** The frame ends before a header or before the IP total length. */
  | 'truncated'
  /** Cooked capture of a packet this host sent (`-i any` sees forwarded packets twice). */
  | 'outgoing'
  /** Not IPv4 (IPv6, ARP, ...). */
  | 'not-ipv4'
  | 'too-many-vlan-tags'
  /** IPv4 header length below 20, or total length below the header length. */
  | 'bad-ip-header'
  /** A fragment (first or later): SPA packets fit one datagram, reassembly is not done. */
  | 'fragment'
  /** TCP, ICMP or anything other than UDP (a custom filter may let them through). */
  | 'not-udp'
  /** UDP length below 8 or beyond the IP payload. */
  | 'bad-udp-length';

export const FRAME_DROP_REASONS: readonly FrameDropReason[] = [
  'truncated',
  'outgoing',
  'not-ipv4',
  'too-many-vlan-tags',
  'bad-ip-header',
  'fragment',
  'not-udp',
  'bad-udp-length',
];

export const MAX_VLAN_TAGS = 4;

export const IPPROTO_UDP = 17;

/** Mutable, caller-owned result of `decodeFrameInto`; valid only after a null return. */
export interface FrameFields {
  /** Offset of the 6-byte source MAC in the frame, or -1 when the link has none. */
  srcMacOffset: number;
  /** Unsigned 32-bit. */
  srcIp: number;
  dstIp: number;
  srcPort: number;
  dstPort: number;
  proto: number;
  payloadOffset: number;
  payloadLength: number;
}

export function newFrameFields(): FrameFields {
  return {
    srcMacOffset: -1,
    srcIp: 0,
    dstIp: 0,
    srcPort: 0,
    dstPort: 0,
    proto: 0,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

const ETH_HEADER = 14;
const SLL_HEADER = 16;
const SLL2_HEADER = 20;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_8021Q = 0x8100;
const ETHERTYPE_8021AD = 0x88a8;
/** Pre-standard QinQ outer tag, still emitted by some switches. */
const ETHERTYPE_QINQ_OLD = 0x9100;
const ARPHRD_ETHER = 1;
const PACKET_OUTGOING = 4;

/**
 * Decode `frame[0, length)` captured on a link of type `link` into `out`. Returns null on
 * success, else the reason the frame is of no use. `length` is the captured length (the
 * buffer may be a larger shared one); it is clamped to `frame.length`.
 */
export function decodeFrameInto(
  link: LinkType,
  frame: Buffer,
  length: number,
  out: FrameFields,
): FrameDropReason | null {
  const end = Math.min(length, frame.length);
  let off: number;
  let ethertype: number;
  switch (link) {
    case 'ethernet':
      if (end < ETH_HEADER) return 'truncated';
      out.srcMacOffset = 6;
      ethertype = frame.readUInt16BE(12);
      off = ETH_HEADER;
      break;
    case 'sll': {
      if (end < SLL_HEADER) return 'truncated';
      if (frame.readUInt16BE(0) === PACKET_OUTGOING) return 'outgoing';
      const hatype = frame.readUInt16BE(2);
      const halen = frame.readUInt16BE(4);
      out.srcMacOffset = hatype === ARPHRD_ETHER && halen === 6 ? 6 : -1;
      ethertype = frame.readUInt16BE(14);
      off = SLL_HEADER;
      break;
    }
    case 'sll2': {
      if (end < SLL2_HEADER) return 'truncated';
      if (frame[10] === PACKET_OUTGOING) return 'outgoing';
      const hatype = frame.readUInt16BE(8);
      const halen = frame[11];
      out.srcMacOffset = hatype === ARPHRD_ETHER && halen === 6 ? 12 : -1;
      ethertype = frame.readUInt16BE(0);
      off = SLL2_HEADER;
      break;
    }
    case 'raw':
      if (end < 1) return 'truncated';
      out.srcMacOffset = -1;
      ethertype = frame[0] >> 4 === 4 ? ETHERTYPE_IPV4 : 0;
      off = 0;
      break;
  }
  // VLAN tags (libpcap re-inserts the tags the NIC stripped, for Ethernet and cooked links).
  let tags = 0;
  while (
    ethertype === ETHERTYPE_8021Q ||
    ethertype === ETHERTYPE_8021AD ||
    ethertype === ETHERTYPE_QINQ_OLD
  ) {
    if (++tags > MAX_VLAN_TAGS) return 'too-many-vlan-tags';
    if (end < off + 4) return 'truncated';
    ethertype = frame.readUInt16BE(off + 2);
    off += 4;
  }
  if (ethertype !== ETHERTYPE_IPV4) return 'not-ipv4';
  return decodeIpv4(frame, off, end, out);
}

function decodeIpv4(frame: Buffer, ip: number, end: number, out: FrameFields): FrameDropReason | null {
  if (end < ip + 20) return 'truncated';
  const vihl = frame[ip];
  if (vihl >> 4 !== 4) return 'not-ipv4';
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) return 'bad-ip-header';
  const total = frame.readUInt16BE(ip + 2);
  if (total < ihl) return 'bad-ip-header';
  // Bytes past the total length are link padding (short Ethernet frames) and are ignored.
  if (end < ip + total) return 'truncated';
  const fragment = frame.readUInt16BE(ip + 6);
  // More-fragments set or a non-zero offset: either way the datagram is incomplete here.
  if ((fragment & 0x3fff) !== 0) return 'fragment';
  const proto = frame[ip + 9];
  if (proto !== IPPROTO_UDP) return 'not-udp';
  const udp = ip + ihl;
  const ipPayload = total - ihl;
  if (ipPayload < 8) return 'truncated';
  const udpLength = frame.readUInt16BE(udp + 4);
  // Shorter than the IP payload is allowed (the kernel trims the same way); longer is a lie.
  if (udpLength < 8 || udpLength > ipPayload) return 'bad-udp-length';
  out.srcIp = frame.readUInt32BE(ip + 12);
  out.dstIp = frame.readUInt32BE(ip + 16);
  out.proto = proto;
  out.srcPort = frame.readUInt16BE(udp);
  out.dstPort = frame.readUInt16BE(udp + 2);
  out.payloadOffset = udp + 8;
  out.payloadLength = udpLength - 8;
  return null;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** `aa:bb:cc:dd:ee:ff` (lower case, as iptables prints it) of the 6 bytes at `off`. */
export function formatMac(b: Buffer, off: number): string {
  return `${HEX[b[off]]}:${HEX[b[off + 1]]}:${HEX[b[off + 2]]}:${HEX[b[off + 3]]}:${HEX[b[off + 4]]}:${HEX[b[off + 5]]}`;
}

/** Dotted quad of an unsigned 32-bit address, without the intermediate array formatIpv4 builds. */
export function formatIpv4Fast(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export interface DecodedFrame {
  srcMac: string | null;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  proto: number;
  /** A slice of the input: exactly the UDP payload, sharing memory with the frame. */
  payload: Buffer;
}

export type FrameDecodeResult = { ok: true; frame: DecodedFrame } | { ok: false; reason: FrameDropReason };

/** Convenience form of `decodeFrameInto` over a whole buffer. */
export function decodeFrame(link: LinkType, frame: Buffer): FrameDecodeResult {
  const f = newFrameFields();
  const reason = decodeFrameInto(link, frame, frame.length, f);
  if (reason !== null) return { ok: false, reason };
  return {
    ok: true,
    frame: {
      srcMac: f.srcMacOffset >= 0 ? formatMac(frame, f.srcMacOffset) : null,
      srcIp: formatIpv4Fast(f.srcIp),
      dstIp: formatIpv4Fast(f.dstIp),
      srcPort: f.srcPort,
      dstPort: f.dstPort,
      proto: f.proto,
      payload: frame.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength),
    },
  };
}
