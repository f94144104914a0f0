/**
 * Turns knock settings into the SPA fields and keys, with fwknop 2.6.10's rules for message types,
 * NAT requests and ports (spec 2.2).
 */
import type { HashName } from '../core/model.js';
import type { RandomSource } from '../core/ports.js';
import { parseAccessMessage } from '../core/spa/decode.js';
import { isValidUsername } from '../core/spa/fields.js';
import type { SpaFields, SpaKeys } from '../core/spa/types.js';
import { decodeKeyBase64 } from './knock-keys.js';
import { SettingError, type KeySetting, type KnockSettings } from './knock-settings.js';

export interface KnockPlan {
  fields: SpaFields;
  keys: SpaKeys;
  digestType: HashName;
  /** Where to send: null server only in test mode. */
  server: string | null;
  port: number;
  /** Lines worth telling the user (random ports, key truncation). */
  notes: string[];
}

export interface PlanContext {
  env: Readonly<Record<string, string | undefined>>;
  nowMs: number;
  random: RandomSource;
  test: boolean;
  /** The login name when no environment variable names one. */
  loginName: () => string | null;
}

function keyBytes(k: KeySetting, what: string): Buffer {
  return k.kind === 'base64' ? decodeKeyBase64(k.value, what) : Buffer.from(k.value, 'utf8');
}

function randomInt(random: RandomSource, min: number, max: number): number {
  return min + (random.bytes(4).readUInt32BE(0) % (max - min + 1));
}

/** 16 decimal digits, as fwknop's random value. */
export function randomValue(random: RandomSource): string {
  return (random.bytes(8).readBigUInt64BE(0) % 10n ** 16n).toString().padStart(16, '0');
}

/** `host:port`, `host,port` or `host` (port from the access request), as -N accepts. */
function splitNat(v: string, defaultPort: number): { host: string; port: number } {
  const m = /^(.*)[:,](\d{1,5})$/.exec(v);
  const host = m ? m[1] : v;
  const port = m ? Number(m[2]) : defaultPort;
  if (host.length === 0 || port < 1 || port > 65535)
    throw new SettingError(`NAT access '${v}' must be host[:port]`);
  return { host, port };
}

export function planKnock(s: KnockSettings, ctx: PlanContext): KnockPlan {
  const notes: string[] = [];
  if (s.key === null)
    throw new SettingError(
      'no encryption key: use --key-rijndael, --key-base64-rijndael, or KEY/KEY_BASE64 in the rc file',
    );
  const key = keyBytes(s.key, 'the encryption key');
  if (s.mode === 'legacy') {
    if (s.useHmac) throw new SettingError('legacy encryption mode is incompatible with HMAC usage');
    if (key.length > 16) notes.push('legacy mode: the encryption key is truncated to its first 16 bytes');
  } else if (key.length > 32) throw new SettingError('the encryption key is longer than 32 bytes');
  let hmacKey: Buffer | null = null;
  if (s.useHmac) {
    if (s.hmacKey === null)
      throw new SettingError(
        'HMAC is enabled but no HMAC key was given (--key-hmac, --key-base64-hmac, HMAC_KEY, HMAC_KEY_BASE64)',
      );
    hmacKey = keyBytes(s.hmacKey, 'the HMAC key');
    if (hmacKey.length > 128) throw new SettingError('the HMAC key is longer than 128 bytes');
    if (hmacKey.equals(key)) throw new SettingError('the encryption key and the HMAC key must differ');
  }

  if (s.allowIp === null)
    throw new SettingError('must use one of -a IP or -s (ALLOW_IP) to give the IP to allow');
  if (s.server === null && !ctx.test)
    throw new SettingError('no server: use -D (or SPA_SERVER in the rc file)');

  let type: number;
  let message: string;
  let natAccess: string | null = null;
  if (s.serverCmd !== null) {
    type = 0;
    message = `${s.allowIp},${s.serverCmd}`;
  } else {
    if (s.access === null)
      throw new SettingError(
        'no access request: use -A proto/port[,proto/port...] (or ACCESS in the rc file)',
      );
    const parsed = parseAccessMessage(`${s.allowIp},${s.access}`);
    if (!parsed.ok)
      throw new SettingError(
        `invalid access request '${s.access}': expected tcp/PORT or udp/PORT, comma separated`,
      );
    const access = parsed.access.map((a) => ({ ...a }));
    type = 1;
    if (s.natAccess !== null || s.natLocal) {
      if (access.length > 1)
        throw new SettingError('NAT for multiple ports/protocols is not supported (nor by fwknop)');
      const servicePort = access[0].port;
      let nat: { host: string; port: number };
      if (s.natAccess !== null) nat = splitNat(s.natAccess, servicePort);
      else if (s.server === null)
        throw new SettingError('--nat-local needs the server (-D) to name the NAT host');
      else nat = { host: s.server, port: servicePort };
      natAccess = `${nat.host},${nat.port}`;
      if (s.natRandPort) {
        access[0].port = randomInt(ctx.random, 10000, 65535);
        notes.push(`requesting NAT access via randomized port ${access[0].port}`);
      } else if (s.natPort !== null) access[0].port = s.natPort;
      type = s.natLocal ? 5 : 2;
    } else if (s.natPort !== null || s.natRandPort) {
      throw new SettingError('--nat-port and --nat-rand-port need -N or --nat-local');
    }
    message = `${s.allowIp},${access.map((a) => `${a.proto}/${a.port}`).join(',')}`;
    if (s.fwTimeout !== null && s.fwTimeout > 0) type = type === 1 ? 3 : type === 2 ? 4 : 6;
  }

  const username =
    s.spoofUser ?? ctx.env.SPOOF_USER ?? ctx.env.LOGNAME ?? ctx.env.USER ?? ctx.loginName() ?? 'NO_USER';
  if (!isValidUsername(username))
    throw new SettingError(
      `username '${username}' cannot be sent (printable, at most 48 characters, none of "/\\[]:;|=,+*?<>)`,
    );

  let port = s.port;
  if (s.randPort) {
    port = randomInt(ctx.random, 10000, 65535);
    notes.push(`sending to randomized port ${port}`);
  }
  return {
    fields: {
      random_value: randomValue(ctx.random),
      username,
      timestamp: Math.floor(ctx.nowMs / 1000) + s.timeOffset,
      version: '3.0.0',
      message_type: type,
      message,
      nat_access: natAccess,
      server_auth: null,
      client_timeout: type === 3 || type === 4 || type === 6 ? s.fwTimeout! : 0,
    },
    keys: { key, hmacKey, hmacType: s.hmacType, mode: s.mode },
    digestType: s.digestType,
    server: s.server,
    port,
    notes,
  };
}
