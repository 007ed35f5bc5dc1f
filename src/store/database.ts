/**
 * Opens the store file safely: creates it private (directory 0700, file 0600: command lines and paths are sensitive),
 * tells a foreign, corrupt or newer file apart with one clear line before writing a byte into it, and applies the
 * schema migrations. Every failure is a StoreError.
 *
 * Durability: WAL with synchronous=NORMAL. A commit is appended to the -wal file; NORMAL skips the fsync per commit
 * but not the ordering, so a killed process (kill -9) loses nothing committed and a power cut loses at most the last
 * transactions, never the file's consistency. That is the trade the recorder wants: one commit per tick, cheap.
 */
import fs from 'node:fs';
import nodePath from 'node:path';
import Database from 'better-sqlite3';
import { foreignError, StoreError, storeErrorFrom } from '../errors/store-error.js';
import { safeText } from '../format.js';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export interface OpenOptions {
  /** Open for reading only (export, ls, replay): never creates, never migrates, never writes. */
  readonly readonly?: boolean;
  /** Create the file (and its 0700 directory) if missing; default true unless readonly. */
  readonly create?: boolean;
  /**
   * How long a statement waits for a lock held by another connection before failing with reason 'locked'.
   * Default DEFAULT_BUSY_TIMEOUT_MS for writers and readers alike: in WAL mode readers never wait for the writer, and
   * a writer only waits for another writer (`bubble clean` next to `bubble record`) or for a reader's WAL recovery
   * after a crash; both are short, and 5 s is long enough to ride them out, short enough to say something.
   */
  readonly busyTimeoutMs?: number;
  /**
   * Run `PRAGMA quick_check` on open. It reads every page: ~75 ms for a 13 MiB store, linear, so seconds for a GiB.
   * Off by default, so `bubble ls` on a year-old store stays instant; a truncated file is caught anyway by the header
   * check of the first read. The recorder may turn it on: it runs for hours and should not write into a bad file.
   */
  readonly quickCheck?: boolean;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export interface Store {
  readonly db: Database.Database;
  readonly path: string;
  readonly readonly: boolean;
  /** Closes the connection (the last writer's close checkpoints and removes the -wal file). Idempotent. */
  close(): void;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

export function openStore(path: string, options: OpenOptions = {}): Store {
  const readonly = options.readonly ?? false;
  const create = !readonly && (options.create ?? true);
  if (create) createPrivate(path);
  checkExists(path);
  tightenMode(path, readonly);

  let db: Database.Database;
  try {
    db = new Database(path, {
      readonly,
      fileMustExist: true, // created above with our modes; SQLite would use the umask's
      timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
    });
  } catch (error) {
    throw failure(error, path, readonly);
  }
  try {
    prepare(db, path, readonly, options.quickCheck ?? false);
  } catch (error) {
    db.close();
    throw failure(error, path, readonly);
  }
  return {
    db,
    path,
    readonly,
    close() {
      if (db.open) db.close();
    },
  };
}

/** mkdir -p with 0700 for the directories it makes, then the file with 0600, both chmod'ed: the umask may be 0. */
function createPrivate(path: string): void {
  try {
    makeDirs(nodePath.dirname(nodePath.resolve(path)));
  } catch (error) {
    throw storeErrorFrom(error, path, 'create');
  }
  let fd: number;
  try {
    // O_EXCL: never chmod a file someone else just made. Created 0600 at once, so no window where it is readable.
    fd = fs.openSync(path, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_RDWR, FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw storeErrorFrom(error, path, 'create');
  }
  try {
    fs.fchmodSync(fd, FILE_MODE);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * mkdir -p, one level at a time: fs.mkdirSync({ recursive }) reports EROFS as ENOENT, and only the directories made
 * here are chmod'ed (an existing one, /tmp or a home, is the user's business).
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = nodePath.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      fs.mkdirSync(d, DIR_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue; // made by a racing bubble: not ours to chmod
      throw error;
    }
    fs.chmodSync(d, DIR_MODE);
  }
}

function checkExists(path: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch (error) {
    throw storeErrorFrom(error, path, 'open');
  }
  if (stat.isDirectory()) throw storeErrorFrom(Object.assign(new Error('is a directory'), { code: 'EISDIR' }), path);
}

/**
 * A store others may read or write (an older bubble, a copy, a umask of 0) is made private again before it is used:
 * command lines and paths are in it. A writer that may not chmod it (not the owner) is refused with one line rather
 * than adding to what others can read; a reader is let through (refusing it would protect nothing).
 */
function tightenMode(path: string, readonly: boolean): void {
  const loose = (file: string): number | undefined => {
    try {
      const m = fs.statSync(file).mode & 0o777;
      return (m & 0o077) === 0 ? undefined : m;
    } catch {
      return undefined; // -wal/-shm absent: nothing to tighten
    }
  };
  const mode = loose(path);
  if (mode !== undefined) {
    try {
      fs.chmodSync(path, FILE_MODE);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A read-only file system: nothing can change it, nor write to it. A file this user cannot write anyway: the
      // open's own checks say so.
      if (code === 'EROFS' || readonly || openErrno(path, 'r+') !== undefined) return;
      const p = safeText(path);
      throw new StoreError(
        path,
        'permission',
        `${p} is open to other users (mode ${mode.toString(8).padStart(4, '0')}) and only its owner can make it private: chmod 600 ${p}, or pass another --db`,
        { cause: error },
      );
    }
  }
  for (const suffix of ['-wal', '-shm']) {
    if (loose(path + suffix) === undefined) continue;
    try {
      fs.chmodSync(path + suffix, FILE_MODE);
    } catch {
      // not ours: SQLite recreates them with the (now private) database file's mode once the last user closes
    }
  }
}

/** The errno of opening `path` with `flags`, or undefined when it opens (the effective uid counts, unlike access(2)). */
function openErrno(path: string, flags: string): NodeJS.ErrnoException | undefined {
  try {
    fs.closeSync(fs.openSync(path, flags));
    return undefined;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

/** Whether a file can be created in `dir`: the errno, or undefined when it can. Probes with an empty directory. */
function createErrno(dir: string): NodeJS.ErrnoException | undefined {
  try {
    fs.rmdirSync(fs.mkdtempSync(nodePath.join(dir, '.bubble-probe-')));
    return undefined;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
}

/**
 * SQLITE_CANTOPEN and SQLITE_READONLY say little: ask the file system why, with the access SQLite wanted. Besides the
 * file, WAL needs `-wal` and `-shm` files beside it: a writer always, a reader when no writer has made them.
 */
function failure(error: unknown, path: string, readonly: boolean): StoreError {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_READONLY'))) {
    const read = openErrno(path, 'r');
    if (read !== undefined) return storeErrorFrom(read, path, 'open');
    if (!readonly) {
      const write = openErrno(path, 'r+');
      if (write !== undefined) return readonlyFailure(path, write);
    }
    const dir = nodePath.dirname(path);
    const create = createErrno(dir);
    if (create !== undefined) {
      const base = nodePath.basename(path);
      const rofs = create.code === 'EROFS';
      return new StoreError(
        path,
        rofs ? 'readonly' : 'permission',
        `cannot open ${safeText(path)}: SQLite needs to create ${safeText(base)}-wal and -shm beside it, but ${rofs ? 'its file system is mounted read-only' : 'its directory is not writable'}; copy it to a writable disk or pass another --db`,
        { cause: error },
      );
    }
  }
  return storeErrorFrom(error, path, readonly ? 'read' : 'open');
}

function readonlyFailure(path: string, cause: NodeJS.ErrnoException | undefined): StoreError {
  const why = cause?.code === 'EROFS' ? 'its file system is mounted read-only' : 'the file is read-only (chmod u+w it)';
  return new StoreError(path, 'readonly', `cannot write ${safeText(path)}: ${why}; pass --db on a writable disk`, { cause });
}

/** Tells what the file is, refuses what is not ours, then sets the connection up and migrates (writers only). */
function prepare(db: Database.Database, path: string, readonly: boolean, quickCheck: boolean): void {
  const p = safeText(path);
  // The first read checks the header: random bytes give SQLITE_NOTADB, a truncated file SQLITE_CORRUPT (its header
  // counts more pages than the file holds). Both surface here, mapped by the caller.
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  const tables = db.prepare(`SELECT count(*) FROM sqlite_schema`).pluck().get() as number;
  // SQLite silently falls back to read-only when O_RDWR fails (EACCES, EROFS); it shows once the file was read.
  if (!readonly && db.readonly) throw readonlyFailure(path, openErrno(path, 'r+'));
  const ours = appId === APPLICATION_ID;
  const fresh = appId === 0 && version === 0 && tables === 0; // a zero-byte or empty SQLite file: becomes a store
  if (!ours && !fresh) throw foreignError(path);
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      path,
      'newer',
      `${p} was written by a newer bubble (schema ${version}, this one knows ${SCHEMA_VERSION}): upgrade bubble or use another --db`,
    );
  }
  if (quickCheck) {
    const result = db.pragma('quick_check', { simple: true }) as string;
    if (result !== 'ok') {
      throw new StoreError(path, 'corrupt', `${p} is corrupt (${safeText(result)}): move it aside (a new store is then created) or pass another --db`);
    }
  }
  if (readonly) {
    if (fresh || version === 0) {
      throw new StoreError(path, 'missing', `${p} holds no recording yet: record into it first (bubble record --db ${p}) or pass another --db`);
    }
    if (version < SCHEMA_VERSION) {
      throw new StoreError(
        path,
        'older',
        `${p} has an older schema (${version}, this one knows ${SCHEMA_VERSION}): open it once for writing (bubble record) to upgrade it, or pass another --db`,
      );
    }
    return;
  }

  const mode = db.pragma('journal_mode = WAL', { simple: true }) as string;
  if (mode !== 'wal') {
    throw new StoreError(path, 'io', `cannot switch ${p} to WAL mode (it stays in ${mode} mode): pass --db on a local disk`);
  }
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  // SQLite gives -wal and -shm the database file's mode; chmod anyway so no umask or older file can widen them.
  for (const suffix of ['-wal', '-shm']) {
    try {
      fs.chmodSync(path + suffix, FILE_MODE);
    } catch {
      // absent (not yet written) or not ours to chmod: SQLite's own mode copy applies
    }
  }
}

/**
 * Applies the migrations not yet applied, each in its own BEGIN IMMEDIATE transaction that rereads user_version
 * first: two bubbles opening a new file at once serialise here instead of both running migration 1.
 */
function migrate(db: Database.Database): void {
  const step = db.transaction((): boolean => {
    const version = db.pragma('user_version', { simple: true }) as number;
    const sql = MIGRATIONS[version];
    if (sql === undefined) return false;
    db.exec(sql);
    if (version === 0) db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while (step.immediate()) {
    // next migration
  }
}
