import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface DashboardServer {
  /** e.g. `http://127.0.0.1:8080` (with the real port when 0 was asked for). */
  readonly url: string;
  readonly address: AddressInfo;
  /** Stops listening and drops open connections, live streams included. */
  close(): Promise<void>;
}

/** `host:port` or `[v6]:port` (DASHBOARD_LISTEN); null when malformed. */
export function parseListen(s: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}

/**
 * Serves the app on DASHBOARD_LISTEN, over TLS when a certificate and key are given. Pass
 * `tls: true` in the app's options too, so cookies get Secure and HSTS is sent.
 */
export async function startDashboard(
  app: Express,
  opts: { listen: string; tls?: { cert: string | Buffer; key: string | Buffer } | null },
): Promise<DashboardServer> {
  const where = parseListen(opts.listen);
  if (!where) throw new Error(`DASHBOARD_LISTEN '${opts.listen}' is not host:port`);
  const server: Server = opts.tls
    ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, app)
    : createHttpServer(app);
  // Slow or idle clients must not hold sockets for ever; SSE streams write a heartbeat every 20 s.
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${address.port}`,
    address,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
