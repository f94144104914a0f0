import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError } from '../../../src/cli/io.js';
import { DEFAULT_CONFIG_FILE, defaultStartFlags, parseStartFlags } from '../../../src/config/start-flags.js';

test('start flags default to fwknopd paths and nothing overridden', () => {
  const f = parseStartFlags([]);
  assert.deepEqual(f, defaultStartFlags());
  assert.equal(f.configFile, DEFAULT_CONFIG_FILE);
  assert.equal(f.accessFile, null);
});

test('start flags read every fwknopd short option', () => {
  const f = parseStartFlags([
    '-c',
    '/c',
    '-a',
    '/a',
    '-i',
    'br0',
    '-f',
    '-d',
    '/d',
    '-p',
    '/p',
    '-r',
    '/r',
    '-U',
    '-t',
    '-P',
    'udp port 9',
    '-O',
    '/o1',
    '-v',
  ]);
  assert.deepEqual(f, {
    configFile: '/c',
    accessFile: '/a',
    pcapIntf: 'br0',
    foreground: true,
    digestFile: '/d',
    pidFile: '/p',
    runDir: '/r',
    udpServer: true,
    testMode: true,
    pcapFilter: 'udp port 9',
    overrideFiles: ['/o1'],
    dataDir: null,
    verbose: true,
    help: false,
  });
});

test('start flags read the long forms with a separate or attached value', () => {
  const f = parseStartFlags([
    '--config-file=/c',
    '--access-file',
    '/a',
    '--interface',
    'eth9',
    '--foreground',
    '--digest-file=/d',
    '--pid-file',
    '/p',
    '--udp-server',
    '--test',
    '--pcap-filter=udp port 7',
    '--override-config',
    '/o1,/o2',
    '--data-dir',
    '/data',
    '--help',
  ]);
  assert.equal(f.configFile, '/c');
  assert.equal(f.accessFile, '/a');
  assert.equal(f.pcapIntf, 'eth9');
  assert.equal(f.foreground, true);
  assert.equal(f.digestFile, '/d');
  assert.equal(f.pidFile, '/p');
  assert.equal(f.udpServer, true);
  assert.equal(f.testMode, true);
  assert.equal(f.pcapFilter, 'udp port 7');
  assert.deepEqual(f.overrideFiles, ['/o1', '/o2']);
  assert.equal(f.dataDir, '/data');
  assert.equal(f.help, true);
});

test('start flags accept bundled switches and attached short values, and repeat -O', () => {
  const f = parseStartFlags(['-ftU', '-c/etc/x.conf', '-O', '/a', '-O/b']);
  assert.equal(f.foreground, true);
  assert.equal(f.testMode, true);
  assert.equal(f.udpServer, true);
  assert.equal(f.configFile, '/etc/x.conf');
  assert.deepEqual(f.overrideFiles, ['/a', '/b']);
  assert.equal(parseStartFlags(['-fc', '/y']).configFile, '/y');
});

test('start flags reject unknown options, missing values and stray arguments with UsageError', () => {
  assert.throws(
    () => parseStartFlags(['-K']),
    (e: unknown) => e instanceof UsageError && /unknown option '-K'/.test(e.message),
  );
  assert.throws(
    () => parseStartFlags(['--fw-list']),
    (e: unknown) => e instanceof UsageError && /unknown option '--fw-list'/.test(e.message),
  );
  assert.throws(
    () => parseStartFlags(['-c']),
    (e: unknown) => e instanceof UsageError && /-c needs a value/.test(e.message),
  );
  assert.throws(
    () => parseStartFlags(['--test=Y']),
    (e: unknown) => e instanceof UsageError && /takes no value/.test(e.message),
  );
  assert.throws(
    () => parseStartFlags(['extra']),
    (e: unknown) => e instanceof UsageError && /unexpected argument/.test(e.message),
  );
});
