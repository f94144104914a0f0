/**
 * Runs the dashboard in-process on 127.0.0.1 port 0 over a MemoryGatewayControl and a
 * MemoryStore, and speaks to it with fetch like a browser would (cookies by hand).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Router } from 'express';
import { MemoryStore } from '../../src/adapters/memory-store.js';
import { ManualClock } from '../../src/adapters/memory-clock.js';
import { cryptoRandom } from '../../src/adapters/system-clock.js';
import type { Grant } from '../../src/core/model.js';
import type { AdminStore, Clock, Logger } from '../../src/core/ports.js';
import { createApp } from '../../src/web/app.js';
import type { WebOptions } from '../../src/web/deps.js';
import { MemoryGatewayControl } from '../../src/web/memory-control.js';
import { hashPassword } from '../../src/web/password.js';

/** Cheap scrypt parameters so tests do not spend seconds hashing; verify reads them from the hash. */
export const FAST_SCRYPT = { N: 1024, r: 8, p: 1 };

export interface LogLine {
  level: string;
  obj: object;
  msg: string | undefined;
}

export function memoryLogger(lines: LogLine[] = []): Logger {
  const make = (bindings: Record<string, unknown>): Logger => ({
    debug: (obj, msg) => lines.push({ level: 'debug', obj: { ...bindings, ...obj }, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj: { ...bindings, ...obj }, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj: { ...bindings, ...obj }, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj: { ...bindings, ...obj }, msg }),
    child: (b) => make({ ...bindings, ...b }),
  });
  return make({});
}

let seq = 0;
export function makeGrant(
  now: number,
  over: Partial<Grant> & { ip?: string; mac?: string | null } = {},
): Grant {
  seq += 1;
  const { ip, mac, ...rest } = over;
  return {
    id: `g${seq.toString(36)}x${now.toString(36)}`,
    stanzaId: 'stanza-1',
    user: 'alice',
    grantedAt: now,
    expiresAt: now + 300_000,
    rules: {
      src: ip ?? `10.9.0.${(seq % 250) + 2}`,
      mac: mac === undefined ? '02:00:00:00:00:01' : mac,
      dst: null,
      input: [],
      output: false,
      forward: { all: true },
      dnat: null,
      snat: null,
    },
    ...rest,
  };
}

export interface Harness {
  url: string;
  server: Server;
  control: MemoryGatewayControl;
  store: MemoryStore;
  clock: Clock;
  logs: LogLine[];
  close(): Promise<void>;
}

export async function startApp(
  o: {
    clock?: Clock;
    options?: Partial<WebOptions>;
    admins?: Record<string, string>;
    adminStore?: AdminStore;
    preAuthRouters?: Router[];
  } = {},
): Promise<Harness> {
  const clock = o.clock ?? new ManualClock(Date.UTC(2027, 0, 15, 8, 0, 0));
  const store = new MemoryStore();
  for (const [username, password] of Object.entries(o.admins ?? { admin: 'correct horse' })) {
    await store.setAdmin({
      username,
      passwordHash: await hashPassword(password, cryptoRandom, FAST_SCRYPT),
      createdAt: clock.now(),
    });
  }
  const control = new MemoryGatewayControl(clock, {
    backend: 'nftables',
    interface: 'eth1',
    capture: 'pcap',
    version: '0.1.0',
  });
  const logs: LogLine[] = [];
  const app = createApp({
    control,
    events: store,
    admins: o.adminStore ?? store,
    clock,
    random: cryptoRandom,
    logger: memoryLogger(logs),
    options: o.options ?? {},
    preAuthRouters: o.preAuthRouters ?? [],
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    control,
    store,
    clock,
    logs,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A signed-in browser: its session cookie and CSRF token. */
export interface Browser {
  cookie: string;
  csrf: string;
}

export function cookiesFrom(res: Response): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(';');
    const eq = pair.indexOf('=');
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

export function hiddenValue(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no hidden field ${name}`);
  return m[1];
}

export async function loginAttempt(
  h: Harness,
  username: string,
  password: string,
  extra: Record<string, string> = {},
): Promise<Response> {
  const page = await fetch(`${h.url}/login`);
  const token = cookiesFrom(page).get('sg_login')!;
  const html = await page.text();
  return fetch(`${h.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: `sg_login=${token}` },
    body: new URLSearchParams({ _csrf: hiddenValue(html, '_csrf'), username, password, ...extra }).toString(),
  });
}

export async function login(h: Harness, username = 'admin', password = 'correct horse'): Promise<Browser> {
  const res = await loginAttempt(h, username, password);
  if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
  const session = cookiesFrom(res).get('sg_session');
  if (!session) throw new Error('no session cookie');
  const cookie = `sg_session=${session}`;
  const page = await fetch(`${h.url}/hosts`, { headers: { Cookie: cookie } });
  const m = /<meta name="csrf-token" content="([^"]+)">/.exec(await page.text());
  if (!m) throw new Error('no csrf meta');
  return { cookie, csrf: m[1] };
}

export function form(b: Browser, fields: Record<string, string | string[]>, withCsrf = true): RequestInit {
  const p = new URLSearchParams();
  if (withCsrf) p.append('_csrf', b.csrf);
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  return {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: b.cookie },
    body: p.toString(),
  };
}

export function jsonPost(b: Browser | { bearer: string }, body?: unknown, withCsrf = true): RequestInit {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if ('bearer' in b) headers['Authorization'] = `Bearer ${b.bearer}`;
  else {
    headers['Cookie'] = b.cookie;
    if (withCsrf) headers['X-CSRF-Token'] = b.csrf;
  }
  return { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) };
}
