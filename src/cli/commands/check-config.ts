/**
 * `spagate check-config`: compiles fwknopd.conf and access.conf exactly as `spagate start`
 * would (it takes the same flags) and prints every problem at once.
 */
import { resolve } from 'node:path';
import type { ChainSpec, GatewayConfig } from '../../core/config-model.js';
import { checkGatewayConfig } from '../../config/load.js';
import { formatProblem } from '../../config/problems.js';
import { parseStartFlags } from '../../config/start-flags.js';
import type { Command } from '../io.js';

export const CHECK_CONFIG_USAGE = `usage: spagate check-config [-c FILE] [-a FILE] [-O FILE] [other spagate start flags]

Reads the configuration as spagate start would and reports every error and warning
(file:line: message). Exit status: 0 when it would start, 1 when it has errors.
`;

function chainLine(label: string, c: ChainSpec | null): string {
  return c === null
    ? `${label} not configured`
    : `${label} ${c.table}/${c.fromChain} -> ${c.toChain} (${c.target})`;
}

function summary(config: GatewayConfig): string {
  const s = config.server;
  const ch = s.chains;
  const capture = s.enableUdpServer
    ? `UDP server on port ${s.udpservPort}`
    : `pcap on ${s.pcapIntf}, filter '${s.pcapFilter}'`;
  const lines = [
    `configuration OK: ${s.configFile}, ${s.accessFile}`,
    `  stanzas: ${config.stanzas.length} (${config.stanzas.map((x) => x.id).join(', ')})`,
    `  firewall backend: ${s.firewallBackend}${s.testMode ? ' (test mode: no rule changes)' : ''}`,
    `  capture: ${capture}`,
    `  chains: ${[
      chainLine('input', ch.input),
      chainLine('output', ch.output),
      chainLine('forward', ch.forward),
      chainLine('dnat', ch.dnat),
      chainLine('snat', ch.snat),
      chainLine('masquerade', ch.masquerade),
    ].join('; ')}`,
    `  data directory: ${s.dataDir}`,
    `  warnings: ${config.warnings.length}`,
  ];
  return lines.join('\n') + '\n';
}

export const checkConfig: Command = async (argv, io) => {
  const flags = parseStartFlags(argv);
  if (flags.help) {
    io.stdout.write(CHECK_CONFIG_USAGE);
    return 0;
  }
  const abs = (p: string): string => resolve(io.cwd, p);
  const result = await checkGatewayConfig({
    configFile: abs(flags.configFile),
    accessFile: flags.accessFile === null ? null : abs(flags.accessFile),
    overrideFiles: flags.overrideFiles.map(abs),
    flags: { ...flags, accessFile: null, overrideFiles: [] },
    env: io.env,
  });
  for (const e of result.errors) io.stdout.write(`${formatProblem(e)}\n`);
  for (const w of result.warnings) io.stdout.write(`${w.file}:${w.line}: warning: ${w.message}\n`);
  if (result.config === null) {
    io.stderr.write(
      `spagate check-config: ${result.errors.length} error(s), ${result.warnings.length} warning(s)\n`,
    );
    return 1;
  }
  io.stdout.write(summary(result.config));
  return 0;
};
