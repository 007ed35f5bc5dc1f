/**
 * The past as Snapshots: hand-made ticks go through toSnapshot, the real Recorder and a real SQLite file, then
 * snapshotFromStore and seriesFromStore read them back as replay and the scrubber will.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot } from '../../src/model/snapshot.js';
import { openStore, type Store } from '../../src/store/database.js';
import { seriesFromStore, snapshotFromStore } from '../../src/store/history.js';
import { Recorder } from '../../src/store/recorder.js';
import { DEFAULT_RETENTION } from '../../src/store/tiers.js';
import { sampleAt } from '../helpers/samples.js';

const MiB = 1024 * 1024;
const T0 = Date.UTC(2026, 10, 21, 21, 0, 0); // a minute boundary
const ID = 'b'.repeat(64);
const KEY = `docker:${ID}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-history-'));
let store: Store;

function proc(pid: number, t: number, over: Partial<ProcessSample> = {}): ProcessSample {
  return {
    key: `${pid}:50`,
    pid,
    startTicks: 50,
    startTimeMs: T0 - 10_000,
    ppid: 1,
    comm: `p${pid}`,
    cmdline: `p${pid} --run`,
    exe: `/bin/p${pid}`,
    uid: 0,
    user: 'root',
    state: 'S',
    cpuNs: 0,
    rssBytes: 10 * MiB,
    vsizeBytes: 20 * MiB,
    threads: 1,
    readBytes: 0,
    writeBytes: 0,
    containerKey: KEY,
    kernelThread: false,
    ...over,
  } satisfies ProcessSample & { t?: number } as ProcessSample;
}

function sample(t: number): Sample {
  // busy (pid 10): half a core; idle (pid 11): nothing; short (pid 12): lives for the first 90 s.
  const processes = [proc(10, t, { cpuNs: t * 0.5e9, writeBytes: t * 1000, rssBytes: 50 * MiB }), proc(11, t)];
  if (t < 90) processes.push(proc(12, t, { cpuNs: t * 0.25e9 }));
  const container: ContainerSample = {
    key: KEY,
    identity: { kind: 'docker', id: ID, name: ID.slice(0, 12), cgroup: `/docker/${ID}` },
    meta: { name: 'web-1', image: 'busybox' },
    cgroup: { cpuUsageNs: t * (t < 90 ? 0.75e9 : 0.5e9), memoryWorkingSetBytes: 70 * MiB, memoryLimitBytes: 512 * MiB, pids: processes.length },
    netRxBytes: t * 2000,
    netTxBytes: t * 100,
    processKeys: processes.map((p) => p.key),
  };
  return sampleAt(t, T0, 0, processes, [container]);
}

/** A store in tmp that a Recorder wrote the snapshots of sampleOf(0..lastT) into, one per second, then finished. */
function recorded(file: string, sampleOf: (t: number) => Sample, lastT: number): Store {
  const into = openStore(path.join(tmp, file));
  const recorder = new Recorder(into, DEFAULT_RETENTION);
  let previous: Sample | undefined;
  let last;
  for (let t = 0; t <= lastT; t++) {
    const s = sampleOf(t);
    last = toSnapshot(s, previous);
    recorder.record(last);
    previous = s;
  }
  recorder.finish(last);
  return into;
}

beforeAll(() => {
  store = recorded('bubble.db', sample, 180);
});

