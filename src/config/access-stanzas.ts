/**
 * access.conf stanzas compiled into AccessStanza (spec 11, 14.1), with fwknopd's defaults,
 * its load-time checks, its warnings, and spagate's refusals.
 */
import { basename } from 'node:path';
import type { AccessStanza, ServerConfig } from '../core/config-model.js';
import type { EncryptionMode, HashName, Ipv4Net, ProtoPort } from '../core/model.js';
import type { StanzaBlock } from './access-tree.js';
import type { Origin, Problems } from './problems.js';
import type { ConfigEntry } from './syntax.js';
import { isDubiousBool, parseBool } from './syntax.js';
import {
  decodeBase64,
  isIpv4Text,
  parseHashName,
  parseIntInRange,
  parseNetList,
  parseProtoPortList,
} from './values.js';

export const DEFAULT_FW_ACCESS_TIMEOUT = 30;
export const DEFAULT_MAX_FW_TIMEOUT = 300;
/** fwknopd's RCHK_MAX_FW_TIMEOUT. */
export const MAX_TIMEOUT = 2 ** 23;
export const MAX_KEY_BYTES = 32;
export const LEGACY_KEY_BYTES = 16;
/** fwknop's MAX_KEY_LEN, applied to HMAC keys. */
export const MAX_HMAC_KEY_BYTES = 128;

const KNOWN = new Set([
  'DESTINATION',
  'KEY',
  'KEY_BASE64',
  'HMAC_KEY',
  'HMAC_KEY_BASE64',
  'HMAC_DIGEST_TYPE',
  'ENCRYPTION_MODE',
  'OPEN_PORTS',
  'RESTRICT_PORTS',
  'FW_ACCESS_TIMEOUT',
  'MAX_FW_TIMEOUT',
  'REQUIRE_USERNAME',
  'REQUIRE_SOURCE_ADDRESS',
  'REQUIRE_SOURCE',
  'ACCESS_EXPIRE',
  'ACCESS_EXPIRE_EPOCH',
  'FORCE_NAT',
  'FORCE_SNAT',
  'FORCE_MASQUERADE',
  'FORWARD_ALL',
  'DISABLE_DNAT',
  'MAC_BINDING',
]);

const MODES: Readonly<Record<string, EncryptionMode>> = {
  cbc: 'cbc',
  ecb: 'ecb',
  cfb: 'cfb',
  ofb: 'ofb',
  ctr: 'ctr',
  legacy: 'legacy',
};

/** Keywords spagate refuses in access.conf; returns the reason or null. */
export function refusedAccessKeyword(e: ConfigEntry): string | null {
  if (e.name.startsWith('GPG_'))
    return `${e.name}: GnuPG is not supported by spagate (use Rijndael keys: KEY_BASE64 and HMAC_KEY_BASE64)`;
  if (e.name === 'ENABLE_CMD_EXEC' || e.name === 'ENABLE_CMD_SUDO_EXEC') {
    return parseBool(e.value) ? `${e.name} Y: command execution is not supported by spagate` : null;
  }
  if (e.name.startsWith('CMD_')) return `${e.name}: command execution is not supported by spagate`;
  return null;
}

/** Local midnight of MM/DD/YYYY (fwknopd: sscanf "%2d/%2d/%4d" then mktime), in epoch seconds. */
export function parseAccessExpire(value: string): number | null {
  const m = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{1,4})/.exec(value);
  if (!m) return null;
  const month = Number(m[1]);
  const day = Number(m[2]);
  let year = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  // fwknopd: a year below 100 is taken as 20YY.
  if (year < 100) year += 2000;
  else if (year <= 1900) return null;
  const d = new Date(year, month - 1, day, 0, 0, 0, 0);
  if (d.getMonth() !== month - 1) return null;
  return Math.floor(d.getTime() / 1000);
}

function keyBytesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.equals(b);
}

interface Ctx {
  server: ServerConfig;
  problems: Problems;
  now: number;
}

/** The last line of each keyword in a stanza; repeated keywords warn, as the last one wins. */
function lastByName(block: StanzaBlock, problems: Problems): Map<string, ConfigEntry> {
  const byName = new Map<string, ConfigEntry>();
  for (const e of block.entries) {
    const prev = byName.get(e.name);
    if (prev)
      problems.warn(
        e,
        `${e.name} is set again in this stanza (first at ${prev.file}:${prev.line}); this line wins`,
      );
    byName.set(e.name, e);
  }
  return byName;
}

