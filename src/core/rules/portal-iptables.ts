/**
 * The captive portal's walled garden as iptables rules. Three owned chains, each reached by
 * one jump (matching the LAN interface) appended to a built-in chain, so fwknop's chains
 * (jumped to at the top) and the nftables gate decide first for granted clients:
 *
 *   filter SPAGATE_PORTAL_IN   (INPUT):      DHCP, DNS, the portal (and the SPA UDP port), else reject
 *   filter SPAGATE_PORTAL_FWD  (FORWARD):    walled-garden destinations, else reject
 *   nat    SPAGATE_PORTAL_NAT  (PREROUTING): HTTP (tcp/80) to any address REDIRECTed to the portal
 *   filter SPAGATE_PORTAL_RET  (FORWARD, out to the LAN): replies of walled-garden connections
 *          (with nftables, CONNTRACK_ACCEPT lives in spagate's table and only passes grants)
 *   nat    SPAGATE_PORTAL_POST (POSTROUTING, not out to the LAN): walled-garden destinations
 *          translated (SNAT_TRANSLATE_IP, else MASQUERADE): grants carry their own SNAT, the
 *          garden has none, and a WAN host has no route back to the LAN
 *
 * Hosts with a live grant are exempt (a RETURN per address, with its MAC when the grant is
 * bound to one): what they may do is up to their grant's rules and the chain policies.
 * Chain contents are written as `iptables-restore --noflush` text, one atomic write per table.
 */
import { FirewallError } from '../errors.js';
import { isIpv4, parseIpv4Net } from '../ipv4.js';

export const PORTAL_CHAINS = {
  input: 'SPAGATE_PORTAL_IN',
  forward: 'SPAGATE_PORTAL_FWD',
  nat: 'SPAGATE_PORTAL_NAT',
  post: 'SPAGATE_PORTAL_POST',
  replies: 'SPAGATE_PORTAL_RET',
} as const;

export interface PortalRulesSpec {
  /** LAN-side interface the clients come in on. */
  lanIf: string;
  /** TCP port the portal listens on (the REDIRECT target). */
  portalPort: number;
  /** TCP port of the portal's HTTPS listener, null when none. */
  portalTlsPort?: number | null;
  /** UDP port SPA packets arrive on in UDP-server mode, null with pcap (which sees packets before netfilter). */
  spaUdpPort: number | null;
  walledGarden: readonly string[];
  /** Source address for walled-garden traffic (SNAT_TRANSLATE_IP); null: MASQUERADE. */
  snatTo?: string | null;
}

export interface PortalExempt {
  ip: string;
  mac: string | null;
}

export interface PortalJump {
  table: 'filter' | 'nat';
  chain: 'INPUT' | 'FORWARD' | 'PREROUTING' | 'POSTROUTING';
  target: string;
  /** Which side of the LAN interface the jump matches. */
  match: 'in' | 'out' | 'not-out';
}

export function portalJumps(): PortalJump[] {
  return [
    { table: 'filter', chain: 'INPUT', target: PORTAL_CHAINS.input, match: 'in' },
    { table: 'filter', chain: 'FORWARD', target: PORTAL_CHAINS.forward, match: 'in' },
    { table: 'filter', chain: 'FORWARD', target: PORTAL_CHAINS.replies, match: 'out' },
    { table: 'nat', chain: 'PREROUTING', target: PORTAL_CHAINS.nat, match: 'in' },
    { table: 'nat', chain: 'POSTROUTING', target: PORTAL_CHAINS.post, match: 'not-out' },
  ];
}

/** argv for `iptables`: -C check, -A append, -D delete of one jump. Shared so they always match. */
export function jumpArgv(verb: '-C' | '-A' | '-D', j: PortalJump, lanIf: string): string[] {
  checkIf(lanIf);
  const match = j.match === 'in' ? ['-i', lanIf] : j.match === 'out' ? ['-o', lanIf] : ['!', '-o', lanIf];
  return ['-w', '5', '-t', j.table, verb, j.chain, ...match, '-m', 'comment', '--comment', 'spagate-portal', '-j', j.target];
}

function checkIf(name: string): void {
  if (!/^[A-Za-z0-9_.:@-]{1,15}$/.test(name)) throw new FirewallError(`'${name}' is not an interface name`);
}

