/**
 * StoreError with a `kind`, and the translation of SQLite and file-system failures into
 * it. Shared by the SQLite store, the memory store and the digest file so the daemon can
 * test `err.kind` whatever backend failed.
 */
import { StoreError } from '../core/errors.js';
import type { StoreErrorKind } from '../core/ports.js';

export class StoreFailure extends StoreError {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The kind of a store failure, or null when `e` is not one. */
export function storeErrorKind(e: unknown): StoreErrorKind | null {
  return e instanceof StoreFailure ? e.kind : null;
}

function sqliteKind(code: string): StoreErrorKind {
  // better-sqlite3 reports extended codes (SQLITE_READONLY_DBMOVED, SQLITE_IOERR_WRITE...):
  // the primary code is the prefix.
  if (code.startsWith('SQLITE_FULL')) return 'full';
  if (code.startsWith('SQLITE_READONLY')) return 'readonly';
  if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH'))
    return 'cantopen';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) return 'corrupt';
  if (code.startsWith('SQLITE_CONSTRAINT')) return 'conflict';
  return 'other';
}

function errnoKind(code: string): StoreErrorKind {
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'full';
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
      return 'readonly';
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
      return 'cantopen';
    default:
      return 'other';
  }
}

/**
 * Wrap any error thrown while doing `what` (e.g. "saving grant"). SQLite errors carry
 * `code` = SQLITE_*, Node fs errors an errno name; both keep the original as `cause`.
 */
export function toStoreError(e: unknown, what: string): StoreFailure {
  if (e instanceof StoreFailure) return e;
  const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : '';
  const detail = e instanceof Error ? e.message : String(e);
  let kind: StoreErrorKind;
  if (code.startsWith('SQLITE_')) kind = sqliteKind(code);
  else if (code !== '') kind = errnoKind(code);
  else if (e instanceof TypeError && /not open/i.test(detail)) kind = 'closed';
  else kind = 'other';
  const suffix = code !== '' ? ` (${code})` : '';
  return new StoreFailure(kind, `store: ${what} failed: ${detail}${suffix}`, { cause: e });
}
