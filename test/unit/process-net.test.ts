/**
 * Per-process network bytes/s, one way through: bpftrace's socket bytes (through the real BpfIngest) give a process
 * its rates in the one view builder; the TUI's NET/s column, `ps --json` and replay from a real SQLite store (the
 * real Recorder) show the same figures, and without the source every one of them says not measured, never 0.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfIngest } from '../../src/collectors/bpf-ingest.js';
import type { BpfInterval } from '../../src/collectors/bpf.js';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot, type ProcessView, type Snapshot } from '../../src/model/snapshot.js';
import { netBytesPerSec, withProcessNet } from '../../src/model/view.js';
import { processRecord } from '../../src/records.js';
import { openStore } from '../../src/store/database.js';
import { snapshotFromStore } from '../../src/store/history.js';
import { Recorder } from '../../src/store/recorder.js';
import { DEFAULT_RETENTION } from '../../src/store/tiers.js';
import { processHeader, processLine } from '../../src/tui/rows.js';
import { sampleAt } from '../helpers/samples.js';

const MiB = 1024 * 1024;
const T0 = Date.UTC(2026, 10, 21, 21, 0, 0);
const BOOT = T0 - 3_600_000;
const KEY = 'docker:' + 'd'.repeat(64);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-process-net-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function proc(pid: number, cpuNs: number): ProcessSample {
  const startTicks = 100 * pid;
  return {
    key: `${pid}:${startTicks}`,
    pid,
    startTicks,
    startTimeMs: BOOT + startTicks * 10,
    ppid: 1,
    comm: pid === 10 ? 'wget' : 'sleep',
    cmdline: pid === 10 ? 'wget -q http://web/' : 'sleep 300',
    exe: '/bin/busybox',
    uid: 0,
    user: 'root',
    state: 'S',
    cpuNs,
    rssBytes: MiB,
    vsizeBytes: 2 * MiB,
    threads: 1,
    readBytes: 0,
    writeBytes: 0,
    containerKey: KEY,
    kernelThread: false,
  };
}

/** Two processes of one container: pid 10 busy (it downloads), pid 11 asleep (its sample never changes). */
function sample(t: number): Sample {
  const processes = [proc(10, t * 1e8), proc(11, 5e8)];
  const container: ContainerSample = {
    key: KEY,
    identity: { kind: 'docker', id: 'd'.repeat(64), name: 'client', cgroup: `/docker/${'d'.repeat(64)}` },
    meta: {},
    cgroup: { cpuUsageNs: t * 1e8, memoryWorkingSetBytes: 10 * MiB },
    processKeys: processes.map((p) => p.key),
  };
  return sampleAt(t, T0, BOOT, processes, [container]);
}

const tick = (monoNs: number, rx: number, tx: number): { t: 'tick'; interval: BpfInterval } => ({
  t: 'tick',
  interval: {
    monoNs,
    exits: [],
    execs: new Map(),
    opens: [],
    net: [{ pid: 10, family: 2, protocol: 6, rxBytes: rx, txBytes: tx }],
    connections: [],
    socketBytes: [],
    errors: [],
  },
});

/** 8 ticks; with `bpf`, pid 10 receives 3000 and sends 100 bytes a second from tick 2 on (the source attached at 1). */
function run(bpf: boolean): Snapshot[] {
  const ingest = new BpfIngest({ bootTimeMs: BOOT, unifiedMount: undefined, now: () => T0, membershipOf: () => undefined });
  const out: Snapshot[] = [];
  let previous: Sample | undefined;
  for (let t = 0; t < 8; t++) {
    const s = sample(t);
    const plain = toSnapshot(s, previous, out.at(-1));
    if (bpf) {
      if (t === 1) ingest.push([{ t: 'hello', monoNs: t * 1e9 }]);
      if (t >= 2) ingest.push([tick(t * 1e9, 3000, 100)]);
    }
    out.push(bpf ? ingest.complete(plain, t >= 2) : plain);
    previous = s;
  }
  return out;
}

