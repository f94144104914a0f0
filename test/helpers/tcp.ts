/**
 * TCP probes between test namespaces (tcp-tools.mjs run inside a namespace): a listener that
 * names itself and its peer, a one-shot connect that reports what the server said, and a
 * bounded connection-rate measurement for the benchmarks.
 */
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';

export const TCP_TOOLS = fileURLToPath(new URL('./tcp-tools.mjs', import.meta.url));

/** Start a listener on `port` (all addresses) answering `[banner ]<peer>`; resolves once it listens. */
export async function startTcpListener(ns: Netns, nsName: string, port: number, banner = ''): Promise<void> {
  const child = ns.spawn(nsName, process.execPath, [
    TCP_TOOLS,
    'listen',
    String(port),
    ...(banner ? [banner] : []),
  ]);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`listener on ${nsName}:${port} did not start: ${err}`)),
      10_000,
    );
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`listener on ${nsName}:${port} exited (${code}): ${err}`));
    });
  });
}

/**
 * One TCP connection from namespace `nsName` (from address `local` when given). Returns what
 * the server said, trimmed, or null when nothing answered within `ms` (dropped, refused, reset).
 */
export function tcpFrom(
  ns: Netns,
  nsName: string,
  host: string,
  port: number,
  o: { ms?: number; local?: string } = {},
): string | null {
  const args = [TCP_TOOLS, 'connect', host, String(port), String(o.ms ?? 700), ...(o.local ? [o.local] : [])];
  const r = ns.try(nsName, process.execPath, args);
  return r.status === 0 ? r.stdout.trim() : null;
}

export interface RateResult {
  ok: number;
  failed: number;
  ms: number;
  perSecond: number;
}

/** Connections per second from `nsName` to host:port over `ms` milliseconds, `parallel` at a time. */
export function tcpRate(
  ns: Netns,
  nsName: string,
  host: string,
  port: number,
  ms: number,
  parallel = 1,
): RateResult {
  const out = ns.exec(nsName, process.execPath, [
    TCP_TOOLS,
    'rate',
    host,
    String(port),
    String(ms),
    String(parallel),
  ]);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as RateResult;
}
