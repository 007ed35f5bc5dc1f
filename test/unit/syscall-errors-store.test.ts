/**
 * Failed syscalls in the store (syscall_errors, migration 8) on real SQLite files: snapshots carrying
 * `syscallErrors` go through the real Recorder (rollup, writer, sessions), over hours of ticks, across a process's
 * exit, a crashed session that the next one recovers, and two sessions sharing buckets. The counts of every tier must
 * add up to what went in (conserved), export and report read them back, retention and `clean` remove them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ContainerView, ProcessView, Snapshot } from '../../src/model/snapshot.js';
import type { SyscallErrorCount } from '../../src/model/syscall-errors.js';
import { openStore, type Store } from '../../src/store/database.js';
import { EXPORT_FIELDS, exportRows } from '../../src/store/export.js';
import { containerErrorLines } from '../../src/model/syscall-errors.js';
import { snapshotFromStore } from '../../src/store/history.js';
import { Recorder } from '../../src/store/recorder.js';
import { containerReport } from '../../src/store/report.js';
import { deleteContainers, pruneEntities, pruneStep } from '../../src/store/retention.js';
import { Rollup } from '../../src/store/rollup.js';
import { bucketStart, DEFAULT_RETENTION, TIER_ID, TIERS } from '../../src/store/tiers.js';

const MiB = 1024 * 1024;
const ID = 'e'.repeat(64);
const KEY = `docker:${ID}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-syscall-errors-'));
let files = 0;
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const newStore = (): Store => openStore(path.join(tmp, `s${files++}`, 'bubble.db'));

function containerView(): ContainerView {
  return {
    key: KEY,
    kind: 'docker',
    id: ID,
    name: 'failing',
    cgroup: `/docker/${ID}`,
    cpuSource: 'cgroup',
    processCount: 2,
    pressure: {},
    interval: { cpuNs: 1e6 },
  };
}

function processView(pid: number, comm: string): ProcessView {
  return {
    key: `${pid}:500`,
    pid,
    ppid: 1,
    comm,
    cmdline: comm,
    exe: `/bin/${comm}`,
    uid: 0,
    user: 'root',
    state: 'S',
    containerKey: KEY,
    kernelThread: false,
    startTimeMs: 1000,
    cpuNs: 0,
    rssBytes: MiB,
    vsizeBytes: MiB,
    memPercent: 0,
    threads: 1,
    interval: { cpuNs: 1e6 },
  };
}

/** A tick at `t`: the shell (pid 10) fails wait4 every tick, the cat (pid 11) fails openat while it lives. */
function tick(t: number, stepMs: number, catAlive: boolean, catExits: boolean): Snapshot {
  const sh = processView(10, 'sh');
  const cat = processView(11, 'cat');
  const n = 1 + (Math.floor(t / stepMs) % 7);
  const errors: SyscallErrorCount[] = [{ processKey: sh.key, syscall: 'wait4', errno: 'ECHILD', count: n }];
  if (catAlive || catExits)
    errors.push({ processKey: cat.key, syscall: 'openat', errno: 'ENOENT', count: 2 * n }, { processKey: cat.key, syscall: '1023', errno: '600', count: 1 });
  const exitedCat = { ...cat, exitedAtMs: t };
  return {
    timeMs: t,
    intervalMs: stepMs,
    host: { hostname: 'vm', ncpu: 2, memTotalBytes: 8192 * MiB, memUsedBytes: 1024 * MiB },
    containers: [containerView()],
    processes: catAlive ? [sh, cat] : catExits ? [sh, exitedCat] : [sh],
    exited: { containers: [], processes: catExits ? [exitedCat] : [] },
    gaps: [],
    syscallErrors: errors,
  };
}

/** Seconds kept a day: these tests write hours-old ticks and compare the second tier too. */
const KEEP = { ...DEFAULT_RETENTION, second: 86_400_000 };

const pairOf = (e: SyscallErrorCount): string => `${e.processKey.split(':')[0]} ${e.syscall} ${e.errno}`;

/**
 * Records ticks every `stepMs` in [from, to]; the cat exits at `catExitMs`. Returns what went in per pair, less the
 * last tick's when the session crashes (a kill -9 loses the open second).
 */
function session(store: Store, from: number, to: number, opts: { stepMs?: number; crash?: boolean; catExitMs?: number } = {}): Map<string, number> {
  const stepMs = opts.stepMs ?? 1000;
  const recorder = new Recorder(store, KEEP);
  const sent = new Map<string, number>();
  let last: Snapshot | undefined;
  for (let t = from; t <= to; t += stepMs) {
    const exitAt = opts.catExitMs ?? Infinity;
    last = tick(t, stepMs, t < exitAt, t >= exitAt && t < exitAt + stepMs);
    recorder.record(last);
    for (const e of last.syscallErrors ?? []) sent.set(pairOf(e), (sent.get(pairOf(e)) ?? 0) + e.count);
  }
  if (opts.crash !== true) recorder.finish(last);
  else for (const e of last?.syscallErrors ?? []) sent.set(pairOf(e), sent.get(pairOf(e))! - e.count);
  return sent;
}

