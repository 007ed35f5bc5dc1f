/**
 * BpfTickSource with a stand-in bpftrace (a shell script given as the binary): a real child process that prints the
 * program's hello, garbage, an interval, then dies. Its garbage is counted, its death is a gap that says procfs goes
 * on, and it is started again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfIngest, BpfTickSource } from '../../src/collectors/bpf-ingest.js';
import type { ContainerSample, Sample } from '../../src/model/sample.js';
import { toSnapshot, type Snapshot } from '../../src/model/snapshot.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-bpf-source-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A script that prints `lines` (counting its runs in `runs`) and exits with `code`. */
function fakeBpftrace(name: string, lines: readonly string[], code: number): { bin: string; runs: string } {
  const bin = path.join(tmp, name);
  const runs = path.join(tmp, `${name}.runs`);
  const body = lines.map((l) => `printf '%s\\n' '${l.replace(/'/g, `'\\''`)}'`).join('\n');
  fs.writeFileSync(bin, `#!/bin/sh\necho run >> '${runs}'\n${body}\nsleep 0.2\necho 'ERROR: something broke' >&2\nexit ${code}\n`, { mode: 0o755 });
  return { bin, runs };
}

const printf = (t: string, monoNs: number): string => JSON.stringify({ type: 'printf', data: `${JSON.stringify({ t, v: 2, mono_ns: monoNs })}\n` });
const exitLine = JSON.stringify({ type: 'map', data: { '@exit0': { '4242': ['md5sum', 0, 3_000_000, 1e9, 1, 0, 1, 2e9] } } });

describe('BpfTickSource with a bpftrace that prints garbage and dies', () => {
  it('counts the garbage, says it died and that procfs goes on, and starts it again', async () => {
    const { bin, runs } = fakeBpftrace('dies', [printf('hello', 1), 'garbage \u0001', '{"type": "map"', exitLine, printf('tick', 3e9)], 1);
    const ingest = new BpfIngest({ bootTimeMs: 0, unifiedMount: undefined, now: () => 10_000 });
    const source = new BpfTickSource({ intervalMs: 1000, bin, ingest });
    let attached = 0;
    source.onAttached(() => attached++);
    try {
      const started = Date.now();
      while (source.gap()?.includes('restarting') !== true && Date.now() - started < 10_000) await sleep(50);
      expect(source.gap()).toBe('bpftrace ended (exit 1): ERROR: something broke; procfs goes on, restarting bpftrace (1 of 3)');
      expect(attached).toBe(1);
      expect(source.deaths).toBe(1);
      expect(source.stats).toMatchObject({ malformed: 2, records: 3 });
      expect(ingest.stats).toMatchObject({ intervals: 1, exits: 1 });
      // Started again after 2 s; the second run's counts add to the first's.
      while (fs.readFileSync(runs, 'utf8').split('\n').filter(Boolean).length < 2 && Date.now() - started < 10_000) await sleep(50);
      while (source.deaths < 2 && Date.now() - started < 10_000) await sleep(50);
      expect(source.deaths).toBe(2);
      expect(source.stats).toMatchObject({ malformed: 4, records: 6 });
    } finally {
      await source.stop();
    }
  }, 20_000);

  it('one that never attaches is not started again, and the gap says why', async () => {
    const { bin, runs } = fakeBpftrace('fails', [], 1);
    const source = new BpfTickSource({ intervalMs: 1000, bin, ingest: new BpfIngest({ bootTimeMs: 0, unifiedMount: undefined }) });
    try {
      const started = Date.now();
      while (source.gap() === undefined && Date.now() - started < 10_000) await sleep(50);
      expect(source.gap()).toBe('bpftrace could not attach its probes (exit 1): ERROR: something broke; recording procfs only');
      await sleep(2500);
      expect(fs.readFileSync(runs, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
    } finally {
      await source.stop();
    }
  }, 20_000);
});

describe('BpfTickSource: failed syscalls counted or not', () => {
  /** A procfs snapshot of an empty host at t seconds. */
  const empty = (t: number, previous?: Sample): { sample: Sample; snapshot: Snapshot } => {
    const host: ContainerSample = { key: 'host', identity: { kind: 'host', id: 'host', name: 'host', cgroup: '/' }, meta: {}, cgroup: {}, processKeys: [] };
    const sample: Sample = {
      timeMs: 1_000_000 + t * 1000,
      monoNs: t * 1e9,
      host: { hostname: 'vm', ncpu: 2, cpuTotalTicks: t * 200, cpuIdleTicks: t * 100, memTotalBytes: 1 << 30, memAvailableBytes: 1 << 29, bootTimeMs: 0 },
      processes: new Map(),
      containers: new Map([['host', host]]),
      gaps: [],
    };
    return { sample, snapshot: toSnapshot(sample, previous) };
  };

  for (const errors of [true, false]) {
    it(`a tick bpftrace covered whole says ${errors ? 'none failed (an empty list)' : 'nothing (the probe is off)'}`, async () => {
      // Says hello (attached) and keeps running.
      const { bin } = fakeBpftrace(`alive-${errors}`, [printf('hello', 1)], 0);
      fs.writeFileSync(bin, fs.readFileSync(bin, 'utf8').replace('sleep 0.2', 'exec sleep 30'));
      const source = new BpfTickSource({ intervalMs: 1000, bin, errors, ingest: new BpfIngest({ bootTimeMs: 0, unifiedMount: undefined }) });
      try {
        const started = Date.now();
        while (!source.started && Date.now() - started < 10_000) await sleep(20);
        const a = empty(1);
        // The first tick after the attach is not covered whole: nothing is said about it.
        expect(source.complete(a.snapshot).syscallErrors).toBeUndefined();
        const b = empty(2, a.sample);
        expect(source.complete(b.snapshot).syscallErrors).toEqual(errors ? [] : undefined);
      } finally {
        await source.stop();
      }
    }, 20_000);
  }
});
