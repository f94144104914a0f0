import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';

/** Sends one UDP datagram (an SPA packet) and reports where it went. */
export interface UdpSender {
  send(
    host: string,
    port: number,
    payload: Buffer,
    opts?: { sourcePort?: number | null; timeoutMs?: number },
  ): Promise<{ address: string; bytes: number }>;
}

/** node:dgram over IPv4; the host may be a name, resolved to its first IPv4 address. */
export class DgramUdpSender implements UdpSender {
  async send(
    host: string,
    port: number,
    payload: Buffer,
    opts: { sourcePort?: number | null; timeoutMs?: number } = {},
  ): Promise<{ address: string; bytes: number }> {
    const { address } = await lookup(host, { family: 4 });
    const sock = createSocket('udp4');
    const timeoutMs = opts.timeoutMs ?? 5000;
    try {
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        sock.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        const go = () =>
          sock.send(payload, port, address, (e, bytes) => {
            clearTimeout(timer);
            if (e) reject(e);
            else resolve({ address, bytes });
          });
        if (opts.sourcePort) sock.bind(opts.sourcePort, go);
        else go();
      });
    } finally {
      sock.close();
    }
  }
}
