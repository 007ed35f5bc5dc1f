/**
 * Replay's container view from a real SQLite store written by the real Recorder: the files pane keeps the FD column
 * (fd 255 aligned with fd 3), and in a gap of the recording neither the container nor its processes claim figures.
 */
process.env.TZ = 'UTC';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cleanup, render } from 'ink-testing-library';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AccessObservation } from '../../src/model/access.js';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot } from '../../src/model/snapshot.js';
import { openStore, type Store } from '../../src/store/database.js';
import { addressedContainers, peersDuring } from '../../src/store/access-queries.js';
import { exportRows } from '../../src/store/export.js';
import { snapshotFromStore } from '../../src/store/history.js';
import { StoreReader } from '../../src/store/reader.js';
import { Recorder } from '../../src/store/recorder.js';
import { MIGRATIONS } from '../../src/store/schema.js';
import { DEFAULT_RETENTION } from '../../src/store/tiers.js';
import { App } from '../../src/tui/App.js';
import { ReplaySource } from '../../src/tui/replay-source.js';

const MiB = 1024 * 1024;
const T0 = Date.UTC(2026, 10, 21, 21, 0, 0);
const ID = 'c'.repeat(64);
const KEY = `docker:${ID}`;
/** Another container on this host, at the other end of pid 10's connection. */
const DB_ID = 'd'.repeat(64);
/** Seconds with no tick: the recorder was stalled (same session), so the store has no rows there. */
const GAP = { from: 100, to: 104 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-replay-panes-'));
let store: Store;

function proc(pid: number, t: number, cpuPerSec: number): ProcessSample {
  return {
    key: `${pid}:50`,
    pid,
    startTicks: 50,
    startTimeMs: T0 - 10_000,
    ppid: pid === 10 ? 1 : 10,
    comm: `p${pid}`,
    cmdline: `p${pid} --run`,
    exe: `/bin/p${pid}`,
    uid: 0,
    user: 'root',
    state: 'S',
    cpuNs: t * cpuPerSec,
    rssBytes: 10 * MiB,
    vsizeBytes: 20 * MiB,
    threads: 1,
    readBytes: 0,
    writeBytes: 0,
    containerKey: KEY,
    kernelThread: false,
  };
}

function sample(t: number): Sample {
  // pid 10 busy (half a core), pid 11 idle.
  const processes = [proc(10, t, 0.5e9), proc(11, t, 0)];
  const container: ContainerSample = {
    key: KEY,
    identity: { kind: 'docker', id: ID, name: ID.slice(0, 12), cgroup: `/docker/${ID}` },
    meta: { name: 'web-1', image: 'busybox' },
    cgroup: { cpuUsageNs: t * 0.5e9, memoryWorkingSetBytes: 70 * MiB, memoryLimitBytes: 512 * MiB, pids: 2 },
    processKeys: processes.map((p) => p.key),
  };
  const db: ContainerSample = {
    key: `docker:${DB_ID}`,
    identity: { kind: 'docker', id: DB_ID, name: DB_ID.slice(0, 12), cgroup: `/docker/${DB_ID}` },
    meta: { name: 'db-1', image: 'postgres', state: 'running', addresses: ['172.18.0.2', 'fd00:18::2'] },
    cgroup: { cpuUsageNs: 0, memoryWorkingSetBytes: 10 * MiB },
    processKeys: [],
  };
  return {
    timeMs: T0 + t * 1000,
    monoNs: t * 1e9,
    host: { hostname: 'vm', ncpu: 2, cpuTotalTicks: t * 200, cpuIdleTicks: t * 100, memTotalBytes: 8192 * MiB, memAvailableBytes: 4096 * MiB, bootTimeMs: 0 },
    processes: new Map(processes.map((p) => [p.key, p])),
    containers: new Map([
      [KEY, container],
      [db.key, db],
    ]),
    gaps: [],
  };
}

/** What procfs reports open for pid 10 every tick: fd 3 and fd 255 (a shell's script fd). */
const OPEN: AccessObservation[] = [
  { kind: 'file', processKey: '10:50', fd: 3, path: '/var/log/app.log', mode: 'w', deleted: false, opens: 1, source: 'procfs' },
  { kind: 'file', processKey: '10:50', fd: 255, path: '/app/run.sh', mode: 'r', deleted: false, opens: 1, source: 'procfs' },
  // A connection to db-1 on fd 0 and fd 1, written the way stores before IPv4-mapped addresses were unmapped kept it.
  ...[0, 1].map(
    (fd): AccessObservation => ({
      kind: 'net',
      processKey: '10:50',
      fd,
      protocol: 'tcp6',
      local: '[::ffff:172.18.0.3]:41234',
      remote: '[::ffff:172.18.0.2]:5432',
      state: 'ESTABLISHED',
      opens: 1,
      source: 'procfs',
    }),
  ),
];

beforeAll(() => {
  store = openStore(path.join(tmp, 'bubble.db'));
  const recorder = new Recorder(store, DEFAULT_RETENTION);
  let previous: Sample | undefined;
  let last;
  for (let t = 0; t <= 120; t++) {
    if (t >= GAP.from && t <= GAP.to) continue;
    const s = sample(t);
    last = { ...toSnapshot(s, previous), access: OPEN };
    recorder.record(last);
    previous = s;
  }
  recorder.finish(last);
});

afterAll(() => {
  store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => cleanup());

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('replay panes from a real store', () => {
  it('the files pane has the FD column, fd 255 aligned with fd 3', () => {
    const r = render(<App source={new ReplaySource(new StoreReader(store))} containerKey={KEY} atMs={T0 + 50_000} columns={80} rows={24} color={false} />);
    const ls = (r.lastFrame() ?? '').split('\n');
    const title = ls.findIndex((l) => l.startsWith('  files of 10 p10 (2)'));
    expect(title).toBeGreaterThan(0);
    expect(ls[title + 1]).toMatch(/^ {3}3 w {3}\/var\/log\/app\.log/);
    expect(ls[title + 2]).toMatch(/^ 255 r {3}\/app\/run\.sh/);
    expect(ls[title + 1]!.indexOf('/var')).toBe(ls[title + 2]!.indexOf('/app'));
  });

  it('the network pane folds the two fds, shows IPv4 and names the peer from the recorded addresses', () => {
    const source = new ReplaySource(new StoreReader(store));
    expect(source.netOf('10:50', T0 + 50_000)).toEqual([
      {
        fd: 0,
        fds: [0, 1],
        protocol: 'tcp6',
        local: '172.18.0.3:41234',
        remote: '172.18.0.2:5432',
        state: 'ESTABLISHED',
        peer: 'db-1',
      },
    ]);
    const r = render(<App source={source} containerKey={KEY} atMs={T0 + 50_000} columns={120} rows={24} color={false} />);
    expect(r.lastFrame()).toContain('network (1)');
    expect(r.lastFrame()).toContain(' 0,1 tcp6  ESTAB  172.18.0.3:41234 → db-1:5432');
  });

  it('export --what network names the peer of each interval', () => {
    let out = '';
    exportRows(store.db, { what: 'network', format: 'json' }, (chunk) => (out += chunk));
    const rows = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatchObject({ remote: '[::ffff:172.18.0.2]:5432', peer: 'db-1' });
    // After db-1's life (its last sight plus the minute its last_seen may lag) nobody had the address: no peer.
    const later = peersDuring(addressedContainers(store.db), T0 + 10 * 60_000, T0 + 11 * 60_000);
    expect(later.size).toBe(0);
  });

  it('a store from before addresses were kept names no peers, and exports network rows with peer null', () => {
    const db = new Database(path.join(tmp, 'old.db'));
    try {
      // Every migration but the one that added containers.addresses.
      const upTo = MIGRATIONS.findIndex((sql) => sql.includes('ADD COLUMN addresses'));
      expect(upTo).toBeGreaterThan(0);
      for (const sql of MIGRATIONS.slice(0, upTo)) db.exec(sql);
      expect(addressedContainers(db)).toEqual([]);
      let out = '';
      expect(exportRows(db, { what: 'network', format: 'csv' }, (chunk) => (out += chunk))).toBe(0);
      expect(out.trimEnd().endsWith(',source,peer')).toBe(true);
    } finally {
      db.close();
    }
  });

  it('a second with no tick: no figures for the container, none for its processes', async () => {
    const at = T0 + 102_000;
    const snap = snapshotFromStore(store.db, 'second', at, { containerKey: KEY })!;
    const container = snap.containers.find((c) => c.key === KEY)!;
    expect(container.cpuPercent).toBeUndefined();
    const processes = snap.processes.filter((p) => p.containerKey === KEY);
    expect(processes.map((p) => p.pid).sort()).toEqual([10, 11]);
    for (const p of processes) expect(p.cpuPercent, `pid ${p.pid}`).toBeUndefined();
    // The control: a recorded second has the busy one at 50% and the idle one (no row of its own) at 0.
    const recorded = snapshotFromStore(store.db, 'second', T0 + 50_000, { containerKey: KEY })!;
    expect(recorded.processes.find((p) => p.pid === 10)!.cpuPercent).toBeCloseTo(50, 5);
    expect(recorded.processes.find((p) => p.pid === 11)!.cpuPercent).toBe(0);

    const r = render(<App source={new ReplaySource(new StoreReader(store))} containerKey={KEY} atMs={at} columns={80} rows={24} color={false} />);
    await settle();
    const ls = (r.lastFrame() ?? '').split('\n');
    // Said once in words for the container; its processes show `-`, as the header does, not 0.0.
    expect(ls[2]).toBe(' no data at 2026-11-21 21:01:42 (not recorded)');
    expect(ls[4]).toMatch(/^> {5}10 {5}- root {9}- {3}10M {5}- {5}- {5}- {4}1 /);
    expect(ls[5]).toMatch(/^ {6}11 {5}- root {9}- {3}10M {5}- {5}- {5}- {4}1 /);
  });
});
