import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CaptureError } from '../core/errors.js';
import {
  decodeFrameInto,
  formatIpv4Fast,
  formatMac,
  newFrameFields,
  type FrameFields,
  type LinkType,
} from '../core/frame.js';
import type { ReceivedPacket } from '../core/model.js';
import type { Clock, Logger, PacketSource } from '../core/ports.js';
import { PacketDelivery, type PacketSourceStats } from './packet-delivery.js';

/** The part of the `cap` binding (0.2.x, no type definitions of its own) used here. */
interface CapHandle {
  /** `snaplen` only with spagate's patch (scripts/patch-cap.mjs); cap 0.2.1 ignores it. */
  open(device: string, filter: string, bufSize: number, buffer: Buffer, snaplen?: number): string;
  close(): boolean;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): this;
  removeAllListeners(event?: string): this;
}
interface CapModule {
  Cap: new () => CapHandle;
  /** Set by scripts/patch-cap.mjs: a settable snapshot length and immediate mode without dlopen. */
  spagatePatch?: number;
}

export interface CapPacketSourceOptions {
  interface: string;
  /** BPF filter, e.g. `udp port 62201`; '' captures everything. */
  filter: string;
  logger: Logger;
  clock: Clock;
  /** Kernel ring size in bytes (default 16 MiB); see docs/capture.md for the sizing. */
  bufferSize?: number;
  /**
   * Add spaPrefilter's clause to the filter, so the kernel drops UDP datagrams that the
   * verifier's first check would reject anyway before they take a slot in the ring.
   */
  spaPrefilter?: boolean;
}

/**
 * The wire checks of precheck that a BPF filter can make: UDP payload 140..1499 bytes and a
 * first byte a Rijndael packet can start with ('8', '9', '+', '/'). Random junk passes 1 time
 * in 16, so under a junk flood the ring keeps room for real knocks (docs/capture.md). Non-UDP traffic the filter admits is left alone.
 */
export function withSpaPrefilter(filter: string): string {
  const shape =
    'udp[4:2] >= 148 and udp[4:2] <= 1507 and (udp[8] = 0x38 or udp[8] = 0x39 or udp[8] = 0x2b or udp[8] = 0x2f)';
  return `${filter.trim() === '' ? '' : `(${filter}) and `}(not udp or (${shape}))`;
}

/** cap's own snapshot length is 65535, so one frame never exceeds this. */
const FRAME_BUFFER = 65536;
/**
 * With the patched binding. The largest frame a knock can come in is 1,597 bytes (Ethernet,
 * 4 VLAN tags, 60 bytes of IPv4 header, UDP, 1,499 bytes of payload); 1984 makes libpcap's
 * TPACKET_V2 slot exactly 2 KiB (64 bytes of its header), two to a page. cap's 65535 makes
 * 64 KiB slots on an interface with GRO or TSO on: 32 times fewer packets in the same ring.
 */
export const SPA_SNAPLEN = 1984;
export const DEFAULT_CAPTURE_BUFFER = 16 * 1024 * 1024;

/**
 * The binding crashes the process (a libuv assertion) when a Cap whose open() failed is
 * garbage-collected: its destructor stops a poll handle that was never started. Keeping
 * such handles reachable for the life of the process avoids that; a failed open usually
 * ends the process anyway.
 */
const failedHandles: CapHandle[] = [];

let capModule: CapModule | null = null;

