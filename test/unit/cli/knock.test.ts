import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKnock, knock, type KnockDeps } from '../../../src/cli/commands/knock.js';
import { main } from '../../../src/cli/dispatch.js';
import { compileKeys, decodeSpa } from '../../../src/core/spa/decode.js';
import type { SpaKeys } from '../../../src/core/spa/types.js';
import { seededRandom, VECTORS, vectorKeys } from '../spa/helpers.js';
import { cliIo } from '../spa/cli-io.js';

const NOW = 1_800_000_000_000;
const K = 'X3EKA6gzYtGuWX3X/OlLKSzN03+de80gqXKFPr9TA3o=';
const H = 'pC6PxUEtBY51WnCDsdoqyObllpGvCQf3bWmF4z8fN2GtG4piCWwYEDS0K6dSkirNi6qsP6Gn0JfMKDhxAo+Hpg==';
const KEYS: SpaKeys = {
  key: Buffer.from(K, 'base64'),
  hmacKey: Buffer.from(H, 'base64'),
  hmacType: 'sha256',
  mode: 'cbc',
};

interface Sent {
  host: string;
  port: number;
  payload: Buffer;
}

function fakeDeps(sent: Sent[] = []): KnockDeps {
  return {
    sender: {
      send: (host, port, payload) => {
        sent.push({ host, port, payload });
        return Promise.resolve({ address: host, bytes: payload.length });
      },
    },
    random: seededRandom('knock'),
    nowMs: () => NOW,
    loginName: () => 'tester',
  };
}

