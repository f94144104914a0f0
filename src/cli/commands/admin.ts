/**
 * `spagate admin`: dashboard accounts and API tokens, written straight into the data
 * directory's database (the daemon reads them on each login or API call, so no restart).
 */
import type { Readable } from 'node:stream';
import { cryptoRandom, systemClock } from '../../adapters/system-clock.js';
import type { AdminStore, Clock, RandomSource } from '../../core/ports.js';
import { hashPassword } from '../../web/password.js';
import { hashToken, newToken, newTokenId } from '../../web/tokens.js';
import type { Command } from '../io.js';
import { UsageError } from '../io.js';

export const DEFAULT_DATA_DIR = '/var/lib/spagate';
const USERNAME_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
const MAX_PASSWORD = 1024;
const MIN_PASSWORD = 8;

export const ADMIN_USAGE = `usage:
  spagate admin set-password [--user NAME] [--data-dir DIR]   password: first line of standard input
  spagate admin list-users [--data-dir DIR]
  spagate admin token create [--label LABEL] [--data-dir DIR]  prints the token alone on the last line
  spagate admin token list [--data-dir DIR]
  spagate admin token revoke ID [--data-dir DIR]

Default user: admin. Default data directory: $SPAGATE_DATA_DIR, else ${DEFAULT_DATA_DIR}.
`;

export interface AdminCliDeps {
  openStore(dataDir: string): Promise<AdminStore & { close(): Promise<void> }>;
  clock: Clock;
  random: RandomSource;
}

interface Parsed {
  positional: string[];
  user: string;
  label: string;
  dataDir: string;
}

function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Parsed {
  const out: Parsed = { positional: [], user: 'admin', label: '', dataDir: env['SPAGATE_DATA_DIR'] || DEFAULT_DATA_DIR };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      if (a.startsWith('--') && eq > 0) return a.slice(eq + 1);
      const v = argv[i + 1];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      i += 1;
      return v;
    };
    if (name === '--user' || name === '-u') out.user = value();
    else if (name === '--label' || name === '-l') out.label = value();
    else if (name === '--data-dir' || name === '-d') out.dataDir = value();
    else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
    else out.positional.push(a);
  }
  return out;
}

/** The first line of standard input, without its line ending; bounded. */
async function readFirstLine(stdin: Readable): Promise<string> {
  let buf = '';
  for await (const chunk of stdin) {
    buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    const nl = buf.indexOf('\n');
    if (nl >= 0) {
      buf = buf.slice(0, nl);
      break;
    }
    if (buf.length > MAX_PASSWORD + 2) break;
  }
  return buf.replace(/\r$/, '');
}

function isoOr(ms: number | null, none: string): string {
  return ms === null ? none : new Date(ms).toISOString();
}

export function makeAdminCommand(deps: AdminCliDeps): Command {
  return async (argv, io) => {
    const args = parseArgs(argv, io.env);
    const [sub, ...rest] = args.positional;
    if (sub === undefined || sub === 'help') {
      io.stdout.write(ADMIN_USAGE);
      return sub === undefined ? 2 : 0;
    }
    const print = (s: string): void => {
      io.stdout.write(`${s}\n`);
    };

    // Validate everything before touching the database.
    let action: (store: AdminStore) => Promise<number>;
    if (sub === 'set-password') {
      if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
      if (!USERNAME_RE.test(args.user)) throw new UsageError('--user: 1 to 64 letters, digits, or . _ @ -');
      const password = await readFirstLine(io.stdin);
      if (password.length < MIN_PASSWORD)
        throw new UsageError(
          `the password (first line of standard input) needs at least ${MIN_PASSWORD} characters`,
        );
      if (password.length > MAX_PASSWORD)
        throw new UsageError(`the password is longer than ${MAX_PASSWORD} characters`);
      const passwordHash = await hashPassword(password, deps.random);
      action = async (store) => {
        const existing = await store.getAdmin(args.user);
        await store.setAdmin({
          username: args.user,
          passwordHash,
          createdAt: existing?.createdAt ?? deps.clock.now(),
        });
        print(`${existing ? 'password changed' : 'account created'} for ${args.user}`);
        return 0;
      };
    } else if (sub === 'list-users') {
      action = async (store) => {
        for (const a of await store.listAdmins()) print(`${a.username}\tcreated ${isoOr(a.createdAt, '-')}`);
        return 0;
      };
    } else if (sub === 'token') {
      const [verb, ...more] = rest;
      if (verb === 'create') {
        if (more.length > 0) throw new UsageError(`unexpected argument ${more[0]}`);
        if (args.label.length > 100) throw new UsageError('--label is longer than 100 characters');
        action = async (store) => {
          const token = newToken(deps.random);
          const id = newTokenId(deps.random);
          await store.addToken({
            id,
            label: args.label,
            tokenHash: hashToken(token),
            createdAt: deps.clock.now(),
            revokedAt: null,
          });
          print(
            `token ${id}${args.label ? ` (${args.label})` : ''} created; it is shown once, store it now:`,
          );
          print(token);
          return 0;
        };
      } else if (verb === 'list') {
        action = async (store) => {
          const tokens = await store.listTokens();
          if (tokens.length === 0) print('no tokens');
          for (const t of tokens) {
            print(
              `${t.id}\t${t.revokedAt === null ? 'active' : `revoked ${isoOr(t.revokedAt, '')}`}\tcreated ${isoOr(t.createdAt, '-')}\t${t.label}`,
            );
          }
          return 0;
        };
      } else if (verb === 'revoke') {
        if (more.length !== 1)
          throw new UsageError('token revoke takes one token id (see spagate admin token list)');
        const id = more[0];
        action = async (store) => {
          if (!(await store.revokeToken(id, deps.clock.now()))) {
            io.stderr.write(`spagate admin: no active token with id ${id}\n`);
            return 1;
          }
          print(`token ${id} revoked`);
          return 0;
        };
      } else {
        throw new UsageError(`unknown token command '${verb ?? ''}' (create, list, revoke)`);
      }
    } else {
      throw new UsageError(`unknown command '${sub}' (set-password, list-users, token)`);
    }

    const store = await deps.openStore(args.dataDir);
    try {
      return await action(store);
    } finally {
      await store.close();
    }
  };
}

export const admin: Command = makeAdminCommand({
  // Loaded on demand so `spagate admin --help` needs no native SQLite module.
  openStore: async (dataDir) => {
    const { SqliteStore, defaultDbFile } = await import('../../adapters/sqlite-store.js');
    return SqliteStore.open(defaultDbFile(dataDir));
  },
  clock: systemClock,
  random: cryptoRandom,
});
