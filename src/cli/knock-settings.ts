/**
 * What `spagate knock` will do, assembled from ~/.fwknoprc ([default], then the -n stanza) and
 * then the command line, each later setting overriding earlier ones as in fwknop. Command-line
 * flags are mapped onto the rc keywords so that both go through the same checks.
 */
import type { EncryptionMode, HashName } from '../core/model.js';
import { parseIpv4 } from '../core/ipv4.js';
import { parseHashName, parseModeName } from '../core/spa/types.js';
import { decodeKeyBase64 } from './knock-keys.js';

export interface KeySetting {
  kind: 'passphrase' | 'base64';
  value: string;
}

export interface KnockSettings {
  server: string | null;
  port: number;
  randPort: boolean;
  sourcePort: number | null;
  access: string | null;
  /** `0.0.0.0` for "source" (-s). */
  allowIp: string | null;
  natAccess: string | null;
  natLocal: boolean;
  natPort: number | null;
  natRandPort: boolean;
  /** Seconds; null when not set (no client timeout). */
  fwTimeout: number | null;
  digestType: HashName;
  hmacType: HashName;
  mode: EncryptionMode;
  key: KeySetting | null;
  hmacKey: KeySetting | null;
  useHmac: boolean;
  spoofUser: string | null;
  /** Seconds added to the timestamp (negative: subtracted). */
  timeOffset: number;
  serverCmd: string | null;
  verbose: number;
}

export function defaultSettings(): KnockSettings {
  return {
    server: null,
    port: 62201,
    randPort: false,
    sourcePort: null,
    access: null,
    allowIp: null,
    natAccess: null,
    natLocal: false,
    natPort: null,
    natRandPort: false,
    fwTimeout: null,
    digestType: 'sha256',
    hmacType: 'sha256',
    mode: 'cbc',
    key: null,
    hmacKey: null,
    useHmac: false,
    spoofUser: null,
    timeOffset: 0,
    serverCmd: null,
    verbose: 0,
  };
}

/** A setting that cannot be applied; the message never contains a key value. */
export class SettingError extends Error {}

function checkBase64(keyword: string, value: string): void {
  try {
    decodeKeyBase64(value, keyword);
  } catch (e) {
    throw new SettingError(e instanceof Error ? e.message : String(e));
  }
}

const yes = (v: string) => v.toUpperCase() === 'Y';

function port(v: string, what: string, min = 1): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) < min || Number(v) > 65535)
    throw new SettingError(`${what} must be a port number ${min}..65535`);
  return Number(v);
}

/** fwknop's time offsets: a number optionally followed by a unit starting with m, h or d. */
export function parseTimeOffset(v: string): number | null {
  const m = /^(\d{1,6})\s*([A-Za-z]*)$/.exec(v.trim());
  if (!m || Number(m[1]) > 65536) return null;
  const unit = m[2].charAt(0).toLowerCase();
  const mult = unit === 'm' ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 1;
  return Number(m[1]) * mult;
}

const IGNORED = new Set([
  'VERBOSE',
  'NO_SAVE_ARGS',
  'SERVER_RESOLVE_IPV4',
  'HTTP_USER_AGENT',
  'USE_WGET_USER_AGENT',
  'RESOLVE_URL',
  'WGET_CMD',
  'RESOLVE_HTTP_ONLY',
  'GPG_HOMEDIR',
  'GPG_EXE',
  'GPG_RECIPIENT',
  'GPG_SIGNER',
  'USE_GPG_AGENT',
  'GPG_NO_SIGNING_PW',
]);