function compileStanza(block: StanzaBlock, id: string, ctx: Ctx): AccessStanza | null {
  const { problems, server } = ctx;
  const errorsBefore = problems.errors.length;
  const src = block.source;
  const label = `stanza SOURCE ${src.value.trim()}`;

  for (const e of block.entries) {
    const refused = refusedAccessKeyword(e);
    if (refused !== null) problems.error(e, refused);
    else if (!KNOWN.has(e.name) && e.name !== 'ENABLE_CMD_EXEC' && e.name !== 'ENABLE_CMD_SUDO_EXEC') {
      problems.error(e, `unknown access.conf keyword '${e.name}'`);
    }
  }
  const get = lastByName({ source: src, entries: block.entries.filter((e) => KNOWN.has(e.name)) }, problems);
  // Of two alternative keywords (KEY / KEY_BASE64, ...), the one written later wins.
  const lastOf = (a: string, b: string): ConfigEntry | undefined => {
    const ea = get.get(a);
    const eb = get.get(b);
    if (!ea || !eb) return ea ?? eb;
    return block.entries.indexOf(ea) > block.entries.indexOf(eb) ? ea : eb;
  };
  const bool = (name: string, dflt: boolean): boolean => {
    const e = get.get(name);
    if (!e) return dflt;
    if (isDubiousBool(e.value)) problems.warn(e, `${name} '${e.value.trim()}' is not Y or N; taken as N`);
    return parseBool(e.value);
  };

  const netList = (e: ConfigEntry): Ipv4Net[] => {
    const r = parseNetList(e.value);
    if ('bad' in r) {
      problems.error(e, `${e.name}: '${r.bad}' is not ANY, an IPv4 address, address/nn or address/mask`);
      return [];
    }
    return r.nets;
  };
  const source = netList(src);
  const destEntry = get.get('DESTINATION');
  const destination = destEntry ? netList(destEntry) : null;

  // Keys.
  const notChangeme = (e: ConfigEntry): boolean => {
    if (e.value.trim().toUpperCase() !== '__CHANGEME__') return true;
    problems.error(
      e,
      `${e.name} is still __CHANGEME__: set a real key (spagate keygen, or fwknop --key-gen)`,
    );
    return false;
  };
  const trailingBlankWarning = (e: ConfigEntry): void => {
    if (/\s$/.test(e.value)) {
      problems.warn(
        e,
        `${e.name} ends in blanks, which are part of the value (as in fwknopd); remove them if unintended`,
      );
    }
  };
  const keyText = get.get('KEY');
  const keyB64 = get.get('KEY_BASE64');
  let key: Buffer | null = null;
  let keyIsPassphrase = false;
  let keyAt: Origin = src;
  const pickKey = lastOf('KEY', 'KEY_BASE64');
  if (keyText && keyB64)
    problems.warn(pickKey!, `both KEY and KEY_BASE64 are set; ${pickKey!.name} (this line) is used`);
  if (pickKey && notChangeme(pickKey)) {
    keyAt = pickKey;
    if (pickKey.name === 'KEY') {
      trailingBlankWarning(pickKey);
      key = Buffer.from(pickKey.value, 'utf8');
      keyIsPassphrase = true;
    } else {
      key = decodeBase64(pickKey.value);
      if (key === null || key.length === 0) problems.error(pickKey, 'KEY_BASE64 is not base64-encoded data');
    }
  }
  if (!pickKey) problems.error(src, `no key for ${label}: set KEY_BASE64 (or KEY)`);

  const modeEntry = get.get('ENCRYPTION_MODE');
  let encryptionMode: EncryptionMode = 'cbc';
  if (modeEntry) {
    const m = modeEntry.value.trim().toLowerCase();
    if (m === 'asymmetric' || m === 'gpg' || m === 'gnupg') {
      problems.error(
        modeEntry,
        `ENCRYPTION_MODE ${modeEntry.value.trim()}: GnuPG is not supported by spagate`,
      );
    } else if (MODES[m] === undefined) {
      problems.error(
        modeEntry,
        `ENCRYPTION_MODE '${modeEntry.value.trim()}' must be one of CBC, ECB, CFB, OFB, CTR, legacy`,
      );
    } else {
      encryptionMode = MODES[m];
    }
  }

  if (key !== null) {
    if (encryptionMode === 'legacy' && key.length > LEGACY_KEY_BYTES) {
      problems.warn(
        keyAt,
        `truncating the encryption key to ${LEGACY_KEY_BYTES} bytes in legacy mode, as fwknopd does`,
      );
      key = Buffer.from(key.subarray(0, LEGACY_KEY_BYTES));
    } else if (key.length > MAX_KEY_BYTES) {
      problems.error(
        keyAt,
        `the encryption key is ${key.length} bytes; Rijndael keys are 1..${MAX_KEY_BYTES} bytes (fwknopd would reject every packet)`,
      );
    }
  }

  const hmacText = get.get('HMAC_KEY');
  const hmacB64 = get.get('HMAC_KEY_BASE64');
  const pickHmac = lastOf('HMAC_KEY', 'HMAC_KEY_BASE64');
  if (hmacText && hmacB64)
    problems.warn(
      pickHmac!,
      `both HMAC_KEY and HMAC_KEY_BASE64 are set; ${pickHmac!.name} (this line) is used`,
    );
  let hmacKey: Buffer | null = null;
  if (pickHmac && notChangeme(pickHmac)) {
    if (pickHmac.name === 'HMAC_KEY') {
      trailingBlankWarning(pickHmac);
      hmacKey = Buffer.from(pickHmac.value, 'utf8');
    } else {
      hmacKey = decodeBase64(pickHmac.value);
      if (hmacKey === null || hmacKey.length === 0)
        problems.error(pickHmac, 'HMAC_KEY_BASE64 is not base64-encoded data');
    }
    if (hmacKey !== null && hmacKey.length > MAX_HMAC_KEY_BYTES) {
      problems.error(
        pickHmac,
        `the HMAC key is ${hmacKey.length} bytes; at most ${MAX_HMAC_KEY_BYTES} are allowed`,
      );
    }
    if (hmacKey !== null && key !== null && keyBytesEqual(key, hmacKey)) {
      problems.error(pickHmac, `the encryption key and the HMAC key must not be identical (${label})`);
    }
  }
  if (pickKey && !pickHmac) {
    problems.warn(
      src,
      `${label} has no HMAC key: packets are not authenticated before decryption; set HMAC_KEY_BASE64`,
    );
  }
  if (keyIsPassphrase && key !== null) {
    problems.warn(
      keyAt,
      'KEY is a passphrase; random keys (KEY_BASE64 from spagate keygen or fwknop --key-gen) are stronger',
    );
  }
  if (encryptionMode === 'legacy' && hmacKey !== null) {
    problems.warn(
      modeEntry ?? src,
      'ENCRYPTION_MODE legacy with an HMAC key: fwknop clients refuse to combine legacy mode with HMAC, so no client can match this stanza',
    );
  }

  const hmacTypeEntry = get.get('HMAC_DIGEST_TYPE');
  let hmacType: HashName = 'sha256';
  if (hmacTypeEntry) {
    const h = parseHashName(hmacTypeEntry.value);
    if (h === null) {
      problems.error(
        hmacTypeEntry,
        `HMAC_DIGEST_TYPE '${hmacTypeEntry.value.trim()}' must be one of md5, sha1, sha256, sha384, sha512, sha3_256, sha3_512`,
      );
    } else {
      hmacType = h;
    }
    if (!pickHmac) problems.warn(hmacTypeEntry, 'HMAC_DIGEST_TYPE has no effect without an HMAC key');
  }

  // Ports.
  const portList = (name: string): ProtoPort[] | null => {
    const e = get.get(name);
    if (!e) return null;
    const r = parseProtoPortList(e.value);
    if ('bad' in r) {
      problems.error(e, `${name}: '${r.bad}' is not tcp/PORT or udp/PORT (port 0..65535)`);
      return null;
    }
    return r.list;
  };
  const openPorts = portList('OPEN_PORTS');
  const restrictPorts = portList('RESTRICT_PORTS');

  // Timeouts: fwknopd turns a value below 1 into the default.
  const timeout = (name: string, dflt: number): number => {
    const e = get.get(name);
    if (!e) return dflt;
    const n = parseIntInRange(e.value, 0, MAX_TIMEOUT);
    if (n === null) {
      problems.error(e, `${name} '${e.value.trim()}' must be a whole number of seconds in 0..${MAX_TIMEOUT}`);
      return dflt;
    }
    return n < 1 ? dflt : n;
  };
  const fwAccessTimeout = timeout('FW_ACCESS_TIMEOUT', DEFAULT_FW_ACCESS_TIMEOUT);
  const maxFwTimeout = timeout('MAX_FW_TIMEOUT', DEFAULT_MAX_FW_TIMEOUT);
  if (fwAccessTimeout > maxFwTimeout) {
    problems.warn(
      get.get('FW_ACCESS_TIMEOUT') ?? src,
      `FW_ACCESS_TIMEOUT ${fwAccessTimeout} is above MAX_FW_TIMEOUT ${maxFwTimeout}: as in fwknopd, a client that sends no timeout still gets ${fwAccessTimeout} s (MAX_FW_TIMEOUT caps only client timeouts)`,
    );
  }

  const userEntry = get.get('REQUIRE_USERNAME');
  if (userEntry) trailingBlankWarning(userEntry);
  const requireUsername = userEntry ? userEntry.value : null;

  const rsa = lastOf('REQUIRE_SOURCE_ADDRESS', 'REQUIRE_SOURCE');
  const requireSourceAddress = rsa ? bool(rsa.name, false) : false;
  if (!rsa) {
    problems.warn(
      src,
      `${label}: REQUIRE_SOURCE_ADDRESS is not set, so packets with allow IP 0.0.0.0 (fwknop -s) are accepted and open access for whatever source address they arrive from`,
    );
  }

  // Stanza expiry: the later of the two lines wins, like any repeated setting.
  let accessExpire: number | null = null;
  const expLast = lastOf('ACCESS_EXPIRE', 'ACCESS_EXPIRE_EPOCH');
  if (expLast?.name === 'ACCESS_EXPIRE') {
    accessExpire = parseAccessExpire(expLast.value);
    if (accessExpire === null)
      problems.error(expLast, `ACCESS_EXPIRE '${expLast.value.trim()}' is not a date MM/DD/YYYY`);
  } else if (expLast?.name === 'ACCESS_EXPIRE_EPOCH') {
    accessExpire = parseIntInRange(expLast.value, 0, 2 ** 53 - 1);
    if (accessExpire === null)
      problems.error(expLast, `ACCESS_EXPIRE_EPOCH '${expLast.value.trim()}' is not a Unix time in seconds`);
  }
  if (expLast && accessExpire !== null && accessExpire * 1000 <= ctx.now) {
    problems.warn(
      expLast,
      `${label} has already expired (${expLast.name} ${expLast.value.trim()}); it grants nothing`,
    );
  }

  // NAT and forwarding (spec 12.5, 12.6).
  let forceNat: AccessStanza['forceNat'] = null;
  const fnEntry = get.get('FORCE_NAT');
  if (fnEntry) {
    const m = /^\s*(\S+)\s+(\d{1,5})\s*$/.exec(fnEntry.value);
    if (!m || !isIpv4Text(m[1]) || Number(m[2]) > 65535) {
      problems.error(fnEntry, `FORCE_NAT '${fnEntry.value.trim()}' must be "<IPv4> <port>" (port 0..65535)`);
    } else {
      forceNat = { ip: m[1], port: Number(m[2]), implied: false };
    }
  }
  const fsEntry = get.get('FORCE_SNAT');
  let forceSnat: string | null = null;
  if (fsEntry) {
    if (isIpv4Text(fsEntry.value)) forceSnat = fsEntry.value.trim();
    else problems.error(fsEntry, `FORCE_SNAT '${fsEntry.value.trim()}' is not an IPv4 address`);
  }
  const forceMasquerade = bool('FORCE_MASQUERADE', false);
  const forwardAll = bool('FORWARD_ALL', false);
  const disableDnat = bool('DISABLE_DNAT', false);
  const fmEntry = get.get('FORCE_MASQUERADE');
  const faEntry = get.get('FORWARD_ALL');

  const needForward = (e: ConfigEntry): void => {
    if (server.chains.forward === null) {
      problems.error(
        e,
        `${e.name} needs ENABLE_IPT_FORWARDING Y (or ENABLE_IPT_LOCAL_NAT Y) in ${server.configFile}: the FORWARD and DNAT chains are not configured`,
      );
    }
  };
  if (fnEntry) needForward(fnEntry);
  if (faEntry && forwardAll) needForward(faEntry);
  for (const e of [fsEntry, forceMasquerade ? fmEntry : undefined]) {
    if (!e) continue;
    if (!fnEntry && !forwardAll) {
      problems.error(e, `${e.name} requires FORCE_NAT or FORWARD_ALL Y in the same stanza (as in fwknopd)`);
    }
    const chain = e.name === 'FORCE_SNAT' ? server.chains.snat : server.chains.masquerade;
    if (chain === null) {
      problems.error(
        e,
        `${e.name} needs ENABLE_IPT_SNAT Y and ENABLE_IPT_FORWARDING Y in ${server.configFile}: the ${e.name === 'FORCE_SNAT' ? 'SNAT' : 'MASQUERADE'} chain is not configured`,
      );
    }
  }
  if (forceNat === null && !fnEntry && (forceSnat !== null || forceMasquerade) && forwardAll) {
    // fwknopd sets FORCE_NAT 0.0.0.0 0 itself here, so the stanza always takes the NAT branch.
    forceNat = { ip: '0.0.0.0', port: 0, implied: true };
    if (!disableDnat && server.chains.dnat !== null) {
      problems.warn(
        fsEntry ?? fmEntry ?? src,
        `${label}: FORWARD_ALL with ${fsEntry ? 'FORCE_SNAT' : 'FORCE_MASQUERADE'} implies FORCE_NAT 0.0.0.0 0, and without DISABLE_DNAT Y every grant adds a DNAT rule to 0.0.0.0; add DISABLE_DNAT Y`,
      );
    }
  }
  if (forwardAll && disableDnat && fnEntry === undefined && forceSnat === null && !forceMasquerade) {
    problems.warn(
      faEntry ?? src,
      server.chains.snat !== null
        ? `${label}: FORWARD_ALL Y + DISABLE_DNAT Y without FORCE_*: spagate grants FORWARD all + SNAT all here; fwknopd 2.6.10 would only open an INPUT rule (spec 12.7)`
        : `${label}: FORWARD_ALL Y + DISABLE_DNAT Y without FORCE_*: spagate grants FORWARD all here (no SNAT: ENABLE_IPT_SNAT is N); fwknopd 2.6.10 would only open an INPUT rule (spec 12.7)`,
    );
  }

  const macBinding = bool('MAC_BINDING', server.macBinding);

  if (problems.errors.length > errorsBefore || key === null) return null;
  return {
    id,
    origin: `${src.file}:${src.line}`,
    source,
    destination,
    key,
    keyIsPassphrase,
    hmacKey,
    hmacType,
    encryptionMode,
    openPorts,
    restrictPorts,
    fwAccessTimeout,
    maxFwTimeout,
    requireUsername,
    requireSourceAddress,
    accessExpire,
    forceNat,
    forceSnat,
    forceMasquerade,
    forwardAll,
    disableDnat,
    macBinding,
  };
}

/**
 * One stanza that did not come from access.conf (a database user), under the id the caller
 * gives, with the same checks, defaults and refusals as a file stanza.
 */
export function compileStanzaBlock(
  block: StanzaBlock,
  id: string,
  server: ServerConfig,
  problems: Problems,
  now: number,
): AccessStanza | null {
  return compileStanza(block, id, { server, problems, now });
}

/** Compiles every block; a stanza with an error is left out (and the whole load fails). */
export function compileStanzas(
  blocks: readonly StanzaBlock[],
  server: ServerConfig,
  problems: Problems,
  now: number,
): AccessStanza[] {
  const ctx: Ctx = { server, problems, now };
  const out: AccessStanza[] = [];
  const seen = new Map<string, string>();
  for (const block of blocks) {
    let id = `${basename(block.source.file)}:${block.source.line}`;
    const other = seen.get(id);
    if (other !== undefined && other !== block.source.file) {
      // Two included files with the same name: fall back to the full path to keep ids unique.
      id = `${block.source.file}:${block.source.line}`;
    }
    seen.set(id, block.source.file);
    const s = compileStanza(block, id, ctx);
    if (s) out.push(s);
  }
  return out;
}
