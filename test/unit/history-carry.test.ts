/**
 * An idle process's memory carried into a second it wrote no row for (change-only second rows), at the first second
 * of a minute: the row carried is the newest one that had ended by then, never the minute that second opens (written
 * at the session's end, it averages what came after). Real Recorder, real SQLite file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot } from '../../src/model/snapshot.js';
import { openStore, type Store } from '../../src/store/database.js';
import { snapshotFromStore } from '../../src/store/history.js';
import { Recorder } from '../../src/store/recorder.js';
import { DEFAULT_RETENTION } from '../../src/store/tiers.js';

const MiB = 1024 * 1024;
const T0 = Date.UTC(2026, 10, 21, 21, 0, 0); // a minute boundary
const ID = 'b'.repeat(64);
const KEY = `docker:${ID}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-history-carry-'));
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
  // pid 20: idle at 10 MiB up to and through T0 + 60 s (the first second of the second minute), then 2 MiB.
  const processes = [proc(20, t, { rssBytes: t <= 60 ? 10 * MiB : 2 * MiB })];
  const container: ContainerSample = {
    key: KEY,
    identity: { kind: 'docker', id: ID, name: ID.slice(0, 12), cgroup: `/docker/${ID}` },
    meta: { name: 'web-1', image: 'busybox' },
    cgroup: { cpuUsageNs: t * 1e8, memoryWorkingSetBytes: 70 * MiB, memoryLimitBytes: 512 * MiB, pids: 1 },
    processKeys: processes.map((p) => p.key),
  };
  return {
    timeMs: T0 + t * 1000,
    monoNs: t * 1e9,
    host: { hostname: 'vm', ncpu: 2, cpuTotalTicks: t * 200, cpuIdleTicks: t * 100, memTotalBytes: 8192 * MiB, memAvailableBytes: 4096 * MiB, bootTimeMs: 0 },
    processes: new Map(processes.map((p) => [p.key, p])),
    containers: new Map([[KEY, container]]),
    gaps: [],
  };
}

beforeAll(() => {
  store = openStore(path.join(tmp, 'bubble.db'));
  const recorder = new Recorder(store, DEFAULT_RETENTION);
  let previous: Sample | undefined;
  let last;
  for (let t = 0; t <= 90; t++) {
    const s = sample(t);
    last = toSnapshot(s, previous);
    recorder.record(last);
    previous = s;
  }
  recorder.finish(last);
});

afterAll(() => {
  store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('an idle process carried into the first second of a minute', () => {
  it('has the memory it had then, not the average of the minute that second opens', () => {
    const row = store.db
      .prepare(`SELECT count(*) FROM process_series s JOIN processes p ON p.id = s.process_id WHERE p.pid = 20 AND s.tier = 0 AND s.bucket = ?`)
      .pluck()
      .get(T0 + 60_000);
    expect(row).toBe(0); // idle, same memory: no second row there
    const at = snapshotFromStore(store.db, 'second', T0 + 60_000)!;
    expect(at.processes.find((p) => p.pid === 20)!.rssBytes).toBe(10 * MiB);
    const later = snapshotFromStore(store.db, 'second', T0 + 75_000)!;
    expect(later.processes.find((p) => p.pid === 20)!.rssBytes).toBe(2 * MiB);
  });
});
