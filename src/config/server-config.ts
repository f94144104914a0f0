/**
 * fwknopd.conf layering and compilation into ServerConfig.
 * Precedence, lowest first: built-in defaults, fwknopd.conf, each -O override file in
 * order, the environment (SPAGATE_DATA_DIR, SPAGATE_LOG_LEVEL, SPAGATE_FIREWALL_BACKEND),
 * command-line flags.
 */
import type { ChainSpec, FirewallBackendChoice, PortalSettings, ServerConfig } from '../core/config-model.js';
import { parseIpv4Net } from '../core/ipv4.js';
import { CHAIN_DEFAULTS, parseChainSpec, type ChainVariable } from './chains.js';
import {
  IGNORED,
  REFUSED_WHEN_ENABLED,
  SERVER_DEFAULTS,
  SERVER_OPTIONAL,
  isOtherBackendKeyword,
  refusedServerKeyword,
} from './fwknopd-keywords.js';
import type { Origin } from './problems.js';
import { Problems, checkFileMode } from './problems.js';
import type { ConfigSources } from './sources.js';
import { getFile } from './sources.js';
import type { StartFlags } from './start-flags.js';
import { DEFAULT_ACCESS_FILE } from './start-flags.js';
import { isDubiousBool, parseBool, parseConfigText } from './syntax.js';
import { isIpv4Text, parseIntInRange, parseListen } from './values.js';

export const DEFAULT_ORIGIN: Origin = { file: '(built-in default)', line: 0 };
export const ENV_FILE = 'environment';
export const FLAGS_FILE = 'command line';

interface RawValue {
  value: string;
  at: Origin;
  /** Already reported (e.g. a failed `$NAME` expansion): later checks stay quiet. */
  broken?: boolean;
}
export type RawConfig = Map<string, RawValue>;

/** Environment variables spagate reads, and the keyword each sets. */
export const ENV_KEYWORDS: Readonly<Record<string, string>> = {
  SPAGATE_DATA_DIR: 'SPAGATE_DATA_DIR',
  SPAGATE_LOG_LEVEL: 'LOG_LEVEL',
  SPAGATE_FIREWALL_BACKEND: 'FIREWALL_BACKEND',
};

const USED = new Set([...Object.keys(SERVER_DEFAULTS), ...SERVER_OPTIONAL]);

function layerFile(raw: RawConfig, file: string, sources: ConfigSources, problems: Problems): void {
  const src = getFile(sources, file);
  if (src.kind === 'missing') {
    problems.error({ file, line: 0 }, `cannot read configuration file: ${src.reason}`);
    return;
  }
  checkFileMode(file, src.mode, problems);
  const parsed = parseConfigText(src.text, file);
  for (const bad of parsed.invalid)
    problems.warn(bad, `ignored: not a "NAME VALUE" line: '${bad.text.trim()}'`);
  for (const e of parsed.entries) {
    const refused = refusedServerKeyword(e.name);
    if (refused !== null) {
      problems.error(e, refused);
      continue;
    }
    const whenOn = REFUSED_WHEN_ENABLED[e.name];
    if (whenOn !== undefined) {
      if (parseBool(e.value)) problems.error(e, `${e.name} Y: ${whenOn}`);
      continue;
    }
    if (USED.has(e.name)) {
      raw.set(e.name, { value: e.value, at: e });
    } else if (IGNORED.has(e.name)) {
      // fwknopd tuning with no meaning for spagate.
    } else if (isOtherBackendKeyword(e.name)) {
      problems.warn(
        e,
        `ignored: ${e.name} belongs to another fwknopd firewall build; spagate reads the IPT_* keywords`,
      );
    } else {
      problems.warn(e, `ignored: unknown keyword '${e.name}'`);
    }
  }
}

