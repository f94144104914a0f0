import { createInterface } from 'node:readline';
import type { EncryptionMode, HashName } from '../../core/model.js';
import {
  checkPacketAge,
  compileKeys,
  decodeSpa,
  type CompiledKeys,
  type DecodeResult,
} from '../../core/spa/decode.js';
import { MESSAGE_TYPE_NAMES, parseHashName, parseModeName } from '../../core/spa/types.js';
import type { Command, CliIo } from '../io.js';
import { UsageError } from '../io.js';
import { parseArgv } from '../knock-argv.js';
import { decodeKeyBase64 } from '../knock-keys.js';

const MAX_PACKET_AGE = 120;

const SPECS = [
  { id: 'key', long: 'key', value: true },
  { id: 'key', long: 'key-rijndael', value: true },
  { id: 'keyB64', long: 'key-base64', value: true },
  { id: 'keyB64', long: 'key-base64-rijndael', value: true },
  { id: 'hmacKey', long: 'hmac-key', value: true },
  { id: 'hmacKey', long: 'key-hmac', value: true },
  { id: 'hmacKeyB64', long: 'hmac-key-base64', value: true },
  { id: 'hmacKeyB64', long: 'key-base64-hmac', value: true },
  { id: 'hmacType', long: 'hmac-digest-type', value: true },
  { id: 'mode', short: 'M', long: 'encryption-mode', value: true },
  { id: 'noAging', long: 'no-aging', value: false },
  { id: 'help', short: 'h', long: 'help', value: false },
];

const USAGE = `usage: spagate decode [--key K | --key-base64 K] [--hmac-key H | --hmac-key-base64 H]
         [--hmac-digest-type md5|sha1|sha256|sha384|sha512|sha3_256|sha3_512]
         [--encryption-mode cbc|ecb|cfb|ofb|ctr|legacy] [--no-aging] PACKET|-
Prints the decoded fields as JSON (exit 0) or "rejected: <reason>" (exit 1).
With -, reads one packet per line and prints one JSON line per packet.
`;

interface DecodeSetup {
  keys: CompiledKeys;
  aging: boolean;
  packet: string;
}

function setup(argv: string[]): DecodeSetup | 'help' {
  const { opts, positionals } = parseArgv(argv, SPECS);
  let key: Buffer | null = null;
  let hmacKey: Buffer | null = null;
  let hmacType: HashName = 'sha256';
  let mode: EncryptionMode = 'cbc';
  let aging = true;
  for (const o of opts) {
    const v = o.value ?? '';
    switch (o.id) {
      case 'help':
        return 'help';
      case 'key':
        key = Buffer.from(v, 'utf8');
        break;
      case 'keyB64':
        key = decodeKeyBase64(v, o.name);
        break;
      case 'hmacKey':
        hmacKey = Buffer.from(v, 'utf8');
        break;
      case 'hmacKeyB64':
        hmacKey = decodeKeyBase64(v, o.name);
        break;
      case 'hmacType': {
        const t = parseHashName(v);
        if (t === null) throw new UsageError(`unknown HMAC digest type '${v}'`);
        hmacType = t;
        break;
      }
      case 'mode': {
        const m = parseModeName(v);
        if (m === null) throw new UsageError(`unknown encryption mode '${v}'`);
        mode = m;
        break;
      }
      case 'noAging':
        aging = false;
        break;
    }
  }
  if (key === null) throw new UsageError('an encryption key is required (--key or --key-base64)');
  if (key.length === 0) throw new UsageError('the encryption key is empty');
  if (mode !== 'legacy' && key.length > 32)
    throw new UsageError('the encryption key is longer than 32 bytes');
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0
        ? 'a PACKET (or - for standard input) is required'
        : 'only one PACKET may be given',
    );
  return { keys: compileKeys({ key, hmacKey, hmacType, mode }), aging, packet: positionals[0] };
}

function decodeOne(packet: string, s: DecodeSetup, nowSeconds: number): DecodeResult {
  const r = decodeSpa(packet, s.keys);
  if (!r.ok || !s.aging) return r;
  const age = checkPacketAge(r.fields.timestamp, nowSeconds, MAX_PACKET_AGE);
  return age === null ? r : { ok: false, reason: age };
}

function fieldsJson(r: Extract<DecodeResult, { ok: true }>): Record<string, unknown> {
  const f = r.fields;
  return {
    random_value: f.random_value,
    username: f.username,
    timestamp: f.timestamp,
    version: f.version,
    message_type: f.message_type,
    message_type_name: MESSAGE_TYPE_NAMES[f.message_type],
    message: f.message,
    nat_access: f.nat_access,
    server_auth: f.server_auth,
    client_timeout: f.client_timeout,
  };
}

async function decodeLines(s: DecodeSetup, io: CliIo): Promise<number> {
  let rejected = false;
  const rl = createInterface({ input: io.stdin, crlfDelay: Infinity });
  for await (const raw of rl) {
    const line = raw.trim();
    if (line.length === 0) continue;
    const r = decodeOne(line, s, Math.floor(Date.now() / 1000));
    if (r.ok) io.stdout.write(`${JSON.stringify({ ok: true, ...fieldsJson(r) })}\n`);
    else {
      rejected = true;
      io.stdout.write(`${JSON.stringify({ ok: false, reason: r.reason })}\n`);
    }
  }
  return rejected ? 1 : 0;
}

/**
 * `spagate decode`: decode and verify SPA packets with one stanza's keys, printing the fields
 * as JSON named as in the fwknop test vectors. Packet aging (120 s) applies unless --no-aging.
 */
export const decode: Command = async (argv, io) => {
  const s = setup(argv);
  if (s === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (s.packet === '-') return decodeLines(s, io);
  const r = decodeOne(s.packet.trim(), s, Math.floor(Date.now() / 1000));
  if (!r.ok) {
    io.stderr.write(`rejected: ${r.reason}\n`);
    return 1;
  }
  io.stdout.write(`${JSON.stringify(fieldsJson(r))}\n`);
  return 0;
};
