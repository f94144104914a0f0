import type { AccessStanza, ChainSpec, ServerConfig } from '../../src/core/config-model.js';
import { ANY_NET } from '../../src/core/ipv4.js';
import type { SpaFields } from '../../src/core/spa/types.js';

function chain(target: string, table: string, from: string, to: string): ChainSpec {
  return { target, table, fromChain: from, jumpPosition: 1, toChain: to, rulePosition: 1 };
}

export const DEFAULT_CHAINS: ServerConfig['chains'] = {
  input: chain('ACCEPT', 'filter', 'INPUT', 'FWKNOP_INPUT'),
  output: null,
  forward: chain('ACCEPT', 'filter', 'FORWARD', 'FWKNOP_FORWARD'),
  dnat: chain('DNAT', 'nat', 'PREROUTING', 'FWKNOP_PREROUTING'),
  snat: chain('SNAT', 'nat', 'POSTROUTING', 'FWKNOP_POSTROUTING'),
  masquerade: chain('MASQUERADE', 'nat', 'POSTROUTING', 'FWKNOP_MASQUERADE'),
};

/** A server config for unit tests: forwarding and SNAT on, aging on. */
export function serverConfig(over: Partial<ServerConfig> = {}): ServerConfig {
  return {
    configFile: 'test/fwknopd.conf',
    accessFile: 'test/access.conf',
    pcapIntf: 'eth0',
    pcapFilter: 'udp port 62201',
    pcapBufferBytes: 32 * 1024 * 1024,
    enableUdpServer: false,
    udpservPort: 62201,
    enableSpaPacketAging: true,
    maxSpaPacketAge: 120,
    enableDigestPersistence: true,
    digestFile: '/tmp/digest.cache',
    runDir: '/tmp',
    pidFile: '/tmp/spagate.pid',
    enableIptForwarding: true,
    enableIptLocalNat: false,
    enableIptSnat: true,
    snatTranslateIp: null,
    enableIptOutput: false,
    flushIptAtInit: false,
    flushIptAtExit: false,
    enableRulePrepend: false,
    enableDestinationRule: false,
    enableNatDns: true,
    chains: DEFAULT_CHAINS,
    firewallExe: '/usr/sbin/iptables',
    nftExe: '/usr/sbin/nft',
    dataDir: '/tmp/spagate',
    firewallBackend: 'iptables',
    macBinding: true,
    conntrackAccept: true,
    dashboardListen: null,
    portalListen: null,
    logLevel: 'silent',
    testMode: false,
    ...over,
  };
}

export function stanza(over: Partial<AccessStanza> = {}): AccessStanza {
  return {
    id: 'access.conf:1',
    origin: 'access.conf:1',
    source: [ANY_NET],
    destination: null,
    key: Buffer.from('fwknoptest'),
    keyIsPassphrase: true,
    hmacKey: Buffer.from('hmactest'),
    hmacType: 'sha256',
    encryptionMode: 'cbc',
    openPorts: null,
    restrictPorts: null,
    fwAccessTimeout: 30,
    maxFwTimeout: 300,
    requireUsername: null,
    requireSourceAddress: false,
    accessExpire: null,
    forceNat: null,
    forceSnat: null,
    forceMasquerade: false,
    forwardAll: false,
    disableDnat: false,
    macBinding: true,
    ...over,
  };
}

let randomCounter = 0;

/**
 * The fields of an ordinary access request (`fwknop -A tcp/22 -s`) at `timestamp` (epoch
 * seconds), with a fresh 16-digit random value each call so no two packets are replays.
 */
export function accessFields(timestamp: number, over: Partial<SpaFields> = {}): SpaFields {
  return {
    random_value: String(1_000_000_000_000_000 + randomCounter++).slice(0, 16),
    username: 'alice',
    timestamp,
    version: '3.0.0',
    message_type: 1,
    message: '0.0.0.0,tcp/22',
    nat_access: null,
    server_auth: null,
    client_timeout: 0,
    ...over,
  };
}