/** `$NAME` at the start of a value is replaced, once, by NAME's value (spec 12.1). */
function expandVariables(raw: RawConfig, problems: Problems): void {
  const snapshot = new Map(raw);
  for (const [name, rv] of snapshot) {
    const m = /^\$([A-Za-z0-9_]+)(.*)$/s.exec(rv.value);
    if (!m) continue;
    const ref = snapshot.get(m[1]);
    if (ref === undefined) {
      problems.error(rv.at, `${name}: unknown variable $${m[1]}`);
      raw.set(name, { ...rv, broken: true });
      continue;
    }
    if (ref.value.startsWith('$')) {
      problems.error(rv.at, `${name}: $${m[1]} itself starts with '$'; only one level of expansion is done`);
      raw.set(name, { ...rv, broken: true });
      continue;
    }
    raw.set(name, { value: ref.value.trimEnd() + m[2], at: rv.at });
  }
}

export interface ServerLayerInput {
  configFile: string;
  overrideFiles?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  flags?: Partial<StartFlags>;
  sources: ConfigSources;
}

/** Applies every layer and expands variables; problems go to `problems`. */
export function layerServerConfig(input: ServerLayerInput, problems: Problems): RawConfig {
  const raw: RawConfig = new Map();
  for (const [k, v] of Object.entries(SERVER_DEFAULTS)) raw.set(k, { value: v, at: DEFAULT_ORIGIN });
  layerFile(raw, input.configFile, input.sources, problems);
  for (const f of input.overrideFiles ?? []) layerFile(raw, f, input.sources, problems);
  const env = input.env ?? {};
  for (const [envName, keyword] of Object.entries(ENV_KEYWORDS)) {
    const v = env[envName];
    if (v !== undefined && v !== '')
      raw.set(keyword, { value: v, at: { file: `${ENV_FILE} (${envName})`, line: 0 } });
  }
  const flags = input.flags ?? {};
  const flagAt = (flag: string): Origin => ({ file: `${FLAGS_FILE} (${flag})`, line: 0 });
  const fromFlag: [keyof StartFlags, string, string][] = [
    ['pcapIntf', 'PCAP_INTF', '-i'],
    ['pcapFilter', 'PCAP_FILTER', '-P'],
    ['digestFile', 'DIGEST_FILE', '-d'],
    ['pidFile', 'FWKNOP_PID_FILE', '-p'],
    ['runDir', 'FWKNOP_RUN_DIR', '-r'],
    ['dataDir', 'SPAGATE_DATA_DIR', '--data-dir'],
  ];
  for (const [key, keyword, flag] of fromFlag) {
    const v = flags[key];
    if (typeof v === 'string' && v !== '') raw.set(keyword, { value: v, at: flagAt(flag) });
  }
  if (flags.udpServer === true) raw.set('ENABLE_UDP_SERVER', { value: 'Y', at: flagAt('-U') });
  if (flags.verbose === true) raw.set('LOG_LEVEL', { value: 'debug', at: flagAt('-v') });
  expandVariables(raw, problems);
  return raw;
}

