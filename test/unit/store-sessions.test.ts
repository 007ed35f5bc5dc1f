/**
 * The store's bucket bookkeeping across sessions, on real SQLite files: hand-made ticks go through toSnapshot and
 * the real Recorder, several Recorders (sessions) write one file, some finish and some are abandoned mid-run as a
 * kill -9 would leave them, and the readers (snapshotFromStore, seriesFromStore, export, storedRange, the TUI's
 * reducer) read them back. Times are shortly before the wall clock: the Recorder skips ticks from the future.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot, type Snapshot } from '../../src/model/snapshot.js';
import { openStore, type Store } from '../../src/store/database.js';
import { filesFromStore } from '../../src/store/access-queries.js';
import { exportRows } from '../../src/store/export.js';
import { seriesFromStore, snapshotFromStore } from '../../src/store/history.js';
import { storedRange } from '../../src/store/queries.js';
import { Recorder } from '../../src/store/recorder.js';
import { bucketStart, DEFAULT_RETENTION, TIER_ID, TIER_MS, TIERS } from '../../src/store/tiers.js';
import { initialState, reduce, type State } from '../../src/tui/state.js';

const MiB = 1024 * 1024;
const ID = 'c'.repeat(64);
const KEY = `docker:${ID}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-sessions-'));
let files = 0;

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function newStore(): Store {
  return openStore(path.join(tmp, `s${files++}`, 'bubble.db'));
}

/** A process of the container; `cpu` is its cumulative CPU in ns. */
function proc(pid: number, cpu: number): ProcessSample {
  return {
    key: `${pid}:77`,
    pid,
    startTicks: 77,
    startTimeMs: 1_000,
    ppid: 1,
    comm: `p${pid}`,
    cmdline: `p${pid}`,
    exe: `/bin/p${pid}`,
    uid: 0,
    user: 'root',
    state: 'S',
    cpuNs: cpu,
    rssBytes: 10 * MiB,
    vsizeBytes: 20 * MiB,
    threads: 1,
    readBytes: 0,
    writeBytes: cpu / 1000,
    containerKey: KEY,
    kernelThread: false,
  };
}

/**
 * The world at `timeMs`: a container burning half a core since `bornMs` (cumulative counters from then), with a
 * busy process 10 and, while `withSleeper`, an idle process 11.
 */
function sample(timeMs: number, bornMs: number, withSleeper = true): Sample {
  const cpu = Math.round((timeMs - bornMs) * 0.5e6);
  const processes = [proc(10, cpu)];
  if (withSleeper) processes.push(proc(11, 0));
  const container: ContainerSample = {
    key: KEY,
    identity: { kind: 'docker', id: ID, name: ID.slice(0, 12), cgroup: `/docker/${ID}` },
    meta: { name: 'burner', image: 'busybox' },
    cgroup: { cpuUsageNs: cpu, memoryWorkingSetBytes: 30 * MiB, ioReadBytes: cpu / 100, ioWriteBytes: cpu / 1000, pids: processes.length },
    netRxBytes: cpu / 10,
    netTxBytes: cpu / 20,
    processKeys: processes.map((p) => p.key),
  };
  return {
    timeMs,
    monoNs: timeMs * 1e6,
    host: {
      hostname: 'vm',
      ncpu: 2,
      cpuTotalTicks: timeMs / 5,
      cpuIdleTicks: timeMs / 10,
      memTotalBytes: 8192 * MiB,
      memAvailableBytes: 4096 * MiB,
      bootTimeMs: 0,
    },
    processes: new Map(processes.map((p) => [p.key, p])),
    containers: new Map([[KEY, container]]),
    gaps: [],
    // The sleeper holds a log file open.
    ...(withSleeper && { access: [{ kind: 'file', processKey: '11:77', path: '/data/log', mode: 'w', deleted: false, opens: 1, source: 'procfs' }] }),
  };
}

/**
 * One session: a Recorder records ticks every `stepMs` in [from, to]; it finishes cleanly unless `crash` (the
 * Recorder is dropped without finish(), as kill -9 leaves it: what its ticks wrote stays, its open buckets are lost).
 */
