/**
 * The validated, frozen configuration: what src/config/ produces from fwknopd.conf and
 * access.conf (plus spagate's own keywords), and what every other part reads.
 * Nothing else reads files or process.env for settings.
 */
import type { EncryptionMode, HashName, Ipv4Net, ProtoPort } from './model.js';

/** One IPT_*_ACCESS value: `<target>, <table>, <from_chain>, <jump_pos>, <to_chain>, <rule_pos>`. */
export interface ChainSpec {
  target: string;
  table: string;
  fromChain: string;
  jumpPosition: number;
  toChain: string;
  rulePosition: number;
}

/** One access.conf stanza (or one database user), compiled once at start-up. */
export interface AccessStanza {
  /** Stable id: `<file basename>:<line of SOURCE>` for access.conf, `user:<name>` for users. */
  id: string;
  /** Where it was defined, for messages. */
  origin: string;
  source: readonly Ipv4Net[];
  destination: readonly Ipv4Net[] | null;
  /** Rijndael key bytes as configured (KEY text bytes or KEY_BASE64 decoded); the codec applies legacy padding. */
  key: Buffer;
  keyIsPassphrase: boolean;
  hmacKey: Buffer | null;
  hmacType: HashName;
  encryptionMode: EncryptionMode;
  openPorts: readonly ProtoPort[] | null;
  restrictPorts: readonly ProtoPort[] | null;
  /** Seconds. */
  fwAccessTimeout: number;
  /** Seconds. */
  maxFwTimeout: number;
  requireUsername: string | null;
  requireSourceAddress: boolean;
  /** Epoch seconds after which the stanza no longer grants (ACCESS_EXPIRE[_EPOCH]). */
  accessExpire: number | null;
  /** FORCE_NAT ip/port; `implied` when set by FORCE_SNAT/FORCE_MASQUERADE with FORWARD_ALL. */
  forceNat: { ip: string; port: number; implied: boolean } | null;
  forceSnat: string | null;
  forceMasquerade: boolean;
  forwardAll: boolean;
  disableDnat: boolean;
  /** spagate: bind grants to the packet's source MAC (MAC_BINDING, default from fwknopd.conf). */
  macBinding: boolean;
}

export type FirewallBackendChoice = 'iptables' | 'nftables' | 'auto';

export interface ServerConfig {
  /** Files the configuration came from, for messages. */
  configFile: string;
  accessFile: string;

  pcapIntf: string;
  pcapFilter: string;
  /** Kernel capture ring in bytes (PCAP_BUFFER_MB). */
  pcapBufferBytes: number;
  enableUdpServer: boolean;
  udpservPort: number;

  enableSpaPacketAging: boolean;
  /** Seconds. */
  maxSpaPacketAge: number;
  enableDigestPersistence: boolean;
  digestFile: string;
  runDir: string;
  pidFile: string;

  enableIptForwarding: boolean;
  enableIptLocalNat: boolean;
  enableIptSnat: boolean;
  snatTranslateIp: string | null;
  enableIptOutput: boolean;
  flushIptAtInit: boolean;
  flushIptAtExit: boolean;
  enableRulePrepend: boolean;
  enableDestinationRule: boolean;
  enableNatDns: boolean;
  /** Chains that are configured (spec 12.2 "Configured when"); null when not. */
  chains: {
    input: ChainSpec;
    output: ChainSpec | null;
    forward: ChainSpec | null;
    dnat: ChainSpec | null;
    snat: ChainSpec | null;
    masquerade: ChainSpec | null;
  };
  /** Path of iptables (FIREWALL_EXE); iptables-restore/-save are looked up beside it. */
  firewallExe: string;
  nftExe: string;

  // spagate-only keywords
  dataDir: string;
  firewallBackend: FirewallBackendChoice;
  /** Default for stanzas' MAC binding when captured over Ethernet (MAC_BINDING). */
  macBinding: boolean;
  /** Keep an ESTABLISHED,RELATED accept at the top of the FORWARD chain (CONNTRACK_ACCEPT). */
  conntrackAccept: boolean;
  /** `host:port` of the admin dashboard (DASHBOARD_LISTEN), null to disable. */
  dashboardListen: string | null;
  /** PEM files for HTTPS on the dashboard (DASHBOARD_TLS_CERT/KEY); absent or null: plain HTTP. */
  dashboardTls?: { cert: string; key: string } | null;
  /** `host:port` of the captive portal (PORTAL_LISTEN), null to disable. */
  portalListen: string | null;
  /** Captive portal and DHCP lease settings (docs/portal.md); absent in configs built by hand. */
  portal?: PortalSettings;
  /** Log level for pino (LOG_LEVEL). */
  logLevel: string;
  /** -t: verify and log, change no firewall. */
  testMode: boolean;
}

/** LEASE_FILE, LEASE_FORMAT, PORTAL_URL, WALLED_GARDEN (spagate-only keywords). */
export interface PortalSettings {
  /** DHCP server's lease file to follow, null when none. */
  leaseFile: string | null;
  leaseFormat: 'dnsmasq' | 'isc' | 'kea';
  /** Where captured HTTP is sent; null: `http://<PORTAL_LISTEN>/`. */
  portalUrl: string | null;
  /** Extra IPv4 addresses or CIDR networks an ungranted LAN client may reach. */
  walledGarden: readonly string[];
  /** HTTPS listener of the portal (PORTAL_TLS_LISTEN, PORTAL_TLS_CERT, PORTAL_TLS_KEY), null: plain HTTP only. */
  tls: { listen: string; cert: string; key: string } | null;
}

export interface GatewayConfig {
  server: ServerConfig;
  stanzas: readonly AccessStanza[];
  /** Non-fatal findings (fwknopd-style warnings), for logging at start. */
  warnings: readonly string[];
}
