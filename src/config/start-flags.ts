/**
 * `spagate start` flags: fwknopd's, so an existing unit file or init script keeps working.
 * Short options may be bundled (`-ft`) and take their argument attached or separate
 * (`-cFILE`, `-c FILE`); long options take `--name VALUE` or `--name=VALUE`.
 */
import { UsageError } from '../cli/io.js';

export interface StartFlags {
  /** -c, --config-file */
  configFile: string;
  /** -a, --access-file; null: ACCESS_FILE from fwknopd.conf (default /etc/fwknop/access.conf). */
  accessFile: string | null;
  /** -i, --interface: overrides PCAP_INTF. */
  pcapIntf: string | null;
  /** -f, --foreground */
  foreground: boolean;
  /** -d, --digest-file: overrides DIGEST_FILE. */
  digestFile: string | null;
  /** -p, --pid-file: overrides FWKNOP_PID_FILE. */
  pidFile: string | null;
  /** -r, --run-dir: overrides FWKNOP_RUN_DIR. */
  runDir: string | null;
  /** -U, --udp-server: ENABLE_UDP_SERVER Y. */
  udpServer: boolean;
  /** -t, --test: verify and log, change no firewall. */
  testMode: boolean;
  /** -P, --pcap-filter: overrides PCAP_FILTER. */
  pcapFilter: string | null;
  /** -O, --override-config (repeatable, or a comma-separated list, as in fwknopd). */
  overrideFiles: string[];
  /** --data-dir: overrides SPAGATE_DATA_DIR. */
  dataDir: string | null;
  /** -v, --verbose: LOG_LEVEL debug. */
  verbose: boolean;
  /** -h, --help */
  help: boolean;
}

export const DEFAULT_CONFIG_FILE = '/etc/fwknop/fwknopd.conf';
export const DEFAULT_ACCESS_FILE = '/etc/fwknop/access.conf';

export const START_USAGE = `usage: spagate start [options]

  -c, --config-file FILE      fwknopd.conf (default ${DEFAULT_CONFIG_FILE})
  -a, --access-file FILE      access.conf (default: ACCESS_FILE, else ${DEFAULT_ACCESS_FILE})
  -O, --override-config FILE  override file(s) in fwknopd.conf syntax; values win (repeatable, comma list)
  -i, --interface IF          capture interface (overrides PCAP_INTF)
  -P, --pcap-filter FILTER    BPF filter (overrides PCAP_FILTER)
  -U, --udp-server            receive SPA on a UDP socket instead of pcap
  -d, --digest-file FILE      replay digest file (overrides DIGEST_FILE)
  -p, --pid-file FILE         pid file (overrides FWKNOP_PID_FILE)
  -r, --run-dir DIR           run directory (overrides FWKNOP_RUN_DIR)
  -f, --foreground            stay in the foreground
  -t, --test                  verify and log packets, change no firewall rule
  -v, --verbose               log at debug level
      --data-dir DIR          spagate state directory (overrides SPAGATE_DATA_DIR)
  -h, --help                  this text
`;

type ValueKey =
  | 'configFile'
  | 'accessFile'
  | 'pcapIntf'
  | 'digestFile'
  | 'pidFile'
  | 'runDir'
  | 'pcapFilter'
  | 'dataDir'
  | 'overrideFiles';
type SwitchKey = 'foreground' | 'udpServer' | 'testMode' | 'verbose' | 'help';
type Opt = { takes: 'value'; key: ValueKey } | { takes: 'none'; key: SwitchKey };

const SHORT: Record<string, Opt> = {
  c: { takes: 'value', key: 'configFile' },
  a: { takes: 'value', key: 'accessFile' },
  i: { takes: 'value', key: 'pcapIntf' },
  d: { takes: 'value', key: 'digestFile' },
  p: { takes: 'value', key: 'pidFile' },
  r: { takes: 'value', key: 'runDir' },
  P: { takes: 'value', key: 'pcapFilter' },
  O: { takes: 'value', key: 'overrideFiles' },
  f: { takes: 'none', key: 'foreground' },
  U: { takes: 'none', key: 'udpServer' },
  t: { takes: 'none', key: 'testMode' },
  v: { takes: 'none', key: 'verbose' },
  h: { takes: 'none', key: 'help' },
};

const LONG: Record<string, Opt> = {
  'config-file': SHORT.c,
  'access-file': SHORT.a,
  interface: SHORT.i,
  'digest-file': SHORT.d,
  'pid-file': SHORT.p,
  'run-dir': SHORT.r,
  'pcap-filter': SHORT.P,
  'override-config': SHORT.O,
  'data-dir': { takes: 'value', key: 'dataDir' },
  foreground: SHORT.f,
  'udp-server': SHORT.U,
  test: SHORT.t,
  verbose: SHORT.v,
  help: SHORT.h,
};

export function defaultStartFlags(): StartFlags {
  return {
    configFile: DEFAULT_CONFIG_FILE,
    accessFile: null,
    pcapIntf: null,
    foreground: false,
    digestFile: null,
    pidFile: null,
    runDir: null,
    udpServer: false,
    testMode: false,
    pcapFilter: null,
    overrideFiles: [],
    dataDir: null,
    verbose: false,
    help: false,
  };
}

/** Parses fwknopd-style flags; throws UsageError on anything it does not know. */
export function parseStartFlags(argv: readonly string[]): StartFlags {
  const flags = defaultStartFlags();
  const set = (opt: Opt, value: string | undefined, label: string): void => {
    if (opt.takes === 'none') {
      flags[opt.key] = true;
      return;
    }
    if (value === undefined || value === '') throw new UsageError(`${label} needs a value`);
    if (opt.key === 'overrideFiles') flags.overrideFiles.push(...value.split(',').filter((s) => s !== ''));
    else flags[opt.key] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const opt = LONG[name];
      if (!opt) throw new UsageError(`unknown option '--${name}' (try spagate start -h)`);
      if (opt.takes === 'none') {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`);
        set(opt, undefined, `--${name}`);
      } else {
        set(opt, eq >= 0 ? arg.slice(eq + 1) : argv[++i], `--${name}`);
      }
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const ch = arg[j];
        const opt = SHORT[ch];
        if (!opt) throw new UsageError(`unknown option '-${ch}' (try spagate start -h)`);
        if (opt.takes === 'none') {
          set(opt, undefined, `-${ch}`);
          continue;
        }
        const rest = arg.slice(j + 1);
        set(opt, rest !== '' ? rest : argv[++i], `-${ch}`);
        break;
      }
    } else {
      throw new UsageError(`unexpected argument '${arg}' (try spagate start -h)`);
    }
  }
  return flags;
}
