/**
 * `spagate grants list|revoke`: the live grants of the RUNNING daemon, through its control
 * socket `<data dir>/control.sock` (src/web/control-socket.ts). Root only, like the socket.
 */
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { controlSocketPath } from '../../web/control-socket.js';
import type { GrantJson } from '../../web/view-models/grant.js';
import type { Command } from '../io.js';
import { UsageError } from '../io.js';
import { DEFAULT_DATA_DIR } from './admin.js';

export const GRANTS_USAGE = `usage:
  spagate grants list [--json] [--data-dir DIR]      live grants of the running daemon
  spagate grants revoke IP|ID [--data-dir DIR]       end them now and cut their open connections

The daemon is reached through DIR/control.sock (default data directory ${DEFAULT_DATA_DIR},
or SPAGATE_DATA_DIR).
`;

const TIMEOUT_MS = 15_000;
const MAX_REPLY = 16 * 1024 * 1024;

/** One request, one JSON line back; bounded in time and size. */
export function controlRequest(path: string, req: object, timeoutMs = TIMEOUT_MS): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from the daemon within ${timeoutMs / 1000} s (${path})`));
    }, timeoutMs);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')
        fail(new Error(`the daemon is not running, or not with this data directory (no ${path})`));
      else if (e.code === 'EACCES') fail(new Error(`permission denied on ${path} (run as root)`));
      else fail(e);
    });
    sock.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      if (buf.length > MAX_REPLY) fail(new Error('answer from the daemon is too long'));
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        const v = JSON.parse(buf) as unknown;
        if (typeof v !== 'object' || v === null) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch {
        reject(new Error('the daemon sent an unreadable answer'));
      }
    });
  });
}

function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): { positional: string[]; dataDir: string; json: boolean } {
  const out = { positional: [] as string[], dataDir: env['SPAGATE_DATA_DIR'] || DEFAULT_DATA_DIR, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') out.json = true;
    else if (a === '--data-dir' || a === '-d') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      out.dataDir = v;
    } else if (a.startsWith('--data-dir=')) out.dataDir = a.slice('--data-dir='.length);
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else out.positional.push(a);
  }
  return out;
}

/** Terminal output must not carry control characters from SPA usernames or DHCP hostnames. */
function clean(s: string | null): string {
  return s === null ? '-' : s.replace(/[\p{Cc}\p{Cf}]/gu, '?');
}

function formatGrants(grants: readonly GrantJson[]): string {
  if (grants.length === 0) return 'no live grants\n';
  const rows = [['ID', 'IP', 'MAC', 'HOSTNAME', 'USER', 'STANZA', 'MODE', 'EXPIRES', 'LEFT']];
  for (const g of grants) {
    rows.push([g.id, g.ip, clean(g.mac), clean(g.hostname), clean(g.user), clean(g.stanza), g.target, g.expires_at, `${g.expires_in_seconds}s`]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]))).join('  ')).join('\n') + '\n';
}

function errorText(r: Record<string, unknown>): string {
  return typeof r['error'] === 'string' ? r['error'] : 'the daemon refused';
}

export const grants: Command = async (argv, io) => {
  const args = parseArgs(argv, io.env);
  const [sub, ...rest] = args.positional;
  if (sub === undefined || sub === 'help') {
    io.stdout.write(GRANTS_USAGE);
    return sub === undefined ? 2 : 0;
  }
  const path = controlSocketPath(args.dataDir);
  if (sub === 'list') {
    if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
    const r = await controlRequest(path, { cmd: 'list' });
    if (r['ok'] !== true) throw new Error(errorText(r));
    const list = (r['grants'] ?? []) as GrantJson[];
    io.stdout.write(args.json ? `${JSON.stringify(list, null, 2)}\n` : formatGrants(list));
    return 0;
  }
  if (sub === 'revoke') {
    if (rest.length !== 1) throw new UsageError('revoke takes one IPv4 address or grant id (see spagate grants list)');
    let by = 'cli';
    try {
      by = `cli:${userInfo().username}`;
    } catch {
      // No passwd entry for this uid: keep the plain name.
    }
    const r = await controlRequest(path, { cmd: 'revoke', target: rest[0], by });
    if (r['ok'] !== true) {
      io.stderr.write(`spagate grants: ${errorText(r)}\n`);
      return 1;
    }
    for (const id of (r['revoked'] ?? []) as string[]) io.stdout.write(`revoked ${id}\n`);
    return 0;
  }
  throw new UsageError(`unknown command '${sub}' (list, revoke)`);
};
