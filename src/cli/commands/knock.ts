import { randomBytes } from 'node:crypto';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { RandomSource } from '../../core/ports.js';
import { encodeSpa, SpaEncodeError } from '../../core/spa/encode.js';
import { DgramUdpSender, type UdpSender } from '../../adapters/udp-sender.js';
import type { Command, CliIo } from '../io.js';
import { UsageError } from '../io.js';
import { parseArgv, type OptSpec } from '../knock-argv.js';
import { planKnock } from '../knock-build.js';
import { fieldDump } from '../knock-dump.js';
import { applySetting, defaultSettings, SettingError, type KnockSettings } from '../knock-settings.js';
import { parseRcText, RC_KEYWORDS, selectRcEntries } from '../rcfile.js';

/** Flags that set an rc keyword: [id, short, long, keyword, fixed value for flags without argument]. */
const KEYWORD_FLAGS: [string, string | undefined, string, string, string | null][] = [
  ['server', 'D', 'destination', 'SPA_SERVER', null],
  ['port', 'p', 'server-port', 'SPA_SERVER_PORT', null],
  ['proto', 'P', 'server-proto', 'SPA_SERVER_PROTO', null],
  ['sourcePort', 'S', 'source-port', 'SPA_SOURCE_PORT', null],
  ['randPort', 'r', 'rand-port', 'RAND_PORT', 'Y'],
  ['access', 'A', 'access', 'ACCESS', null],
  ['allowIp', 'a', 'allow-ip', 'ALLOW_IP', null],
  ['sourceIp', 's', 'source-ip', 'ALLOW_IP', 'source'],
  ['resolve', 'R', 'resolve-ip-https', 'RESOLVE_IP_HTTPS', 'Y'],
  ['nat', 'N', 'nat-access', 'NAT_ACCESS', null],
  ['natLocal', undefined, 'nat-local', 'NAT_LOCAL', 'Y'],
  ['natPort', undefined, 'nat-port', 'NAT_PORT', null],
  ['natRandPort', undefined, 'nat-rand-port', 'NAT_RAND_PORT', 'Y'],
  ['fwTimeout', 'f', 'fw-timeout', 'FW_TIMEOUT', null],
  ['digest', 'm', 'digest-type', 'DIGEST_TYPE', null],
  ['mode', 'M', 'encryption-mode', 'ENCRYPTION_MODE', null],
  ['hmacType', undefined, 'hmac-digest-type', 'HMAC_DIGEST_TYPE', null],
  ['key', undefined, 'key-rijndael', 'KEY', null],
  ['keyB64', undefined, 'key-base64-rijndael', 'KEY_BASE64', null],
  ['hmacKey', undefined, 'key-hmac', 'HMAC_KEY', null],
  ['hmacKeyB64', undefined, 'key-base64-hmac', 'HMAC_KEY_BASE64', null],
  ['useHmac', undefined, 'use-hmac', 'USE_HMAC', 'Y'],
  ['spoofUser', 'U', 'spoof-user', 'SPOOF_USER', null],
  ['gpg', 'g', 'gpg-encryption', 'USE_GPG', 'Y'],
];

const OTHER_FLAGS: OptSpec[] = [
  { id: 'named', short: 'n', long: 'named-config', value: true },
  { id: 'rcFile', long: 'rc-file', value: true },
  { id: 'noRcFile', long: 'no-rc-file', value: false },
  { id: 'test', short: 'T', long: 'test', value: false },
  { id: 'savePacket', short: 'B', long: 'save-packet', value: true },
  { id: 'saveAppend', short: 'b', long: 'save-packet-append', value: false },
  { id: 'verbose', short: 'v', long: 'verbose', value: false },
  { id: 'serverCmd', short: 'C', long: 'server-cmd', value: true },
  { id: 'timePlus', long: 'time-offset-plus', value: true },
  { id: 'timeMinus', long: 'time-offset-minus', value: true },
  { id: 'noSaveArgs', long: 'no-save-args', value: false },
  { id: 'noHomeDir', long: 'no-home-dir', value: false },
  { id: 'help', short: 'h', long: 'help', value: false },
  { id: 'version', short: 'V', long: 'version', value: false },
];

