/**
 * One recorder per store file. Two recorders would both roll up and write the same buckets (primary key clashes,
 * doubled exits), so `bubble record` takes this lock and a second one refuses with one line naming the holder.
 *
 * The lock is a few rows in `meta`, written in a BEGIN IMMEDIATE transaction (so two starting recorders serialise).
 * It names the holder by pid *and* its start time from /proc/PID/stat: after a kill -9 or a reboot the pid may belong
 * to another process, which must not be mistaken for the holder. A holder that is gone (or a zombie) leaves a stale
 * lock, taken over silently. SQLite's own file locks could not do this: WAL readers and writers share the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseStat } from '../collectors/procfs.js';
import { StoreError, storeErrorFrom } from '../errors/store-error.js';
import { safeText } from '../format.js';
import type { Store } from './database.js';

export interface LockHolder {
  readonly pid: number;
  /** Start time of the process in clock ticks since boot (/proc/PID/stat field 22); -1 when unknown. */
  readonly startTicks: number;
  readonly host: string;
  /** When it took the lock, epoch ms. */
  readonly since: number;
  /**
   * What holds it: `record` (and `serve`) hold it for good; `top` records only while no recorder runs and hands the
   * store over when one asks (requestHandover()). Locks written before roles existed read as `record`.
   */
  readonly role: LockRole;
}

export type LockRole = 'record' | 'top';

export interface RecorderLock extends LockHolder {
  /** Clears the lock if it is still ours (not taken over since). Idempotent; a closed store is left alone. */
  release(): void;
}

export interface LockOptions {
  /** The recording process; default this one. */
  readonly pid?: number;
  /** Epoch ms for `recorder_since`; default Date.now(). */
  readonly now?: number;
  readonly host?: string;
  /** Where to look the holder up; default '/proc'. */
  readonly procRoot?: string;
  /**
   * Take the lock even from a live holder or one on another host. For an operator who knows better (a lock left by a
   * host that was renamed or a container that is gone): another host's processes cannot be checked from here.
   */
  readonly force?: boolean;
  /** @default 'record' */
  readonly role?: LockRole;
}

const KEYS = {
  pid: 'recorder_pid',
  start: 'recorder_start',
  host: 'recorder_host',
  since: 'recorder_since',
  role: 'recorder_role',
  handover: 'handover_request',
} as const;

/** Start time (clock ticks since boot) and whether the process can still run; undefined when it does not exist. */
export function processStart(pid: number, procRoot = '/proc'): { startTicks: number; zombie: boolean } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`${procRoot}/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // ENOENT/ESRCH: gone
  }
  const stat = parseStat(text);
  if (stat === undefined) return undefined;
  return { startTicks: stat.startTicks, zombie: stat.state === 'Z' || stat.state === 'X' };
}

/** The current holder as stored, or undefined when the store holds no lock (whether or not the holder lives). */
export function readRecorderLock(store: Store): LockHolder | undefined {
  const rows = store.db.prepare(`SELECT key, value FROM meta WHERE key IN (?, ?, ?, ?, ?)`).all(KEYS.pid, KEYS.start, KEYS.host, KEYS.since, KEYS.role) as {
    key: string;
    value: string;
  }[];
  const map = new Map(rows.map((r) => [r.key, r.value]));
  const pid = Number(map.get(KEYS.pid));
  if (!map.has(KEYS.pid) || !Number.isInteger(pid) || pid <= 0) return undefined;
  return {
    pid,
    startTicks: map.has(KEYS.start) ? Number(map.get(KEYS.start)) : -1,
    host: map.get(KEYS.host) ?? '',
    since: Number(map.get(KEYS.since) ?? 0),
    role: map.get(KEYS.role) === 'top' ? 'top' : 'record',
  };
}

/** A holder on this host whose pid runs with the same start time. Another host's holder counts as alive. */
export function holderAlive(holder: LockHolder, host: string, procRoot = '/proc'): boolean {
  if (holder.host !== host) return true;
  const now = processStart(holder.pid, procRoot);
  return now !== undefined && !now.zombie && now.startTicks === holder.startTicks;
}

function sameHolder(a: LockHolder, b: LockHolder): boolean {
  return a.pid === b.pid && a.startTicks === b.startTicks && a.host === b.host;
}

/** Takes the recorder lock of a writable store, or throws StoreError 'locked' naming the live holder. */
export function acquireRecorderLock(store: Store, options: LockOptions = {}): RecorderLock {
  if (store.readonly) throw new TypeError(`acquireRecorderLock needs a writable store; ${store.path} was opened read-only`);
  const procRoot = options.procRoot ?? '/proc';
  const pid = options.pid ?? process.pid;
  const host = options.host ?? os.hostname();
  const me: LockHolder = {
    pid,
    startTicks: processStart(pid, procRoot)?.startTicks ?? -1,
    host,
    since: options.now ?? Date.now(),
    role: options.role ?? 'record',
  };
  const { db } = store;
  const take = db.transaction(() => {
    const holder = readRecorderLock(store);
    if (holder !== undefined && !sameHolder(holder, me) && !options.force && holderAlive(holder, host, procRoot)) {
      const where = holder.host === host ? '' : ` on host ${safeText(holder.host)}`;
      throw new StoreError(
        store.path,
        'locked',
        `another bubble record (pid ${holder.pid}${where}) is writing ${safeText(store.path)}; stop it first or pass another --db`,
      );
    }
    const put = db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    put.run(KEYS.pid, String(me.pid));
    put.run(KEYS.start, String(me.startTicks));
    put.run(KEYS.host, me.host);
    put.run(KEYS.since, String(me.since));
    put.run(KEYS.role, me.role);
    db.prepare(`DELETE FROM meta WHERE key = ?`).run(KEYS.handover);
  });
  try {
    take.immediate();
  } catch (error) {
    throw storeErrorFrom(error, store.path, 'write');
  }

  let released = false;
  return {
    ...me,
    release() {
      if (released || !db.open) return;
      released = true;
      const clear = db.transaction(() => {
        const holder = readRecorderLock(store);
        if (holder === undefined || !sameHolder(holder, me)) return; // taken over (forced): not ours to clear
        db.prepare(`DELETE FROM meta WHERE key IN (?, ?, ?, ?, ?)`).run(KEYS.pid, KEYS.start, KEYS.host, KEYS.since, KEYS.role);
      });
      try {
        clear.immediate();
      } catch (error) {
        throw storeErrorFrom(error, store.path, 'write');
      }
    },
  };
}

/**
 * Asks the holder (a `top`, which records only while no recorder runs) to hand the store over: it finishes its
 * buckets, releases the lock and goes on reading. The requester then polls acquireRecorderLock().
 */
export function requestHandover(store: Store, pid = process.pid): void {
  try {
    store.db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`).run(KEYS.handover, String(pid));
  } catch (error) {
    throw storeErrorFrom(error, store.path, 'write');
  }
}

/** The pid of a recorder waiting for the store, when one asked (the holder checks this every tick). */
export function handoverRequest(store: Store): number | undefined {
  const row = store.db.prepare(`SELECT value FROM meta WHERE key = ?`).get(KEYS.handover) as { value: string } | undefined;
  const pid = Number(row?.value);
  return row !== undefined && Number.isInteger(pid) && pid > 0 ? pid : undefined;
}