/** The access file: -a, else ACCESS_FILE from the layered configuration. */
export function resolveAccessFile(raw: RawConfig, explicit: string | null | undefined): string {
  if (explicit) return explicit;
  return raw.get('ACCESS_FILE')?.value.trim() || DEFAULT_ACCESS_FILE;
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Typed view of a RawConfig that reports malformed values once each. */
class Reader {
  constructor(
    private readonly raw: RawConfig,
    private readonly problems: Problems,
  ) {}

  at(name: string): Origin {
    return this.raw.get(name)?.at ?? DEFAULT_ORIGIN;
  }

  report(name: string, message: string): void {
    if (this.raw.get(name)?.broken !== true) this.problems.error(this.at(name), message);
  }

  str(name: string): string {
    return (this.raw.get(name)?.value ?? SERVER_DEFAULTS[name] ?? '').trim();
  }

  optional(name: string): string | null {
    const v = this.raw.get(name)?.value.trim();
    return v === undefined || v === '' ? null : v;
  }

  bool(name: string): boolean {
    const v = this.str(name);
    if (isDubiousBool(v)) this.problems.warn(this.at(name), `${name} '${v}' is not Y or N; taken as N`);
    return parseBool(v);
  }

  int(name: string, min: number, max: number): number {
    const n = parseIntInRange(this.str(name), min, max);
    if (n !== null) return n;
    this.report(name, `${name} '${this.str(name)}' must be a whole number in ${min}..${max}`);
    return Number(SERVER_DEFAULTS[name]);
  }

  absPath(name: string): string {
    const v = this.str(name);
    if (!v.startsWith('/')) this.report(name, `${name} '${v}' must be an absolute path`);
    return v;
  }

  chain(name: ChainVariable): ChainSpec {
    const r = parseChainSpec(this.str(name));
    if (typeof r === 'string') {
      this.report(name, `${name}: ${r}`);
      return parseChainSpec(CHAIN_DEFAULTS[name]) as ChainSpec;
    }
    return r;
  }

  listen(name: string): string | null {
    const v = this.optional(name);
    if (v === null || /^(n|no|none|off)$/i.test(v)) return null;
    const l = parseListen(v);
    if (l === null) this.report(name, `${name} '${v}' must be host:port (port 1..65535), or N to disable`);
    return l;
  }
}

const LEASE_FORMATS = new Set(['dnsmasq', 'isc', 'kea']);

/** LEASE_FILE, LEASE_FORMAT, PORTAL_URL and WALLED_GARDEN (docs/portal.md). */
function compilePortalSettings(r: Reader, problems: Problems): PortalSettings {
  const leaseFile = r.optional('LEASE_FILE');
  if (leaseFile !== null && !leaseFile.startsWith('/'))
    r.report('LEASE_FILE', `LEASE_FILE '${leaseFile}' must be an absolute path`);
  const format = r.str('LEASE_FORMAT').toLowerCase();
  if (!LEASE_FORMATS.has(format))
    r.report('LEASE_FORMAT', `LEASE_FORMAT '${r.str('LEASE_FORMAT')}' must be dnsmasq, isc or kea`);
  let portalUrl = r.optional('PORTAL_URL');
  if (portalUrl !== null) {
    let ok: boolean;
    try {
      const u = new URL(portalUrl);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
    } catch {
      ok = false;
    }
    if (!ok) {
      r.report('PORTAL_URL', `PORTAL_URL '${portalUrl}' must be an http:// or https:// URL`);
      portalUrl = null;
    }
  }
  const walledGarden: string[] = [];
  const wg = r.optional('WALLED_GARDEN');
  if (wg !== null && !/^(n|no|none)$/i.test(wg)) {
    for (const part of wg.split(',')) {
      const t = part.trim();
      const net = t === '' ? null : parseIpv4Net(t);
      if (net === null || net.mask === 0) {
        problems.error(r.at('WALLED_GARDEN'), `WALLED_GARDEN: '${t}' is not an IPv4 address or network (0.0.0.0/0 is refused)`);
        continue;
      }
      walledGarden.push(t);
    }
  }
  const tlsListen = r.listen('PORTAL_TLS_LISTEN');
  const tlsCert = r.optional('PORTAL_TLS_CERT');
  const tlsKey = r.optional('PORTAL_TLS_KEY');
  for (const [k, v] of [['PORTAL_TLS_CERT', tlsCert], ['PORTAL_TLS_KEY', tlsKey]] as const) {
    if (v !== null && !v.startsWith('/')) r.report(k, `${k} '${v}' must be an absolute path`);
  }
  const tlsSet = [tlsListen, tlsCert, tlsKey].filter((v) => v !== null).length;
  if (tlsSet !== 0 && tlsSet !== 3) {
    problems.error(r.at(tlsListen === null ? 'PORTAL_TLS_CERT' : 'PORTAL_TLS_LISTEN'), 'PORTAL_TLS_LISTEN, PORTAL_TLS_CERT and PORTAL_TLS_KEY go together: set all three for HTTPS, or none');
  }
  const tls = tlsListen !== null && tlsCert !== null && tlsKey !== null ? { listen: tlsListen, cert: tlsCert, key: tlsKey } : null;
  return {
    tls,
    leaseFile: leaseFile !== null && leaseFile.startsWith('/') ? leaseFile : null,
    leaseFormat: (LEASE_FORMATS.has(format) ? format : 'dnsmasq') as PortalSettings['leaseFormat'],
    portalUrl,
    walledGarden,
  };
}

export interface ServerCompileInput {
  raw: RawConfig;
  configFile: string;
  accessFile: string;
  testMode: boolean;
}

export function compileServerConfig(input: ServerCompileInput, problems: Problems): ServerConfig {
  const r = new Reader(input.raw, problems);

  const pcapIntf = r.str('PCAP_INTF');
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(pcapIntf))
    problems.error(r.at('PCAP_INTF'), `PCAP_INTF '${pcapIntf}' is not an interface name`);
  const pcapFilter = r.str('PCAP_FILTER');
  if (pcapFilter === '') problems.error(r.at('PCAP_FILTER'), 'PCAP_FILTER is empty');

  const snatTranslateIp = r.optional('SNAT_TRANSLATE_IP');
  if (snatTranslateIp !== null && !isIpv4Text(snatTranslateIp)) {
    problems.error(
      r.at('SNAT_TRANSLATE_IP'),
      `SNAT_TRANSLATE_IP '${snatTranslateIp}' is not an IPv4 address`,
    );
  }

  const backend = r.str('FIREWALL_BACKEND').toLowerCase();
  if (!['iptables', 'nftables', 'auto'].includes(backend)) {
    problems.error(
      r.at('FIREWALL_BACKEND'),
      `FIREWALL_BACKEND '${r.str('FIREWALL_BACKEND')}' must be iptables, nftables or auto`,
    );
  }
  const logLevel = r.str('LOG_LEVEL').toLowerCase();
  if (!LOG_LEVELS.has(logLevel)) {
    problems.error(
      r.at('LOG_LEVEL'),
      `LOG_LEVEL '${r.str('LOG_LEVEL')}' must be one of ${[...LOG_LEVELS].join(', ')}`,
    );
  }

  const tlsCert = r.optional('DASHBOARD_TLS_CERT');
  const tlsKey = r.optional('DASHBOARD_TLS_KEY');
  for (const [k, v] of [['DASHBOARD_TLS_CERT', tlsCert], ['DASHBOARD_TLS_KEY', tlsKey]] as const) {
    if (v !== null && !v.startsWith('/')) problems.error(r.at(k), `${k} '${v}' must be an absolute path`);
  }
  if ((tlsCert === null) !== (tlsKey === null)) {
    const k = tlsCert === null ? 'DASHBOARD_TLS_KEY' : 'DASHBOARD_TLS_CERT';
    problems.error(r.at(k), 'DASHBOARD_TLS_CERT and DASHBOARD_TLS_KEY go together: set both for HTTPS, or neither');
  }

  const enableIptForwarding = r.bool('ENABLE_IPT_FORWARDING');
  const enableIptLocalNat = r.bool('ENABLE_IPT_LOCAL_NAT');
  const enableIptSnat = r.bool('ENABLE_IPT_SNAT');
  const enableIptOutput = r.bool('ENABLE_IPT_OUTPUT');
  // Every chain variable is validated even when its chain is not configured.
  const specs = {
    input: r.chain('IPT_INPUT_ACCESS'),
    output: r.chain('IPT_OUTPUT_ACCESS'),
    forward: r.chain('IPT_FORWARD_ACCESS'),
    dnat: r.chain('IPT_DNAT_ACCESS'),
    snat: r.chain('IPT_SNAT_ACCESS'),
    masquerade: r.chain('IPT_MASQUERADE_ACCESS'),
  };
  const forwarding = enableIptForwarding || enableIptLocalNat;
  const snatting = forwarding && enableIptSnat;

  const enableSpaPacketAging = r.bool('ENABLE_SPA_PACKET_AGING');
  if (!enableSpaPacketAging) {
    problems.warn(
      r.at('ENABLE_SPA_PACKET_AGING'),
      'ENABLE_SPA_PACKET_AGING N: packets of any age are accepted',
    );
  }
  const enableDigestPersistence = r.bool('ENABLE_DIGEST_PERSISTENCE');
  if (!enableDigestPersistence) {
    problems.warn(
      r.at('ENABLE_DIGEST_PERSISTENCE'),
      'ENABLE_DIGEST_PERSISTENCE N: replayed packets are not detected',
    );
  }
  if (enableIptSnat && !forwarding) {
    problems.warn(
      r.at('ENABLE_IPT_SNAT'),
      'ENABLE_IPT_SNAT Y has no effect without ENABLE_IPT_FORWARDING Y or ENABLE_IPT_LOCAL_NAT Y (the SNAT chains are not configured)',
    );
  }

  return {
    configFile: input.configFile,
    accessFile: input.accessFile,
    pcapIntf,
    pcapFilter,
    pcapBufferBytes: r.int('PCAP_BUFFER_MB', 1, 2047) * 1024 * 1024,
    enableUdpServer: r.bool('ENABLE_UDP_SERVER'),
    udpservPort: r.int('UDPSERV_PORT', 1, 65535),
    enableSpaPacketAging,
    maxSpaPacketAge: r.int('MAX_SPA_PACKET_AGE', 1, 100000),
    enableDigestPersistence,
    digestFile: r.absPath('DIGEST_FILE'),
    runDir: r.absPath('FWKNOP_RUN_DIR'),
    pidFile: r.absPath('FWKNOP_PID_FILE'),
    enableIptForwarding,
    enableIptLocalNat,
    enableIptSnat,
    snatTranslateIp: snatTranslateIp !== null && isIpv4Text(snatTranslateIp) ? snatTranslateIp : null,
    enableIptOutput,
    flushIptAtInit: r.bool('FLUSH_IPT_AT_INIT'),
    flushIptAtExit: r.bool('FLUSH_IPT_AT_EXIT'),
    enableRulePrepend: r.bool('ENABLE_RULE_PREPEND'),
    enableDestinationRule: r.bool('ENABLE_DESTINATION_RULE'),
    enableNatDns: r.bool('ENABLE_NAT_DNS'),
    chains: {
      input: specs.input,
      output: enableIptOutput ? specs.output : null,
      forward: forwarding ? specs.forward : null,
      dnat: forwarding ? specs.dnat : null,
      snat: snatting ? specs.snat : null,
      masquerade: snatting ? specs.masquerade : null,
    },
    firewallExe: r.absPath('FIREWALL_EXE'),
    nftExe: r.absPath('NFT_EXE'),
    dataDir: r.absPath('SPAGATE_DATA_DIR'),
    firewallBackend: (['iptables', 'nftables', 'auto'].includes(backend)
      ? backend
      : 'auto') as FirewallBackendChoice,
    macBinding: r.bool('MAC_BINDING'),
    conntrackAccept: r.bool('CONNTRACK_ACCEPT'),
    dashboardListen: r.listen('DASHBOARD_LISTEN'),
    dashboardTls: tlsCert !== null && tlsKey !== null ? { cert: tlsCert, key: tlsKey } : null,
    portalListen: r.listen('PORTAL_LISTEN'),
    portal: compilePortalSettings(r, problems),
    logLevel: LOG_LEVELS.has(logLevel) ? logLevel : 'info',
    testMode: input.testMode,
  };
}
