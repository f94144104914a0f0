/**
 * The file contents a configuration is compiled from. `compileConfig` works on a
 * `ConfigSources` snapshot only, so tests give it in-memory files and the loader reads the
 * disk first (see load.ts).
 */

export type SourceFile =
  | {
      readonly kind: 'file';
      readonly text: string;
      /** st_mode permission bits, null when unknown */ readonly mode: number | null;
    }
  | { readonly kind: 'missing'; readonly reason: string };

export type SourceDir =
  | { readonly kind: 'dir'; /** names of regular files, any order */ readonly entries: readonly string[] }
  | { readonly kind: 'missing'; readonly reason: string };

export interface ConfigSources {
  readonly files: ReadonlyMap<string, SourceFile>;
  readonly dirs: ReadonlyMap<string, SourceDir>;
}

/** A file given as text (mode 0600) or with an explicit mode. */
export type MemoryFile = string | { text: string; mode: number };

/** Sources from plain objects, for tests and for callers that hold the text already. */
export function memorySources(
  files: Record<string, MemoryFile>,
  dirs: Record<string, readonly string[]> = {},
): ConfigSources {
  const f = new Map<string, SourceFile>();
  for (const [path, v] of Object.entries(files)) {
    f.set(
      path,
      typeof v === 'string'
        ? { kind: 'file', text: v, mode: 0o600 }
        : { kind: 'file', text: v.text, mode: v.mode },
    );
  }
  const d = new Map<string, SourceDir>();
  for (const [path, entries] of Object.entries(dirs)) d.set(path, { kind: 'dir', entries });
  return { files: f, dirs: d };
}

export function getFile(sources: ConfigSources, path: string): SourceFile {
  return sources.files.get(path) ?? { kind: 'missing', reason: 'not found' };
}

export function getDir(sources: ConfigSources, path: string): SourceDir {
  return sources.dirs.get(path) ?? { kind: 'missing', reason: 'not found' };
}
