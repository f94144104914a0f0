/**
 * What spagate left in a test gateway's kernel, read from outside the daemon: its iptables
 * rules (tagged `spagate:<grant id>`) or its nftables elements, plus Firewall adapters bound
 * to the namespace for reading counters and for wiping everything between tests.
 */
import {
  ExecFileRunner,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
} from '../../src/adapters/command-runner.js';
import { IptablesFirewall } from '../../src/adapters/iptables.js';
import { NftablesFirewall } from '../../src/adapters/nftables.js';
import { silentLogger } from '../../src/adapters/pino-logger.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { DEFAULT_NFT_TABLE } from '../../src/core/rules/nftables.js';
import { parseTableListing } from '../../src/core/rules/nftables-listing.js';
import type { Firewall } from '../../src/core/ports.js';
import { DEFAULT_CHAINS } from './fixtures.js';
import { IP, type Netns } from './netns.js';

export type Backend = 'iptables' | 'nftables';
export const BACKENDS: readonly Backend[] = ['iptables', 'nftables'];

export const IPTABLES = '/usr/sbin/iptables';
export const NFT = '/usr/sbin/nft';

/** One rule (iptables) or set element (nftables) owned by a grant. */
export interface OwnedEntry {
  grant: string;
  /** iptables: the `-A CHAIN ...` line; nftables: `<set> <key>[ : <value>]`. */
  text: string;
}

/** Runs every command inside one namespace. */
export class InNamespace implements CommandRunner {
  private readonly inner = new ExecFileRunner();
  constructor(private readonly ns: string) {}
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<CommandResult> {
    return this.inner.run(IP, ['netns', 'exec', this.ns, file, ...args], opts);
  }
}

/** Everything spagate's grants hold in the kernel of namespace `gw`. */
export function ownedEntries(ns: Netns, gw: string, backend: Backend): OwnedEntry[] {
  if (backend === 'iptables') {
    const out: OwnedEntry[] = [];
    for (const line of ns.exec(gw, '/usr/sbin/iptables-save', []).split('\n')) {
      const m = /spagate:([A-Za-z0-9._:@+-]+)/.exec(line);
      if (m && line.startsWith('-A ')) out.push({ grant: m[1], text: line });
    }
    return out;
  }
  const r = ns.try(gw, NFT, ['-j', '-n', 'list', 'table', 'ip', DEFAULT_NFT_TABLE]);
  if (r.status !== 0) return [];
  return parseTableListing(r.stdout, DEFAULT_NFT_TABLE)
    .elements.filter((e) => e.owner !== null)
    .map((e) => ({
      grant: e.owner!.id,
      text: `${e.set} ${e.key}${e.value === null ? '' : ` : ${e.value}`}`,
    }));
}

/** The grant ids present in the kernel. */
export function ownedGrantIds(ns: Netns, gw: string, backend: Backend): string[] {
  return [...new Set(ownedEntries(ns, gw, backend).map((e) => e.grant))].sort();
}

/**
 * A Firewall adapter of the given backend working on the gateway namespace's kernel, the way
 * the daemon builds it with the default chains: for counters, and for `stop({ flush: true })`
 * to wipe spagate's chains, table and gate rules between tests.
 */
export function gatewayFirewall(gw: string, backend: Backend): Firewall {
  const runner = new InNamespace(gw);
  if (backend === 'iptables') {
    return new IptablesFirewall({
      chains: DEFAULT_CHAINS,
      iptables: IPTABLES,
      runner,
      logger: silentLogger,
      rulePrepend: false,
      conntrackAccept: true,
    });
  }
  return new NftablesFirewall({
    nft: NFT,
    runner,
    logger: silentLogger,
    clock: systemClock,
    conntrackAccept: true,
    iptables: IPTABLES,
  });
}

/**
 * Takes one grant's rules or elements out of the kernel behind spagate's back (an operator's
 * flush, a reboot of the firewall), so reconciliation has something to put back. `natOnly`
 * takes only its address translation (iptables nat table, nftables snat/masq/dnat sets),
 * leaving a grant that still looks present in a listing but no longer works.
 */
export function dropGrantFromKernel(ns: Netns, gw: string, backend: Backend, grantId: string, natOnly = false): number {
  let n = 0;
  if (backend === 'iptables') {
    for (const table of natOnly ? ['nat'] : ['filter', 'nat']) {
      // Rule numbers count per chain; delete from the bottom so earlier numbers stay valid.
      const seen = new Map<string, number>();
      const doomed: { chain: string; num: number }[] = [];
      for (const line of ns.exec(gw, IPTABLES, ['-w', '5', '-t', table, '-S']).split('\n')) {
        const m = /^-A (\S+) /.exec(line);
        if (!m) continue;
        const num = (seen.get(m[1]) ?? 0) + 1;
        seen.set(m[1], num);
        if (line.includes(`spagate:${grantId}"`) || line.endsWith(`spagate:${grantId}`))
          doomed.push({ chain: m[1], num });
      }
      for (const d of doomed.reverse()) {
        ns.exec(gw, IPTABLES, ['-w', '5', '-t', table, '-D', d.chain, String(d.num)]);
        n++;
      }
    }
    return n;
  }
  const listing = parseTableListing(
    ns.exec(gw, NFT, ['-j', '-n', 'list', 'table', 'ip', DEFAULT_NFT_TABLE]),
    DEFAULT_NFT_TABLE,
  );
  for (const e of listing.elements) {
    if (e.owner?.id !== grantId || (natOnly && !/^(snat|masq|dnat)_/.test(e.set))) continue;
    ns.exec(gw, NFT, ['delete', 'element', 'ip', DEFAULT_NFT_TABLE, e.set, `{ ${e.key} }`]);
    n++;
  }
  return n;
}