function session(
  store: Store,
  from: number,
  to: number,
  opts: { stepMs?: number; crash?: boolean; bornMs?: number; sleeper?: (t: number) => boolean } = {},
): Recorder {
  const recorder = new Recorder(store, DEFAULT_RETENTION);
  let previous: Sample | undefined;
  let last: Snapshot | undefined;
  for (let t = from; t <= to; t += opts.stepMs ?? 1000) {
    const s = sample(t, opts.bornMs ?? from - 60_000, opts.sleeper?.(t) ?? true);
    last = toSnapshot(s, previous);
    recorder.record(last);
    previous = s;
  }
  if (opts.crash !== true) recorder.finish(last);
  return recorder;
}

type Sums = { cpu: number; read: number; write: number; rx: number; tx: number; samples: number };

function sums(store: Store, table: 'container_series' | 'process_series', tier: number): Sums {
  const net = table === 'container_series' ? 'sum(net_rx_bytes) AS rx, sum(net_tx_bytes) AS tx' : '0 AS rx, 0 AS tx';
  return store.db
    .prepare(`SELECT sum(cpu_ns) AS cpu, sum(read_bytes) AS read, sum(write_bytes) AS write, ${net}, sum(samples) AS samples FROM ${table} WHERE tier = ?`)
    .get(tier) as Sums;
}

const LISTS = { containers: [KEY], processes: [], parents: [], files: 0, network: 0 };

/** A minute boundary ten minutes ago: every tick of a test lies in the past. */
const minuteAgo = (minutes: number): number => bucketStart('minute', Date.now()) - minutes * 60_000;