const row = (process: ProcessView) => ({ process, depth: 0, hasChildren: false, collapsed: false, hidden: 0 });
/** The NET/s cell of a process line (the column after WR/s). */
function netCell(p: ProcessView): string {
  const header = processHeader(120, 'cpu', false);
  const at = header.indexOf('NET/s');
  expect(at).toBeGreaterThan(0);
  return processLine(row(p), 120, false, false)
    .slice(at - 1, at + 5)
    .trim();
}

describe('per-process network bytes/s', () => {
  const measured = run(true);
  const procfsOnly = run(false);

  it('come from the one view builder: rates over the interval, CPU% kept', () => {
    const last = measured.at(-1)!;
    const wget = last.processes.find((p) => p.pid === 10)!;
    const sleeper = last.processes.find((p) => p.pid === 11)!;
    expect([wget.netRxBytesPerSec, wget.netTxBytesPerSec, netBytesPerSec(wget)]).toEqual([3000, 100, 3100]);
    expect([sleeper.netRxBytesPerSec, sleeper.netTxBytesPerSec, netBytesPerSec(sleeper)]).toEqual([0, 0, 0]);
    expect(wget.cpuPercent).toBeCloseTo(10);
    const twice = withProcessNet(wget, { ...wget.interval, netRxBytes: 500, netTxBytes: 0 }, 0.5);
    expect([twice.netRxBytesPerSec, twice.netTxBytesPerSec, twice.cpuPercent]).toEqual([1000, 0, wget.cpuPercent]);
    expect(withProcessNet(wget, { cpuNs: 0 }, 1).netRxBytesPerSec).toBeUndefined();
  });

  it('NET/s and ps --json say 0 for a silent process when measured, and not measured (- / null) from procfs alone', () => {
    const m = measured.at(-1)!;
    const p = procfsOnly.at(-1)!;
    expect(netCell(m.processes.find((x) => x.pid === 10)!)).toBe('3.0K');
    expect(netCell(m.processes.find((x) => x.pid === 11)!)).toBe('0');
    expect(netCell(p.processes.find((x) => x.pid === 11)!)).toBe('-');
    expect(processRecord(m.processes.find((x) => x.pid === 10)!)).toMatchObject({ net_rx_bytes_per_sec: 3000, net_tx_bytes_per_sec: 100 });
    expect(processRecord(m.processes.find((x) => x.pid === 11)!)).toMatchObject({ net_rx_bytes_per_sec: 0, net_tx_bytes_per_sec: 0 });
    expect(processRecord(p.processes.find((x) => x.pid === 10)!)).toMatchObject({ net_rx_bytes_per_sec: null, net_tx_bytes_per_sec: null });
    // Before the source covered a whole interval nothing was measured.
    expect(measured[1]!.processes.find((x) => x.pid === 11)!.netRxBytesPerSec).toBeUndefined();
  });

  it('replay shows what live showed, from the stored series (idle processes 0 in a measured second)', () => {
    for (const [name, snapshots] of [
      ['measured', measured],
      ['procfs', procfsOnly],
    ] as const) {
      const store = openStore(path.join(tmp, `${name}.db`));
      try {
        const recorder = new Recorder(store, DEFAULT_RETENTION);
        for (const s of snapshots) recorder.record(s);
        recorder.finish(snapshots.at(-1));
        for (const t of [4, 6]) {
          const replayed = snapshotFromStore(store.db, 'second', T0 + t * 1000, { memTotalBytes: 8192 * MiB })!;
          for (const pid of [10, 11]) {
            const live = snapshots[t]!.processes.find((p) => p.pid === pid)!;
            const past = replayed.processes.find((p) => p.pid === pid)!;
            expect([name, t, pid, past.netRxBytesPerSec, past.netTxBytesPerSec]).toEqual([name, t, pid, live.netRxBytesPerSec, live.netTxBytesPerSec]);
          }
          expect(replayed.processNetMeasured).toBe(name === 'measured' ? true : undefined);
        }
      } finally {
        store.close();
      }
    }
  });
});
