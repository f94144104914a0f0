/**
 * Interop with the real fwknop 2.6.10 (Debian's fwknop-client and fwknop-server):
 *  1. packets made by `fwknop --test` with randomized options decode in spagate with the fields
 *     fwknop printed;
 *  2. packets made by `spagate knock` for every HMAC type and every encryption mode are accepted
 *     by a real fwknopd in UDP-server mode with --test (no firewall changes), inside a namespace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecFileRunner } from '../../src/adapters/command-runner.js';
import type { UdpSender } from '../../src/adapters/udp-sender.js';
import { createKnock } from '../../src/cli/commands/knock.js';
import type { EncryptionMode, HashName } from '../../src/core/model.js';
import { compileKeys, decodeSpa } from '../../src/core/spa/decode.js';
import { HASH_NAMES, HASHES, MODES, type SpaKeys } from '../../src/core/spa/types.js';
import { IP, Netns, requireRoot } from '../helpers/netns.js';
import { cliIo } from '../unit/spa/cli-io.js';
import { seededRandom } from '../unit/spa/helpers.js';

const FWKNOP = '/usr/bin/fwknop';
const FWKNOPD = '/usr/sbin/fwknopd';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
const runner = new ExecFileRunner();

/** The "SPA Field Values" block fwknop prints, as label -> value. */
function parseDump(text: string): Map<string, string> {
  const m = new Map<string, string>();
  const start = text.indexOf('SPA Field Values:');
  for (const line of text.slice(start).split('\n').slice(2)) {
    const i = line.indexOf(': ');
    if (i < 0) break;
    m.set(line.slice(0, i).trim(), line.slice(i + 2));
    if (line.trim().startsWith('Final SPA Data')) break;
  }
  return m;
}

