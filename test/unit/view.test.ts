/**
 * One view builder for live and replay: hand-made ticks go through the real toSnapshot, the real Recorder and a real
 * SQLite file; replay (snapshotFromStore) and export must then say what live said: CPU source, memory percent over
 * the container's limit, and a process's command across exec at each bucket's time. And toSnapshot's reuse of idle
 * views comes from an explicit `unchanged` signal, not from object identity.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot, type Snapshot } from '../../src/model/snapshot.js';
import { containerView, cpuPercentOf, perSecond } from '../../src/model/view.js';
import { openStore, type Store } from '../../src/store/database.js';
import { exportRows } from '../../src/store/export.js';
import { snapshotFromStore } from '../../src/store/history.js';
import { Recorder } from '../../src/store/recorder.js';
import { DEFAULT_RETENTION } from '../../src/store/tiers.js';
import { sampleAt } from '../helpers/samples.js';

const MiB = 1024 * 1024;
const T0 = Date.UTC(2026, 10, 21, 21, 0, 0); // a minute boundary
const SLURM = 'slurm:4242';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-view-'));
let store: Store;
const live: Snapshot[] = [];

function proc(pid: number, over: Partial<ProcessSample> = {}): ProcessSample {
  return {
    key: `${pid}:50`,
    pid,
    startTicks: 50,
    startTimeMs: T0 - 10_000,
    ppid: 1,
    comm: 'runc:[2:INIT]',
    cmdline: 'runc init',
    exe: '/usr/bin/runc',
    uid: 0,
    user: 'root',
    state: 'R',
    cpuNs: 0,
    rssBytes: 64 * MiB,
    vsizeBytes: 128 * MiB,
    threads: 1,
    readBytes: 0,
    writeBytes: 0,
    containerKey: SLURM,
    kernelThread: false,
    ...over,
  };
}

/** A Slurm job without the cpuacct controller (CPU summed from processes), a 256 MiB limit; pid 10 execs at t = 5. */
function sample(t: number): Sample {
  const exec = t >= 5 ? { comm: 'md5sum', cmdline: 'md5sum /dev/zero', exe: '/usr/bin/md5sum' } : {};
  const processes = [proc(10, { cpuNs: t * 0.5e9, ...exec }), proc(11, { cpuNs: 1e9, comm: 'sleep', cmdline: 'sleep 300', exe: '/bin/sleep' })];
  const container: ContainerSample = {
    key: SLURM,
    identity: { kind: 'slurm', id: '4242', name: '4242', cgroup: '/slurm/uid_0/job_4242' },
    meta: { jobName: 'sim', jobUser: 'alice' },
    cgroup: { memoryWorkingSetBytes: 100 * MiB, memoryLimitBytes: 256 * MiB, pids: 2 },
    processKeys: processes.map((p) => p.key),
  };
  return sampleAt(t, T0, 0, processes, [container]);
}

beforeAll(() => {
  store = openStore(path.join(tmp, 'bubble.db'));
  const recorder = new Recorder(store, DEFAULT_RETENTION);
  let previous: Sample | undefined;
  for (let t = 0; t <= 70; t++) {
    const s = sample(t);
    const snapshot = toSnapshot(s, previous, live.at(-1));
    live.push(snapshot);
    recorder.record(snapshot);
    previous = s;
  }
  recorder.finish(live.at(-1));
});