/** Stored counts of one tier per `pid syscall errno`. */
function stored(store: Store, tier: number): Map<string, number> {
  const rows = store.db
    .prepare(
      `SELECT p.pid, e.syscall, e.errno, sum(e.count) AS n FROM syscall_errors e JOIN processes p ON p.id = e.process_id
        WHERE e.tier = ? GROUP BY p.pid, e.syscall, e.errno`,
    )
    .all(tier) as { pid: number; syscall: string; errno: string; n: number }[];
  return new Map(rows.map((r) => [`${r.pid} ${r.syscall} ${r.errno}`, r.n]));
}

const add = (a: Map<string, number>, b: Map<string, number>): Map<string, number> => {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v);
  return out;
};

/** An hour boundary `hours` ago, so the ticks lie in the past and cross hour buckets. */
const hoursAgo = (hours: number): number => bucketStart('hour', Date.now()) - hours * 3_600_000;

describe('syscall_errors: conserved through the tiers', () => {
  it('sums every tier to what went in over 2.5 hours, across a process exit, with names and numbers kept as given', () => {
    const store = newStore();
    try {
      const from = hoursAgo(3) + 1_800_000 + 500;
      const sent = session(store, from, from + 9_000_000, { stepMs: 5000, catExitMs: from + 4_000_000 });
      expect(sent.get('11 openat ENOENT')).toBeGreaterThan(1000);
      expect(sent.get('11 1023 600')).toBe(801);
      for (const tier of TIERS) expect(stored(store, TIER_ID[tier]), tier).toEqual(sent);
      // Four hour buckets (the last tick opens one), 151 minutes: the parts merged.
      const buckets = (tier: number): number =>
        store.db.prepare('SELECT count(DISTINCT bucket) FROM syscall_errors WHERE tier = ?').pluck().get(tier) as number;
      expect(buckets(TIER_ID.hour)).toBe(4);
      expect(buckets(TIER_ID.minute)).toBe(151);
      // A second row only where a pair failed: the cat's rows end with its exit.
      const lastCat = store.db
        .prepare(`SELECT max(bucket) FROM syscall_errors e JOIN processes p ON p.id = e.process_id WHERE p.pid = 11 AND e.tier = 0`)
        .pluck()
        .get() as number;
      expect(lastCat).toBe(bucketStart('second', from + 4_000_000));
    } finally {
      store.close();
    }
  });

  it("recovers a crashed session's seconds into the minute, hour and day, and two sessions' parts of a bucket add up", () => {
    const store = newStore();
    try {
      const from = hoursAgo(2) + 3_540_000;
      // Crashes mid-minute, after crossing an hour: its open minute lives only in its second rows.
      const first = session(store, from, from + 150_000, { crash: true });
      // The next session starts in the same minute: recovery folds the first one, then both add to that minute.
      const second = session(store, from + 152_000, from + 200_000);
      const sent = add(first, second);
      for (const tier of TIERS) expect(stored(store, TIER_ID[tier]), tier).toEqual(sent);
    } finally {
      store.close();
    }
  });
});

describe('syscall_errors: read back', () => {
  const store = newStore();
  const from = hoursAgo(1) + 600_500;
  const sent = session(store, from, from + 120_000, { catExitMs: from + 60_000 });
  afterAll(() => store.close());

  it('export --what errors: one row per process, syscall and errno per bucket, counts that add up, a rate over sampled time', () => {
    for (const format of ['json', 'csv'] as const) {
      let out = '';
      const n = exportRows(store.db, { what: 'errors', format, tier: 'minute', containerKeys: [KEY] }, (c) => (out += c));
      if (format === 'csv') {
        const [head, ...lines] = out.trimEnd().split('\r\n');
        expect(head).toBe(EXPORT_FIELDS.errors.join(','));
        expect(lines).toHaveLength(n);
        continue;
      }
      const rows = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(rows).toHaveLength(n);
      expect(Object.keys(rows[0]!)).toEqual(EXPORT_FIELDS.errors);
      const totals = new Map<string, number>();
      for (const r of rows) {
        expect(r['container_name']).toBe('failing');
        const key = `${r['pid']} ${r['syscall']} ${r['errno']}`;
        totals.set(key, (totals.get(key) ?? 0) + (r['count'] as number));
      }
      expect(totals).toEqual(sent);
      const full = rows.find((r) => r['pid'] === 10 && r['time'] === new Date(bucketStart('minute', from + 60_000)).toISOString())!;
      // A whole minute sampled: the rate is the count over 60 s.
      expect(full['per_second']).toBeCloseTo((full['count'] as number) / 60, 2);
    }
  });

  it("replay's snapshot of a bucket carries its failed syscalls under the processes' keys, so the TUI's pane shows the past", () => {
    const minute = bucketStart('minute', from + 60_000);
    const snapshot = snapshotFromStore(store.db, 'minute', minute)!;
    const lines = containerErrorLines(snapshot, KEY);
    const stored = store.db
      .prepare(`SELECT sum(count) FROM syscall_errors e JOIN processes p ON p.id = e.process_id WHERE e.tier = 1 AND e.bucket = ? AND p.pid = 10`)
      .pluck()
      .get(minute) as number;
    expect(stored).toBeGreaterThan(0);
    expect(lines.find((l) => l.comm === 'sh')).toMatchObject({ pid: 10, processes: 1, syscall: 'wait4', errno: 'ECHILD', count: stored });
    expect(lines.find((l) => l.comm === 'sh')!.perSecond).toBeCloseTo(stored / 60, 6);
  });

  it('report: the top failed syscalls of the container, most frequent first, with their processes and command', () => {
    const r = containerReport(store.db, KEY);
    const expected = [
      { syscall: 'wait4', errno: 'ECHILD', count: sent.get('10 wait4 ECHILD')!, processes: 1, comm: 'sh' },
      { syscall: 'openat', errno: 'ENOENT', count: sent.get('11 openat ENOENT')!, processes: 1, comm: 'cat' },
      { syscall: '1023', errno: '600', count: sent.get('11 1023 600')!, processes: 1, comm: 'cat' },
    ].sort((a, b) => b.count - a.count);
    expect(r.syscallErrors).toEqual(expected);
  });
});

