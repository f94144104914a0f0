/**
 * Which fwknopd.conf keywords spagate uses, which it accepts without effect, and which it
 * refuses. Anything else is unknown: a warning, since fwknopd.conf files carry many
 * keywords for other builds and features.
 */
import { CHAIN_DEFAULTS } from './chains.js';

/** Built-in defaults: fwknopd 2.6.10's (Debian paths), except where marked spagate. */
export const SERVER_DEFAULTS: Readonly<Record<string, string>> = {
  PCAP_INTF: 'eth0',
  PCAP_FILTER: 'udp port 62201',
  ENABLE_UDP_SERVER: 'N',
  UDPSERV_PORT: '62201',
  ENABLE_SPA_PACKET_AGING: 'Y',
  MAX_SPA_PACKET_AGE: '120',
  ENABLE_DIGEST_PERSISTENCE: 'Y',
  FWKNOP_RUN_DIR: '/run/fwknop',
  FWKNOP_CONF_DIR: '/etc/fwknop',
  DIGEST_FILE: '$FWKNOP_RUN_DIR/digest.cache',
  FWKNOP_PID_FILE: '$FWKNOP_RUN_DIR/fwknopd.pid',
  ACCESS_FILE: '$FWKNOP_CONF_DIR/access.conf',
  ENABLE_IPT_FORWARDING: 'N',
  ENABLE_IPT_LOCAL_NAT: 'N',
  ENABLE_IPT_SNAT: 'N',
  ENABLE_IPT_OUTPUT: 'N',
  // spagate: N (fwknopd: Y) so live grants survive a restart; Y keeps fwknopd's meaning.
  FLUSH_IPT_AT_INIT: 'N',
  FLUSH_IPT_AT_EXIT: 'N',
  ENABLE_RULE_PREPEND: 'N',
  ENABLE_DESTINATION_RULE: 'N',
  ENABLE_NAT_DNS: 'Y',
  ENABLE_SPA_OVER_HTTP: 'N',
  ENABLE_X_FORWARDED_FOR: 'N',
  ENABLE_TCP_SERVER: 'N',
  FIREWALL_EXE: '/usr/sbin/iptables',
  ...CHAIN_DEFAULTS,
  // spagate-only keywords
  SPAGATE_DATA_DIR: '/var/lib/spagate',
  FIREWALL_BACKEND: 'auto',
  MAC_BINDING: 'Y',
  CONNTRACK_ACCEPT: 'Y',
  DASHBOARD_LISTEN: '127.0.0.1:8080',
  LOG_LEVEL: 'info',
  NFT_EXE: '/usr/sbin/nft',
  LEASE_FORMAT: 'dnsmasq',
  PCAP_BUFFER_MB: '16',
};

/** Keywords spagate reads that have no default (unset means "not configured"). */
export const SERVER_OPTIONAL = new Set(['SNAT_TRANSLATE_IP', 'PORTAL_LISTEN', 'DASHBOARD_TLS_CERT', 'DASHBOARD_TLS_KEY', 'LEASE_FILE', 'PORTAL_URL', 'WALLED_GARDEN', 'PORTAL_TLS_LISTEN', 'PORTAL_TLS_CERT', 'PORTAL_TLS_KEY']);

export const SPAGATE_ONLY = new Set([
  'SPAGATE_DATA_DIR',
  'FIREWALL_BACKEND',
  'MAC_BINDING',
  'CONNTRACK_ACCEPT',
  'DASHBOARD_LISTEN',
  'DASHBOARD_TLS_CERT',
  'DASHBOARD_TLS_KEY',
  'PORTAL_LISTEN',
  'PORTAL_URL',
  'WALLED_GARDEN',
  'PORTAL_TLS_LISTEN',
  'PORTAL_TLS_CERT',
  'PORTAL_TLS_KEY',
  'LEASE_FILE',
  'LEASE_FORMAT',
  'LOG_LEVEL',
  'NFT_EXE',
  'PCAP_BUFFER_MB',
]);

/** fwknopd keywords accepted and ignored: tuning of fwknopd's own loop, logging and builds. */
export const IGNORED = new Set([
  'CONFIG_FILE',
  'OVERRIDE_CONFIG',
  'ENABLE_PCAP_PROMISC',
  'PCAP_DISPATCH_COUNT',
  'PCAP_LOOP_SLEEP',
  'ENABLE_PCAP_ANY_DIRECTION',
  'EXIT_AT_INTF_DOWN',
  'MAX_SNIFF_BYTES',
  'RULES_CHECK_THRESHOLD',
  'UDPSERV_SELECT_TIMEOUT',
  'TCPSERV_PORT',
  'LOCALE',
  'SYSLOG_IDENTITY',
  'SYSLOG_FACILITY',
  'ENABLE_IPT_COMMENT_CHECK',
  'VERBOSE',
  'SUDO_EXE',
  'DIGEST_DB_FILE',
  'FAULT_INJECTION_TAG',
]);

/** Keywords of fwknopd's other firewall builds: ignored with a warning. */
export function isOtherBackendKeyword(name: string): boolean {
  return /^(ENABLE_FIREWD_|FLUSH_FIREWD_|FIREWD_|IPFW_|FLUSH_IPFW_|PF_)/.test(name);
}

/** Switches for features spagate does not have: refused when set to Y, accepted when N. */
export const REFUSED_WHEN_ENABLED: Readonly<Record<string, string>> = {
  ENABLE_SPA_OVER_HTTP: 'SPA over HTTP is not supported by spagate',
  ENABLE_X_FORWARDED_FOR: 'X-Forwarded-For (SPA over HTTP) is not supported by spagate',
  ENABLE_TCP_SERVER: 'the TCP server is not supported by spagate (use pcap or ENABLE_UDP_SERVER)',
  ENABLE_NFQ_CAPTURE: 'NFQUEUE capture is not supported by spagate (use pcap or ENABLE_UDP_SERVER)',
  ENABLE_EXTERNAL_CMDS: 'external commands are not supported by spagate',
};

/** Keywords refused whatever their value; returns the reason or null. */
export function refusedServerKeyword(name: string): string | null {
  if (name.startsWith('GPG_'))
    return `${name}: GnuPG is not supported by spagate (use Rijndael keys: KEY_BASE64 and HMAC_KEY_BASE64)`;
  if (
    name.startsWith('CMD_') ||
    name.startsWith('EXTERNAL_CMD_') ||
    name === 'ENABLE_EXT_CMD_PREFIX' ||
    name === 'EXT_CMD_PREFIX'
  ) {
    return `${name}: command execution is not supported by spagate`;
  }
  if (name === 'PCAP_FILE')
    return 'PCAP_FILE: reading packets from a capture file is not supported by spagate';
  if (name === 'ACCESS_FOLDER')
    return 'ACCESS_FOLDER is not supported; use "%include_folder DIR" in access.conf';
  return null;
}
