export type { CompileInput, CompileResult } from './compile.js';
export { compileConfig } from './compile.js';
export type { FileStat, LoadOptions } from './load.js';
export { checkGatewayConfig, loadGatewayConfig, readConfigSources } from './load.js';
export type { ConfigSources, MemoryFile, SourceDir, SourceFile } from './sources.js';
export { memorySources } from './sources.js';
export type { StartFlags } from './start-flags.js';
export {
  DEFAULT_ACCESS_FILE,
  DEFAULT_CONFIG_FILE,
  START_USAGE,
  defaultStartFlags,
  parseStartFlags,
} from './start-flags.js';
export { formatProblem } from './problems.js';
export type { ConfigEntry } from './syntax.js';
export { parseBool, parseConfigText } from './syntax.js';
