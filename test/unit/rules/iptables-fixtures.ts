import type { ChainSpec } from '../../../src/core/config-model.js';
import type { GrantRules } from '../../../src/core/model.js';
import type { IptChains } from '../../../src/core/rules/iptables.js';

function spec(s: string): ChainSpec {
  const [target, table, fromChain, jumpPosition, toChain, rulePosition] = s.split(',').map((x) => x.trim());
  return {
    target: target,
    table: table,
    fromChain: fromChain,
    jumpPosition: Number(jumpPosition),
    toChain: toChain,
    rulePosition: Number(rulePosition),
  };
}

/** fwknopd's defaults (spec 12.2), every chain configured. */
export const ALL_CHAINS: IptChains = {
  input: spec('ACCEPT, filter, INPUT, 1, FWKNOP_INPUT, 1'),
  output: spec('ACCEPT, filter, OUTPUT, 1, FWKNOP_OUTPUT, 1'),
  forward: spec('ACCEPT, filter, FORWARD, 1, FWKNOP_FORWARD, 1'),
  dnat: spec('DNAT, nat, PREROUTING, 1, FWKNOP_PREROUTING, 1'),
  snat: spec('SNAT, nat, POSTROUTING, 1, FWKNOP_POSTROUTING, 1'),
  masquerade: spec('MASQUERADE, nat, POSTROUTING, 1, FWKNOP_MASQUERADE, 1'),
};

export const INPUT_ONLY: IptChains = {
  input: ALL_CHAINS.input,
  output: null,
  forward: null,
  dnat: null,
  snat: null,
  masquerade: null,
};

export function chainsWithPrefix(prefix: string): IptChains {
  const rename = (s: ChainSpec | null): ChainSpec | null =>
    s ? { ...s, toChain: `${prefix}${s.toChain.replace('FWKNOP_', '')}` } : null;
  return {
    input: rename(ALL_CHAINS.input)!,
    output: rename(ALL_CHAINS.output),
    forward: rename(ALL_CHAINS.forward),
    dnat: rename(ALL_CHAINS.dnat),
    snat: rename(ALL_CHAINS.snat),
    masquerade: rename(ALL_CHAINS.masquerade),
  };
}

export function rules(over: Partial<GrantRules>): GrantRules {
  return {
    src: '203.0.113.7',
    mac: null,
    dst: null,
    input: [],
    output: false,
    forward: null,
    dnat: null,
    snat: null,
    ...over,
  };
}

/** 1796325000 s, the spec's example expiry. */
export const EXP_MS = 1_796_325_000_000;
export const COMMENT = ['-m', 'comment', '--comment', '_exp_1796325000 spagate:g1'];
