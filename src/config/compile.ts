/**
 * Compiles fwknopd.conf (+ -O overrides, environment, flags) and access.conf into one
 * frozen GatewayConfig. Pure apart from `new Date` for ACCESS_EXPIRE's local midnight:
 * every file comes from a ConfigSources snapshot and the time from `now`.
 */
import type { GatewayConfig } from '../core/config-model.js';
import type { ConfigProblem } from '../core/errors.js';
import { compileStanzas } from './access-stanzas.js';
import { expandAccessFile } from './access-tree.js';
import { deepFreeze } from './freeze.js';
import { Problems, formatProblem } from './problems.js';
import { compileServerConfig, layerServerConfig, resolveAccessFile } from './server-config.js';
import type { ConfigSources } from './sources.js';
import { getFile } from './sources.js';
import type { StartFlags } from './start-flags.js';

export interface CompileInput {
  /** fwknopd.conf path (as a key of `sources`). */
  configFile: string;
  /** -a; when absent, ACCESS_FILE from fwknopd.conf (default /etc/fwknop/access.conf). */
  accessFile?: string | null;
  /** -O files, lowest precedence first. */
  overrideFiles?: readonly string[];
  /** Command-line settings (highest precedence); see StartFlags. */
  flags?: Partial<StartFlags>;
  /** Environment variables; only SPAGATE_* names listed in ENV_KEYWORDS are read. */
  env?: Readonly<Record<string, string | undefined>>;
  sources: ConfigSources;
  /** Epoch ms, for the "stanza already expired" warning. */
  now: number;
}

export interface CompileResult {
  /** Null when there is any error. */
  config: GatewayConfig | null;
  errors: readonly ConfigProblem[];
  warnings: readonly ConfigProblem[];
  /** The access file that was (or would have been) read. */
  accessFile: string;
}

/** Files in the order they were first mentioned, lines in order within a file. */
function sortProblems(list: readonly ConfigProblem[]): ConfigProblem[] {
  const fileOrder = new Map<string, number>();
  for (const p of list) if (!fileOrder.has(p.file)) fileOrder.set(p.file, fileOrder.size);
  return [...list].sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line);
}

export function compileConfig(input: CompileInput): CompileResult {
  const problems = new Problems();
  const flags = input.flags ?? {};
  const raw = layerServerConfig(
    {
      configFile: input.configFile,
      overrideFiles: input.overrideFiles ?? flags.overrideFiles ?? [],
      env: input.env,
      flags,
      sources: input.sources,
    },
    problems,
  );
  const accessFile = resolveAccessFile(raw, input.accessFile ?? flags.accessFile);
  const server = compileServerConfig(
    { raw, configFile: input.configFile, accessFile, testMode: flags.testMode === true },
    problems,
  );
  const blocks = expandAccessFile(accessFile, input.sources, problems);
  if (blocks.length === 0 && getFile(input.sources, accessFile).kind === 'file') {
    problems.error(
      { file: accessFile, line: 0 },
      'no access stanzas (each stanza starts with a SOURCE line)',
    );
  }
  const stanzas = compileStanzas(blocks, server, problems, input.now);
  const errors = sortProblems(problems.errors);
  const warnings = sortProblems(problems.warnings);
  const result: CompileResult = {
    config:
      problems.errors.length > 0
        ? null
        : deepFreeze<GatewayConfig>({ server, stanzas, warnings: warnings.map(formatProblem) }),
    errors,
    warnings,
    accessFile,
  };
  return result;
}