test(
  'packets from the real fwknop client with randomized options decode in spagate',
  { timeout: 120_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const dir = mkdtempSync(join(tmpdir(), 'spagate-interop-'));
    const rnd = seededRandom(`interop-${Date.now()}`);
    const pick = <T>(xs: readonly T[]): T => xs[rnd.int(xs.length)];
    try {
      const rc = join(dir, 'fwknoprc');
      writeFileSync(rc, '', { mode: 0o600 });
      for (let i = 0; i < 24; i++) {
        const mode: EncryptionMode = pick(['cbc', 'ecb', 'cfb', 'ofb', 'ctr', 'legacy'] as const);
        const hmac: HashName | null = mode === 'legacy' || rnd.int(5) === 0 ? null : pick(HASH_NAMES);
        const digest = pick(HASH_NAMES);
        const b64Key = rnd.int(2) === 0;
        const key = b64Key
          ? rnd.bytes(1 + rnd.int(32))
          : Buffer.from(
              rnd
                .bytes(12)
                .toString('hex')
                .slice(0, 4 + rnd.int(20)),
            );
        const hmacKey =
          rnd.int(2) === 0
            ? rnd.bytes(1 + rnd.int(128))
            : Buffer.from(`hmac-${rnd.bytes(8).toString('hex')}`);
        const args = [
          '--rc-file',
          rc,
          '--no-save-args',
          '--test',
          '-B',
          join(dir, `p${i}`),
          '-D',
          '198.51.100.10',
          '-M',
          mode,
          '-m',
          digest,
        ];
        args.push(
          ...(b64Key
            ? ['--key-base64-rijndael', key.toString('base64')]
            : ['--key-rijndael', key.toString()]),
        );
        if (hmac) args.push('--key-base64-hmac', hmacKey.toString('base64'), '--hmac-digest-type', hmac);
        // fwknop refuses NAT requests with more than one proto/port.
        const nat = rnd.int(4);
        const ports = Array.from(
          { length: nat === 1 || nat === 2 ? 1 : 1 + rnd.int(3) },
          () => `${pick(['tcp', 'udp'])}/${1 + rnd.int(65535)}`,
        );
        args.push('-A', ports.join(','));
        args.push(
          ...(rnd.int(3) === 0
            ? ['-s']
            : ['-a', `${10 + rnd.int(200)}.${rnd.int(256)}.${rnd.int(256)}.${1 + rnd.int(254)}`]),
        );
        if (nat === 1) args.push('-N', `192.168.${rnd.int(256)}.${1 + rnd.int(254)}:${1 + rnd.int(65535)}`);
        if (nat === 2) args.push('--nat-local', '--nat-port', String(1024 + rnd.int(60000)));
        if (rnd.int(2) === 0) args.push('-f', String(rnd.int(4000)));
        if (rnd.int(2) === 0) args.push('-U', pick(['alice', 'john.doe-admin_01', 'Jane Q. Public!', 'x']));
        const { stdout } = await runner.run(FWKNOP, args, { timeoutMs: 20_000 });
        const packet = readFileSync(join(dir, `p${i}`), 'utf8').trim();
        const dump = parseDump(stdout);
        assert.equal(dump.get('Final SPA Data'), packet);
        const keys: SpaKeys = { key, hmacKey: hmac ? hmacKey : null, hmacType: hmac ?? 'sha256', mode };
        const r = decodeSpa(packet, compileKeys(keys));
        assert.ok(r.ok, `fwknop ${args.join(' ')}: ${r.ok ? '' : r.reason}`);
        const f = r.fields;
        assert.deepEqual(
          {
            rand: f.random_value,
            user: f.username,
            ts: String(f.timestamp),
            ver: f.version,
            type: String(f.message_type),
            msg: f.message,
            nat: f.nat_access ?? '<NULL>',
            sa: f.server_auth ?? '<NULL>',
            to: String(f.client_timeout),
            digest: `${HASHES[r.digestType].code} (${HASHES[r.digestType].label})`,
            mode: `${MODES[mode].code} (${MODES[mode].label})`,
          },
          {
            rand: dump.get('Random Value'),
            user: dump.get('Username'),
            ts: dump.get('Timestamp'),
            ver: dump.get('FKO Version'),
            type: dump.get('Message Type')!.split(' ')[0],
            msg: dump.get('Message String'),
            nat: dump.get('Nat Access'),
            sa: dump.get('Server Auth'),
            to: dump.get('Client Timeout'),
            digest: dump.get('Digest Type'),
            mode: dump.get('Encryption Mode'),
          },
          `fwknop ${args.join(' ')}`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

interface Combo {
  name: string;
  keys: SpaKeys;
  digest: HashName;
  extra: string[];
}

/** Sends from inside the namespace, where fwknopd listens on its loopback. */
function netnsSender(ns: string): UdpSender {
  return {
    send: (_host, port, payload) =>
      new Promise((resolve, reject) => {
        const script =
          "const d=require('dgram').createSocket('udp4');process.stdin.on('data',b=>d.send(b,Number(process.argv[1]),'127.0.0.1',e=>{d.close();process.exit(e?1:0)}))";
        const child = spawn(IP, ['netns', 'exec', ns, process.execPath, '-e', script, String(port)], {
          stdio: ['pipe', 'ignore', 'inherit'],
          timeout: 10_000,
        });
        child.on('error', reject);
        child.on('exit', (code) =>
          code === 0
            ? resolve({ address: '127.0.0.1', bytes: payload.length })
            : reject(new Error(`sender exit ${code}`)),
        );
        child.stdin.end(payload);
      }),
  };
}

function stanza(c: Combo): string {
  const lines = [
    'SOURCE ANY',
    `KEY_BASE64 ${c.keys.key.toString('base64')}`,
    `ENCRYPTION_MODE ${c.keys.mode}`,
  ];
  if (c.keys.hmacKey)
    lines.push(`HMAC_KEY_BASE64 ${c.keys.hmacKey.toString('base64')}`, `HMAC_DIGEST_TYPE ${c.keys.hmacType}`);
  return lines.join('\n') + '\n\n';
}

test(
  'packets from spagate knock for every HMAC type and encryption mode are accepted by a real fwknopd',
  { timeout: 180_000 },
  async (t) => {
    if (!requireRoot(t)) return;
    const net = new Netns();
    const dir = mkdtempSync(join(tmpdir(), 'spagate-interop-d-'));
    const rnd = seededRandom(`fwknopd-${Date.now()}`);
    const combos: Combo[] = [];
    const mk = (
      name: string,
      mode: EncryptionMode,
      hmacType: HashName | null,
      digest: HashName,
      extra: string[] = [],
    ) =>
      combos.push({
        name,
        keys: {
          key: rnd.bytes(32),
          hmacKey: hmacType ? rnd.bytes(64) : null,
          hmacType: hmacType ?? 'sha256',
          mode,
        },
        digest,
        extra,
      });
    for (const h of HASH_NAMES) mk(`hmac ${h}`, 'cbc', h, HASH_NAMES[rnd.int(7)]);
    for (const m of ['cbc', 'ecb', 'cfb', 'ofb', 'ctr'] as const)
      mk(`mode ${m}`, m, 'sha256', 'sha256', ['-f', '45']);
    mk('legacy without HMAC', 'legacy', null, 'sha1');
    mk('cbc without HMAC', 'cbc', null, 'md5', ['-U', 'knock-user']);
    mk('ctr + sha3_512 HMAC + sha3_512 digest', 'ctr', 'sha3_512', 'sha3_512');
    // Passphrase keys take a different path in both programs.
    combos.push({
      name: 'passphrase keys',
      keys: {
        key: Buffer.from('correct horse'),
        hmacKey: Buffer.from('battery staple'),
        hmacType: 'sha384',
        mode: 'ofb',
      },
      digest: 'sha512',
      extra: [],
    });
    try {
      const ns = net.add('fwd');
      const run = join(dir, 'run');
      mkdirSync(run, { mode: 0o700 });
      writeFileSync(
        join(dir, 'fwknopd.conf'),
        `ENABLE_UDP_SERVER Y\nUDPSERV_PORT 62201\nFWKNOP_RUN_DIR ${run}\nPCAP_INTF lo\n`,
        { mode: 0o600 },
      );
      const access = combos
        .map((c) =>
          c.name === 'passphrase keys'
            ? `SOURCE ANY\nKEY ${c.keys.key.toString()}\nHMAC_KEY ${c.keys.hmacKey!.toString()}\nHMAC_DIGEST_TYPE sha384\nENCRYPTION_MODE ofb\n\n`
            : stanza(c),
        )
        .join('');
      writeFileSync(join(dir, 'access.conf'), access, { mode: 0o600 });
      chmodSync(join(dir, 'access.conf'), 0o600);
      const daemon = net.spawn(ns, FWKNOPD, [
        '-f',
        '-t',
        '-U',
        '-v',
        '-c',
        join(dir, 'fwknopd.conf'),
        '-a',
        join(dir, 'access.conf'),
        '-d',
        join(run, 'digest.cache'),
        '-p',
        join(run, 'fwknopd.pid'),
        '-r',
        run,
      ]);
      let log = '';
      daemon.stdout!.on('data', (b: Buffer) => (log += b.toString()));
      daemon.stderr!.on('data', (b: Buffer) => (log += b.toString()));
      const waitFor = async (pred: () => boolean, what: string) => {
        for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 100));
        assert.ok(pred(), `fwknopd: no ${what} within 10 s; log:\n${log}`);
      };
      await waitFor(() => log.includes('Kicking off UDP server'), 'UDP server start');

      const knock = createKnock({
        sender: netnsSender(ns),
        random: { bytes: (n) => rnd.bytes(n) },
        nowMs: () => Date.now(),
        loginName: () => 'root',
      });
      for (const c of combos) {
        const args = [
          '--no-rc-file',
          '-D',
          '127.0.0.1',
          '-A',
          'tcp/22,udp/53',
          '-a',
          '203.0.113.7',
          '-M',
          c.keys.mode,
          '-m',
          c.digest,
          '-v',
          ...c.extra,
        ];
        args.push('--key-base64-rijndael', c.keys.key.toString('base64'));
        if (c.name === 'passphrase keys') args.splice(-2, 2, '--key-rijndael', c.keys.key.toString());
        if (c.keys.hmacKey) {
          args.push('--hmac-digest-type', c.keys.hmacType);
          args.push(
            ...(c.name === 'passphrase keys'
              ? ['--key-hmac', c.keys.hmacKey.toString()]
              : ['--key-base64-hmac', c.keys.hmacKey.toString('base64')]),
          );
        }
        const h = cliIo({ env: { LOGNAME: 'root' } });
        assert.equal(await knock(args, h.io), 0, `${c.name}: ${h.err()}`);
        const dump = parseDump(h.out());
        const packet = dump.get('Final SPA Data')!;
        assert.ok(packet.length < 400, `${c.name}: ${packet.length} characters`);
        const rv = dump.get('Random Value')!;
        await waitFor(
          () =>
            log.includes(`Random Value: ${rv}`) &&
            log.lastIndexOf('--test mode enabled, skipping firewall manipulation') >
              log.indexOf(`Random Value: ${rv}`),
          `acceptance of ${c.name}`,
        );
        const seg = log.slice(
          log.lastIndexOf('udp_server: Got UDP datagram', log.indexOf(`Random Value: ${rv}`)),
        );
        assert.match(seg, /SPA Decode \(res=0\)/, c.name);
        assert.ok(seg.includes(`Message String: 203.0.113.7,tcp/22,udp/53`), c.name);
        assert.ok(seg.includes(`Encryption Mode: ${MODES[c.keys.mode].code} `), c.name);
        assert.ok(seg.includes(`HMAC Type: ${c.keys.hmacKey ? HASHES[c.keys.hmacType].code : 0} `), c.name);
        assert.ok(seg.includes(`Digest Type: ${HASHES[c.digest].code} `), c.name);
      }

      // The real CLI end to end: `spagate knock` run inside the namespace sends the datagram itself.
      const c = combos[0];
      const out = net.exec(ns, process.execPath, [
        '--import',
        TSX,
        join(ROOT, 'src', 'cli', 'main.ts'),
        'knock',
        '--no-rc-file',
        '-v',
        '-D',
        '127.0.0.1',
        '-A',
        'tcp/2222',
        '-a',
        '198.51.100.77',
        '--key-base64-rijndael',
        c.keys.key.toString('base64'),
        '--key-base64-hmac',
        c.keys.hmacKey!.toString('base64'),
        '--hmac-digest-type',
        c.keys.hmacType,
        '-m',
        c.digest,
      ]);
      const rv = parseDump(out).get('Random Value')!;
      await waitFor(
        () => log.includes(`Random Value: ${rv}`) && log.includes('Message String: 198.51.100.77,tcp/2222'),
        'acceptance of the CLI packet',
      );
      assert.ok(
        log.lastIndexOf('--test mode enabled, skipping firewall manipulation') >
          log.indexOf(`Random Value: ${rv}`),
      );
    } finally {
      await net.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
