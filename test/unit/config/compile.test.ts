import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS, CONF, compile, messages, ok, stanza } from './helpers.js';

const O1 = '/etc/fwknop/override1.conf';
const O2 = '/etc/fwknop/override2.conf';

test('compileConfig reports every problem of both files at once, in file and line order', () => {
  const conf = 'UDPSERV_PORT 0\nGPG_EXE /usr/bin/gpg\nLOG_LEVEL shout\n';
  const access = `SOURCE ANY\nKEY_BASE64 __CHANGEME__\nFORCE_NAT 1.2.3.4 22\nSOURCE nowhere\nKEY secret\nCMD_EXEC_USER root\n`;
  const r = compile(conf, access);
  assert.equal(r.config, null);
  assert.deepEqual(
    r.errors.map((e) => `${e.file}:${e.line}`),
    [`${CONF}:1`, `${CONF}:2`, `${CONF}:3`, `${ACCESS}:2`, `${ACCESS}:3`, `${ACCESS}:4`, `${ACCESS}:6`],
  );
});

test('compileConfig returns a deeply frozen configuration', () => {
  const c = ok(compile('ENABLE_IPT_FORWARDING Y\n', stanza('ANY', 'OPEN_PORTS tcp/22\n')));
  assert.ok(Object.isFrozen(c));
  assert.ok(Object.isFrozen(c.server));
  assert.ok(Object.isFrozen(c.server.chains.forward));
  assert.ok(Object.isFrozen(c.stanzas));
  assert.ok(Object.isFrozen(c.stanzas[0]));
  assert.ok(Object.isFrozen(c.stanzas[0].source[0]));
  assert.ok(Object.isFrozen(c.stanzas[0].openPorts));
  assert.ok(Object.isFrozen(c.warnings));
  assert.throws(() => {
    (c.server as { pcapIntf: string }).pcapIntf = 'x';
  }, TypeError);
});

test('compileConfig gives warnings as file:line: message strings', () => {
  const c = ok(compile('FROB 1\n', stanza()));
  assert.deepEqual(c.warnings, [`${CONF}:1: ignored: unknown keyword 'FROB'`]);
});

test('layering: override files beat fwknopd.conf and later override files beat earlier ones', () => {
  const r = compile('PCAP_INTF eth1\nUDPSERV_PORT 1000\nLOG_LEVEL warn\n', stanza(), {
    overrideFiles: [O1, O2],
    files: { [O1]: 'PCAP_INTF eth2\nUDPSERV_PORT 2000\n', [O2]: 'PCAP_INTF eth3\n' },
  });
  const s = ok(r).server;
  assert.equal(s.pcapIntf, 'eth3');
  assert.equal(s.udpservPort, 2000);
  assert.equal(s.logLevel, 'warn');
});

test('layering: environment beats the files and flags beat the environment', () => {
  const conf = 'SPAGATE_DATA_DIR /conf\nLOG_LEVEL warn\nFIREWALL_BACKEND iptables\n';
  const env = {
    SPAGATE_DATA_DIR: '/env',
    SPAGATE_LOG_LEVEL: 'error',
    SPAGATE_FIREWALL_BACKEND: 'nftables',
    PCAP_INTF: 'ignored',
  };
  const fromEnv = ok(compile(conf, stanza(), { env })).server;
  assert.equal(fromEnv.dataDir, '/env');
  assert.equal(fromEnv.logLevel, 'error');
  assert.equal(fromEnv.firewallBackend, 'nftables');
  assert.equal(fromEnv.pcapIntf, 'eth0', 'only SPAGATE_* variables are read');
  const fromFlags = ok(compile(conf, stanza(), { env, flags: { dataDir: '/flag', verbose: true } })).server;
  assert.equal(fromFlags.dataDir, '/flag');
  assert.equal(fromFlags.logLevel, 'debug');
});

test('layering: an empty environment variable does not override', () => {
  const s = ok(compile('SPAGATE_DATA_DIR /conf\n', stanza(), { env: { SPAGATE_DATA_DIR: '' } })).server;
  assert.equal(s.dataDir, '/conf');
});

test('layering: fwknopd flags override their keywords', () => {
  const s = ok(
    compile('PCAP_INTF eth1\nPCAP_FILTER udp port 1\n', stanza(), {
      flags: {
        pcapIntf: 'lan0',
        pcapFilter: 'udp port 2',
        digestFile: '/tmp/d.cache',
        pidFile: '/tmp/p.pid',
        runDir: '/tmp/run',
        udpServer: true,
        testMode: true,
      },
    }),
  ).server;
  assert.equal(s.pcapIntf, 'lan0');
  assert.equal(s.pcapFilter, 'udp port 2');
  assert.equal(s.digestFile, '/tmp/d.cache');
  assert.equal(s.pidFile, '/tmp/p.pid');
  assert.equal(s.runDir, '/tmp/run');
  assert.equal(s.enableUdpServer, true);
  assert.equal(s.testMode, true);
});

test('layering: a bad value from the environment or a flag is reported against its origin', () => {
  const r = compile('', stanza(), {
    env: { SPAGATE_FIREWALL_BACKEND: 'ipfw' },
    flags: { dataDir: 'relative' },
  });
  assert.deepEqual(messages(r.errors), [
    "environment (SPAGATE_FIREWALL_BACKEND):0: FIREWALL_BACKEND 'ipfw' must be iptables, nftables or auto",
    "command line (--data-dir):0: SPAGATE_DATA_DIR 'relative' must be an absolute path",
  ]);
});

test('access file comes from -a, else from ACCESS_FILE in fwknopd.conf', () => {
  const other = '/srv/acc.conf';
  const viaConf = compile(`ACCESS_FILE ${other}\n`, '', { accessFile: null, files: { [other]: stanza() } });
  assert.equal(viaConf.accessFile, other);
  assert.equal(ok(viaConf).server.accessFile, other);
  const viaConfDir = compile('FWKNOP_CONF_DIR /srv\n', '', {
    accessFile: null,
    files: { '/srv/access.conf': stanza() },
  });
  assert.equal(viaConfDir.accessFile, '/srv/access.conf');
  const viaFlag = compile(`ACCESS_FILE ${other}\n`, stanza(), { accessFile: ACCESS });
  assert.equal(viaFlag.accessFile, ACCESS);
});

test('a missing access file is an error naming the file', () => {
  const r = compile('', '', { accessFile: '/nope/access.conf' });
  assert.deepEqual(messages(r.errors), ['/nope/access.conf:0: cannot read access file: not found']);
});
