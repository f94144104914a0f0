import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { CaptureError } from '../core/errors.js';
import { IPPROTO_UDP } from '../core/frame.js';
import type { ReceivedPacket } from '../core/model.js';
import type { Clock, Logger, PacketSource } from '../core/ports.js';
import { PacketDelivery, type PacketSourceStats } from './packet-delivery.js';

export interface UdpPacketSourceOptions {
  /** UDPSERV_PORT; 0 picks a free port (tests). */
  port: number;
  /** Default 0.0.0.0, as fwknopd binds. */
  host?: string;
  logger: Logger;
  clock: Clock;
  /** SO_RCVBUF request in bytes (default 4 MiB); the kernel caps it at net.core.rmem_max. */
  recvBufferSize?: number;
}

export const DEFAULT_UDP_RECV_BUFFER = 4 * 1024 * 1024;

function describeBindError(host: string, port: number, e: NodeJS.ErrnoException): string {
  const where = `${host}:${port}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return `cannot listen on UDP ${where}: the port is already in use`;
    case 'EACCES':
    case 'EPERM':
      return `cannot listen on UDP ${where}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on UDP ${where}: ${host} is not an address of this host`;
    default:
      return `cannot listen on UDP ${where}: ${e.message}`;
  }
}

/**
 * fwknopd's UDP server mode (ENABLE_UDP_SERVER): a plain socket, no capture privileges.
 * The socket does not reveal the destination address or the sender's MAC, so packets carry
 * dstIp 0.0.0.0 (as fwknopd records them) and srcMac null.
 */
export class UdpPacketSource implements PacketSource {
  readonly kind = 'udp';
  private socket: Socket | null = null;
  private boundPort = 0;
  private readonly delivery: PacketDelivery;

  constructor(private readonly opts: UdpPacketSourceOptions) {
    this.delivery = new PacketDelivery(opts.logger, opts.clock);
  }

  /** The bound address; throws before start. */
  address(): { address: string; port: number } {
    if (!this.socket) throw new CaptureError('UDP source not started');
    const a = this.socket.address();
    return { address: a.address, port: a.port };
  }

  async start(onPacket: (p: ReceivedPacket) => void): Promise<void> {
    if (this.socket) throw new CaptureError('UDP source already started');
    const host = this.opts.host ?? '0.0.0.0';
    const { port, logger, clock } = this.opts;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new CaptureError(`invalid UDP port ${port}`);
    const socket = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        socket.close();
        reject(new CaptureError(describeBindError(host, port, e), { cause: e }));
      };
      socket.once('error', onError);
      socket.bind({ port, address: host, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    // After the bind, errors are reported and survived: an 'error' without a listener would end the process.
    socket.on('error', (e) => logger.error({ err: e }, 'UDP socket error'));
    const wanted = this.opts.recvBufferSize ?? DEFAULT_UDP_RECV_BUFFER;
    let effective = 0;
    try {
      socket.setRecvBufferSize(wanted);
      effective = socket.getRecvBufferSize();
    } catch (e) {
      logger.warn({ err: e, wanted }, 'could not set the UDP receive buffer size');
    }
    // Linux reports double the usable size; less than asked means net.core.rmem_max capped it.
    if (effective > 0 && effective < wanted) {
      logger.warn(
        { wanted, effective },
        'UDP receive buffer smaller than requested: raise net.core.rmem_max',
      );
    }
    this.boundPort = socket.address().port;
    const d = this.delivery;
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      try {
        d.received();
        d.deliver(onPacket, {
          payload: msg,
          srcIp: rinfo.address,
          srcPort: rinfo.port,
          dstIp: '0.0.0.0',
          dstPort: this.boundPort,
          srcMac: null,
          proto: IPPROTO_UDP,
          receivedAt: clock.now(),
        });
      } catch (e) {
        d.fault(e, 'UDP receive path threw');
      }
    });
    this.socket = socket;
    logger.info({ host, port: this.boundPort, recvBufferSize: effective }, 'UDP server listening');
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    this.opts.logger.info({ port: this.boundPort, ...this.delivery.stats() }, 'UDP server stopped');
  }

  stats(): PacketSourceStats {
    return this.delivery.stats();
  }
}