const SPECS: OptSpec[] = [
  ...KEYWORD_FLAGS.map(([id, short, long, , fixed]) => ({
    id,
    ...(short ? { short } : {}),
    long,
    value: fixed === null,
  })),
  ...OTHER_FLAGS,
];
const KEYWORD_OF = new Map(KEYWORD_FLAGS.map(([id, , , kw, fixed]) => [id, { kw, fixed }]));

const USAGE = `usage: spagate knock [-n NAME] [--rc-file FILE] -A proto/port[,...] (-a IP | -s) -D SERVER [options]
An fwknop-compatible SPA client: reads [default] and the -n stanza of ~/.fwknoprc, then the flags.
  -D, --destination HOST        server (SPA_SERVER)         -p, --server-port PORT  (SPA_SERVER_PORT, 62201)
  -A, --access LIST             e.g. tcp/22,udp/53 (ACCESS)  -a, --allow-ip IP / -s, --source-ip (ALLOW_IP)
  -N, --nat-access HOST[:PORT]  (NAT_ACCESS)  --nat-local (NAT_LOCAL)  --nat-port PORT (NAT_PORT)  --nat-rand-port
  -f, --fw-timeout SECONDS      client timeout (FW_TIMEOUT, CLIENT_TIMEOUT)
  -m, --digest-type TYPE        inner digest (DIGEST_TYPE, sha256)
  -M, --encryption-mode MODE    cbc ecb cfb ofb ctr legacy (ENCRYPTION_MODE, cbc)
  --hmac-digest-type TYPE       md5 sha1 sha256 sha384 sha512 sha3_256 sha3_512 (HMAC_DIGEST_TYPE, sha256)
  --key-rijndael K | --key-base64-rijndael K      (KEY | KEY_BASE64)
  --key-hmac H | --key-base64-hmac H | --use-hmac  (HMAC_KEY | HMAC_KEY_BASE64 | USE_HMAC)
  -U, --spoof-user NAME (SPOOF_USER)  -C, --server-cmd CMD  --time-offset-plus/--time-offset-minus T
  -r, --rand-port  -S, --source-port PORT  -T, --test (print the packet, send nothing)
  -B, --save-packet FILE [-b append]  -v, --verbose (print the SPA fields)  --no-rc-file
Keys given as flags are visible in the process list; prefer the rc file (mode 0600).
`;

export interface KnockDeps {
  sender: UdpSender;
  random: RandomSource;
  nowMs: () => number;
  loginName: () => string | null;
}

const realDeps: KnockDeps = {
  sender: new DgramUdpSender(),
  random: { bytes: (n) => randomBytes(n) },
  nowMs: () => Date.now(),
  loginName: () => {
    try {
      return userInfo().username;
    } catch {
      return null;
    }
  },
};

async function loadRc(
  settings: KnockSettings,
  file: string,
  explicit: boolean,
  named: string | null,
  io: CliIo,
): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit && named === null) return;
    throw new ConfigError([{ file, line: 0, message: `cannot read rc file: ${code ?? String(e)}` }]);
  }
  try {
    if (((await stat(file)).mode & 0o077) !== 0)
      io.stderr.write(
        `spagate knock: warning: ${file} is accessible by group or others; it may hold keys (chmod 600)\n`,
      );
  } catch {
    // Read above worked; a failing stat only loses the warning.
  }
  const { entries, found } = selectRcEntries(parseRcText(text), named);
  if (!found)
    throw new ConfigError([
      { file, line: 0, message: `named configuration stanza [${named}] was not found` },
    ]);
  for (const e of entries) {
    if (!RC_KEYWORDS.has(e.keyword))
      throw new ConfigError([{ file, line: e.line, message: `unknown keyword ${e.keyword}` }]);
    if (e.value === null)
      throw new ConfigError([{ file, line: e.line, message: `${e.keyword} has no value` }]);
    try {
      applySetting(settings, e.keyword, e.value);
    } catch (err) {
      if (err instanceof SettingError || err instanceof UsageError)
        throw new ConfigError([{ file, line: e.line, message: err.message }]);
      throw err;
    }
  }
}

