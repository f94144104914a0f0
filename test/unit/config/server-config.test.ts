import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS, CONF, compile, messages, ok, stanza } from './helpers.js';

test('server config uses fwknopd defaults and spagate defaults when fwknopd.conf is empty', () => {
  const s = ok(compile('', stanza())).server;
  assert.equal(s.pcapIntf, 'eth0');
  assert.equal(s.pcapFilter, 'udp port 62201');
  assert.equal(s.enableUdpServer, false);
  assert.equal(s.udpservPort, 62201);
  assert.equal(s.enableSpaPacketAging, true);
  assert.equal(s.maxSpaPacketAge, 120);
  assert.equal(s.enableDigestPersistence, true);
  assert.equal(s.runDir, '/run/fwknop');
  assert.equal(s.digestFile, '/run/fwknop/digest.cache');
  assert.equal(s.pidFile, '/run/fwknop/fwknopd.pid');
  assert.equal(s.enableIptForwarding, false);
  assert.equal(s.enableIptLocalNat, false);
  assert.equal(s.enableIptSnat, false);
  assert.equal(s.snatTranslateIp, null);
  assert.equal(s.enableIptOutput, false);
  assert.equal(s.flushIptAtInit, false, 'spagate keeps grants across restarts');
  assert.equal(s.flushIptAtExit, false);
  assert.equal(s.enableRulePrepend, false);
  assert.equal(s.enableDestinationRule, false);
  assert.equal(s.enableNatDns, true);
  assert.equal(s.firewallExe, '/usr/sbin/iptables');
  assert.equal(s.nftExe, '/usr/sbin/nft');
  assert.equal(s.dataDir, '/var/lib/spagate');
  assert.equal(s.firewallBackend, 'auto');
  assert.equal(s.macBinding, true);
  assert.equal(s.conntrackAccept, true);
  assert.equal(s.dashboardListen, '127.0.0.1:8080');
  assert.equal(s.portalListen, null);
  assert.equal(s.logLevel, 'info');
  assert.equal(s.testMode, false);
  assert.equal(s.configFile, CONF);
  assert.equal(s.accessFile, ACCESS);
});

test('server config configures only the INPUT chain by default', () => {
  const c = ok(compile('', stanza())).server.chains;
  assert.deepEqual(c.input, {
    target: 'ACCEPT',
    table: 'filter',
    fromChain: 'INPUT',
    jumpPosition: 1,
    toChain: 'FWKNOP_INPUT',
    rulePosition: 1,
  });
  assert.equal(c.output, null);
  assert.equal(c.forward, null);
  assert.equal(c.dnat, null);
  assert.equal(c.snat, null);
  assert.equal(c.masquerade, null);
});

test('server config configures FORWARD and DNAT with ENABLE_IPT_FORWARDING and SNAT chains only with ENABLE_IPT_SNAT too', () => {
  const fwd = ok(compile('ENABLE_IPT_FORWARDING Y\n', stanza())).server.chains;
  assert.equal(fwd.forward?.toChain, 'FWKNOP_FORWARD');
  assert.equal(fwd.dnat?.toChain, 'FWKNOP_PREROUTING');
  assert.equal(fwd.dnat?.table, 'nat');
  assert.equal(fwd.snat, null);
  assert.equal(fwd.masquerade, null);
  const snat = ok(compile('ENABLE_IPT_FORWARDING Y\nENABLE_IPT_SNAT Y\n', stanza())).server.chains;
  assert.equal(snat.snat?.toChain, 'FWKNOP_POSTROUTING');
  assert.equal(snat.masquerade?.toChain, 'FWKNOP_MASQUERADE');
  assert.equal(snat.masquerade?.target, 'MASQUERADE');
});

test('server config configures FORWARD/DNAT with ENABLE_IPT_LOCAL_NAT and OUTPUT with ENABLE_IPT_OUTPUT', () => {
  const c = ok(compile('ENABLE_IPT_LOCAL_NAT Y\nENABLE_IPT_OUTPUT Y\n', stanza())).server.chains;
  assert.equal(c.forward?.toChain, 'FWKNOP_FORWARD');
  assert.equal(c.dnat?.toChain, 'FWKNOP_PREROUTING');
  assert.equal(c.output?.toChain, 'FWKNOP_OUTPUT');
});

test('server config warns that ENABLE_IPT_SNAT alone configures nothing', () => {
  const r = compile('ENABLE_IPT_SNAT Y\n', stanza());
  assert.equal(ok(r).server.chains.snat, null);
  assert.ok(messages(r.warnings).some((m) => m.startsWith(`${CONF}:1: ENABLE_IPT_SNAT Y has no effect`)));
});

