/**
 * The store API's paging over a real SQLite file written by the real Recorder: an answer over its byte bound is cut
 * after its last whole bucket, and following X-Bubble-Next-Since gives exactly the rows `bubble export` gives.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot } from '../../src/model/snapshot.js';
import { StoreApi } from '../../src/serve/store-api.js';
import { openStore, type Store } from '../../src/store/database.js';
import { exportRows } from '../../src/store/export.js';
import { Recorder } from '../../src/store/recorder.js';
import { DEFAULT_RETENTION } from '../../src/store/tiers.js';

const T0 = Date.UTC(2026, 10, 21, 21, 0, 0);
const ID = 'c'.repeat(64);
const KEY = `docker:${ID}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-store-api-'));
let store: Store;

function proc(pid: number, t: number): ProcessSample {
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
    state: 'R',
    cpuNs: t * 0.1e9 * pid,
    rssBytes: 1e6 * pid,
    vsizeBytes: 2e6,
    threads: 1,
    readBytes: 0,
    writeBytes: t * 10,
    containerKey: KEY,
    kernelThread: false,
  };
}

function sample(t: number): Sample {
  const processes = [1, 2, 3, 4].map((pid) => proc(pid, t));
  const container: ContainerSample = {
    key: KEY,
    identity: { kind: 'docker', id: ID, name: ID.slice(0, 12), cgroup: `/docker/${ID}` },
    meta: { name: 'web-1', image: 'busybox' },
    cgroup: { cpuUsageNs: t * 1e9, memoryWorkingSetBytes: 7e6, pids: 4 },
    netRxBytes: t * 2000,
    netTxBytes: t * 100,
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

beforeAll(() => {
  store = openStore(path.join(tmp, 'bubble.db'));
  const recorder = new Recorder(store, DEFAULT_RETENTION);
  let previous: Sample | undefined;
  let last;
  for (let t = 0; t <= 60; t++) {
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

describe('StoreApi paging', () => {
  it('cuts a long answer after a whole bucket and pages on to exactly the export', () => {
    const api = new StoreApi({ db: () => store.db, live: () => undefined, maxBytes: 5000 });
    let expected = '';
    exportRows(store.db, { what: 'processes', format: 'json', containerKeys: [KEY], tier: 'second' }, (chunk) => (expected += chunk));
    expect(expected.length).toBeGreaterThan(20_000);

    let since = new Date(T0 - 1000).toISOString();
    let got = '';
    let pages = 0;
    for (; pages < 100; pages++) {
      const reply = api.handle(['containers', 'web-1', 'processes'], new URLSearchParams({ tier: 'second', since }), T0 + 120_000);
      expect(reply.body.length).toBeLessThanOrEqual(5000);
      got += reply.body;
      if (reply.headers?.['x-bubble-truncated'] !== '1') break;
      const next = reply.headers['x-bubble-next-since']!;
      // Each page ends on a whole bucket: the next starts at the bucket it left out.
      const lastTime = (JSON.parse(reply.body.trim().split('\n').at(-1)!) as { time: string }).time;
      expect(Date.parse(next)).toBeGreaterThan(Date.parse(lastTime));
      since = next;
    }
    expect(pages).toBeGreaterThan(3);
    expect(got).toBe(expected);
  });

  it('lists the recorded container with export field names', () => {
    const api = new StoreApi({ db: () => store.db, live: () => undefined });
    const list = JSON.parse(api.handle(['containers'], new URLSearchParams(), Date.now()).body) as Record<string, unknown>[];
    expect(list).toEqual([
      {
        container: KEY,
        kind: 'docker',
        id: ID,
        name: 'web-1',
        image: 'busybox',
        cgroup: `/docker/${ID}`,
        first_seen: new Date(T0).toISOString(),
        last_seen: expect.any(String),
        exit_time: null,
        exit_code: null,
        live: false,
      },
    ]);
  });
});
