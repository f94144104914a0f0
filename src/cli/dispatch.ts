import type { Command, CliIo } from './io.js';
import { UsageError } from './io.js';

// Commands are loaded on demand so `spagate knock` does not pay for express or SQLite.
const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  keygen: { summary: 'print random KEY_BASE64 and HMAC_KEY_BASE64 lines', load: async () => (await import('./commands/keygen.js')).keygen },
  knock: { summary: 'send an SPA packet (fwknop-compatible client)', load: async () => (await import('./commands/knock.js')).knock },
  decode: { summary: 'decode and verify SPA packets', load: async () => (await import('./commands/decode.js')).decode },
  'check-config': { summary: 'validate fwknopd.conf and access.conf', load: async () => (await import('./commands/check-config.js')).checkConfig },
  start: { summary: 'run the gateway daemon (fwknopd flags)', load: async () => (await import('./commands/start.js')).start },
  admin: { summary: 'dashboard accounts and API tokens (set-password, token create|list|revoke)', load: async () => (await import('./commands/admin.js')).admin },
  grants: { summary: 'live grants of the running daemon (list, revoke IP|ID)', load: async () => (await import('./commands/grants.js')).grants },
};

function usage(io: CliIo): void {
  io.stdout.write('usage: spagate <command> [options]\n\ncommands:\n');
  for (const [name, c] of Object.entries(commands)) io.stdout.write(`  ${name.padEnd(14)} ${c.summary}\n`);
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    usage(io);
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (!entry) {
    io.stderr.write(`spagate: unknown command '${name}' (try spagate --help)\n`);
    return 2;
  }
  try {
    return await (await entry.load())(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`spagate ${name}: ${e.message}\n`);
      return 2;
    }
    io.stderr.write(`spagate ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

