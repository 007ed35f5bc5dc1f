/**
 * openStore against real SQLite files in temp dirs: modes, WAL, migrations, and every kind of file it must refuse
 * with one clear line (newer, foreign, random bytes, truncated, read-only, no permission, full disk).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError, storeErrorFrom } from '../../src/errors/store-error.js';
import { openStore, type Store } from '../../src/store/database.js';
import { defaultConfigPath, defaultDbPath, defaultInstancesDir } from '../../src/store/paths.js';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';
import { isRoot, needReal } from '../helpers/real.js';

let tmp: string;
const opened: Store[] = [];
const mounts: string[] = [];

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-store-'));
});

afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  for (const dir of mounts.splice(0)) execFileSync('umount', [dir]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function open(file: string, options?: Parameters<typeof openStore>[1]): Store {
  const store = openStore(file, options);
  opened.push(store);
  return store;
}

/** The StoreError openStore throws, or a test failure when it opens. */
function refusal(file: string, options?: Parameters<typeof openStore>[1]): StoreError {
  try {
    open(file, options);
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error(`${file} opened, a StoreError was expected`);
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** A store holding `containers` containers with `processes` processes each and second-tier rows for `seconds` s. */
function fillStore(file: string, containers: number, processes: number, seconds: number): void {
  const store = openStore(file);
  const { db } = store;
  const insC = db.prepare(`INSERT INTO containers (key, kind, cid, name, cgroup, first_seen, last_seen) VALUES (?, 'docker', ?, ?, ?, 0, ?)`);
  const insP = db.prepare(
    `INSERT INTO processes (container_id, pid, start_time, ppid, comm, exe, cmdline, uid, user, first_seen, last_seen)
     VALUES (?, ?, ?, 1, 'worker', '/usr/bin/worker', ?, 0, 'root', 0, ?)`,
  );
  const insCS = db.prepare(
    `INSERT INTO container_series (tier, bucket, container_id, cpu_ns, mem_avg, mem_max, read_bytes, write_bytes, samples)
     VALUES (0, ?, ?, ?, 1000, 2000, 10, 20, 1)`,
  );
  const insPS = db.prepare(
    `INSERT INTO process_series (tier, bucket, process_id, cpu_ns, rss_avg, rss_max, read_bytes, write_bytes, threads_max, samples)
     VALUES (0, ?, ?, ?, 100, 200, 1, 2, 4, 1)`,
  );
  db.transaction(() => {
    for (let c = 0; c < containers; c++) {
      const cid = Number(insC.run(`docker:c${c}`, `c${c}`, `web-${c}`, `/docker/c${c}`, seconds * 1000).lastInsertRowid);
      for (let s = 0; s < seconds; s++) insCS.run(s * 1000, cid, s * 1_000_000);
      for (let p = 0; p < processes; p++) {
        const pid = Number(insP.run(cid, 1000 + c * processes + p, 42, `worker --id ${c}.${p} ${'x'.repeat(100)}`, seconds * 1000).lastInsertRowid);
        for (let s = 0; s < seconds; s++) insPS.run(s * 1000, pid, s * 1000 + p);
      }
    }
  })();
  store.close();
}

function canMount(): boolean {
  if (!isRoot) return false;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'none', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir]);
    return true;
  } catch {
    return false;
  } finally {
    fs.rmdirSync(dir);
  }
}
const mountable = canMount();
const mountWhy = isRoot ? 'mount -t tmpfs is not permitted here (no CAP_SYS_ADMIN?)' : 'mounting a tmpfs needs root';

function mountTmpfs(dir: string, options: string): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'none', dir]);
  mounts.unshift(dir);
}

/** Runs fn as nobody (effective ids only, restored before returning): real EACCES without a child process. */
function asNobody<T>(fn: () => T): T {
  const { setegid, seteuid } = process;
  if (setegid === undefined || seteuid === undefined) throw new Error('seteuid is not available on this platform');
  setegid(65534);
  seteuid(65534);
  try {
    return fn();
  } finally {
    seteuid(0);
    setegid(0);
  }
}

