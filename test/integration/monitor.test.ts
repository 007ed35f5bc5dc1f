/**
 * The monitor's ways in and out, through the shipped bundle: `top` records what `record` records (files too), a
 * `record` started under a running `top` is handed the store, every way of stopping (SIGINT, SIGTERM twice, SIGHUP,
 * a closed terminal) writes the open buckets and releases the lock, and `top nosuch` writes nothing.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { bpfAvailability } from '../../src/collectors/bpf.js';
import { BIN, bubble, Children, startBubble } from '../helpers/cli.js';
import { isRoot, needReal } from '../helpers/real.js';
import { Tmux, tmuxAvailable } from '../helpers/tmux.js';

const tmux = tmuxAvailable();
const bpf = bpfAvailability();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-monitor-'));
const sessions: Tmux[] = [];
const children = new Children();

afterEach(() => {
  for (const t of sessions.splice(0)) t.kill();
  children.killAll();
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function top(db: string, extra = ''): Tmux {
  const t = new Tmux(`${process.execPath} ${BIN} top --db ${db} ${extra}`, 120, 30);
  sessions.push(t);
  return t;
}

/** Rows of one tier in a store (read-only, so the recorder is never blocked). */
function count(db: string, sql: string, ...params: unknown[]): number {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return (conn.prepare(sql).get(...params) as { n: number }).n;
  } finally {
    conn.close();
  }
}

const minuteRows = (db: string): number => count(db, `SELECT count(*) AS n FROM container_series WHERE tier = 1`);
const lockHeld = (db: string): boolean => count(db, `SELECT count(*) AS n FROM meta WHERE key = 'recorder_pid'`) > 0;

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('every way of stopping writes the open buckets', () => {
  for (const [name, signals] of [
    ['SIGINT', ['SIGINT']],
    ['SIGHUP', ['SIGHUP']],
    ['a second SIGTERM 5 ms after the first', ['SIGTERM', 'SIGTERM']],
  ] as const) {
    it(`record stopped by ${name}: exit 0, minute rows written, lock released`, async (ctx) => {
      needReal(ctx, 'root', isRoot, 'the store test records the real host');
      const db = path.join(tmp, `stop-${signals.length}-${signals[0]}.db`);
      const run = startBubble(['record', '--db', db, '--interval', '500ms']);
      await run.waitFor('recording');
      await sleep(1600);
      for (const [i, signal] of signals.entries()) {
        if (i > 0) await sleep(5);
        run.child.kill(signal);
      }
      const status = await run.exited();
      expect(run.stderr()).not.toMatch(/internal error|at .*\.js:\d+/);
      expect(status).toBe(0);
      // The minute was open when the signal came: only a flush writes it.
      expect(minuteRows(db)).toBeGreaterThan(0);
      expect(lockHeld(db)).toBe(false);
    });
  }
});

describe('bubble top and the store', () => {
  it('top nosuch exits 1 naming the problem and writes nothing', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    const db = path.join(tmp, 'nosuch.db');
    const t = top(db, 'nosuch-container-0f3a');
    const screen = await t.waitFor(/EXIT=\d+/);
    expect(screen).toMatch(/no container or job/);
    expect(screen).toContain('EXIT=1');
    if (fs.existsSync(db)) expect(count(db, `SELECT count(*) AS n FROM containers`)).toBe(0);
  });

  it('records open files as record does, and a closed terminal still writes the open buckets', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'root', isRoot, 'top records every process only as root');
    const db = path.join(tmp, 'top-files.db');
    const file = path.join(tmp, `held-by-sleeper-${process.pid}.txt`);
    fs.writeFileSync(file, 'x');
    // A process holding the file open for reading the whole test.
    children.start('sh', ['-c', `exec 3<${file}; sleep 60`]);
    const t = top(db);
    await t.waitFor(/recording to/);
    await sleep(2500);
    // The terminal goes away (ssh dropped): tmux sends SIGHUP.
    t.kill();
    await waitUntil(() => fs.existsSync(db) && !lockHeld(db), 10_000, 'top to release the store');
    expect(minuteRows(db)).toBeGreaterThan(0);
    const files = await bubble(['export', '--json', '--what', 'files', '--db', db]);
    expect(files.status).toBe(0);
    expect(files.stdout).toContain(file);
  });

  it('a record started under a running top is handed the store; top goes on reading and says so, bpftrace running', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'root', isRoot, 'the recorders record the real host');
    const db = path.join(tmp, 'handover.db');
    const t = top(db);
    await t.waitFor(/recording to/);
    await sleep(1200);
    const record = spawn(process.execPath, [BIN, 'record', '--db', db, '--duration', '3s', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    record.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number>((resolve) => record.on('exit', (code) => resolve(code ?? 1)));
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const screen = await t.waitFor(/history from bubble record \(pid \d+\)|recording to/);
    expect(screen).toMatch(/history from bubble record \(pid \d+\)/);
    // top keeps its own bpftrace through the hand-over (its live views need it, recording or not).
    if (bpf.ok) await t.waitFor('bpf ok', 30_000);
    // Both sessions' seconds are in the store, and top's buckets were flushed when it handed over.
    expect(minuteRows(db)).toBeGreaterThan(0);
    // The recorder is gone: top takes the store back within its retry period.
    await t.waitFor(/recording to/, 20_000);
    t.keys('q');
    await t.waitFor(/EXIT=0/);
    expect(lockHeld(db)).toBe(false);
  }, 90_000);
});