describe('sessions: schema and opening', () => {
  it('a Recorder that records nothing writes nothing; the first tick opens its session and finish() ends it', () => {
    const store = newStore();
    try {
      new Recorder(store, DEFAULT_RETENTION).finish(undefined);
      expect(store.db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(0);
      expect(store.db.prepare('SELECT count(*) FROM containers').pluck().get()).toBe(0);

      const t0 = minuteAgo(10) + 5_000;
      session(store, t0, t0 + 4_000);
      const rows = store.db.prepare('SELECT pid, started, last_tick, ended FROM sessions').all();
      expect(rows).toEqual([{ pid: process.pid, started: t0, last_tick: t0 + 4_000, ended: t0 + 4_000 }]);
      const columns = store.db.prepare(`SELECT name FROM pragma_table_info('container_series')`).pluck().all();
      expect(columns).toContain('sampled_ms');
    } finally {
      store.close();
    }
  });
});

describe('sessions: coarse buckets hold every session', () => {
  it('three sessions inside one minute (clean, crashed, clean) add up in the minute, hour and day; tiers conserve sums', () => {
    const store = newStore();
    try {
      const m = minuteAgo(10);
      const born = m - 60_000;
      session(store, m + 2_000, m + 14_000, { bornMs: born, stepMs: 500 });
      session(store, m + 20_000, m + 34_000, { bornMs: born, stepMs: 500, crash: true });
      // The third session's first tick recovers the crashed one before adding its own part.
      session(store, m + 40_000, m + 52_000, { bornMs: born, stepMs: 500 });

      const second = sums(store, 'container_series', TIER_ID.second);
      expect(second.cpu).toBeGreaterThan(0);
      for (const tier of ['minute', 'hour', 'day'] as const) {
        expect(sums(store, 'container_series', TIER_ID[tier]), tier).toEqual(second);
        const p = sums(store, 'process_series', TIER_ID[tier]);
        const p0 = sums(store, 'process_series', TIER_ID.second);
        expect([p.cpu, p.write], tier).toEqual([p0.cpu, p0.write]);
      }
      // Every session's ticks are in the one minute row: 25 + 29 + 25 ticks, minus the crashed session's open second
      // (its last tick was never written), and each session's first tick (no deltas) sampled nothing.
      const minute = store.db.prepare('SELECT samples, sampled_ms, cpu_ns FROM container_series WHERE tier = 1').all() as {
        samples: number;
        sampled_ms: number;
        cpu_ns: number;
      }[];
      expect(minute).toHaveLength(1);
      expect(minute[0]!.samples).toBe(25 + 28 + 25);
      expect(minute[0]!.sampled_ms).toBe((24 + 27 + 24) * 500);
      // Half a core over the sampled time.
      expect(minute[0]!.cpu_ns / (minute[0]!.sampled_ms * 1e6)).toBeCloseTo(0.5, 6);
      const ended = store.db.prepare('SELECT count(*) FROM sessions WHERE ended IS NULL').pluck().get();
      expect(ended).toBe(0);
    } finally {
      store.close();
    }
  });

  it('a session restarted within the second of the last one, then killed, still conserves every tier', () => {
    const store = newStore();
    try {
      const m = minuteAgo(10);
      const born = m - 60_000;
      session(store, m + 2_000, m + 10_250, { bornMs: born, stepMs: 250 });
      // Starts in the second the first one ended in: those ticks are left out, so no second row mixes two sessions.
      const restarted = session(store, m + 10_500, m + 16_000, { bornMs: born, stepMs: 250, crash: true });
      expect(restarted.ticks).toBe(21);
      session(store, m + 30_000, m + 32_000, { bornMs: born, stepMs: 250 });
      const second = sums(store, 'container_series', TIER_ID.second);
      for (const tier of ['minute', 'hour', 'day'] as const) expect(sums(store, 'container_series', TIER_ID[tier]), tier).toEqual(second);
      expect(store.db.prepare('SELECT started FROM sessions ORDER BY id').pluck().all()).toEqual([m + 2_000, m + 11_000, m + 30_000]);
    } finally {
      store.close();
    }
  });

  it('a crashed session is folded by the next recorder, even in another hour; its alive entities end at its last tick', () => {
    const store = newStore();
    try {
      const m = minuteAgo(90);
      // Crashes 75 s in: the first minute was folded when it closed, the second one only by recovery.
      session(store, m + 10_000, m + 85_000, { crash: true });
      const folded = store.db.prepare('SELECT count(*) FROM container_series WHERE tier = 1').pluck().get();
      expect(folded).toBe(1);
      session(store, m + 3_600_000, m + 3_605_000);
      const second = sums(store, 'container_series', TIER_ID.second);
      for (const tier of ['minute', 'hour', 'day'] as const) expect(sums(store, 'container_series', TIER_ID[tier]), tier).toEqual(second);
      // The sleeper was alive at the crashed session's last tick, and was last seen then, not a minute earlier.
      const sleeper = store.db.prepare(`SELECT last_seen, exit_time FROM processes WHERE pid = 11`).get();
      expect(sleeper).toEqual({ last_seen: m + 3_605_000, exit_time: null }); // seen again by the second session
      const sessions = store.db.prepare('SELECT last_tick, ended FROM sessions ORDER BY id').all();
      expect(sessions).toEqual([
        { last_tick: m + 85_000, ended: m + 85_000 },
        { last_tick: m + 3_605_000, ended: m + 3_605_000 },
      ]);
    } finally {
      store.close();
    }
  });
});

describe('sessions: rates over sampled seconds', () => {
  it('a partial minute reads its CPU% over the seconds it sampled, in history, the series and export', () => {
    const store = newStore();
    try {
      const m = minuteAgo(10);
      session(store, m + 30_000, m + 50_000); // 20 s of half a core, in a minute
      const snap = snapshotFromStore(store.db, 'minute', m)!;
      const c = snap.containers.find((x) => x.key === KEY)!;
      expect(c.cpuPercent).toBeCloseTo(50, 6);
      expect(c.netRxBytesPerSec).toBeCloseTo((0.5e6 * 1000) / 10, 3);
      const busy = snap.processes.find((p) => p.pid === 10)!;
      expect(busy.cpuPercent).toBeCloseTo(50, 6);
      const [point] = seriesFromStore(store.db, 'minute', m, m + 60_000, KEY);
      expect(point!.cpuPercent).toBeCloseTo(50, 6);

      let out = '';
      exportRows(store.db, { what: 'containers', format: 'json', tier: 'hour' }, (text) => (out += text));
      const [row] = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { cpu_percent: number });
      expect(row!.cpu_percent).toBeCloseTo(50, 2);
      out = '';
      exportRows(store.db, { what: 'processes', format: 'json', tier: 'minute' }, (text) => (out += text));
      const busyRow = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { pid: number; cpu_percent: number })
        .find((r) => r.pid === 10);
      expect(busyRow!.cpu_percent).toBeCloseTo(50, 2);
    } finally {
      store.close();
    }
  });
});