function checkSpec(s: PortalRulesSpec): void {
  checkIf(s.lanIf);
  for (const p of [s.portalPort, s.spaUdpPort, s.portalTlsPort ?? null]) {
    if (p !== null && (!Number.isInteger(p) || p < 1 || p > 65535)) throw new FirewallError(`port ${p} out of range`);
  }
  for (const w of s.walledGarden) {
    if (parseIpv4Net(w) === null) throw new FirewallError(`walled garden entry '${w}' is not an IPv4 address or network`);
  }
  if (s.snatTo != null && !isIpv4(s.snatTo)) throw new FirewallError(`SNAT address '${s.snatTo}' is not IPv4`);
}

function exemptRules(chain: string, exempt: readonly PortalExempt[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of exempt) {
    if (!isIpv4(e.ip)) throw new FirewallError(`exempt address '${e.ip}' is not IPv4`);
    if (e.mac !== null && !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(e.mac)) throw new FirewallError(`exempt MAC '${e.mac}' is malformed`);
    const line = `-A ${chain} -s ${e.ip}/32${e.mac === null ? '' : ` -m mac --mac-source ${e.mac}`} -j RETURN`;
    if (!seen.has(line)) out.push(line);
    seen.add(line);
  }
  return out;
}

/** `iptables-restore --noflush` text for the filter table's two chains (declaring a chain flushes it). */
export function portalFilterRestore(s: PortalRulesSpec, exempt: readonly PortalExempt[]): string {
  checkSpec(s);
  const i = PORTAL_CHAINS.input;
  const f = PORTAL_CHAINS.forward;
  const ret = PORTAL_CHAINS.replies;
  const lines = ['*filter', `:${i} - [0:0]`, `:${f} - [0:0]`, `:${ret} - [0:0]`];
  lines.push(...exemptRules(i, exempt));
  lines.push(`-A ${i} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`);
  lines.push(`-A ${i} -p udp -m udp --dport 67 -j ACCEPT`);
  lines.push(`-A ${i} -p udp -m udp --dport 53 -j ACCEPT`);
  lines.push(`-A ${i} -p tcp -m tcp --dport 53 -j ACCEPT`);
  lines.push(`-A ${i} -p tcp -m tcp --dport ${s.portalPort} -j ACCEPT`);
  if (s.portalTlsPort != null) lines.push(`-A ${i} -p tcp -m tcp --dport ${s.portalTlsPort} -j ACCEPT`);
  if (s.spaUdpPort !== null) lines.push(`-A ${i} -p udp -m udp --dport ${s.spaUdpPort} -j ACCEPT`);
  lines.push(`-A ${i} -p tcp -j REJECT --reject-with tcp-reset`);
  lines.push(`-A ${i} -j REJECT --reject-with icmp-admin-prohibited`);
  lines.push(...exemptRules(f, exempt));
  for (const w of s.walledGarden) lines.push(`-A ${f} -d ${w} -j ACCEPT`);
  lines.push(`-A ${f} -p tcp -j REJECT --reject-with tcp-reset`);
  lines.push(`-A ${f} -j REJECT --reject-with icmp-admin-prohibited`);
  for (const w of s.walledGarden) lines.push(`-A ${ret} -m conntrack --ctstate ESTABLISHED,RELATED --ctorigdst ${w} -j ACCEPT`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** `iptables-restore --noflush` text for the nat chain. */
export function portalNatRestore(s: PortalRulesSpec, exempt: readonly PortalExempt[]): string {
  checkSpec(s);
  const n = PORTAL_CHAINS.nat;
  const post = PORTAL_CHAINS.post;
  const lines = ['*nat', `:${n} - [0:0]`, `:${post} - [0:0]`];
  lines.push(...exemptRules(n, exempt));
  for (const w of s.walledGarden) lines.push(`-A ${n} -d ${w} -j RETURN`);
  lines.push(`-A ${n} -p tcp -m tcp --dport 80 -j REDIRECT --to-ports ${s.portalPort}`);
  const translate = s.snatTo != null ? `SNAT --to-source ${s.snatTo}` : 'MASQUERADE';
  for (const w of s.walledGarden) lines.push(`-A ${post} -d ${w} -j ${translate}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Text that empties the owned chains (before deleting them at stop). */
export function portalFlushRestore(table: 'filter' | 'nat'): string {
  const chains = table === 'filter' ? [PORTAL_CHAINS.input, PORTAL_CHAINS.forward, PORTAL_CHAINS.replies] : [PORTAL_CHAINS.nat, PORTAL_CHAINS.post];
  return [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), 'COMMIT', ''].join('\n');
}