afterAll(() => {
  store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('snapshotFromStore', () => {
  it('rebuilds a second: container rates, limits, and processes with their CPU', () => {
    const s = snapshotFromStore(store.db, 'second', T0 + 30_500, { memTotalBytes: 8192 * MiB })!;
    expect(s.timeMs).toBe(T0 + 30_000);
    expect(s.intervalMs).toBe(1000);
    const c = s.containers.find((x) => x.key === KEY)!;
    expect(c).toMatchObject({ name: 'web-1', image: 'busybox', memoryBytes: 70 * MiB, memoryLimitBytes: 512 * MiB, pids: 3, processCount: 3 });
    expect(c.cpuPercent).toBeCloseTo(75);
    expect(c.netRxBytesPerSec).toBeCloseTo(2000);
    const busy = s.processes.find((p) => p.pid === 10)!;
    expect(busy.cpuPercent).toBeCloseTo(50);
    expect(busy.writeBytesPerSec).toBeCloseTo(1000);
    expect(busy.rssBytes).toBe(50 * MiB);
    expect(busy).toMatchObject({ comm: 'p10', cmdline: 'p10 --run', containerKey: KEY });
  });

  it('carries an idle process forward: it wrote no second row, yet it is there with its memory', () => {
    const rows = store.db
      .prepare(`SELECT count(*) AS n FROM process_series s JOIN processes p ON p.id = s.process_id WHERE p.pid = 11 AND s.tier = 0`)
      .get() as { n: number };
    expect(rows.n).toBe(1); // its first bucket only: change-only rows
    const s = snapshotFromStore(store.db, 'second', T0 + 150_000)!;
    const idle = s.processes.find((p) => p.pid === 11)!;
    expect(idle.cpuPercent).toBe(0);
    expect(idle.rssBytes).toBe(10 * MiB);
  });

  it('shows an exited process as exited after its exit, and alive before', () => {
    const before = snapshotFromStore(store.db, 'second', T0 + 60_000)!;
    expect(before.processes.some((p) => p.pid === 12)).toBe(true);
    const after = snapshotFromStore(store.db, 'second', T0 + 120_000)!;
    expect(after.processes.some((p) => p.pid === 12)).toBe(false);
  });

  it('rebuilds a minute as the minute average', () => {
    const s = snapshotFromStore(store.db, 'minute', T0 + 150_000)!;
    expect(s.intervalMs).toBe(60_000);
    const c = s.containers.find((x) => x.key === KEY)!;
    expect(c.cpuPercent).toBeCloseTo(50, 0);
    expect(s.processes.find((p) => p.pid === 10)!.cpuPercent).toBeCloseTo(50, 0);
  });

  it('knows nothing before the recording', () => {
    expect(snapshotFromStore(store.db, 'second', T0 - 3_600_000)).toBeUndefined();
  });
});

describe('seriesFromStore', () => {
  it('gives one point per bucket, per container or for all', () => {
    const points = seriesFromStore(store.db, 'second', T0 + 10_000, T0 + 20_000, KEY);
    expect(points).toHaveLength(10);
    expect(points[0]!.timeMs).toBe(T0 + 10_000);
    for (const p of points) {
      expect(p.cpuPercent).toBeCloseTo(75);
      expect(p.memoryBytes).toBe(70 * MiB);
    }
    const minutes = seriesFromStore(store.db, 'minute', T0, T0 + 180_000);
    expect(minutes.map((p) => p.timeMs)).toEqual([T0, T0 + 60_000, T0 + 120_000]);
  });
});

function carrySample(t: number): Sample {
  // pid 20: idle at 10 MiB up to and through T0 + 60 s (the first second of the second minute), then 2 MiB.
  const processes = [proc(20, t, { rssBytes: t <= 60 ? 10 * MiB : 2 * MiB })];
  const container: ContainerSample = {
    key: KEY,
    identity: { kind: 'docker', id: ID, name: ID.slice(0, 12), cgroup: `/docker/${ID}` },
    meta: { name: 'web-1', image: 'busybox' },
    cgroup: { cpuUsageNs: t * 1e8, memoryWorkingSetBytes: 70 * MiB, memoryLimitBytes: 512 * MiB, pids: 1 },
    processKeys: processes.map((p) => p.key),
  };
  return sampleAt(t, T0, 0, processes, [container]);
}

describe('an idle process carried into the first second of a minute', () => {
  // Its own store: the newest row that had ended by then is carried, never the minute that second opens (written at
  // the session's end, that row averages what came after).
  let carryStore: Store;
  beforeAll(() => {
    carryStore = recorded('carry.db', carrySample, 90);
  });

  afterAll(() => carryStore.close());

  it('has the memory it had then, not the average of the minute that second opens', () => {
    const row = carryStore.db
      .prepare(`SELECT count(*) FROM process_series s JOIN processes p ON p.id = s.process_id WHERE p.pid = 20 AND s.tier = 0 AND s.bucket = ?`)
      .pluck()
      .get(T0 + 60_000);
    expect(row).toBe(0); // idle, same memory: no second row there
    const at = snapshotFromStore(carryStore.db, 'second', T0 + 60_000)!;
    expect(at.processes.find((p) => p.pid === 20)!.rssBytes).toBe(10 * MiB);
    const later = snapshotFromStore(carryStore.db, 'second', T0 + 75_000)!;
    expect(later.processes.find((p) => p.pid === 20)!.rssBytes).toBe(2 * MiB);
  });
});
