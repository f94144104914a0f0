/**
 * access.conf with its includes expanded in place (spec 11.1, 14.1): `%include FILE`,
 * `%include_folder DIR` (the `*.conf` files in name order) and `%include_keys FILE`
 * (key lines for the current stanza). Nesting stops at 3 levels of files, as in fwknopd,
 * and a file that includes itself (directly or not) is an error.
 *
 * Like fwknopd, each file keeps its own "current stanza": lines before the first SOURCE
 * of a file belong to no stanza, and lines after an `%include` continue the stanza that
 * was open before it.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Problems } from './problems.js';
import { checkFileMode } from './problems.js';
import type { ConfigSources } from './sources.js';
import { getDir, getFile } from './sources.js';
import type { ConfigEntry } from './syntax.js';
import { parseConfigText } from './syntax.js';

export const MAX_INCLUDE_DEPTH = 3;

/** Keywords a `%include_keys` file may set. */
export const INCLUDE_KEYS_ALLOWED = new Set([
  'KEY',
  'KEY_BASE64',
  'HMAC_KEY',
  'HMAC_KEY_BASE64',
  'HMAC_DIGEST_TYPE',
  'ENCRYPTION_MODE',
]);

export interface StanzaBlock {
  /** The SOURCE line that starts the stanza. */
  source: ConfigEntry;
  /** The stanza's other lines, in order, each with its own file and line. */
  entries: ConfigEntry[];
}

/** A relative include path is taken relative to the including file's directory. */
export function resolveIncludePath(fromFile: string, value: string): string {
  const t = value.trim();
  return isAbsolute(t) ? t : resolve(dirname(fromFile), t);
}

/** fwknopd takes folder entries whose extension starts with `.conf`. */
export function isIncludedFolderEntry(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && name.slice(dot).startsWith('.conf');
}

export function folderFiles(dir: string, entries: readonly string[]): string[] {
  return entries
    .filter(isIncludedFolderEntry)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((n) => join(dir, n));
}

/** Reads one file into ConfigEntries, reporting unreadable files and invalid lines. */
function readEntries(
  file: string,
  from: ConfigEntry | null,
  sources: ConfigSources,
  problems: Problems,
): ConfigEntry[] | null {
  const src = getFile(sources, file);
  if (src.kind === 'missing') {
    if (from) problems.error(from, `${from.name} ${file}: cannot read: ${src.reason}`);
    else problems.error({ file, line: 0 }, `cannot read access file: ${src.reason}`);
    return null;
  }
  checkFileMode(file, src.mode, problems);
  const parsed = parseConfigText(src.text, file);
  // fwknopd stops at an invalid access.conf line.
  for (const bad of parsed.invalid)
    problems.error(bad, `invalid access file entry (not "NAME VALUE"): '${bad.text.trim()}'`);
  return [...parsed.entries];
}

export function expandAccessFile(root: string, sources: ConfigSources, problems: Problems): StanzaBlock[] {
  const blocks: StanzaBlock[] = [];

  const visit = (file: string, depth: number, chain: readonly string[], from: ConfigEntry | null): void => {
    const entries = readEntries(file, from, sources, problems);
    if (entries === null) return;
    let current: StanzaBlock | null = null;
    let warnedOutside = false;

    const include = (e: ConfigEntry, target: string): void => {
      if (chain.includes(target) || target === file) {
        problems.error(e, `${e.name} ${target}: include cycle (${[...chain, file, target].join(' -> ')})`);
      } else if (depth + 1 > MAX_INCLUDE_DEPTH) {
        problems.error(
          e,
          `${e.name} ${target}: refusing to go deeper than ${MAX_INCLUDE_DEPTH} levels of access files`,
        );
      } else {
        visit(target, depth + 1, [...chain, file], e);
      }
    };

    for (const e of entries) {
      if (e.name === '%include') {
        include(e, resolveIncludePath(file, e.value));
      } else if (e.name === '%include_folder') {
        const dir = resolveIncludePath(file, e.value);
        const listing = getDir(sources, dir);
        if (listing.kind === 'missing')
          problems.error(e, `%include_folder ${dir}: cannot read folder: ${listing.reason}`);
        else for (const f of folderFiles(dir, listing.entries)) include(e, f);
      } else if (e.name === 'SOURCE') {
        current = { source: e, entries: [] };
        blocks.push(current);
      } else if (current === null) {
        // fwknopd silently skips these; a stray line usually means a lost SOURCE.
        if (!warnedOutside)
          problems.warn(e, `ignored: ${e.name} is outside any stanza (a stanza starts with SOURCE)`);
        warnedOutside = true;
      } else if (e.name === '%include_keys') {
        const target = resolveIncludePath(file, e.value);
        const keyEntries = readEntries(target, e, sources, problems);
        for (const k of keyEntries ?? []) {
          if (INCLUDE_KEYS_ALLOWED.has(k.name)) current.entries.push(k);
          else
            problems.error(
              k,
              `${k.name} is not allowed in a %include_keys file (only ${[...INCLUDE_KEYS_ALLOWED].join(', ')})`,
            );
        }
      } else {
        current.entries.push(e);
      }
    }
  };

  visit(root, 1, [], null);
  return blocks;
}