test('server config parses custom chain specs with blanks ignored', () => {
  const c = ok(compile('IPT_INPUT_ACCESS   DROP,filter ,  INPUT,3, MY_IN ,2\n', stanza())).server.chains
    .input;
  assert.deepEqual(c, {
    target: 'DROP',
    table: 'filter',
    fromChain: 'INPUT',
    jumpPosition: 3,
    toChain: 'MY_IN',
    rulePosition: 2,
  });
});

test('server config rejects malformed chain specs even for chains that are not configured', () => {
  const r = compile(
    'IPT_FORWARD_ACCESS ACCEPT, filter, FORWARD, 1, FWKNOP-FORWARD, 1\nIPT_SNAT_ACCESS SNAT, nat, POSTROUTING, 1, X\nIPT_DNAT_ACCESS DNAT, nat, PREROUTING, zero, X, 1\n',
    stanza(),
  );
  assert.equal(r.config, null);
  assert.deepEqual(
    r.errors.map((e) => e.line),
    [1, 2, 3],
  );
  assert.match(r.errors[0].message, /IPT_FORWARD_ACCESS: only letters/);
  assert.match(r.errors[1].message, /needs 6 comma-separated fields/);
  assert.match(r.errors[2].message, /jump_position 'zero'/);
});

test('server config reads each fwknopd keyword it supports', () => {
  const conf = [
    'PCAP_INTF  br-lan',
    'PCAP_FILTER udp port 40000',
    'ENABLE_UDP_SERVER Y',
    'UDPSERV_PORT 40000',
    'ENABLE_SPA_PACKET_AGING N',
    'MAX_SPA_PACKET_AGE 60',
    'ENABLE_DIGEST_PERSISTENCE n',
    'FWKNOP_RUN_DIR /var/run/fw',
    'ENABLE_IPT_FORWARDING Y',
    'ENABLE_IPT_SNAT Y',
    'SNAT_TRANSLATE_IP 198.51.100.1',
    'FLUSH_IPT_AT_INIT Y',
    'FLUSH_IPT_AT_EXIT y',
    'ENABLE_RULE_PREPEND Y',
    'ENABLE_DESTINATION_RULE Y',
    'ENABLE_NAT_DNS N',
    'FIREWALL_EXE /sbin/iptables-legacy',
    'SPAGATE_DATA_DIR /srv/spagate',
    'FIREWALL_BACKEND NFTables',
    'MAC_BINDING N',
    'CONNTRACK_ACCEPT N',
    'DASHBOARD_LISTEN N',
    'PORTAL_LISTEN 0.0.0.0:8081',
    'LOG_LEVEL Debug',
    'NFT_EXE /usr/local/sbin/nft',
  ].join('\n');
  const s = ok(compile(conf, stanza())).server;
  assert.equal(s.pcapIntf, 'br-lan');
  assert.equal(s.pcapFilter, 'udp port 40000');
  assert.equal(s.enableUdpServer, true);
  assert.equal(s.udpservPort, 40000);
  assert.equal(s.enableSpaPacketAging, false);
  assert.equal(s.maxSpaPacketAge, 60);
  assert.equal(s.enableDigestPersistence, false);
  assert.equal(s.runDir, '/var/run/fw');
  assert.equal(s.digestFile, '/var/run/fw/digest.cache', 'default DIGEST_FILE follows FWKNOP_RUN_DIR');
  assert.equal(s.pidFile, '/var/run/fw/fwknopd.pid');
  assert.equal(s.snatTranslateIp, '198.51.100.1');
  assert.equal(s.flushIptAtInit, true);
  assert.equal(s.flushIptAtExit, true);
  assert.equal(s.enableRulePrepend, true);
  assert.equal(s.enableDestinationRule, true);
  assert.equal(s.enableNatDns, false);
  assert.equal(s.firewallExe, '/sbin/iptables-legacy');
  assert.equal(s.dataDir, '/srv/spagate');
  assert.equal(s.firewallBackend, 'nftables');
  assert.equal(s.macBinding, false);
  assert.equal(s.conntrackAccept, false);
  assert.equal(s.dashboardListen, null);
  assert.equal(s.portalListen, '0.0.0.0:8081');
  assert.equal(s.logLevel, 'debug');
  assert.equal(s.nftExe, '/usr/local/sbin/nft');
});

