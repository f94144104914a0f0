/**
 * The daemon's local control socket: `<data dir>/control.sock`, a unix socket with mode 0600
 * in the 0700 data directory, so only root (the daemon's user) can speak to it. It carries
 * `spagate grants list|revoke` from the command line to the running daemon without an API
 * token. One request per connection, each a single JSON line; one JSON line answers it.
 *
 *   {"cmd":"list"}                                  -> {"ok":true,"grants":[Grant, ...]}
 *   {"cmd":"revoke","target":"<ip|id>","by":"cli:root"} -> {"ok":true,"revoked":["<id>", ...]}
 *   anything else                                   -> {"ok":false,"error":"..."}
 *
 * Grants have the JSON API's shape (src/web/view-models/grant.ts).
 */
import { chmod, rename, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { isIpv4 } from '../core/ipv4.js';
import type { Clock, Logger } from '../core/ports.js';
import type { GatewayControl } from './deps.js';
import { grantJson } from './view-models/grant.js';

export const CONTROL_SOCKET_NAME = 'control.sock';
/** Requests are tiny; anything longer is not ours. */
const MAX_REQUEST = 4096;
const IDLE_MS = 10_000;
const GRANT_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const ACTOR_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_NAME);
}

export interface ControlSocket {
  readonly path: string;
  close(): Promise<void>;
}

type Reply = { ok: true; [k: string]: unknown } | { ok: false; error: string };

export async function startControlSocket(o: {
  path: string;
  control: GatewayControl;
  clock: Clock;
  logger: Logger;
}): Promise<ControlSocket> {
  const log = o.logger;
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.setTimeout(IDLE_MS, () => sock.destroy());
    sock.on('error', () => undefined);
    let buf = '';
    let handled = false;
    sock.on('data', (chunk: Buffer) => {
      if (handled) return;
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0 && buf.length <= MAX_REQUEST) return;
      handled = true;
      const line = nl < 0 ? null : buf.slice(0, nl);
      void answer(line, o, log).then((r) => sock.end(`${JSON.stringify(r)}\n`));
    });
  });
  // Bound under a temporary name and renamed once private: no moment where the final path
  // answers with looser permissions; the rename also replaces a stale socket of a dead daemon.
  const tmp = `${o.path}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(tmp, () => {
      server.off('error', reject);
      resolve();
    });
  });
  try {
    await chmod(tmp, 0o600);
    await rename(tmp, o.path);
  } catch (e) {
    server.close();
    await rm(tmp, { force: true });
    throw e;
  }
  log.info({ path: o.path }, 'control socket listening');
  return {
    path: o.path,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      await rm(o.path, { force: true });
    },
  };
}

async function answer(line: string | null, o: { control: GatewayControl; clock: Clock }, log: Logger): Promise<Reply> {
  if (line === null) return { ok: false, error: 'request too long' };
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return { ok: false, error: 'request is not JSON' };
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) return { ok: false, error: 'request is not a JSON object' };
  const r = req as Record<string, unknown>;
  try {
    if (r['cmd'] === 'list') {
      const now = o.clock.now();
      const grants = (await o.control.listGrants())
        .map((l) => grantJson(l, now))
        .sort((a, b) => a.expires_at.localeCompare(b.expires_at));
      return { ok: true, grants };
    }
    if (r['cmd'] === 'revoke') {
      const target = r['target'];
      if (typeof target !== 'string' || !(isIpv4(target) || GRANT_ID_RE.test(target)))
        return { ok: false, error: 'revoke needs an IPv4 address or a grant id' };
      const by = typeof r['by'] === 'string' && ACTOR_RE.test(r['by']) ? r['by'] : 'cli';
      const live = await o.control.listGrants();
      const ids = live.filter((l) => l.grant.id === target || l.grant.rules.src === target).map((l) => l.grant.id);
      const revoked: string[] = [];
      for (const id of ids) if (await o.control.revoke(id, by)) revoked.push(id);
      log.info({ target, by, revoked }, 'revoke from control socket');
      if (revoked.length === 0) return { ok: false, error: `no live grant for ${target}` };
      return { ok: true, revoked };
    }
    return { ok: false, error: 'unknown command (list, revoke)' };
  } catch (e) {
    log.error({ err: e }, 'control socket request failed');
    return { ok: false, error: 'internal error (see the daemon log)' };
  }
}