function loadCap(): CapModule {
  if (capModule) return capModule;
  try {
    const require = createRequire(import.meta.url);
    capModule = require('cap') as CapModule;
    return capModule;
  } catch (e) {
    throw new CaptureError(`the cap module (libpcap binding) could not be loaded: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** The binding names a few DLTs and reports the rest as `Unknown linktype <n>`. */
export function linkTypeOf(bindingName: string): LinkType | null {
  switch (bindingName) {
    case 'ETHERNET':
      return 'ethernet';
    case 'LINKTYPE_LINUX_SLL':
      return 'sll';
    case 'RAW':
      return 'raw';
    case 'Unknown linktype 276': // DLT_LINUX_SLL2
      return 'sll2';
    case 'Unknown linktype 228': // DLT_IPV4
      return 'raw';
    default:
      return null;
  }
}

const MULTIARCH: Partial<Record<string, string>> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  ia32: 'i386-linux-gnu',
};

/**
 * cap 0.2.1 (unpatched) turns on immediate mode only if `dlopen("libpcap.so")` works, and that
 * unversioned name comes from the development package (libpcap-dev on Debian). Without
 * it libpcap buffers packets for up to the binding's 1 s read timeout.
 */
export function immediateModeLikely(): boolean {
  const triplet = MULTIARCH[process.arch];
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d !== '')];
  if (triplet) dirs.push(`/usr/lib/${triplet}`, `/lib/${triplet}`);
  dirs.push('/usr/local/lib', '/usr/lib', '/usr/lib64', '/lib', '/lib64');
  return dirs.some((d) => existsSync(`${d}/libpcap.so`));
}

function describeOpenError(iface: string, filter: string, message: string): string {
  const m = message.toLowerCase();
  if (m.includes('no such device')) return `cannot capture on "${iface}": no such interface (${message})`;
  if (m.includes('permission') || m.includes('not permitted')) {
    return `cannot capture on "${iface}": permission denied; run as root or grant CAP_NET_RAW and CAP_NET_ADMIN (${message})`;
  }
  if (m.includes('filter') || m.includes('syntax error') || m.includes('parse')) {
    return `invalid capture filter "${filter}": ${message}`;
  }
  return `cannot capture on "${iface}" with filter "${filter}": ${message}`;
}

/**
 * libpcap capture through `cap`. Each frame is decoded in place in the binding's shared
 * buffer; only the UDP payload is copied out (the next frame overwrites the buffer).
 */
export class CapPacketSource implements PacketSource {
  readonly kind = 'pcap';
  private cap: CapHandle | null = null;
  private link: LinkType = 'ethernet';
  private readonly frame = Buffer.alloc(FRAME_BUFFER);
  private readonly fields: FrameFields = newFrameFields();
  private readonly delivery: PacketDelivery;
  private readonly logger: Logger;

  constructor(private readonly opts: CapPacketSourceOptions) {
    this.logger = opts.logger;
    this.delivery = new PacketDelivery(opts.logger, opts.clock);
  }

  /** The snapshot length of the open capture: SPA_SNAPLEN with the patched binding. */
  snaplen: number | null = null;

  /** The link type of the open capture, or null before start. */
  get linkType(): LinkType | null {
    return this.cap ? this.link : null;
  }

  start(onPacket: (p: ReceivedPacket) => void): Promise<void> {
    if (this.cap) return Promise.reject(new CaptureError('capture already started'));
    try {
      this.open(onPacket);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e instanceof CaptureError ? e : new CaptureError(String(e), { cause: e }));
    }
  }

  private open(onPacket: (p: ReceivedPacket) => void): void {
    const iface = this.opts.interface;
    const filter = this.opts.spaPrefilter ? withSpaPrefilter(this.opts.filter) : this.opts.filter;
    const bufferSize = this.opts.bufferSize ?? DEFAULT_CAPTURE_BUFFER;
    if (!Number.isInteger(bufferSize) || bufferSize < FRAME_BUFFER || bufferSize > 0x7fffffff) {
      throw new CaptureError(
        `capture buffer size ${bufferSize} must be an integer between ${FRAME_BUFFER} and 2147483647`,
      );
    }
    const { Cap, spagatePatch } = loadCap();
    const patched = (spagatePatch ?? 0) >= 1;
    const cap = new Cap();
    let bindingLink: string;
    try {
      bindingLink = cap.open(iface, filter, bufferSize, this.frame, patched ? SPA_SNAPLEN : undefined);
    } catch (e) {
      failedHandles.push(cap);
      throw new CaptureError(describeOpenError(iface, filter, (e as Error).message), { cause: e });
    }
    const link = linkTypeOf(bindingLink);
    if (link === null) {
      cap.close();
      throw new CaptureError(
        `cannot capture on "${iface}": unsupported link type (${bindingLink}); spagate decodes Ethernet, Linux cooked (SLL, SLL2) and raw IPv4`,
      );
    }
    this.link = link;
    // An exception escaping this listener would surface in the binding's native callback
    // and end the process.
    cap.on('packet', (nbytes: number) => {
      try {
        this.onFrame(nbytes, onPacket);
      } catch (e) {
        this.delivery.fault(e, 'capture receive path threw');
      }
    });
    this.cap = cap;
    this.snaplen = patched ? SPA_SNAPLEN : 65535;
    const immediate = patched || immediateModeLikely();
    this.logger.info(
      {
        interface: iface,
        filter,
        linkType: link,
        bufferSize,
        snaplen: this.snaplen,
        immediateMode: immediate,
      },
      'capture started',
    );
    if (!patched) {
      this.logger.warn(
        { interface: iface },
        'the cap binding is not patched (npm ci runs scripts/patch-cap.mjs; or npm rebuild cap): snapshot length 65535, so the capture ring holds about 32 times fewer packets',
      );
    }
    if (!immediate) {
      this.logger.warn(
        { interface: iface },
        'libpcap.so (package libpcap-dev) not found: the cap binding cannot enable immediate mode, so packets may be delayed by up to 1 s',
      );
    }
  }

  // Hot path: no allocation besides the payload copy and the packet itself.
  private onFrame(nbytes: number, onPacket: (p: ReceivedPacket) => void): void {
    const d = this.delivery;
    d.received();
    const f = this.fields;
    const reason = decodeFrameInto(this.link, this.frame, nbytes, f);
    if (reason !== null) {
      d.drop(reason, nbytes);
      return;
    }
    const payload = Buffer.allocUnsafe(f.payloadLength);
    this.frame.copy(payload, 0, f.payloadOffset, f.payloadOffset + f.payloadLength);
    d.deliver(onPacket, {
      payload,
      srcIp: formatIpv4Fast(f.srcIp),
      srcPort: f.srcPort,
      dstIp: formatIpv4Fast(f.dstIp),
      dstPort: f.dstPort,
      srcMac: f.srcMacOffset >= 0 ? formatMac(this.frame, f.srcMacOffset) : null,
      proto: f.proto,
      receivedAt: this.opts.clock.now(),
    });
  }

  stop(): Promise<void> {
    const cap = this.cap;
    if (cap) {
      this.cap = null;
      cap.close();
      cap.removeAllListeners('packet');
      this.delivery.flushSummary();
      this.logger.info({ interface: this.opts.interface, ...this.delivery.stats() }, 'capture stopped');
    }
    return Promise.resolve();
  }

  stats(): PacketSourceStats {
    return this.delivery.stats();
  }
}