describe('sessions: no ghosts', () => {
  it('a process that exited between two sessions is not shown in the second session, and was up to its last tick', () => {
    const store = newStore();
    try {
      const m = minuteAgo(10);
      session(store, m + 5_000, m + 10_000); // the sleeper is alive at its last tick
      // It exits while nothing records; the next session starts 5 s later without it.
      const second = new Recorder(store, DEFAULT_RETENTION);
      let previous: Sample | undefined;
      for (let t = m + 15_000; t <= m + 25_000; t += 1000) {
        const s = sample(t, m - 60_000, false);
        second.record(toSnapshot(s, previous));
        previous = s;
      }
      // Nothing recorded at a time gives no snapshot at all: no processes.
      const pids = (at: number): number[] => (snapshotFromStore(store.db, 'second', at)?.processes ?? []).map((p) => p.pid).sort();
      expect(pids(m + 10_000)).toEqual([10, 11]);
      expect(pids(m + 11_000)).toEqual([]);
      expect(pids(m + 20_000)).toEqual([10]);
      // The running session holds the busy process up to its newest tick, and no further.
      expect(pids(m + 25_000)).toEqual([10]);
      expect(snapshotFromStore(store.db, 'second', m + 26_000)?.processes ?? []).toEqual([]);
      second.finish(undefined);
      expect(pids(m + 25_000)).toEqual([10]);
      expect(snapshotFromStore(store.db, 'second', m + 26_000)?.processes ?? []).toEqual([]);
      // Its open file goes with it: shown up to its last tick, not carried into the next session.
      const files = (at: number): string[] => filesFromStore(store.db, '11:1000', at).map((f) => f.path);
      expect(files(m + 10_000)).toEqual(['/data/log']);
      expect(files(m + 11_000)).toEqual([]);
      expect(files(m + 20_000)).toEqual([]);
    } finally {
      store.close();
    }
  });
});

describe('sessions: the scrubber range', () => {
  it('ends at the newest tick, so a step back from live lands one bucket before now on every tier', () => {
    const store = newStore();
    try {
      const now = Date.now();
      session(store, bucketStart('second', now) - 26 * 3_600_000, bucketStart('second', now) - 26 * 3_600_000 + 5_000);
      const last = bucketStart('second', now) - 2_000;
      session(store, last - 8_000, last);
      const range = storedRange(store.db)!;
      expect(range.lastMs).toBe(last + 1);
      for (const tier of TIERS) {
        const start = (): State => initialState({ columns: 120, rows: 40, tier, range });
        const state = reduce(start(), { type: 'command', command: 'time.back', lists: LISTS });
        expect(state.cursor, tier).toEqual({ live: false, atMs: bucketStart(tier, last) - TIER_MS[tier] });
        const paused = reduce(start(), { type: 'command', command: 'time.pause', lists: LISTS });
        expect(paused.cursor, tier).toEqual({ live: false, atMs: last });
      }
    } finally {
      store.close();
    }
  });
});

describe('sessions: clock steps', () => {
  it('skips and counts a tick from 400 days ahead; retention deletes nothing because of it', () => {
    const store = newStore();
    try {
      const m = minuteAgo(5);
      const skipped: number[] = [];
      const recorder = new Recorder(store, DEFAULT_RETENTION, { onSkippedTick: (t, n) => skipped.push(t, n) });
      let previous: Sample | undefined;
      for (let t = m; t <= m + 12_000; t += 1000) {
        const s = sample(t, m - 60_000);
        recorder.record(toSnapshot(s, previous));
        previous = s;
      }
      const next = (t: number): void => {
        const s = sample(t, m - 60_000);
        recorder.record(toSnapshot(s, previous));
        previous = s;
      };
      const ahead = m + 400 * 86_400_000;
      for (const t of [ahead, ahead + 1000]) recorder.record(toSnapshot(sample(t, m - 60_000), previous));
      next(m + 13_000);
      // A step back of more than a day behind the last tick, too.
      recorder.record(toSnapshot(sample(m - 2 * 86_400_000, m - 60_000), previous));
      next(m + 14_000);
      recorder.finish(undefined);
      expect(recorder.skippedTicks).toBe(3);
      expect(recorder.ticks).toBe(15);
      // One event per streak: the future pair is one streak, the step back another.
      expect(skipped).toEqual([ahead, 1, m - 2 * 86_400_000, 3]);
      expect(store.db.prepare('SELECT count(*) FROM container_series WHERE tier = 0').pluck().get()).toBe(15);
      expect(store.db.prepare('SELECT max(last_tick) FROM sessions').pluck().get()).toBe(m + 14_000);
      // Nothing expired: the seconds are all there (retention ran against the wall clock, not 400 days ahead).
      expect(store.db.prepare('SELECT min(bucket) FROM container_series WHERE tier = 0').pluck().get()).toBe(m);
    } finally {
      store.close();
    }
  });
});