async function run(args: string[], opts: { env?: Record<string, string>; deps?: KnockDeps } = {}) {
  const h = cliIo({ env: opts.env ?? { HOME: '/nonexistent-home' } });
  const code = await createKnock(opts.deps ?? fakeDeps())(args, h.io).catch(async (e: unknown) => {
    // Mirror dispatch's error handling for thrown errors.
    const { UsageError } = await import('../../../src/cli/io.js');
    h.io.stderr.write(`spagate knock: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof UsageError ? 2 : 1;
  });
  return { code, out: h.out(), err: h.err() };
}

function decodeOut(out: string, keys: SpaKeys = KEYS) {
  const packet = out.trim().split('\n').at(-1)!;
  const r = decodeSpa(packet, compileKeys(keys));
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.fields;
}

const BASE = [
  '--key-base64-rijndael',
  K,
  '--key-base64-hmac',
  H,
  '-D',
  '198.51.100.10',
  '-A',
  'tcp/22',
  '-a',
  '203.0.113.7',
];

test('knock --test prints a packet that decodes to the requested fields', async () => {
  const r = await run(['--test', ...BASE, '-U', 'alice']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  const f = decodeOut(r.out);
  assert.equal(f.message, '203.0.113.7,tcp/22');
  assert.equal(f.username, 'alice');
  assert.equal(f.timestamp, NOW / 1000);
  assert.equal(f.message_type, 1);
  assert.match(f.random_value, /^\d{16}$/);
});

test('knock builds the same fields as fwknop 2.6.10 for every vector command line', async () => {
  for (const v of VECTORS) {
    const args = v.fwknop_args.filter((a, i, all) => a !== '-v' && a !== '-B' && all[i - 1] !== '-B');
    const env = { HOME: '/nonexistent-home', LOGNAME: 'root' };
    if (!args.includes('-U')) env.LOGNAME = v.expected.username;
    const r = await run(args, { env });
    assert.equal(r.code, 0, `${v.id}: ${r.err}`);
    const f = decodeOut(r.out, vectorKeys(v));
    const shift = args.includes('--time-offset-minus') ? -300 : 0;
    assert.deepEqual(
      { ...f, random_value: '', timestamp: 0 },
      { ...stripName(v.expected), random_value: '', timestamp: 0 },
      v.id,
    );
    assert.equal(f.timestamp, NOW / 1000 + shift, v.id);
  }
});

function stripName(e: (typeof VECTORS)[number]['expected']) {
  const { message_type_name: _n, ...rest } = e;
  return rest;
}

test('knock sends one UDP datagram to the server and port', async () => {
  const sent: Sent[] = [];
  const r = await run([...BASE, '-p', '40001'], { deps: fakeDeps(sent) });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, '');
  assert.equal(sent.length, 1);
  assert.equal(sent[0].host, '198.51.100.10');
  assert.equal(sent[0].port, 40001);
  assert.equal(decodeSpa(sent[0].payload.toString(), compileKeys(KEYS)).ok, true);
});

test('knock sends to port 62201 by default, over a real loopback socket', { timeout: 10_000 }, async () => {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = sock.address().port;
  const got = new Promise<Buffer>((r) => sock.once('message', (m) => r(m)));
  try {
    const h = cliIo({ env: { HOME: '/nonexistent-home' } });
    const code = await knock(
      [
        '--key-base64-rijndael',
        K,
        '--key-base64-hmac',
        H,
        '-D',
        '127.0.0.1',
        '-p',
        String(port),
        '-A',
        'udp/53',
        '-s',
      ],
      h.io,
    );
    assert.equal(code, 0, h.err());
    const payload = await got;
    const r = decodeSpa(payload.toString('latin1'), compileKeys(KEYS));
    assert.ok(r.ok);
    assert.equal(r.fields.message, '0.0.0.0,udp/53');
  } finally {
    sock.close();
  }
  const plan = await run(['--test', ...BASE]);
  assert.equal(plan.code, 0);
});

test('knock reads [default] and the -n stanza of the rc file, keywords in any case, flags last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-knock-'));
  try {
    const rc = join(dir, 'rc');
    writeFileSync(
      rc,
      `[default]\nDigest_Type sha512\nhmac_digest_type SHA3_256\nSPA_SERVER_PORT 40000\nSPOOF_USER dflt\n\n[GW]\nSPA_SERVER gw.example\nkey_base64 ${K}\nHMAC_KEY_BASE64: ${H}\nACCESS udp/53\nALLOW_IP source\nENCRYPTION_MODE CTR\nCLIENT_TIMEOUT 90\nNAT_ACCESS 10.0.0.5,2222\n`,
    );
    chmodSync(rc, 0o600);
    const sent: Sent[] = [];
    const r = await run(['--rc-file', rc, '-n', 'gw', '-U', 'cli-user'], { deps: fakeDeps(sent) });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.equal(sent[0].host, 'gw.example');
    assert.equal(sent[0].port, 40000);
    const keys: SpaKeys = { ...KEYS, hmacType: 'sha3_256', mode: 'ctr' };
    const d = decodeSpa(sent[0].payload.toString(), compileKeys(keys));
    assert.ok(d.ok, d.ok ? '' : d.reason);
    assert.equal(d.digestType, 'sha512');
    assert.deepEqual(
      {
        user: d.fields.username,
        type: d.fields.message_type,
        msg: d.fields.message,
        nat: d.fields.nat_access,
        to: d.fields.client_timeout,
      },
      { user: 'cli-user', type: 4, msg: '0.0.0.0,udp/53', nat: '10.0.0.5,2222', to: 90 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('knock reads ~/.fwknoprc by default and warns when it is readable by others', async () => {
  const home = mkdtempSync(join(tmpdir(), 'spagate-home-'));
  try {
    writeFileSync(join(home, '.fwknoprc'), `[default]\nKEY secretpass\nSPA_SERVER 192.0.2.1\n`);
    chmodSync(join(home, '.fwknoprc'), 0o644);
    const r = await run(['--test', '-A', 'tcp/22', '-a', '192.0.2.9'], { env: { HOME: home } });
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /warning: .*\.fwknoprc is accessible by group or others/);
    assert.ok(!r.err.includes('secretpass'));
    const f = decodeOut(r.out, {
      key: Buffer.from('secretpass'),
      hmacKey: null,
      hmacType: 'sha256',
      mode: 'cbc',
    });
    assert.equal(f.message, '192.0.2.9,tcp/22');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('knock -B saves the packet with a newline and -b appends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-knock-'));
  try {
    const file = join(dir, 'pkt');
    const a = await run(['--test', ...BASE, '-B', file]);
    const b = await run(['--test', ...BASE, '-B', file, '-b']);
    assert.equal(readFileSync(file, 'utf8'), `${a.out.trim()}\n${b.out.trim()}\n`);
    const c = await run(['--test', ...BASE, '--save-packet', file]);
    assert.equal(readFileSync(file, 'utf8'), `${c.out.trim()}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('knock -v prints the SPA fields in fwknop layout without any key', async () => {
  const r = await run(['-T', '-v', ...BASE, '-U', 'bob', '--hmac-digest-type', 'md5', '-M', 'ofb']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.equal(lines[0], 'SPA Field Values:');
  assert.ok(lines.includes('       Username: bob'));
  assert.ok(lines.includes('   Message Type: 1 (Access msg)'));
  assert.ok(lines.includes('     Nat Access: <NULL>'));
  assert.ok(lines.includes('      HMAC Type: 1 (MD5)'));
  assert.ok(lines.includes('Encryption Mode: 5 (OFB)'));
  const packet = lines.at(-1)!.replace(' Final SPA Data: ', '');
  assert.equal(decodeSpa(packet, compileKeys({ ...KEYS, hmacType: 'md5', mode: 'ofb' })).ok, true);
  assert.ok(lines.includes(`           HMAC: ${packet.slice(-22)}`));
  assert.ok(!r.out.includes(K) && !r.out.includes(H));
});

test('knock builds NAT, local NAT, nat-port and timeout packets like fwknop', async () => {
  const cases: [string[], number, string, string | null, number][] = [
    [['-N', '192.168.10.5:22'], 2, '203.0.113.7,tcp/22', '192.168.10.5,22', 0],
    [['-N', '192.168.10.6'], 2, '203.0.113.7,tcp/22', '192.168.10.6,22', 0],
    [['-N', '192.168.10.7:22', '--nat-port', '40022'], 2, '203.0.113.7,tcp/40022', '192.168.10.7,22', 0],
    [['--nat-local', '--nat-port', '55000'], 5, '203.0.113.7,tcp/55000', '198.51.100.10,22', 0],
    [['--nat-local', '-f', '120'], 6, '203.0.113.7,tcp/22', '198.51.100.10,22', 120],
    [['-N', '10.1.1.1,80', '-f', '60'], 4, '203.0.113.7,tcp/22', '10.1.1.1,80', 60],
    [['-f', '0'], 1, '203.0.113.7,tcp/22', null, 0],
    [['-f', '65536'], 3, '203.0.113.7,tcp/22', null, 65536],
  ];
  for (const [extra, type, msg, nat, to] of cases) {
    const r = await run(['--test', ...BASE, ...extra]);
    assert.equal(r.code, 0, `${extra.join(' ')}: ${r.err}`);
    const f = decodeOut(r.out);
    assert.deepEqual(
      [f.message_type, f.message, f.nat_access, f.client_timeout],
      [type, msg, nat, to],
      extra.join(' '),
    );
  }
});

test('knock --nat-rand-port and -r pick ports and say so', async () => {
  const sent: Sent[] = [];
  const r = await run([...BASE, '-N', '10.0.0.1:22', '--nat-rand-port', '-r'], { deps: fakeDeps(sent) });
  assert.equal(r.code, 0, r.err);
  const m = /randomized port (\d+)/.exec(r.err);
  assert.ok(m);
  const f = decodeSpa(sent[0].payload.toString(), compileKeys(KEYS));
  assert.ok(f.ok);
  assert.equal(f.fields.message, `203.0.113.7,tcp/${m[1]}`);
  assert.ok(sent[0].port >= 10000 && sent[0].port <= 65535);
  assert.match(r.err, new RegExp(`sending to randomized port ${sent[0].port}`));
});

test('knock without HMAC, in legacy mode, and with a time offset', async () => {
  const r = await run([
    '--test',
    '--key-rijndael',
    'testtest',
    '-M',
    'legacy',
    '-D',
    'x',
    '-A',
    'tcp/22',
    '-a',
    '10.0.0.1',
    '--time-offset-plus',
    '2m',
  ]);
  assert.equal(r.code, 0, r.err);
  const f = decodeOut(r.out, {
    key: Buffer.from('testtest00000000'),
    hmacKey: null,
    hmacType: 'sha256',
    mode: 'cbc',
  });
  assert.equal(f.timestamp, NOW / 1000 + 120);
});

const FAILS: [string, string[], number, RegExp][] = [
  ['an unknown option', ['--bogus'], 2, /^spagate knock: unknown option '--bogus'\n$/],
  ['a missing key', ['--test', '-A', 'tcp/22', '-a', '1.2.3.4'], 2, /no encryption key/],
  ['no allow IP', ['--test', '--key-rijndael', 'k', '-A', 'tcp/22'], 2, /-a IP or -s/],
  ['no server outside test mode', ['--key-rijndael', 'k', '-A', 'tcp/22', '-a', '1.2.3.4'], 2, /no server/],
  [
    'NAT with two ports',
    ['--test', '--key-rijndael', 'k', '-A', 'tcp/22,tcp/23', '-a', '1.2.3.4', '-N', '10.0.0.1'],
    2,
    /NAT for multiple ports/,
  ],
  [
    'an icmp access request',
    ['--test', '--key-rijndael', 'k', '-A', 'icmp/0', '-a', '1.2.3.4'],
    2,
    /invalid access request/,
  ],
  [
    'legacy mode with HMAC',
    ['--test', '--key-rijndael', 'k', '--key-hmac', 'h', '-M', 'legacy', '-A', 'tcp/22', '-a', '1.2.3.4'],
    2,
    /legacy encryption mode is incompatible with HMAC/,
  ],
  [
    'equal keys',
    ['--test', '--key-rijndael', 'same', '--key-hmac', 'same', '-A', 'tcp/22', '-a', '1.2.3.4'],
    2,
    /must differ/,
  ],
  [
    '--use-hmac without a key',
    ['--test', '--key-rijndael', 'k', '--use-hmac', '-A', 'tcp/22', '-a', '1.2.3.4'],
    2,
    /no HMAC key/,
  ],
  [
    'a bad allow IP',
    ['--test', '--key-rijndael', 'k', '-A', 'tcp/22', '-a', '1.2.3.04'],
    2,
    /not an IPv4 address/,
  ],
  [
    '-a source',
    ['--test', '--key-rijndael', 'k', '-A', 'tcp/22', '-a', 'source'],
    2,
    /-a needs an IPv4 address/,
  ],
  [
    'a bad digest type',
    ['--test', '--key-rijndael', 'k', '-A', 'tcp/22', '-a', '1.2.3.4', '-m', 'sha224'],
    2,
    /DIGEST_TYPE 'sha224' must be one of/,
  ],
  [
    'a bad port',
    ['--test', '--key-rijndael', 'k', '-A', 'tcp/22', '-a', '1.2.3.4', '-p', '70000'],
    2,
    /port number/,
  ],
  [
    'a missing rc file',
    ['--rc-file', '/nonexistent/rc', '--test'],
    1,
    /^spagate knock: \/nonexistent\/rc:0: cannot read rc file: ENOENT\n$/,
  ],
  [
    'a named stanza without rc file',
    ['-n', 'gw', '--test'],
    1,
    /stanza \[gw\] was not found|cannot read rc file/,
  ],
  ['-R', ['--test', '--key-rijndael', 'k', '-A', 'tcp/22', '-R'], 2, /not supported/],
  [
    'a bad base64 key',
    ['--test', '--key-base64-rijndael', 'not*base64', '-A', 'tcp/22', '-a', '1.2.3.4'],
    2,
    /--key-base64-rijndael: KEY_BASE64 is not valid base64/,
  ],
  [
    'a bad username',
    ['--test', '--key-rijndael', 'k', '-A', 'tcp/22', '-a', '1.2.3.4', '-U', 'a:b'],
    2,
    /username 'a:b' cannot be sent/,
  ],
];

for (const [what, args, code, err] of FAILS) {
  test(`knock fails with a one-line error for ${what}`, async () => {
    const r = await run(args);
    assert.equal(r.code, code, r.err);
    assert.match(r.err, err);
    assert.equal(r.err.split('\n').length, 2, r.err);
    assert.ok(!r.err.includes('not*base64'));
  });
}

test('knock reports a bad rc line by file and line, without the key value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spagate-knock-'));
  try {
    const rc = join(dir, 'rc');
    writeFileSync(rc, `[default]\nKEY_BASE64 topsecret*\n`, { mode: 0o600 });
    const a = await run(['--rc-file', rc, '--test', '-A', 'tcp/22', '-a', '1.2.3.4']);
    assert.equal(a.code, 1);
    assert.equal(a.err, `spagate knock: ${rc}:2: KEY_BASE64 is not valid base64\n`);
    writeFileSync(rc, `[default]\nKEY k\n[x]\nNO_SUCH_THING 1\n`);
    const b = await run(['--rc-file', rc, '-n', 'x', '--test']);
    assert.equal(b.code, 1);
    assert.equal(b.err, `spagate knock: ${rc}:4: unknown keyword NO_SUCH_THING\n`);
    // An error in a stanza that is not used does not matter, as in fwknop.
    const c = await run(['--rc-file', rc, '--test', '-A', 'tcp/22', '-a', '1.2.3.4']);
    assert.equal(c.code, 0, c.err);
    writeFileSync(rc, `[default]\nFW_TIMEOUT\n`);
    const d = await run(['--rc-file', rc, '--test']);
    assert.equal(d.err, `spagate knock: ${rc}:2: FW_TIMEOUT has no value\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('knock is reachable through dispatch with exit 2 for usage errors', async () => {
  const h = cliIo({ env: { HOME: '/nonexistent-home' } });
  assert.equal(await main(['knock', '--nope'], h.io), 2);
  assert.equal(h.err(), "spagate knock: unknown option '--nope'\n");
});