describe('syscall_errors: retention and clean', () => {
  it('expires its buckets with their tier, goes with processes pruned, and `clean` removes it with the container', () => {
    const store = newStore();
    try {
      const from = hoursAgo(3) + 500;
      session(store, from, from + 180_000, { stepMs: 2000, catExitMs: from + 90_000 });
      const count = (tier: number): number => store.db.prepare('SELECT count(*) FROM syscall_errors WHERE tier = ?').pluck().get(tier) as number;
      expect(count(TIER_ID.second)).toBeGreaterThan(100);
      // An hour of seconds: these are 3 hours old.
      let done = false;
      while (!done) done = pruneStep(store.db, Date.now(), DEFAULT_RETENTION, { maxBucketsPerStep: 1000 }).done;
      expect(count(TIER_ID.second)).toBe(0);
      expect(count(TIER_ID.minute)).toBeGreaterThan(0);
      // Kept a minute of minutes and a day of days only: the exited cat goes with its rows.
      const short = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
      done = false;
      while (!done) done = pruneStep(store.db, Date.now() + 2 * 86_400_000, short, { maxBucketsPerStep: 1000 }).done;
      expect(store.db.prepare('SELECT count(*) FROM syscall_errors').pluck().get()).toBe(0);
      expect(pruneEntities(store.db, Date.now() + 2 * 86_400_000, short).processes).toBe(2);

      const again = newStore();
      try {
        session(again, from, from + 30_000);
        expect(again.db.prepare('SELECT count(*) FROM syscall_errors').pluck().get()).toBeGreaterThan(0);
        const removed = deleteContainers(again.db, { keys: [KEY] });
        expect(removed.rows).toBeGreaterThan(0);
        expect(again.db.prepare('SELECT count(*) FROM syscall_errors').pluck().get()).toBe(0);
      } finally {
        again.close();
      }
    } finally {
      store.close();
    }
  });
});

describe('Rollup: syscall errors', () => {
  it('adds the ticks of a second, emits a row per pair, and hands the minute to the hour and day as parts', () => {
    const rollup = new Rollup();
    const base = bucketStart('hour', Date.now()) + 59 * 60_000;
    const sh = processView(10, 'sh');
    const at = (t: number, count: number): Snapshot => ({
      ...tick(t, 500, false, false),
      processes: [sh],
      syscallErrors: [{ processKey: sh.key, syscall: 'wait4', errno: 'ECHILD', count }],
    });
    expect(rollup.add(at(base + 100, 3)).errors).toBeUndefined();
    expect(rollup.add(at(base + 600, 4)).errors).toBeUndefined();
    // The next second: the first second's row, 3 + 4.
    expect(rollup.add(at(base + 1100, 5)).errors).toEqual([{ tier: 'second', bucket: base, processKey: sh.key, syscall: 'wait4', errno: 'ECHILD', count: 7 }]);
    // The next minute (and hour): the second, then the minute as the minute row and the hour's and day's parts.
    const rows = rollup.add(at(base + 60_000, 1)).errors!;
    expect(rows.map((r) => [r.tier, r.count])).toEqual([
      ['second', 5],
      ['minute', 12],
      ['hour', 12],
      ['day', 12],
    ]);
    expect(rows[2]!.bucket).toBe(bucketStart('hour', base));
    expect(rollup.flush().errors?.map((r) => [r.tier, r.count])).toEqual([
      ['second', 1],
      ['minute', 1],
      ['hour', 1],
      ['day', 1],
    ]);
  });
});