/** Apply one rc keyword (upper case) with its value. Throws SettingError for a bad value. */
export function applySetting(s: KnockSettings, keyword: string, value: string): void {
  switch (keyword) {
    case 'SPA_SERVER':
      s.server = value;
      return;
    case 'SPA_SERVER_PORT':
      s.port = port(value, keyword);
      return;
    case 'SPA_SOURCE_PORT':
      s.sourcePort = port(value, keyword, 0);
      return;
    case 'SPA_SERVER_PROTO':
      if (value.toLowerCase() !== 'udp')
        throw new SettingError(`${keyword} ${value} is not supported (spagate sends UDP only)`);
      return;
    case 'RAND_PORT':
      if (yes(value)) s.randPort = true;
      return;
    case 'ACCESS':
      s.access = value;
      return;
    case 'ALLOW_IP': {
      const v = value.toLowerCase();
      if (v === 'source') s.allowIp = '0.0.0.0';
      else if (v === 'resolve')
        throw new SettingError(
          'resolving the external IP (-R, ALLOW_IP resolve) is not supported; use -a IP or -s',
        );
      else if (parseIpv4(value) === null)
        throw new SettingError(`${keyword} '${value}' is not an IPv4 address (or source)`);
      else s.allowIp = value;
      return;
    }
    case 'RESOLVE_IP_HTTP':
    case 'RESOLVE_IP_HTTPS':
      if (yes(value))
        throw new SettingError(
          'resolving the external IP (-R, ALLOW_IP resolve) is not supported; use -a IP or -s',
        );
      return;
    case 'NAT_ACCESS':
      s.natAccess = value;
      return;
    case 'NAT_LOCAL':
      if (yes(value)) s.natLocal = true;
      return;
    case 'NAT_PORT':
      s.natPort = port(value, keyword);
      return;
    case 'NAT_RAND_PORT':
      if (yes(value)) s.natRandPort = true;
      return;
    case 'FW_TIMEOUT':
    case 'CLIENT_TIMEOUT':
      if (!/^\d{1,5}$/.test(value) || Number(value) > 65536)
        throw new SettingError(`${keyword} must be 0..65536 seconds`);
      s.fwTimeout = Number(value);
      return;
    case 'DIGEST_TYPE':
    case 'HMAC_DIGEST_TYPE': {
      const t = parseHashName(value);
      if (t === null)
        throw new SettingError(
          `${keyword} '${value}' must be one of md5, sha1, sha256, sha384, sha512, sha3_256, sha3_512`,
        );
      if (keyword === 'DIGEST_TYPE') s.digestType = t;
      else s.hmacType = t;
      return;
    }
    case 'ENCRYPTION_MODE': {
      const m = parseModeName(value);
      if (m === null)
        throw new SettingError(`${keyword} '${value}' must be one of cbc, ecb, cfb, ofb, ctr, legacy`);
      s.mode = m;
      return;
    }
    case 'KEY':
      s.key = { kind: 'passphrase', value };
      return;
    case 'KEY_BASE64':
      checkBase64(keyword, value);
      s.key = { kind: 'base64', value };
      return;
    case 'HMAC_KEY':
      s.hmacKey = { kind: 'passphrase', value };
      s.useHmac = true;
      return;
    case 'HMAC_KEY_BASE64':
      checkBase64(keyword, value);
      s.hmacKey = { kind: 'base64', value };
      s.useHmac = true;
      return;
    case 'USE_HMAC':
      if (yes(value)) s.useHmac = true;
      return;
    case 'SPOOF_USER':
      s.spoofUser = value;
      return;
    case 'TIME_OFFSET': {
      const neg = value.startsWith('-');
      const n = parseTimeOffset(neg ? value.slice(1) : value);
      if (n === null)
        throw new SettingError(`${keyword} '${value}' is not a time offset (e.g. 60, 5m, 2h, 1d)`);
      s.timeOffset = neg ? -n : n;
      return;
    }
    case 'USE_GPG':
      if (yes(value)) throw new SettingError('GnuPG encryption is not supported');
      return;
    case 'GPG_SIGNING_PW':
    case 'GPG_SIGNING_PW_BASE64':
    case 'KEY_FILE':
    case 'HMAC_KEY_FILE':
    case 'SPOOF_SOURCE_IP':
      throw new SettingError(`${keyword} is not supported by spagate knock`);
    default:
      if (IGNORED.has(keyword)) return;
      throw new SettingError(`unknown keyword ${keyword}`);
  }
}
