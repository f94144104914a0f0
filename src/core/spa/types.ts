/**
 * The SPA codec's data types and the fixed tables of fwknop 2.x (spec sections 2, 4, 5.3, 6.1).
 */
import type { EncryptionMode, HashName } from '../model.js';

/**
 * The decoded fields of an SPA packet, named as fwknop's `-v` dump and the test vectors name them.
 * Text fields hold the decoded strings; absent optional fields are null, an absent client timeout 0.
 */
export interface SpaFields {
  /** 16 ASCII digits. */
  random_value: string;
  username: string;
  /** Unix seconds (client clock). */
  timestamp: number;
  /** `3.0.0` for fwknop 2.x clients; 1..8 printable characters. */
  version: string;
  /** 0..6, see MESSAGE_TYPE_NAMES. */
  message_type: number;
  /** `allow-ip,proto/port[,...]`, or `allow-ip,command` for type 0. */
  message: string;
  /** `host,port` for types 2, 4, 5 and 6. */
  nat_access: string | null;
  server_auth: string | null;
  /** Seconds; 0 when absent (only types 3, 4 and 6 carry it). */
  client_timeout: number;
}

/** One stanza's key material. */
export interface SpaKeys {
  /** Raw Rijndael key bytes (passphrase bytes or decoded KEY_BASE64); the codec applies legacy padding for mode 'legacy'. */
  key: Buffer;
  /** Raw HMAC key bytes, or null for a stanza without HMAC. */
  hmacKey: Buffer | null;
  hmacType: HashName;
  mode: EncryptionMode;
}

export interface HashInfo {
  /** Node's name for createHash/createHmac. */
  node: string;
  /** Length of the unpadded base64 of the digest. */
  b64len: number;
  /** Block size used by HMAC. */
  block: number;
  /** fwknop's numeric code. */
  code: number;
  /** fwknop's display name. */
  label: string;
}

export const HASHES: Readonly<Record<HashName, HashInfo>> = Object.freeze({
  md5: { node: 'md5', b64len: 22, block: 64, code: 1, label: 'MD5' },
  sha1: { node: 'sha1', b64len: 27, block: 64, code: 2, label: 'SHA1' },
  sha256: { node: 'sha256', b64len: 43, block: 64, code: 3, label: 'SHA256' },
  sha384: { node: 'sha384', b64len: 64, block: 128, code: 4, label: 'SHA384' },
  sha512: { node: 'sha512', b64len: 86, block: 128, code: 5, label: 'SHA512' },
  sha3_256: { node: 'sha3-256', b64len: 43, block: 136, code: 6, label: 'SHA3_256' },
  sha3_512: { node: 'sha3-512', b64len: 86, block: 72, code: 7, label: 'SHA3_512' },
});

export const HASH_NAMES: readonly HashName[] = Object.freeze([
  'md5',
  'sha1',
  'sha256',
  'sha384',
  'sha512',
  'sha3_256',
  'sha3_512',
]);

export interface ModeInfo {
  /** Node cipher name (always used with auto padding off and manual PKCS#7). */
  cipher: string;
  usesIv: boolean;
  code: number;
  label: string;
}

export const MODES: Readonly<Record<EncryptionMode, ModeInfo>> = Object.freeze({
  ecb: { cipher: 'aes-256-ecb', usesIv: false, code: 1, label: 'ECB' },
  cbc: { cipher: 'aes-256-cbc', usesIv: true, code: 2, label: 'CBC' },
  cfb: { cipher: 'aes-256-cfb', usesIv: true, code: 3, label: 'CFB' },
  ofb: { cipher: 'aes-256-ofb', usesIv: true, code: 5, label: 'OFB' },
  ctr: { cipher: 'aes-256-ctr', usesIv: true, code: 6, label: 'CTR' },
  legacy: { cipher: 'aes-256-cbc', usesIv: true, code: 8, label: 'legacy' },
});

export const MODE_NAMES: readonly EncryptionMode[] = Object.freeze([
  'cbc',
  'ecb',
  'cfb',
  'ofb',
  'ctr',
  'legacy',
]);

/** As printed by `fwknop -v`. */
export const MESSAGE_TYPE_NAMES: readonly string[] = Object.freeze([
  'Command msg',
  'Access msg',
  'NAT access msg',
  'Client timeout access msg',
  'Client timeout NAT access msg',
  'Local NAT access msg',
  'Client timeout local NAT access msg',
]);

/** Message types that carry a NAT access field. */
export function typeHasNat(t: number): boolean {
  return t === 2 || t === 4 || t === 5 || t === 6;
}

/** Message types that carry a client timeout field. */
export function typeHasTimeout(t: number): boolean {
  return t === 3 || t === 4 || t === 6;
}

/** Parse an fwknop digest/HMAC name (`sha3_256`, case-insensitive; `sha3-256` tolerated). */
export function parseHashName(s: string): HashName | null {
  const n = s.trim().toLowerCase().replace('-', '_');
  return (HASH_NAMES as readonly string[]).includes(n) ? (n as HashName) : null;
}

/** Parse an fwknop `-M` name (case-insensitive). */
export function parseModeName(s: string): EncryptionMode | null {
  const n = s.trim().toLowerCase();
  return (MODE_NAMES as readonly string[]).includes(n) ? (n as EncryptionMode) : null;
}

/** Protocol limits (spec section 8). */
export const LIMITS = Object.freeze({
  /** Smallest wire packet a real client makes (fwknopd's MIN_SPA_DATA_SIZE). */
  minPacket: 140,
  /** Wire packets must be shorter than this. */
  maxPacketExclusive: 1500,
  /** fwknopd 2.6.10 treats packets this long or longer as GnuPG (spec 13.1). */
  fwknopdGpgThreshold: 400,
  minPlaintext: 36,
  maxPlaintext: 1499,
  maxUsernameEncoded: 64,
  maxFieldEncoded: 256,
  maxTimestampLen: 12,
  maxVersionLen: 8,
  maxTypeLen: 2,
  maxNatHost: 70,
  maxCommandExclusive: 1400,
  maxClientTimeout: 65536,
  maxKey: 32,
  legacyKeyLen: 16,
});
