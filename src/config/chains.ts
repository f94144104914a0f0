import type { ChainSpec } from '../core/config-model.js';

/** Chain variables of spec 12.2 and fwknopd's defaults. */
export const CHAIN_DEFAULTS = {
  IPT_INPUT_ACCESS: 'ACCEPT, filter, INPUT, 1, FWKNOP_INPUT, 1',
  IPT_OUTPUT_ACCESS: 'ACCEPT, filter, OUTPUT, 1, FWKNOP_OUTPUT, 1',
  IPT_FORWARD_ACCESS: 'ACCEPT, filter, FORWARD, 1, FWKNOP_FORWARD, 1',
  IPT_DNAT_ACCESS: 'DNAT, nat, PREROUTING, 1, FWKNOP_PREROUTING, 1',
  IPT_SNAT_ACCESS: 'SNAT, nat, POSTROUTING, 1, FWKNOP_POSTROUTING, 1',
  IPT_MASQUERADE_ACCESS: 'MASQUERADE, nat, POSTROUTING, 1, FWKNOP_MASQUERADE, 1',
} as const;

export type ChainVariable = keyof typeof CHAIN_DEFAULTS;

const NAME = /^[A-Za-z0-9_]+$/;
const TABLES = new Set(['filter', 'nat', 'mangle', 'raw', 'security']);

/**
 * `<target>, <table>, <from_chain>, <jump_pos>, <to_chain>, <rule_pos>`: blanks are
 * ignored and only letters, digits, `_`, `,` and blanks are allowed (fwknopd's rule).
 * Returns the spec or a message saying what is wrong.
 */
export function parseChainSpec(value: string): ChainSpec | string {
  if (!/^[A-Za-z0-9_,\s]*$/.test(value)) return 'only letters, digits, "_", "," and blanks are allowed';
  const fields = value.replace(/\s+/g, '').split(',');
  if (fields.length !== 6)
    return `needs 6 comma-separated fields (target, table, from_chain, jump_position, to_chain, rule_position), found ${fields.length}`;
  const [target, table, fromChain, jumpPos, toChain, rulePos] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  for (const [label, v] of [
    ['target', target],
    ['table', table],
    ['from_chain', fromChain],
    ['to_chain', toChain],
  ] as const) {
    if (!NAME.test(v)) return `${label} is empty`;
  }
  if (!TABLES.has(table)) return `unknown table '${table}'`;
  if (toChain.length > 28) return `chain name '${toChain}' is longer than iptables' 28 characters`;
  const jumpPosition = /^\d+$/.test(jumpPos) ? Number(jumpPos) : NaN;
  const rulePosition = /^\d+$/.test(rulePos) ? Number(rulePos) : NaN;
  if (!(jumpPosition >= 1 && jumpPosition <= 65535))
    return `jump_position '${jumpPos}' is not a positive number`;
  if (!(rulePosition >= 1 && rulePosition <= 65535))
    return `rule_position '${rulePos}' is not a positive number`;
  return { target, table, fromChain, jumpPosition, toChain, rulePosition };
}
