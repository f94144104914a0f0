/**
 * The loader the daemon and the CLI share: reads fwknopd.conf, the -O files and the
 * access.conf tree from disk into a ConfigSources snapshot, then runs compileConfig.
 * File access is injectable so tests can run it without touching /etc.
 */
import { readFile as fsReadFile, readdir as fsReaddir, stat as fsStat } from 'node:fs/promises';
import type { GatewayConfig } from '../core/config-model.js';
import { ConfigError } from '../core/errors.js';
import { MAX_INCLUDE_DEPTH, folderFiles, resolveIncludePath } from './access-tree.js';
import type { CompileResult } from './compile.js';
import { compileConfig } from './compile.js';
import { Problems } from './problems.js';
import { layerServerConfig, resolveAccessFile } from './server-config.js';
import type { ConfigSources, SourceDir, SourceFile } from './sources.js';
import type { StartFlags } from './start-flags.js';
import { parseConfigText } from './syntax.js';

export interface FileStat {
  mode: number;
  isFile(): boolean;
  isDirectory(): boolean;
}

export interface LoadOptions {
  configFile: string;
  /** -a; when absent, ACCESS_FILE from fwknopd.conf (default /etc/fwknop/access.conf). */
  accessFile?: string | null;
  overrideFiles?: readonly string[];
  flags?: Partial<StartFlags>;
  env?: Readonly<Record<string, string | undefined>>;
  readFile?: (path: string) => Promise<string>;
  stat?: (path: string) => Promise<FileStat>;
  readdir?: (path: string) => Promise<string[]>;
  /** Epoch ms; defaults to the current time. */
  now?: number;
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such file or directory';
  if (err.code === 'EACCES') return 'permission denied';
  return err.message ?? String(e);
}

/** Reads every file the configuration refers to (includes up to the depth limit). */
export async function readConfigSources(opts: LoadOptions): Promise<ConfigSources> {
  const readFile = opts.readFile ?? ((p: string) => fsReadFile(p, 'utf8'));
  const stat = opts.stat ?? ((p: string) => fsStat(p));
  const readdir = opts.readdir ?? ((p: string) => fsReaddir(p));
  const files = new Map<string, SourceFile>();
  const dirs = new Map<string, SourceDir>();

  const readSource = async (path: string): Promise<SourceFile> => {
    try {
      const st = await stat(path);
      if (!st.isFile()) return { kind: 'missing', reason: 'not a regular file' };
      return { kind: 'file', text: await readFile(path), mode: st.mode & 0o7777 };
    } catch (e) {
      return { kind: 'missing', reason: reason(e) };
    }
  };
  const listDir = async (path: string): Promise<SourceDir> => {
    try {
      const names = await readdir(path);
      const regular: string[] = [];
      for (const n of names) {
        try {
          if ((await stat(`${path}/${n}`)).isFile()) regular.push(n);
        } catch {
          // Vanished or unreadable entry: it is simply not part of the folder.
        }
      }
      return { kind: 'dir', entries: regular };
    } catch (e) {
      return { kind: 'missing', reason: reason(e) };
    }
  };

  const flags = opts.flags ?? {};
  const overrides = opts.overrideFiles ?? flags.overrideFiles ?? [];
  for (const f of [opts.configFile, ...overrides]) if (!files.has(f)) files.set(f, await readSource(f));

  const raw = layerServerConfig(
    { configFile: opts.configFile, overrideFiles: overrides, env: opts.env, flags, sources: { files, dirs } },
    new Problems(),
  );
  const root = resolveAccessFile(raw, opts.accessFile ?? flags.accessFile);

  // Breadth first, so each file is first met at its smallest depth.
  const queue: [string, number][] = [[root, 1]];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const [file, depth] = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const src = files.get(file) ?? (await readSource(file));
    files.set(file, src);
    if (src.kind !== 'file') continue;
    for (const e of parseConfigText(src.text, file).entries) {
      if (e.name === '%include' && depth < MAX_INCLUDE_DEPTH) {
        queue.push([resolveIncludePath(file, e.value), depth + 1]);
      } else if (e.name === '%include_folder' && depth < MAX_INCLUDE_DEPTH) {
        const dir = resolveIncludePath(file, e.value);
        if (!dirs.has(dir)) dirs.set(dir, await listDir(dir));
        const listing = dirs.get(dir)!;
        if (listing.kind === 'dir')
          for (const f of folderFiles(dir, listing.entries)) queue.push([f, depth + 1]);
      } else if (e.name === '%include_keys') {
        const keys = resolveIncludePath(file, e.value);
        if (!files.has(keys)) files.set(keys, await readSource(keys));
      }
    }
  }
  return { files, dirs };
}

/** Reads and compiles; never throws for configuration problems (check-config uses this). */
export async function checkGatewayConfig(opts: LoadOptions): Promise<CompileResult> {
  const sources = await readConfigSources(opts);
  return compileConfig({
    configFile: opts.configFile,
    accessFile: opts.accessFile,
    overrideFiles: opts.overrideFiles,
    flags: opts.flags,
    env: opts.env,
    sources,
    now: opts.now ?? Date.now(),
  });
}

/** Reads and compiles the configuration; throws ConfigError listing every problem. */
export async function loadGatewayConfig(opts: LoadOptions): Promise<GatewayConfig> {
  const r = await checkGatewayConfig(opts);
  if (r.config === null) throw new ConfigError(r.errors);
  return r.config;
}
