/**
 * Per-process network bytes through the rollup: measured bytes are summed and conserved across tiers, a tick whose
 * source measured per-process network makes a silent process 0 (not unknown), and without such a source the rows
 * say not measured.
 */
import { describe, expect, it } from 'vitest';
import type { ProcessView, Snapshot } from '../../src/model/snapshot.js';
import { Rollup } from '../../src/store/rollup.js';

const T = Date.UTC(2026, 0, 1, 10, 0, 0);

function view(key: string, net?: { rx: number; tx: number }): ProcessView {
  return {
    key,
    pid: Number(key.split(':')[0]),
    ppid: 1,
    comm: 'nc',
    cmdline: 'nc',
    exe: '/bin/nc',
    uid: 0,
    user: 'root',
    state: 'S',
    containerKey: 'host',
    kernelThread: false,
    startTimeMs: T - 1000,
    cpuNs: 0,
    rssBytes: 1000,
    vsizeBytes: 1000,
    memPercent: 0,
    threads: 1,
    interval: net === undefined ? { cpuNs: 0 } : { cpuNs: 0, netRxBytes: net.rx, netTxBytes: net.tx },
  };
}

function snap(t: number, processes: ProcessView[], measured: boolean): Snapshot {
  return {
    timeMs: T + t,
    intervalMs: 1000,
    host: { hostname: 'h', ncpu: 1, memTotalBytes: 1, memUsedBytes: 0 },
    containers: [],
    processes,
    exited: { containers: [], processes: [] },
    gaps: [],
    ...(measured && { processNetMeasured: true }),
  };
}

describe('Rollup: per-process network bytes', () => {
  it('sums measured bytes into second and minute rows (conserved), silent processes 0 when measured', () => {
    const rollup = new Rollup({ tiers: ['second', 'minute'] });
    const rows = [
      ...rollup.add(snap(0, [view('1:1', { rx: 100, tx: 7 }), view('2:1')], true)).processes,
      ...rollup.add(snap(1000, [view('1:1', { rx: 50, tx: 0 }), view('2:1')], true)).processes,
      ...rollup.add(snap(2000, [view('1:1'), view('2:1')], true)).processes,
      ...rollup.flush().processes,
    ];
    // The third second is idle and unchanged: left out (change-only), still folded into the minute.
    const seconds = rows.filter((r) => r.tier === 'second' && r.processKey === '1:1');
    expect(seconds.map((r) => [r.netRxBytes, r.netTxBytes])).toEqual([
      [100, 7],
      [50, 0],
    ]);
    const minute = rows.find((r) => r.tier === 'minute' && r.processKey === '1:1')!;
    expect([minute.netRxBytes, minute.netTxBytes]).toEqual([150, 7]);
    expect(rows.find((r) => r.tier === 'minute' && r.processKey === '2:1')).toMatchObject({ netRxBytes: 0, netTxBytes: 0 });
  });

  it('leaves the columns unknown when no source measured per-process network', () => {
    const rollup = new Rollup({ tiers: ['second'] });
    rollup.add(snap(0, [view('1:1')], false));
    const [row] = rollup.flush().processes;
    expect(row).toBeDefined();
    expect(row!.netRxBytes).toBeUndefined();
    expect(row!.netTxBytes).toBeUndefined();
  });
});
