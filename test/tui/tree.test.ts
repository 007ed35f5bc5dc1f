import { describe, expect, it } from 'vitest';
import type { ProcessView, Snapshot } from '../../src/model/snapshot.js';
import { buildForest, containerList, flattenTree, processesOf, processList, visibleSlice } from '../../src/tui/tree.js';
import { snapshotOf, type World } from '../helpers/fixed-source.js';
import { DB_KEY, JOB_KEY, WEB_KEY, world } from './world.js';

const opts = { tree: true, sort: 'cpu' as const, filter: '', collapsed: new Set<string>(), kernelThreads: false };
const pids = (rows: readonly { process: ProcessView }[]): number[] => rows.map((r) => r.process.pid);

describe('process tree', () => {
  const snap = snapshotOf(world());

  it('nests by ppid within the container; a parent outside the container makes a root', () => {
    const list = processList(snap, WEB_KEY, opts);
    // 4242 (parent 4200 is not in the container) and cron (parent 1 is the host's) are roots, by CPU.
    expect(list.rows.map((r) => [r.process.pid, r.depth])).toEqual([
      [4242, 0],
      [4243, 1],
      [4250, 2],
      [4244, 1],
      [4300, 0],
    ]);
    expect(list.rows[0]!.hasChildren).toBe(true);
    expect(list.rows[2]!.hasChildren).toBe(false);
    expect([...list.parents].sort()).toEqual(['4242:1000', '4243:1000']);
    expect(list.keys).toEqual(list.rows.map((r) => r.process.key));
    expect(list.total).toBe(5);
  });

  it('sorts siblings by the sort order', () => {
    const family = snapshotOf({
      containers: [],
      processes: [
        { pid: 10, container: 'host', cpuPercent: 1, rssBytes: 1 },
        { pid: 11, ppid: 10, container: 'host', cpuPercent: 5, rssBytes: 300 },
        { pid: 12, ppid: 10, container: 'host', cpuPercent: 50, rssBytes: 200 },
        { pid: 13, ppid: 12, container: 'host', cpuPercent: 0, rssBytes: 1 },
      ],
    });
    expect(pids(processList(family, 'host', opts).rows)).toEqual([10, 12, 13, 11]);
    expect(pids(processList(family, 'host', { ...opts, sort: 'pid' }).rows)).toEqual([10, 11, 12, 13]);
    expect(pids(processList(family, 'host', { ...opts, sort: 'mem' }).rows)).toEqual([10, 11, 12, 13]);
  });

  it('hides what a folded process holds and counts it', () => {
    const list = processList(snap, WEB_KEY, { ...opts, collapsed: new Set(['4242:1000']) });
    expect(pids(list.rows)).toEqual([4242, 4300]);
    expect(list.rows[0]).toMatchObject({ collapsed: true, hidden: 3 });
    const inner = processList(snap, WEB_KEY, { ...opts, collapsed: new Set(['4243:1000']) });
    expect(pids(inner.rows)).toEqual([4242, 4243, 4244, 4300]);
    expect(inner.rows[1]).toMatchObject({ collapsed: true, hidden: 1 });
  });

  it('filters by name or command, keeping the ancestors of a match and ignoring folds', () => {
    const list = processList(snap, WEB_KEY, { ...opts, filter: 'LOGROTATE', collapsed: new Set(['4242:1000']) });
    expect(list.rows.map((r) => [r.process.pid, r.depth])).toEqual([
      [4242, 0],
      [4243, 1],
      [4250, 2],
    ]);
    expect(pids(processList(snap, WEB_KEY, { ...opts, filter: 'cron' }).rows)).toEqual([4300]);
    expect(processList(snap, WEB_KEY, { ...opts, filter: 'nothing' }).rows).toEqual([]);
  });

  it('lists flat and sorted with t, filtered the same way', () => {
    const flat = processList(snap, WEB_KEY, { ...opts, tree: false });
    expect(pids(flat.rows)).toEqual([4243, 4244, 4242, 4250, 4300]);
    expect(flat.rows.every((r) => r.depth === 0)).toBe(true);
    expect(pids(processList(snap, WEB_KEY, { ...opts, tree: false, filter: 'worker' }).rows)).toEqual([4243, 4244]);
  });

  it('hides kernel threads unless asked', () => {
    expect(pids(processList(snap, 'host', opts).rows)).not.toContain(2);
    expect(pids(processList(snap, 'host', { ...opts, kernelThreads: true }).rows)).toContain(2);
  });

  it('cuts a pid/ppid loop instead of losing or repeating its processes', () => {
    const p = (pid: number, ppid: number): ProcessView => ({ ...snap.processes[0]!, key: `${pid}:1`, pid, ppid });
    const loop = [p(10, 12), p(11, 10), p(12, 11), p(20, 1), p(21, 21)];
    const forest = buildForest(loop);
    const rows = flattenTree(forest, new Set());
    expect(pids(rows).sort()).toEqual([10, 11, 12, 20, 21]);
    // A process that is its own parent is a root.
    expect(forest.roots.map((r) => r.pid)).toContain(21);
  });

  it('keeps deep chains (no recursion limit)', () => {
    const chain: ProcessView[] = [];
    for (let i = 0; i < 20_000; i++) chain.push({ ...snap.processes[0]!, key: `${i + 2}:1`, pid: i + 2, ppid: i + 1 });
    const rows = flattenTree(buildForest(chain), new Set());
    expect(rows).toHaveLength(20_000);
    expect(rows.at(-1)!.depth).toBe(19_999);
  });
});

describe('grouping and windowing', () => {
  it('groups a snapshot by container once and answers from the cache after', () => {
    const big: World = {
      containers: [],
      processes: Array.from({ length: 3000 }, (_, i) => ({ pid: 100 + i, container: i % 3 === 0 ? WEB_KEY : 'host' })),
    };
    const snap = snapshotOf(big);
    let reads = 0;
    // Count how often the host-wide process array is walked.
    const counted: Snapshot = {
      ...snap,
      get processes() {
        reads++;
        return snap.processes;
      },
    };
    expect(processesOf(counted, WEB_KEY)).toHaveLength(1000);
    expect(processesOf(counted, 'host')).toHaveLength(2000);
    expect(processesOf(counted, 'docker:none')).toEqual([]);
    expect(reads).toBe(1);
  });

  it('slices the visible window only', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => i);
    expect(visibleSlice(rows, 990, 20)).toEqual([990, 991, 992, 993, 994, 995, 996, 997, 998, 999]);
    expect(visibleSlice(rows, 5, 3)).toEqual([5, 6, 7]);
  });

  it('lists containers sorted with host last, filtered by name', () => {
    const snap = snapshotOf(world());
    expect(containerList(snap, 'cpu', '').map((c) => c.key)).toEqual([JOB_KEY, WEB_KEY, DB_KEY, 'host']);
    expect(containerList(snap, 'name', '').map((c) => c.name)).toEqual(['db', 'job 4242 sim', 'web-1', 'host']);
    expect(containerList(snap, 'cpu', 'JOB').map((c) => c.key)).toEqual([JOB_KEY]);
    expect(containerList(undefined, 'cpu', '')).toEqual([]);
  });
});
