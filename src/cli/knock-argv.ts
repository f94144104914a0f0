import { UsageError } from './io.js';

/** One command-line option in getopt_long style. */
export interface OptSpec {
  id: string;
  short?: string;
  long?: string;
  /** True when the option takes an argument. */
  value: boolean;
}

export interface ParsedOpt {
  id: string;
  /** The spelling used, for messages (never the value: it may be a key). */
  name: string;
  value: string | null;
}

/**
 * getopt_long-like parsing: `-x V`, `-xV`, grouped flags `-vT`, `--long V`, `--long=V`, and `--`.
 * Options keep their command-line order so later ones override earlier ones, as in fwknop.
 */
export function parseArgv(
  argv: readonly string[],
  specs: readonly OptSpec[],
): { opts: ParsedOpt[]; positionals: string[] } {
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const byLong = new Map(specs.filter((s) => s.long).map((s) => [s.long!, s]));
  const opts: ParsedOpt[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown option '--${name}'`);
      if (!spec.value) {
        if (eq >= 0) throw new UsageError(`option '--${name}' takes no value`);
        opts.push({ id: spec.id, name: `--${name}`, value: null });
        continue;
      }
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`option '--${name}' needs a value`);
      opts.push({ id: spec.id, name: `--${name}`, value });
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        const spec = byShort.get(c);
        if (!spec) throw new UsageError(`unknown option '-${c}'`);
        if (!spec.value) {
          opts.push({ id: spec.id, name: `-${c}`, value: null });
          continue;
        }
        const rest = a.slice(j + 1);
        const value = rest.length > 0 ? rest : argv[++i];
        if (value === undefined) throw new UsageError(`option '-${c}' needs a value`);
        opts.push({ id: spec.id, name: `-${c}`, value });
        break;
      }
      continue;
    }
    positionals.push(a);
  }
  return { opts, positionals };
}
