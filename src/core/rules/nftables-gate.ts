/**
 * The one rule per iptables filter chain that lets spagate's marked packets through an
 * existing default-drop policy. nftables runs every base chain at a hook, so an accept in
 * spagate's own table cannot override iptables' `-P FORWARD DROP`; the mark set by
 * spagate's chains (priority filter - 10, before iptables' filter at 0) is what the
 * iptables rule accepts. Check, insert and delete share these arguments.
 */
import { FirewallError } from '../errors.js';

export const GATE_COMMENT = 'spagate-nft-gate';
export const GATE_CHAINS = ['INPUT', 'FORWARD', 'OUTPUT'] as const;
export type GateChain = (typeof GATE_CHAINS)[number];

export function gateRuleArgs(mark: number): string[] {
  if (!Number.isInteger(mark) || mark <= 0 || mark > 0xffffffff)
    throw new FirewallError(`mark ${mark} is not a non-zero 32-bit value`);
  const m = `0x${(mark >>> 0).toString(16)}`;
  return ['-m', 'mark', '--mark', `${m}/${m}`, '-m', 'comment', '--comment', GATE_COMMENT, '-j', 'ACCEPT'];
}

/** argv for `iptables`: `verb` is -C (check), -I (insert at the top) or -D (delete). */
export function gateArgv(verb: '-C' | '-I' | '-D', chain: GateChain, mark: number): string[] {
  const where = verb === '-I' ? [chain, '1'] : [chain];
  return ['-w', '5', '-t', 'filter', verb, ...where, ...gateRuleArgs(mark)];
}