describe('defaultDbPath / defaultConfigPath', () => {
  it('is /var/lib for root and XDG state for users, falling back to ~/.local/state', () => {
    expect(defaultDbPath({}, 0)).toBe('/var/lib/bubble/bubble.db');
    expect(defaultDbPath({ XDG_STATE_HOME: '/xdg/state', HOME: '/home/u' }, 1000)).toBe('/xdg/state/bubble/bubble.db');
    expect(defaultDbPath({ HOME: '/home/u' }, 1000)).toBe('/home/u/.local/state/bubble/bubble.db');
    // The XDG spec says a relative path is invalid and must be ignored.
    expect(defaultDbPath({ XDG_STATE_HOME: 'rel', HOME: '/home/u' }, 1000)).toBe('/home/u/.local/state/bubble/bubble.db');
    expect(defaultConfigPath({}, 0)).toBe('/etc/bubble/config.json');
    expect(defaultConfigPath({ XDG_CONFIG_HOME: '/xdg/conf', HOME: '/home/u' }, 1000)).toBe('/xdg/conf/bubble/config.json');
    expect(defaultConfigPath({ HOME: '/home/u' }, 1000)).toBe('/home/u/.config/bubble/config.json');
  });

  it('BUBBLE_DB and BUBBLE_CONFIG move the defaults when absolute; the test setup points them at a private path', () => {
    expect(defaultDbPath({ BUBBLE_DB: '/tmp/x/b.db' }, 0)).toBe('/tmp/x/b.db');
    expect(defaultDbPath({ BUBBLE_DB: 'rel.db' }, 0)).toBe('/var/lib/bubble/bubble.db');
    expect(defaultConfigPath({ BUBBLE_CONFIG: '/tmp/x/c.json' }, 0)).toBe('/tmp/x/c.json');
    expect(defaultDbPath()).toMatch(/\/bubble-test-default-store-\d+\/bubble\.db$/);
    expect(defaultConfigPath()).toMatch(/\/bubble-test-default-store-\d+\/config\.json$/);
  });

  it('running bubbles register in /run/bubble/instances as root, under BUBBLE_RUN_DIR when absolute, nowhere for users', () => {
    expect(defaultInstancesDir({}, 0)).toBe('/run/bubble/instances');
    expect(defaultInstancesDir({ BUBBLE_RUN_DIR: '/tmp/r' }, 0)).toBe('/tmp/r/instances');
    expect(defaultInstancesDir({ BUBBLE_RUN_DIR: 'rel' }, 0)).toBe('/run/bubble/instances');
    expect(defaultInstancesDir({ HOME: '/home/u' }, 1000)).toBeUndefined();
    expect(defaultInstancesDir()).toMatch(/\/bubble-test-default-store-\d+\/run\/instances$/);
  });
});

