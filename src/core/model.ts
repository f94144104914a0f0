/**
 * The gateway's domain model, shared by the core, the adapters and the web layer.
 * Times are Unix epoch milliseconds unless a name says otherwise.
 */

export type Proto = 'tcp' | 'udp';

export interface ProtoPort {
  proto: Proto;
  port: number;
}

/** `fwknop -M` names. `legacy` is CBC with fwknop's pre-2.5 key padding. */
export type EncryptionMode = 'cbc' | 'ecb' | 'cfb' | 'ofb' | 'ctr' | 'legacy';

/** `fwknop --hmac-digest-type` / `-m` names, used for both HMAC and inner digest types. */
export type HashName = 'md5' | 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'sha3_256' | 'sha3_512';

/** IPv4 network as unsigned 32-bit numbers; ANY is mask 0. */
export interface Ipv4Net {
  net: number;
  mask: number;
}

/**
 * What a grant opens, independent of the firewall backend. Built by the core's grant
 * planner from a verified packet and its stanza; rule builders turn it into iptables
 * rules or nftables elements. Field names follow fwknop's rule kinds (spec 12.4/12.5).
 */
export interface GrantRules {
  /** The address opened for (fwknop's use_src_ip). */
  src: string;
  /** Source MAC the rules also match (lower-case aa:bb:..), or null when not bound. */
  mac: string | null;
  /** Destination for INPUT/OUTPUT/DNAT rules; null means 0.0.0.0/0 (ENABLE_DESTINATION_RULE N). */
  dst: string | null;
  /** One INPUT access rule per entry (non-NAT branch, or local NAT's single rule). */
  input: ProtoPort[];
  /** Mirror each INPUT rule in OUTPUT (ENABLE_IPT_OUTPUT). */
  output: boolean;
  /** FORWARD accept: everything from src, or one proto/port to any host. */
  forward: { all: true } | { all: false; proto: Proto; port: number } | null;
  /** DNAT in PREROUTING. `all` translates every packet from src to toIp. */
  dnat:
    | { all: true; toIp: string }
    | { all: false; proto: Proto; port: number; toIp: string; toPort: number }
    | null;
  /** SNAT/MASQUERADE in POSTROUTING, either for everything from src or for one translated flow. */
  snat:
    | { all: true; kind: 'SNAT'; toSource: string }
    | { all: true; kind: 'MASQUERADE' }
    | { all: false; kind: 'SNAT'; toSource: string; proto: Proto; ip: string; port: number }
    | { all: false; kind: 'MASQUERADE'; toPorts: number; proto: Proto; ip: string; port: number }
    | null;
}

/** How a grant is shown to admins. */
export type GrantMode = 'forward_all' | 'nat' | 'access';

export interface Grant {
  id: string;
  /** The stanza that accepted the packet (see AccessStanza.id). */
  stanzaId: string;
  /** Username from the SPA packet. */
  user: string;
  rules: GrantRules;
  grantedAt: number;
  expiresAt: number;
}

export interface GrantRecord extends Grant {
  endedAt: number | null;
  endReason: string | null;
}

/** Packets and bytes matched by a grant's rules, as the firewall counts them. */
export interface GrantCounters {
  packets: number;
  bytes: number;
}

export type EventOutcome = 'accepted' | 'rejected' | 'extended' | 'expired' | 'revoked' | 'ended' | 'restored';

/** One line of the event log: every packet ends in exactly one accepted/rejected event. */
export interface SpaEvent {
  at: number;
  outcome: EventOutcome;
  /** Stable reason code: a RejectReason for rejections, e.g. 'granted', 'expired', 'admin'. */
  reason: string;
  srcIp: string | null;
  srcPort: number | null;
  mac: string | null;
  user: string | null;
  stanzaId: string | null;
  grantId: string | null;
  detail: string | null;
}

export interface StoredEvent extends SpaEvent {
  id: number;
}

/** A received datagram, as any PacketSource delivers it. */
export interface ReceivedPacket {
  payload: Buffer;
  srcIp: string;
  srcPort: number;
  /** 0.0.0.0 in UDP-server mode, where the socket does not tell. */
  dstIp: string;
  dstPort: number;
  /** Ethernet source MAC when captured from an Ethernet link, else null. */
  srcMac: string | null;
  /** IP protocol number (17 for UDP). */
  proto: number;
  receivedAt: number;
}
