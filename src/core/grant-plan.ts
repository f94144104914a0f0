/**
 * Turns an accepted SPA request into the rules to open (spec 12.5), including spagate's one
 * deliberate deviation: FORWARD_ALL takes the NAT branch even without FORCE_NAT/FORCE_SNAT/
 * FORCE_MASQUERADE, so the fwknop 2.6.6 "SPA gateway" stanza (FORWARD_ALL Y + DISABLE_DNAT Y
 * with ENABLE_IPT_SNAT Y) opens forward-all plus SNAT-all instead of fwknopd 2.6.10's lone
 * INPUT rule (spec 12.7).
 */
import type { AccessStanza, ServerConfig } from './config-model.js';
import { isIpv4 } from './ipv4.js';
import type { GrantRules, ProtoPort } from './model.js';

export type PlanServerOptions = Pick<
  ServerConfig,
  'chains' | 'enableIptSnat' | 'snatTranslateIp' | 'enableIptOutput' | 'enableDestinationRule'
>;

export interface PlanRequest {
  stanza: AccessStanza;
  messageType: number;
  /** use_src_ip: the allow IP, or the packet source for 0.0.0.0. */
  src: string;
  /** The packet's source MAC, when it came in over Ethernet and from `src` itself. */
  mac: string | null;
  /** The packet's destination IP (for ENABLE_DESTINATION_RULE). */
  dstIp: string;
  access: readonly ProtoPort[];
  /** NAT target from the message (types 2/4/5/6) with the host already an IPv4 address. */
  nat: { ip: string; port: number } | null;
}

export function isNatType(t: number): boolean {
  return t === 2 || t === 4 || t === 5 || t === 6;
}

export function isLocalNatType(t: number): boolean {
  return t === 5 || t === 6;
}

/** The rules for a request, or null when nothing would be opened. */
export function planGrantRules(req: PlanRequest, opts: PlanServerOptions): GrantRules | null {
  const { stanza } = req;
  const first = req.access[0];
  if (!first) return null;
  const rules: GrantRules = {
    src: req.src,
    mac: stanza.macBinding ? req.mac : null,
    dst: opts.enableDestinationRule && req.dstIp !== '0.0.0.0' ? req.dstIp : null,
    input: [],
    output: false,
    forward: null,
    dnat: null,
    snat: null,
  };

  const natBranch = isNatType(req.messageType) || stanza.forceNat !== null || stanza.forwardAll;
  if (!natBranch) {
    rules.input = req.access.map((a) => ({ proto: a.proto, port: a.port }));
    rules.output = opts.enableIptOutput;
    return rules;
  }

  // An explicit FORCE_NAT wins; an implied one (0.0.0.0 0) only marks the branch.
  let natIp = '0.0.0.0';
  let natPort = 0;
  if (stanza.forceNat && !stanza.forceNat.implied) {
    natIp = stanza.forceNat.ip;
    natPort = stanza.forceNat.port;
  } else if (req.nat) {
    natIp = req.nat.ip;
    natPort = req.nat.port;
  }
  const haveTarget = natIp !== '0.0.0.0' && isIpv4(natIp);

  if (isLocalNatType(req.messageType)) {
    if (natPort > 0) rules.input = [{ proto: first.proto, port: natPort }];
  } else if (opts.chains.forward) {
    if (stanza.forwardAll) rules.forward = { all: true };
    else if (natPort > 0) rules.forward = { all: false, proto: first.proto, port: natPort };
  }

  if (opts.chains.dnat && !stanza.disableDnat && haveTarget) {
    rules.dnat = stanza.forwardAll
      ? { all: true, toIp: natIp }
      : { all: false, proto: first.proto, port: first.port, toIp: natIp, toPort: natPort };
  }

  if (stanza.forceSnat || stanza.forceMasquerade || opts.enableIptSnat) {
    const snatIp = stanza.forceSnat ?? (stanza.forceMasquerade ? null : opts.snatTranslateIp);
    if (stanza.forwardAll) {
      if (snatIp && opts.chains.snat) rules.snat = { all: true, kind: 'SNAT', toSource: snatIp };
      else if (opts.chains.masquerade) rules.snat = { all: true, kind: 'MASQUERADE' };
    } else if (haveTarget && natPort > 0) {
      const flow = { proto: first.proto, ip: natIp, port: natPort };
      if (snatIp && opts.chains.snat) rules.snat = { all: false, kind: 'SNAT', toSource: snatIp, ...flow };
      else if (opts.chains.masquerade) rules.snat = { all: false, kind: 'MASQUERADE', toPorts: natPort, ...flow };
    }
  }

  const opensSomething = rules.input.length > 0 || rules.forward !== null || rules.dnat !== null;
  return opensSomething ? rules : null;
}

/** Seconds of access (spec 11.5): the client's timeout capped by MAX_FW_TIMEOUT, else FW_ACCESS_TIMEOUT. */
export function accessTimeout(stanza: AccessStanza, clientTimeout: number): number {
  return clientTimeout > 0 ? Math.min(clientTimeout, stanza.maxFwTimeout) : stanza.fwAccessTimeout;
}

/** How the dashboard labels a grant. */
export function grantMode(rules: GrantRules): 'forward_all' | 'nat' | 'access' {
  if (rules.forward?.all) return 'forward_all';
  if (rules.dnat || rules.forward) return 'nat';
  return 'access';
}

/** Two grants open the same thing when their rules are equal; a re-knock then extends, never duplicates. */
export function sameRules(a: GrantRules, b: GrantRules): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