describe('openStore: creating and reopening', () => {
  it('creates the file 0600 in new 0700 directories, WAL files 0600, whatever the umask', () => {
    // 0 would leave group/other bits if bubble relied on it; 0o277 strips the owner's own write bit: the modes must
    // come out exact either way (chmod after create).
    for (const umask of [0, 0o277]) {
      const old = process.umask(umask);
      try {
        const top = path.join(tmp, `state-${umask.toString(8)}`);
        const file = path.join(top, 'bubble', 'bubble.db');
        const store = open(file);
        store.db.prepare(`INSERT INTO meta (key, value) VALUES ('k', 'v')`).run();
        expect(mode(top)).toBe(0o700);
        expect(mode(path.join(top, 'bubble'))).toBe(0o700);
        expect(mode(file)).toBe(0o600);
        expect(mode(`${file}-wal`)).toBe(0o600);
        expect(mode(`${file}-shm`)).toBe(0o600);
        expect(mode(tmp)).toBe(0o700); // mkdtemp's own mode: an existing directory is left as it was
      } finally {
        process.umask(old);
      }
    }
  });

  it('leaves an existing directory alone', () => {
    fs.chmodSync(tmp, 0o755);
    open(path.join(tmp, 'bubble.db'));
    expect(mode(tmp)).toBe(0o755);
    expect(mode(path.join(tmp, 'bubble.db'))).toBe(0o600);
  });

  it('sets WAL, synchronous=NORMAL, foreign keys, busy timeout, application_id and user_version', () => {
    const file = path.join(tmp, 'bubble.db');
    const store = open(file, { busyTimeoutMs: 1234 });
    const { db } = store;
    expect(store.readonly).toBe(false);
    expect(store.path).toBe(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    expect(db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).pluck().all();
    expect(tables).toEqual([
      'container_series',
      'containers',
      'file_access',
      'meta',
      'net_access',
      'process_commands',
      'process_series',
      'processes',
      'sessions',
      'syscall_errors',
    ]);
  });

  it("upgrades a schema-1 store: access rows get an unknown fd, deleted paths lose the kernel's suffix", () => {
    const file = path.join(tmp, 'v1.db');
    const raw = new Database(file);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    raw.exec(MIGRATIONS[0]!);
    raw.pragma('user_version = 1');
    raw.exec(`INSERT INTO file_access (process_id, path, mode, deleted, first_seen, last_seen, opens, source) VALUES
                (1, '/tmp/gone (deleted)', 'w', 1, 0, 0, 1, 'procfs'),
                (1, '/tmp/named (deleted)', 'r', 0, 0, 0, 1, 'procfs'),
                (1, '/etc/hosts', 'r', 0, 0, 0, 1, 'procfs')`);
    raw.close();
    const store = open(file);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(store.db.prepare('SELECT fd, path, deleted FROM file_access ORDER BY id').all()).toEqual([
      { fd: null, path: '/tmp/gone', deleted: 1 },
      // A file really named so, not unlinked: its name stays.
      { fd: null, path: '/tmp/named (deleted)', deleted: 0 },
      { fd: null, path: '/etc/hosts', deleted: 0 },
    ]);
  });

  it('reopens with its data, migrating nothing twice; close is idempotent', () => {
    const file = path.join(tmp, 'bubble.db');
    fillStore(file, 2, 3, 5);
    const store = open(file);
    expect(store.db.prepare(`SELECT count(*) FROM process_series`).pluck().get()).toBe(2 * 3 * 5);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    store.close();
    store.close();
    expect(store.db.open).toBe(false);
    // The last writer's close checkpoints the WAL into the file and removes it.
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  it('turns an empty zero-byte file into a store', () => {
    const file = path.join(tmp, 'empty.db');
    fs.writeFileSync(file, '');
    const store = open(file);
    expect(store.db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  });

  it('opens a store that a kill -9 left with its -wal file, committed rows intact', () => {
    const file = path.join(tmp, 'bubble.db');
    open(file).close();
    // A child process writes a committed transaction and dies by SIGKILL before closing: the -wal stays behind.
    const script = `
      const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
      const db = new Database(${JSON.stringify(file)});
      db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL');
      db.prepare("INSERT INTO meta (key, value) VALUES ('survivor', 'yes')").run();
      db.exec('BEGIN'); db.prepare("INSERT INTO meta (key, value) VALUES ('in-flight', 'no')").run();
      process.kill(process.pid, 'SIGKILL');`;
    try {
      execFileSync(process.execPath, ['-e', script], { stdio: 'ignore' });
    } catch (error) {
      expect((error as { signal?: string }).signal).toBe('SIGKILL');
    }
    expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0);
    const store = open(file, { quickCheck: true });
    expect(store.db.prepare(`SELECT key FROM meta ORDER BY key`).pluck().all()).toEqual(['survivor']);
  });
});

describe('openStore: refusing what it must not use', () => {
  it('refuses a store from a newer bubble with one line naming both versions', () => {
    const file = path.join(tmp, 'bubble.db');
    open(file).close();
    const raw = new Database(file);
    const newer = SCHEMA_VERSION + 1;
    raw.pragma(`user_version = ${newer}`);
    raw.close();
    for (const readonly of [false, true]) {
      const error = refusal(file, { readonly });
      expect(error.reason).toBe('newer');
      expect(error.path).toBe(file);
      expect(error.exitCode).toBe(1);
      expect(error.message).toBe(
        `${file} was written by a newer bubble (schema ${newer}, this one knows ${SCHEMA_VERSION}): upgrade bubble or use another --db`,
      );
    }
  });

  it("refuses another application's SQLite file without touching it", () => {
    const file = path.join(tmp, 'notes.db');
    const raw = new Database(file);
    raw.exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')`);
    raw.close();
    const before = fs.readFileSync(file);
    const error = refusal(file);
    expect(error.reason).toBe('foreign');
    expect(error.message).toBe(`${file} is not a bubble store (another SQLite file or not SQLite at all): pass another --db path`);
    expect(fs.readFileSync(file).equals(before)).toBe(true); // not switched to WAL, not migrated
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    expect(refusal(file, { readonly: true }).reason).toBe('foreign');
  });

  it("refuses another application's SQLite file that sets its own application_id, even without tables", () => {
    const file = path.join(tmp, 'other.db');
    const raw = new Database(file);
    raw.pragma('application_id = 1234');
    raw.close();
    expect(refusal(file).reason).toBe('foreign');
  });

  it('calls random bytes "not a bubble store", never "corrupt": it is likely the wrong --db, not a damaged store', () => {
    const file = path.join(tmp, 'random.db');
    const bytes = randomBytes(64 * 1024);
    fs.writeFileSync(file, bytes);
    for (const readonly of [false, true]) {
      const error = refusal(file, { readonly });
      expect(error.reason).toBe('foreign');
      expect(error.message).toContain(`${file} is not a bubble store`);
      expect(error.cause).toMatchObject({ code: 'SQLITE_NOTADB' });
    }
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  });

  it('calls an SQLite header followed by garbage corrupt', () => {
    const file = path.join(tmp, 'garbage.db');
    fs.writeFileSync(file, Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), randomBytes(16 * 1024)]));
    const error = refusal(file);
    expect(error.reason).toBe('corrupt');
    expect(error.message).toMatch(new RegExp(`^${file} is corrupt \\(.+\\): move it aside \\(a new store is then created\\) or pass another --db$`));
  });

  it('refuses a store truncated to half, writer and reader alike, on open', () => {
    const file = path.join(tmp, 'bubble.db');
    fillStore(file, 4, 10, 60);
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(100_000);
    fs.truncateSync(file, Math.floor(size / 2));
    for (const readonly of [false, true]) {
      const error = refusal(file, { readonly });
      expect(error.reason).toBe('corrupt');
      expect(error.message).toContain(`${file} is corrupt (database disk image is malformed)`);
    }
  });

  it('finds a damaged page with quickCheck, cheaply for a 10 MB store', () => {
    const file = path.join(tmp, 'bubble.db');
    fillStore(file, 4, 60, 1800);
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(10 * 1024 * 1024);
    let started = performance.now();
    open(file, { readonly: true }).close();
    const plain = performance.now() - started;
    started = performance.now();
    open(file, { quickCheck: true, readonly: true }).close();
    const elapsed = performance.now() - started;
    // Measured ~75 ms (a plain open: under 1 ms) on a 2-core VM; the bound leaves room for a loaded CI box, not for a full-file rewrite.
    expect(elapsed).toBeLessThan(1000);
    console.log(`open of a ${(size / 1048576).toFixed(1)} MiB store: ${plain.toFixed(1)} ms, with quick_check ${elapsed.toFixed(1)} ms`);

    // Zero a page in the middle (not the header): the file still opens cheaply, quick_check finds it.
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096), 0, 4096, Math.floor(size / 2 / 4096) * 4096);
    fs.closeSync(fd);
    const error = refusal(file, { quickCheck: true });
    expect(error.reason).toBe('corrupt');
    expect(error.message).toMatch(new RegExp(`^${file} is corrupt \\(`));
  });

  it('a missing file: created by writers, refused for readers and create: false', () => {
    const file = path.join(tmp, 'nothing', 'bubble.db');
    const error = refusal(file, { readonly: true });
    expect(error.reason).toBe('missing');
    expect(error.message).toBe(`${file} does not exist: record into it first (bubble record --db ${file}) or pass another --db`);
    expect(fs.existsSync(path.dirname(file))).toBe(false); // a reader creates nothing
    expect(refusal(file, { create: false }).reason).toBe('missing');
  });

  it('tells a reader that an empty file holds no recording yet', () => {
    const file = path.join(tmp, 'empty.db');
    fs.writeFileSync(file, '');
    const error = refusal(file, { readonly: true });
    expect(error.reason).toBe('missing');
    expect(error.message).toContain('holds no recording yet');
  });

  it('refuses a directory', () => {
    const error = refusal(tmp);
    expect(error.reason).toBe('foreign');
    expect(error.message).toBe(`${tmp} is a directory, not a bubble store: pass a file path with --db`);
  });

  it('escapes control characters of the path in the message', () => {
    const file = path.join(tmp, 'evil\u001b[31m.db');
    fs.writeFileSync(file, 'not sqlite at all, just text');
    const error = refusal(file);
    expect(error.message).not.toContain('\u001b');
    expect(error.message).toContain('evil\\e[31m.db');
    expect(error.path).toBe(file);
  });
});