test('server config expands $NAME at the start of a value once', () => {
  const s = ok(
    compile(
      'FWKNOP_RUN_DIR /tmp/run\nDIGEST_FILE $FWKNOP_RUN_DIR/replay.cache\nSPAGATE_DATA_DIR $FWKNOP_RUN_DIR\n',
      stanza(),
    ),
  ).server;
  assert.equal(s.digestFile, '/tmp/run/replay.cache');
  assert.equal(s.dataDir, '/tmp/run');
});

test('server config reports an unknown $NAME with its line', () => {
  const r = compile('\nDIGEST_FILE $NOPE/x\n', stanza());
  assert.deepEqual(messages(r.errors), [`${CONF}:2: DIGEST_FILE: unknown variable $NOPE`]);
});

test('server config reports malformed values with file and line', () => {
  const conf = [
    'UDPSERV_PORT 70000',
    'MAX_SPA_PACKET_AGE 0',
    'SNAT_TRANSLATE_IP 10.0.0',
    'FIREWALL_BACKEND pf',
    'LOG_LEVEL loud',
    'FIREWALL_EXE iptables',
    'DASHBOARD_LISTEN localhost',
    'PCAP_INTF a/b',
  ].join('\n');
  const r = compile(conf, stanza());
  assert.equal(r.config, null);
  assert.deepEqual(
    r.errors.map((e) => e.line),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  for (const e of r.errors) assert.equal(e.file, CONF);
});

test('server config refuses GnuPG, command execution, SPA over HTTP and other missing features', () => {
  const conf = [
    'GPG_HOME_DIR /root/.gnupg',
    'CMD_EXEC_TIMEOUT 10',
    'ENABLE_SPA_OVER_HTTP Y',
    'ENABLE_X_FORWARDED_FOR Y',
    'ENABLE_TCP_SERVER Y',
    'PCAP_FILE /tmp/x.pcap',
    'ENABLE_SPA_OVER_HTTP N',
  ].join('\n');
  const r = compile(conf, stanza());
  const m = messages(r.errors);
  assert.equal(m.length, 6);
  assert.match(m[0], /fwknopd\.conf:1: GPG_HOME_DIR: GnuPG is not supported/);
  assert.match(m[1], /:2: CMD_EXEC_TIMEOUT: command execution is not supported/);
  assert.match(m[2], /:3: ENABLE_SPA_OVER_HTTP Y: SPA over HTTP is not supported/);
  assert.match(m[3], /:4: ENABLE_X_FORWARDED_FOR Y/);
  assert.match(m[4], /:5: ENABLE_TCP_SERVER Y/);
  assert.match(m[5], /:6: PCAP_FILE/);
});

test('server config warns about unknown keywords but accepts fwknopd tuning keywords silently', () => {
  const r = compile(
    'PCAP_LOOP_SLEEP 100000\nSYSLOG_IDENTITY fwknopd\nFROBNICATE Y\nENABLE_FIREWD_FORWARDING Y\n',
    stanza(),
  );
  ok(r);
  assert.deepEqual(
    messages(r.warnings).filter((w) => w.startsWith(CONF)),
    [
      `${CONF}:3: ignored: unknown keyword 'FROBNICATE'`,
      `${CONF}:4: ignored: ENABLE_FIREWD_FORWARDING belongs to another fwknopd firewall build; spagate reads the IPT_* keywords`,
    ],
  );
});

test('server config warns about booleans that are neither Y nor N', () => {
  const r = compile('ENABLE_IPT_FORWARDING true\n', stanza());
  assert.equal(ok(r).server.enableIptForwarding, false);
  assert.ok(
    messages(r.warnings).includes(`${CONF}:1: ENABLE_IPT_FORWARDING 'true' is not Y or N; taken as N`),
  );
});

test('server config reports an unreadable fwknopd.conf as an error on line 0', () => {
  const r = compile('', stanza(), { configFile: '/nope.conf' });
  assert.deepEqual(messages(r.errors), ['/nope.conf:0: cannot read configuration file: not found']);
});

test('PCAP_BUFFER_MB sets the capture ring (16 MiB by default) and refuses sizes out of range with file and line', () => {
  assert.equal(ok(compile('', stanza())).server.pcapBufferBytes, 16 * 1024 * 1024);
  assert.equal(ok(compile('PCAP_BUFFER_MB 256', stanza())).server.pcapBufferBytes, 256 * 1024 * 1024);
  for (const bad of ['0', '4096', 'lots']) {
    const m = messages(compile(`PCAP_INTF eth1\nPCAP_BUFFER_MB ${bad}`, stanza()).errors);
    assert.equal(m.length, 1, bad);
    assert.match(m[0], new RegExp(`fwknopd\\.conf:2: PCAP_BUFFER_MB`), bad);
  }
});
