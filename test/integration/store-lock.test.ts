/**
 * The recorder lock against real processes: a live holder (a spawned sleep, a real bubble-like child process holding
 * the lock in its own store connection), a dead one (kill -9), a zombie, and a reused pid.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors/store-error.js';
import { openStore, type Store } from '../../src/store/database.js';
import { acquireRecorderLock, processStart, readRecorderLock } from '../../src/store/lock.js';
import { ROOT } from '../helpers/cli.js';

let tmp: string;
let file: string;
const stores: Store[] = [];
const children: ChildProcess[] = [];

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-lock-'));
  file = path.join(tmp, 'bubble.db');
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
  }
  for (const store of stores.splice(0)) store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function open(): Store {
  const store = openStore(file);
  stores.push(store);
  return store;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function sleeper(): ChildProcess & { pid: number } {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  if (child.pid === undefined) throw new Error('sleep did not start');
  return child as ChildProcess & { pid: number };
}

function lockError(store: Store, options?: Parameters<typeof acquireRecorderLock>[1]): StoreError {
  try {
    acquireRecorderLock(store, options);
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error('the lock was taken, a StoreError was expected');
}

const lockedMessage = (pid: number): string => `another bubble record (pid ${pid}) is writing ${file}; stop it first or pass another --db`;

describe('acquireRecorderLock', () => {
  it('stores pid, start time, host and since; the same holder may take it again', () => {
    const store = open();
    const lock = acquireRecorderLock(store, { now: 1_700_000_000_000 });
    expect(lock.pid).toBe(process.pid);
    expect(lock.startTicks).toBe(processStart(process.pid)!.startTicks);
    expect(lock.startTicks).toBeGreaterThan(0);
    expect(lock.host).toBe(os.hostname());
    expect(lock.since).toBe(1_700_000_000_000);
    expect(readRecorderLock(store)).toEqual({ pid: lock.pid, startTicks: lock.startTicks, host: lock.host, since: lock.since, role: 'record' });
    const meta = store.db.prepare(`SELECT key, value FROM meta WHERE key LIKE 'recorder_%' ORDER BY key`).all();
    expect(meta).toEqual([
      { key: 'recorder_host', value: os.hostname() },
      { key: 'recorder_pid', value: String(process.pid) },
      { key: 'recorder_role', value: 'record' },
      { key: 'recorder_since', value: '1700000000000' },
      { key: 'recorder_start', value: String(lock.startTicks) },
    ]);
    expect(() => acquireRecorderLock(store)).not.toThrow();
  });

  it('refuses while a live process holds it, naming its pid, from another connection too', () => {
    const holder = sleeper();
    const store = open();
    acquireRecorderLock(store, { pid: holder.pid });
    const error = lockError(store);
    expect(error.reason).toBe('locked');
    expect(error.path).toBe(file);
    expect(error.message).toBe(lockedMessage(holder.pid));
    expect(lockError(open()).message).toBe(lockedMessage(holder.pid));
    expect(readRecorderLock(store)?.pid).toBe(holder.pid); // the refusal changed nothing
  });

  it('takes over silently from a holder that died (kill -9)', async () => {
    const holder = sleeper();
    const store = open();
    acquireRecorderLock(store, { pid: holder.pid });
    holder.kill('SIGKILL');
    await exited(holder);
    expect(processStart(holder.pid)).toBeUndefined();
    const lock = acquireRecorderLock(store);
    expect(lock.pid).toBe(process.pid);
    expect(readRecorderLock(store)?.pid).toBe(process.pid);
  });

  it('takes over from a reused pid: same pid, another start time', () => {
    const holder = sleeper();
    const store = open();
    const first = acquireRecorderLock(store, { pid: holder.pid });
    // What a reboot or pid wrap-around leaves: the stored pid now names a different process.
    store.db.prepare(`UPDATE meta SET value = ? WHERE key = 'recorder_start'`).run(String(first.startTicks - 1));
    expect(acquireRecorderLock(store).pid).toBe(process.pid);
  });

  it('takes over from a zombie holder (exited, not yet reaped)', async () => {
    // The background sleep exits at once; its parent exec'ed into `sleep 60` and never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(parent);
    const zombiePid = await new Promise<number>((resolve) => parent.stdout!.once('data', (data: Buffer) => resolve(Number(String(data).trim()))));
    const store = open();
    acquireRecorderLock(store, { pid: zombiePid });
    for (let i = 0; i < 100 && processStart(zombiePid)?.zombie !== true; i++) await new Promise((r) => setTimeout(r, 20));
    expect(processStart(zombiePid)?.zombie).toBe(true);
    expect(acquireRecorderLock(store).pid).toBe(process.pid);
  });

  it('treats a holder on another host as live unless forced', () => {
    const store = open();
    acquireRecorderLock(store, { pid: 1, host: 'elsewhere' });
    const error = lockError(store);
    expect(error.message).toBe(`another bubble record (pid 1 on host elsewhere) is writing ${file}; stop it first or pass another --db`);
    expect(acquireRecorderLock(store, { force: true }).host).toBe(os.hostname());
  });

  it('release clears only its own lock, once; a closed store is left alone', () => {
    const store = open();
    const lock = acquireRecorderLock(store);
    lock.release();
    expect(readRecorderLock(store)).toBeUndefined();
    lock.release();

    const mine = acquireRecorderLock(store);
    acquireRecorderLock(store, { pid: 1, host: 'elsewhere', force: true }); // taken over behind our back
    mine.release();
    expect(readRecorderLock(store)).toMatchObject({ pid: 1, host: 'elsewhere' });

    const again = acquireRecorderLock(store, { force: true });
    store.close();
    expect(() => again.release()).not.toThrow();
  });

  it('is refused on a read-only store: a programming error, not a user one', () => {
    open().close();
    const reader = openStore(file, { readonly: true });
    stores.push(reader);
    expect(() => acquireRecorderLock(reader)).toThrow(TypeError);
  });
});

describe('two recorders, real processes', () => {
  it('a second recorder is refused while the first runs, and takes over after the first is killed with -9', async () => {
    open().close();
    const script = path.join(tmp, 'recorder.ts');
    fs.writeFileSync(
      script,
      `import { openStore } from ${JSON.stringify(path.join(ROOT, 'src/store/database.js'))};
       import { acquireRecorderLock } from ${JSON.stringify(path.join(ROOT, 'src/store/lock.js'))};
       const store = openStore(process.argv[2]);
       try {
         const lock = acquireRecorderLock(store);
         process.stdout.write('locked ' + lock.pid + '\\n');
         setInterval(() => store.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('tick', ?)").run(String(Date.now())), 50);
       } catch (error) {
         process.stdout.write('refused ' + error.reason + ': ' + error.message + '\\n');
         process.exit(1);
       }`,
    );
    const run = (): { child: ChildProcess; line: Promise<string> } => {
      const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/vite-node/vite-node.mjs'), script, file], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const line = new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (data: Buffer) => {
          out += String(data);
          if (out.includes('\n')) resolve(out.trim());
        });
        child.once('exit', (code) => reject(new Error(`recorder exited (${code}) before saying anything: ${out}`)));
      });
      return { child, line };
    };

    const first = run();
    expect(await first.line).toBe(`locked ${first.child.pid}`);

    const second = run();
    expect(await second.line).toBe(`refused locked: ${lockedMessage(first.child.pid!)}`);
    await exited(second.child);
    expect(second.child.exitCode).toBe(1);

    first.child.kill('SIGKILL');
    await exited(first.child);
    const third = run();
    expect(await third.line).toBe(`locked ${third.child.pid}`);
    // The killed recorder's ticks were committed and the file opens with them.
    const reader = openStore(file, { readonly: true, quickCheck: true });
    stores.push(reader);
    expect(Number(reader.db.prepare(`SELECT value FROM meta WHERE key = 'tick'`).pluck().get())).toBeGreaterThan(0);
  });
});

// Guard against leaving a real process behind if vite-node's layout changes: fail loudly, not by timeout.
it('finds vite-node to run a child recorder', () => {
  expect(fs.existsSync(path.join(ROOT, 'node_modules/vite-node/vite-node.mjs'))).toBe(true);
  expect(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim()).not.toBe('');
});