describe('openStore: a store others may read or write', () => {
  it('is made 0600 again on open, by writers and readers, -wal and -shm too', () => {
    const file = path.join(tmp, 'bubble.db');
    open(file).close();
    fs.chmodSync(file, 0o666);
    open(file).close();
    expect(mode(file)).toBe(0o600);
    fs.chmodSync(file, 0o644);
    const reader = open(file, { readonly: true });
    expect(mode(file)).toBe(0o600);
    reader.close();
    // A writer left its WAL files behind (kill -9) with a loose mode: they are private again too.
    const writer = open(file);
    writer.db.prepare(`INSERT INTO meta (key, value) VALUES ('k', 'v')`).run();
    for (const suffix of ['-wal', '-shm']) fs.chmodSync(file + suffix, 0o666);
    const second = openStore(file, { readonly: true });
    for (const suffix of ['-wal', '-shm']) expect(mode(file + suffix)).toBe(0o600);
    second.close();
  });

  it('refuses a writer that cannot make it private with one line; a reader still reads', (ctx) => {
    needReal(ctx, 'root', isRoot, 'switching the effective uid to nobody needs root');
    const file = path.join(tmp, 'bubble.db');
    open(file).close();
    fs.chmodSync(tmp, 0o777);
    fs.chmodSync(file, 0o666);
    const error = asNobody(() => refusal(file));
    expect(error.reason).toBe('permission');
    expect(error.message).toBe(`${file} is open to other users (mode 0666) and only its owner can make it private: chmod 600 ${file}, or pass another --db`);
    expect(mode(file)).toBe(0o666);
    asNobody(() => open(file, { readonly: true }).close());
    expect(mode(file)).toBe(0o666);
  });
});

