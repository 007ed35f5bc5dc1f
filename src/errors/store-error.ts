/**
 * Why the store cannot be used, as one line naming the file and what to do. `reason` lets a caller react (the
 * recorder keeps sampling and retries on 'full'; `bubble ls` skips recorded containers on 'missing') without
 * parsing the message.
 */
import fs from 'node:fs';
import { safeText } from '../format.js';
import { BubbleError } from './bubble-error.js';

export type StoreErrorReason =
  | 'corrupt' // SQLite says the file is damaged (truncated, overwritten pages)
  | 'foreign' // not a bubble store: another application's SQLite file, or not SQLite at all
  | 'newer' // written by a newer bubble (schema version above ours)
  | 'older' // an older schema that a read-only open cannot upgrade
  | 'locked' // another recorder holds the file, or a writer kept it busy past the timeout
  | 'readonly' // read-only file, directory or filesystem
  | 'permission' // EACCES/EPERM
  | 'full' // disk or quota full
  | 'missing' // no such file (or an empty one) where one must exist
  | 'io'; // anything else the disk said

export class StoreError extends BubbleError {
  override name = 'StoreError';
  readonly path: string;
  readonly reason: StoreErrorReason;

  constructor(path: string, reason: StoreErrorReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.path = path;
    this.reason = reason;
  }
}

export function isStoreError(error: unknown): error is StoreError {
  return error instanceof StoreError;
}

/** What was being done when the error came: picks the verb of the message. */
export type StoreAction = 'create' | 'open' | 'read' | 'write';

/** The first 16 bytes of every SQLite 3 database file. */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** true when the file starts like an SQLite database (undefined when it cannot be read). */
export function looksLikeSqlite(path: string): boolean | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'r');
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return n === head.length && head.equals(SQLITE_MAGIC);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function detailOf(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

/**
 * Maps an error from better-sqlite3 (SqliteError, `code` 'SQLITE_...', extended codes included) or from node:fs
 * (errno `code`) met while using the store at `path` to a StoreError with one clear line. A StoreError passes
 * through unchanged.
 */
export function storeErrorFrom(error: unknown, path: string, action: StoreAction = 'open'): StoreError {
  if (error instanceof StoreError) return error;
  const p = safeText(path);
  const code = codeOf(error);
  const detail = detailOf(error);
  const make = (reason: StoreErrorReason, message: string): StoreError => new StoreError(path, reason, message, { cause: error });

  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    // Random bytes or a text file passed as --db is far likelier than a store overwritten from its first byte:
    // telling the user "corrupt, move it aside" there would invite them to throw away an unrelated file.
    if (looksLikeSqlite(path) === false) return foreignError(path, error);
    return make('corrupt', `${p} is corrupt (${detail}): move it aside (a new store is then created) or pass another --db`);
  }
  if (code.startsWith('SQLITE_FULL') || code === 'ENOSPC' || code === 'EDQUOT') {
    return make('full', `cannot write ${p}: the disk is full; free space (bubble clean --days N) or pass --db on another disk`);
  }
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS') {
    return make(
      'readonly',
      action === 'create'
        ? `cannot create ${p}: the directory is read-only; pass --db on a writable disk`
        : `cannot write ${p}: the file or its disk is read-only; pass --db on a writable disk`,
    );
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH') {
    return make('permission', `cannot ${action} ${p}: permission denied; run as its owner (sudo for the system store) or pass another --db`);
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return make('locked', `${p} is busy: another bubble kept it locked past the timeout; try again or stop the other writer`);
  }
  if (code === 'ENOENT') {
    return make('missing', `${p} does not exist: record into it first (bubble record --db ${p}) or pass another --db`);
  }
  if (code === 'EISDIR' || code === 'SQLITE_CANTOPEN_ISDIR') {
    return make('foreign', `${p} is a directory, not a bubble store: pass a file path with --db`);
  }
  return make('io', `cannot ${action} ${p}: ${detail}${code !== '' && !detail.includes(code) ? ` (${code})` : ''}; check the disk or pass another --db`);
}

export function foreignError(path: string, cause?: unknown): StoreError {
  return new StoreError(
    path,
    'foreign',
    `${safeText(path)} is not a bubble store (another SQLite file or not SQLite at all): pass another --db path`,
    cause === undefined ? undefined : { cause },
  );
}
