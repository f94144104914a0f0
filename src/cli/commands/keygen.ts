import { randomBytes } from 'node:crypto';
import type { Command } from '../io.js';
import { UsageError } from '../io.js';
import { parseArgv } from '../knock-argv.js';

const SPECS = [
  { id: 'keyLen', long: 'key-len', value: true },
  { id: 'hmacKeyLen', long: 'hmac-key-len', value: true },
  { id: 'help', short: 'h', long: 'help', value: false },
];

function length(v: string, name: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new UsageError(`${name} must be 1..${max}`);
  return Number(v);
}

/**
 * `spagate keygen`: random Rijndael and HMAC keys in the two lines `fwknop --key-gen` prints,
 * ready for access.conf or ~/.fwknoprc. 32 and 64 bytes by default, as fwknop makes them.
 */
export const keygen: Command = (argv, io) => {
  const { opts, positionals } = parseArgv(argv, SPECS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  let keyLen = 32;
  let hmacKeyLen = 64;
  for (const o of opts) {
    if (o.id === 'help') {
      io.stdout.write(
        'usage: spagate keygen [--key-len N (1..32, default 32)] [--hmac-key-len N (1..128, default 64)]\n',
      );
      return Promise.resolve(0);
    }
    if (o.id === 'keyLen') keyLen = length(o.value!, '--key-len', 32);
    if (o.id === 'hmacKeyLen') hmacKeyLen = length(o.value!, '--hmac-key-len', 128);
  }
  io.stdout.write(
    `KEY_BASE64: ${randomBytes(keyLen).toString('base64')}\nHMAC_KEY_BASE64: ${randomBytes(hmacKeyLen).toString('base64')}\n`,
  );
  return Promise.resolve(0);
};