describe('openStore: permissions (real EACCES as nobody)', () => {
  it('refuses what nobody may not read or write, and falls back to nothing silently', (ctx) => {
    needReal(ctx, 'root', isRoot, 'switching the effective uid to nobody needs root');
    const file = path.join(tmp, 'bubble.db');
    open(file).close();
    // The temp dir is 0700 root: nobody cannot even look inside.
    const hidden = asNobody(() => refusal(file, { readonly: true }));
    expect(hidden.reason).toBe('permission');
    expect(hidden.message).toBe(`cannot open ${file}: permission denied; run as its owner (sudo for the system store) or pass another --db`);

    // A visible directory, the store 0600 root: still no.
    fs.chmodSync(tmp, 0o755);
    expect(asNobody(() => refusal(file)).reason).toBe('permission');
    expect(asNobody(() => refusal(file, { readonly: true })).reason).toBe('permission');

    // Readable but not writable (0644): a writer is refused instead of silently getting a read-only connection.
    fs.chmodSync(file, 0o644);
    const readOnlyFile = asNobody(() => refusal(file));
    expect(readOnlyFile.reason).toBe('readonly');
    expect(readOnlyFile.message).toBe(`cannot write ${file}: the file is read-only (chmod u+w it); pass --db on a writable disk`);

    // Creating in a directory nobody may not write.
    const error = asNobody(() => refusal(path.join(tmp, 'new', 'bubble.db')));
    expect(error.reason).toBe('permission');
    expect(error.message).toContain(`cannot create ${path.join(tmp, 'new', 'bubble.db')}: permission denied`);
  });
});

