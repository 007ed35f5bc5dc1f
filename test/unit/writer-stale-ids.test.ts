/**
 * The writer's cached row ids going stale (issue 10, item 6): containers removed under a running recorder, by another
 * connection (`bubble clean`) or by this one, are recorded afresh and the recorder never stops writing. Real SQLite
 * files, the real Recorder, Snapshots from the real toSnapshot.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot, type Snapshot } from '../../src/model/snapshot.js';
import { openStore, type Store } from '../../src/store/database.js';
import { Recorder } from '../../src/store/recorder.js';
import { deleteContainers } from '../../src/store/retention.js';
import { DEFAULT_RETENTION } from '../../src/store/tiers.js';

const T0 = Date.UTC(2026, 10, 21, 21, 0, 0);
const ID = 'c'.repeat(64);
const KEY = `docker:${ID}`;
let tmp: string;
let store: Store;

function sample(t: number): Sample {
  // A new process every tick: each tick inserts a process row that points at the container's row.
  const processes: ProcessSample[] = [10, 100 + t].map((pid) => ({
    key: `${pid}:${pid === 10 ? 5 : 1000 + t}`,
    pid,
    startTicks: pid === 10 ? 5 : 1000 + t,
    startTimeMs: pid === 10 ? T0 - 60_000 : T0 + t * 1000 - 10,
    ppid: 1,
    comm: 'sh',
    cmdline: 'sh',
    exe: '/bin/sh',
    uid: 0,
    user: 'root',
    state: 'S',
    cpuNs: t * 1e8,
    rssBytes: 1e6,
    vsizeBytes: 2e6,
    threads: 1,
    containerKey: KEY,
    kernelThread: false,
  }));
  const container: ContainerSample = {
    key: KEY,
    identity: { kind: 'docker', id: ID, name: ID.slice(0, 12), cgroup: `/docker/${ID}` },
    meta: { name: 'web' },
    cgroup: { cpuUsageNs: t * 2e8 },
    processKeys: processes.map((p) => p.key),
  };
  return {
    timeMs: T0 + t * 1000,
    monoNs: t * 1e9,
    host: { hostname: 'vm', ncpu: 2, cpuTotalTicks: t * 200, cpuIdleTicks: t * 100, memTotalBytes: 8e9, memAvailableBytes: 4e9, bootTimeMs: 0 },
    processes: new Map(processes.map((p) => [p.key, p])),
    containers: new Map([[KEY, container]]),
    gaps: [],
  };
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-stale-'));
  store = openStore(path.join(tmp, 'bubble.db'));
});

afterEach(() => {
  store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Records ticks [from, to), calling `between` before tick `at`; returns the write errors seen. */
function record(recorder: Recorder, from: number, to: number, previous: { s?: Sample; last?: Snapshot }): void {
  for (let t = from; t < to; t++) {
    const s = sample(t);
    previous.last = toSnapshot(s, previous.s, previous.last);
    previous.s = s;
    recorder.record(previous.last);
  }
}

const containerRow = (): { id: number; first_seen: number } | undefined =>
  store.db.prepare('SELECT id, first_seen FROM containers WHERE key = ?').get(KEY) as { id: number; first_seen: number } | undefined;

describe('stale row ids in the writer', () => {
  for (const who of ['another connection (bubble clean)', 'the same connection']) {
    it(`records afresh after ${who} removed the container`, () => {
      const errors: unknown[] = [];
      const recorder = new Recorder(store, DEFAULT_RETENTION, { onWriteError: (e) => errors.push(e) });
      const state: { s?: Sample; last?: Snapshot } = {};
      record(recorder, 0, 5, state);
      expect(containerRow()).toBeDefined();

      if (who.startsWith('another')) {
        const other = openStore(path.join(tmp, 'bubble.db'));
        expect(deleteContainers(other.db, { keys: [KEY] }).containers).toBe(1);
        other.close();
      } else {
        expect(deleteContainers(store.db, { keys: [KEY] }).containers).toBe(1);
      }
      expect(containerRow()).toBeUndefined();

      record(recorder, 5, 10, state);
      expect(errors).toEqual([]);
      expect(recorder.pendingTicks).toBe(0);
      const row = containerRow()!;
      expect(row.first_seen).toBeGreaterThanOrEqual(T0 + 5000);
      // Its processes are back under the new row, and its second rows after the clean are stored under it.
      expect(store.db.prepare('SELECT count(*) FROM processes WHERE container_id = ? AND pid = 10').pluck().get(row.id)).toBe(1);
      const rows = store.db.prepare('SELECT count(*) FROM container_series WHERE container_id = ? AND tier = 0').pluck().get(row.id) as number;
      expect(rows).toBeGreaterThanOrEqual(4);
      // No series row points at a container that no longer exists.
      expect(store.db.prepare('SELECT count(*) FROM container_series WHERE container_id NOT IN (SELECT id FROM containers)').pluck().get()).toBe(0);
      expect(() => recorder.finish(state.last)).not.toThrow();
    });
  }
});
