/**
 * Reasons a packet is refused after it decoded under some stanza, or before any stanza was
 * tried. Codec reasons (malformed packets, HMAC, decryption) live in spa/reasons.ts. Codes are
 * stable: they are stored in the event log and shown on the dashboard.
 */
export const POLICY_REASONS = {
  no_stanza_for_source: 'no access.conf stanza matches the packet source (SOURCE/DESTINATION)',
  replay: 'the packet was seen before (replay cache)',
  stanza_expired: 'the matching stanza has expired (ACCESS_EXPIRE)',
  stale_timestamp: 'the packet timestamp is outside MAX_SPA_PACKET_AGE',
  command_refused: 'command messages are not supported',
  source_required: 'allow IP 0.0.0.0 refused by REQUIRE_SOURCE_ADDRESS',
  username_mismatch: 'the username differs from REQUIRE_USERNAME',
  nat_disabled: 'NAT access needs ENABLE_IPT_FORWARDING (or ENABLE_IPT_LOCAL_NAT for local NAT)',
  port_restricted: 'a requested port is listed in RESTRICT_PORTS',
  port_not_open: 'a requested port is not listed in OPEN_PORTS',
  nat_host_invalid: 'the NAT host is not an IPv4 address and DNS for NAT is disabled or failed',
  nothing_to_open: 'the request and the configured chains leave nothing to open',
  firewall_error: 'the firewall refused to install the grant',
  store_error: 'the database could not record the grant, so it was not installed',
  internal: 'an internal error happened while handling the packet',
  overload: 'not verified: the daemon was saturated and its source (or all sources together) had too many packets waiting',
} as const;

export type PolicyReason = keyof typeof POLICY_REASONS;