describe('openStore: read-only file systems and a full disk (real tmpfs mounts)', () => {
  it('cannot create a store on a read-only file system', (ctx) => {
    needReal(ctx, 'tmpfs mount', mountable, mountWhy);
    const dir = path.join(tmp, 'ro');
    mountTmpfs(dir, 'size=1m,ro');
    const file = path.join(dir, 'bubble.db');
    const error = refusal(file);
    expect(error.reason).toBe('readonly');
    expect(error.message).toBe(`cannot create ${file}: the directory is read-only; pass --db on a writable disk`);
    expect(refusal(path.join(dir, 'sub', 'bubble.db')).reason).toBe('readonly');
  });

  it('refuses to write a store on a file system remounted read-only; a reader gets a clear line too', (ctx) => {
    needReal(ctx, 'tmpfs mount', mountable, mountWhy);
    const dir = path.join(tmp, 'rw');
    mountTmpfs(dir, 'size=4m');
    const file = path.join(dir, 'bubble.db');
    fillStore(file, 1, 2, 10);
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    const error = refusal(file);
    expect(error.reason).toBe('readonly');
    expect(error.message).toBe(`cannot write ${file}: its file system is mounted read-only; pass --db on a writable disk`);
    // A reader of a WAL file needs a -shm file; with no writer running none exists, and none can be made here.
    const reader = refusal(file, { readonly: true });
    expect(reader.reason).toBe('readonly');
    expect(reader.message).toBe(
      `cannot open ${file}: SQLite needs to create bubble.db-wal and -shm beside it, but its file system is mounted read-only; copy it to a writable disk or pass another --db`,
    );
  });

  it('maps a full disk to one line with reason full, and the file still opens afterwards', (ctx) => {
    needReal(ctx, 'tmpfs mount', mountable, mountWhy);
    const dir = path.join(tmp, 'small');
    mountTmpfs(dir, 'size=512k');
    const file = path.join(dir, 'bubble.db');
    const store = open(file);
    const insert = store.db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?)`);
    let failure: unknown;
    try {
      for (let i = 0; i < 10_000; i++) insert.run(`k${i}`, 'x'.repeat(8000));
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeDefined();
    const error = storeErrorFrom(failure, file, 'write');
    expect(error.reason).toBe('full');
    expect(error.message).toBe(`cannot write ${file}: the disk is full; free space (bubble clean --days N) or pass --db on another disk`);
    store.close();
    const again = open(file, { quickCheck: true });
    expect(again.db.prepare(`SELECT count(*) FROM meta`).pluck().get()).toBeGreaterThan(0);
  });
});

describe('openStore: a reader while a writer writes', () => {
  it('opens read-only during an open write transaction, sees committed rows only, and cannot write', () => {
    const file = path.join(tmp, 'bubble.db');
    const writer = open(file);
    writer.db.prepare(`INSERT INTO meta (key, value) VALUES ('committed', '1')`).run();
    writer.db.exec('BEGIN IMMEDIATE');
    writer.db.prepare(`INSERT INTO meta (key, value) VALUES ('pending', '1')`).run();

    const started = performance.now();
    const reader = open(file, { readonly: true });
    expect(reader.readonly).toBe(true);
    expect(reader.db.prepare(`SELECT key FROM meta`).pluck().all()).toEqual(['committed']);
    expect(performance.now() - started).toBeLessThan(1000); // no busy wait behind the writer
    expect(() => reader.db.prepare(`INSERT INTO meta (key, value) VALUES ('x', 'y')`).run()).toThrow(/readonly/);

    writer.db.exec('COMMIT');
    expect(reader.db.prepare(`SELECT key FROM meta ORDER BY key`).pluck().all()).toEqual(['committed', 'pending']);
  });

  it('a second writer waits for the busy timeout, then gets reason locked', () => {
    const file = path.join(tmp, 'bubble.db');
    const first = open(file);
    const second = open(file, { busyTimeoutMs: 100 });
    first.db.exec('BEGIN IMMEDIATE');
    let failure: unknown;
    try {
      second.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      failure = error;
    }
    first.db.exec('ROLLBACK');
    const error = storeErrorFrom(failure, file, 'write');
    expect(error.reason).toBe('locked');
    expect(error.message).toContain(`${file} is busy`);
  });
});