/** The `spagate knock` command with its I/O passed in (tests give a fixed clock and a capturing sender). */
export function createKnock(deps: KnockDeps): Command {
  return async (argv, io) => {
    const { opts, positionals } = parseArgv(argv, SPECS);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (opts.some((o) => o.id === 'help')) {
      io.stdout.write(USAGE);
      return 0;
    }
    if (opts.some((o) => o.id === 'version')) {
      io.stdout.write('spagate knock (fwknop 2.x compatible client, FKO protocol version 3.0.0)\n');
      return 0;
    }
    const last = (id: string) => opts.filter((o) => o.id === id).at(-1)?.value ?? null;
    const named = last('named');
    const rcFile = last('rcFile');
    const noRc = opts.some((o) => o.id === 'noRcFile');
    if (noRc && named !== null) throw new UsageError('cannot use -n with --no-rc-file');

    const settings = defaultSettings();
    if (!noRc) {
      const home = io.env.HOME;
      if (rcFile === null && home === undefined) {
        if (named !== null) throw new UsageError('HOME is not set: use --rc-file');
      } else {
        await loadRc(
          settings,
          rcFile !== null ? resolve(io.cwd, rcFile) : join(home!, '.fwknoprc'),
          rcFile !== null,
          named,
          io,
        );
      }
    }

    let test = false;
    let verbose = 0;
    let savePacket: string | null = null;
    let append = false;
    for (const o of opts) {
      const kw = KEYWORD_OF.get(o.id);
      try {
        if (kw) {
          // fwknop's -a takes an address only; the rc keyword also takes source/resolve.
          if (o.id === 'allowIp' && /^(source|resolve)$/i.test(o.value!))
            throw new SettingError(`-a needs an IPv4 address`);
          applySetting(settings, kw.kw, kw.fixed ?? o.value!);
        } else if (o.id === 'timePlus' || o.id === 'timeMinus') {
          applySetting(settings, 'TIME_OFFSET', `${o.id === 'timeMinus' ? '-' : ''}${o.value!}`);
        }
      } catch (e) {
        if (e instanceof SettingError) throw new UsageError(`${o.name}: ${e.message}`);
        throw e;
      }
      if (o.id === 'test') test = true;
      if (o.id === 'verbose') verbose++;
      if (o.id === 'savePacket') savePacket = o.value;
      if (o.id === 'saveAppend') append = true;
      if (o.id === 'serverCmd') settings.serverCmd = o.value;
    }

    let plan;
    let packet: string;
    try {
      plan = planKnock(settings, {
        env: io.env,
        nowMs: deps.nowMs(),
        random: deps.random,
        test,
        loginName: deps.loginName,
      });
      packet = encodeSpa(plan.fields, plan.keys, { digestType: plan.digestType, random: deps.random });
    } catch (e) {
      if (e instanceof SettingError || e instanceof SpaEncodeError) throw new UsageError(e.message);
      throw e;
    }
    for (const n of plan.notes) io.stderr.write(`spagate knock: ${n}\n`);
    if (packet.length >= 400)
      io.stderr.write(
        `spagate knock: warning: the packet is ${packet.length} characters; fwknopd 2.6.10 ignores packets of 400 or more\n`,
      );
    if (verbose > 0) io.stdout.write(fieldDump(plan, packet));
    if (savePacket !== null) {
      const path = resolve(io.cwd, savePacket);
      await (append ? appendFile(path, `${packet}\n`) : writeFile(path, `${packet}\n`));
    }
    if (test) {
      if (verbose === 0) io.stdout.write(`${packet}\n`);
      return 0;
    }
    const host = plan.server!;
    try {
      const sent = await deps.sender.send(host, plan.port, Buffer.from(packet, 'latin1'), {
        sourcePort: settings.sourcePort,
      });
      if (verbose > 0) io.stdout.write(`sent ${sent.bytes} bytes to ${sent.address} udp/${plan.port}\n`);
    } catch (e) {
      io.stderr.write(
        `spagate knock: cannot send to ${host} udp/${plan.port}: ${e instanceof Error ? e.message : String(e)}\n`,
      );
      return 1;
    }
    return 0;
  };
}

/**
 * `spagate knock`: an fwknop-compatible SPA client. It reads ~/.fwknoprc (or --rc-file) stanzas
 * and fwknop's flags, builds one packet and sends it as one UDP datagram (default port 62201).
 */
export const knock: Command = createKnock(realDeps);