afterAll(() => {
  store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const replayAt = (t: number): Snapshot => snapshotFromStore(store.db, 'second', T0 + t * 1000, { memTotalBytes: 8192 * MiB })!;

describe('the one view builder', () => {
  it('has one rate and one CPU percent formula', () => {
    expect(perSecond(3000, 1.5)).toBe(2000);
    expect(perSecond(3000, 0)).toBeUndefined();
    expect(perSecond(undefined, 1)).toBeUndefined();
    expect(cpuPercentOf(0.5e9, 2)).toBe(25);
    expect(cpuPercentOf(1e9, 0)).toBeUndefined();
  });

  it('divides network deltas by the network read interval when it differs from the cgroup one', () => {
    const identity = { kind: 'docker' as const, id: 'd', name: 'd', cgroup: '/docker/d' };
    const gauges = { cpuSource: 'cgroup' as const, processCount: 1, pressure: {} };
    const interval = { cpuNs: 1e9, readBytes: 4000, netRxBytes: 1000 };
    const split = containerView(identity, 'docker:d', {}, gauges, interval, { counters: 2, net: 0.5 }, 0);
    expect([split.cpuPercent, split.blkReadBytesPerSec, split.netRxBytesPerSec]).toEqual([50, 2000, 2000]);
    const one = containerView(identity, 'docker:d', {}, gauges, interval, 2, 0);
    expect([one.cpuPercent, one.blkReadBytesPerSec, one.netRxBytesPerSec]).toEqual([50, 2000, 500]);
  });

  it('replay shows the container as live showed it: CPU source, CPU%, memory percent, name, user', () => {
    const liveView = live[30]!.containers[0]!;
    const replayed = replayAt(30).containers.find((c) => c.key === SLURM)!;
    expect(liveView.cpuSource).toBe('processes');
    for (const field of ['cpuSource', 'cpuPercent', 'memoryBytes', 'memoryLimitBytes', 'memoryPercent', 'name', 'user', 'pids'] as const) {
      expect([field, replayed[field]]).toEqual([field, liveView[field]]);
    }
  });

  it('replay shows a process as live showed it: CPU%, RSS and memory percent over the container limit', () => {
    const liveView = live[30]!.processes.find((p) => p.pid === 10)!;
    const replayed = replayAt(30).processes.find((p) => p.pid === 10)!;
    expect(liveView.memPercent).toBeCloseTo(25);
    for (const field of ['key', 'cpuPercent', 'rssBytes', 'memPercent', 'threads', 'comm', 'cmdline', 'exe'] as const) {
      expect([field, replayed[field]]).toEqual([field, liveView[field]]);
    }
  });
});

describe('a command across exec, stored', () => {
  it('replay shows the command the process had at each second', () => {
    expect(live[2]!.processes.find((p) => p.pid === 10)!.comm).toBe('runc:[2:INIT]');
    expect(live[6]!.processes.find((p) => p.pid === 10)!.comm).toBe('md5sum');
    const before = replayAt(2).processes.find((p) => p.pid === 10)!;
    expect([before.comm, before.cmdline, before.exe]).toEqual(['runc:[2:INIT]', 'runc init', '/usr/bin/runc']);
    const after = replayAt(6).processes.find((p) => p.pid === 10)!;
    expect([after.comm, after.cmdline, after.exe]).toEqual(['md5sum', 'md5sum /dev/zero', '/usr/bin/md5sum']);
    // The minute tier: the newest command in the bucket. The processes row holds the newest.
    expect(snapshotFromStore(store.db, 'minute', T0)!.processes.find((p) => p.pid === 10)!.comm).toBe('md5sum');
    expect(store.db.prepare('SELECT comm FROM processes WHERE pid = 10').pluck().get()).toBe('md5sum');
    expect(store.db.prepare('SELECT count(*) FROM process_commands').pluck().get()).toBe(2);
  });

  it('export shows the command the process had in each bucket', () => {
    let csv = '';
    exportRows(store.db, { what: 'processes', format: 'json', tier: 'second', sinceMs: T0, untilMs: T0 + 10_000 }, (c) => (csv += c));
    const rows = csv
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['pid'] === 10);
    const byTime = new Map(rows.map((r) => [Date.parse(r['time'] as string) - T0, r]));
    expect(byTime.get(4000)).toMatchObject({ comm: 'runc:[2:INIT]', cmdline: 'runc init', exe: '/usr/bin/runc' });
    expect(byTime.get(5000)).toMatchObject({ comm: 'md5sum', cmdline: 'md5sum /dev/zero', exe: '/usr/bin/md5sum' });
    expect(byTime.get(5000)!['cpu_percent']).toBe(50);
  });
});

describe('toSnapshot reuses views of unchanged processes from an explicit signal', () => {
  const base = sample(10);
  const next = (unchanged: ReadonlySet<string> | undefined, over: Partial<ProcessSample> = {}): Sample => {
    const s = sample(11);
    // The sleeper's sample did not change: a new object with the same values, as a collector may hand out.
    const sleeper = { ...base.processes.get('11:50')!, ...over };
    return { ...s, processes: new Map([...s.processes].map(([k, p]) => [k, k === '11:50' ? sleeper : p])), ...(unchanged && { unchanged }) };
  };

  it('shares last view of a process in `unchanged`, and builds anew without the signal', () => {
    const first = toSnapshot(base, sample(9));
    const idle = first.processes.find((p) => p.pid === 11)!;
    expect(idle.interval.cpuNs).toBe(0);
    const reused = toSnapshot(next(new Set(['11:50'])), base, first);
    expect(reused.processes.find((p) => p.pid === 11)).toBe(idle);
    const fresh = toSnapshot(next(undefined), base, first);
    expect(fresh.processes.find((p) => p.pid === 11)).not.toBe(idle);
    expect(fresh.processes.find((p) => p.pid === 11)).toEqual(idle);
  });

  it('is pure: the same inputs give equal snapshots whatever ran before', () => {
    const first = toSnapshot(base, sample(9));
    const a = toSnapshot(next(new Set(['11:50'])), base, first);
    const b = toSnapshot(next(new Set(['11:50'])), base, first);
    expect(a).toEqual(b);
    expect(toSnapshot(next(new Set(['11:50'])), base)).toEqual(a);
  });

  it('does not reuse a view whose memory base changed', () => {
    const first = toSnapshot(base, sample(9));
    const s = next(new Set(['11:50']));
    const container = s.containers.get(SLURM)!;
    const bigger = { ...container, cgroup: { ...container.cgroup, memoryLimitBytes: 512 * MiB } };
    const changed = toSnapshot({ ...s, containers: new Map([[SLURM, bigger]]) }, base, first);
    const view = changed.processes.find((p) => p.pid === 11)!;
    expect(view).not.toBe(first.processes.find((p) => p.pid === 11));
    expect(view.memPercent).toBeCloseTo(12.5);
  });
});
