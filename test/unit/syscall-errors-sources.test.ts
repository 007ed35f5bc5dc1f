/**
 * Where failed syscalls come from: bpftrace's err map (numbers, named here, attributed to processes by BpfIngest) and
 * the sysdig bridge's `err` records (real bridge output of curl_google.scap; hand-made records for the completion).
 * Snapshots are procfs-shaped (hand-made Samples through toSnapshot); the container's cgroup v2 id is the inode of a
 * real directory made here, as bpftrace reports it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfIngest } from '../../src/collectors/bpf-ingest.js';
import type { BpfError, BpfExit, BpfInterval } from '../../src/collectors/bpf.js';
import { SysdigIngest } from '../../src/collectors/sysdig-ingest.js';
import { BridgeParser, bridgeProcessKey, type BridgeRecord } from '../../src/collectors/sysdig.js';
import { errnoName, syscallName } from '../../src/collectors/syscall-names.js';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot, type Snapshot } from '../../src/model/snapshot.js';
import { sumSyscallErrors } from '../../src/model/syscall-errors.js';
import { sampleAt } from '../helpers/samples.js';

const MiB = 1024 * 1024;
const T = 1_700_000_000_000;
const BOOT = T - 3_600_000;
const CID = 'f'.repeat(64);
const CKEY = `docker:${CID}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-syscall-sources-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
fs.mkdirSync(path.join(tmp, 'docker', CID), { recursive: true });
const CONTAINER_CG = fs.statSync(path.join(tmp, 'docker', CID)).ino;

function procfsProcess(pid: number, startTimeMs: number): ProcessSample {
  const startTicks = Math.round((startTimeMs - BOOT) / 10);
  return {
    key: `${pid}:${startTicks}`,
    pid,
    startTicks,
    startTimeMs,
    ppid: 1,
    comm: `p${pid}`,
    cmdline: `p${pid}`,
    exe: `/bin/p${pid}`,
    uid: 0,
    user: 'root',
    state: 'S',
    cpuNs: 1e9,
    rssBytes: MiB,
    vsizeBytes: MiB,
    threads: 1,
    readBytes: 0,
    writeBytes: 0,
    containerKey: CKEY,
    kernelThread: false,
  };
}

/** procfs at T + t s: the container's shell, pid 300. */
const SHELL = procfsProcess(300, T - 60_000);
function sample(t: number): Sample {
  const host: ContainerSample = { key: 'host', identity: { kind: 'host', id: 'host', name: 'host', cgroup: '/' }, meta: {}, cgroup: {}, processKeys: [] };
  const container: ContainerSample = {
    key: CKEY,
    identity: { kind: 'docker', id: CID, name: CID.slice(0, 12), cgroup: `/docker/${CID}` },
    meta: {},
    cgroup: { cpuUsageNs: t * 1e9 },
    processKeys: [SHELL.key],
  };
  return sampleAt(t, T, BOOT, [SHELL], [host, container]);
}

const exit = (pid: number, startMs: number, exitMonoNs: number): BpfExit => ({
  pid,
  ppid: 300,
  uid: 0,
  comm: 'cat',
  code: 256,
  cpuNs: 1_000_000,
  startBootNs: (startMs - BOOT) * 1e6,
  exitMonoNs,
  cgroupId: CONTAINER_CG,
});
const interval = (monoNs: number, over: Partial<BpfInterval> = {}): BpfInterval => ({
  monoNs,
  exits: [],
  execs: new Map(),
  opens: [],
  net: [],
  connections: [],
  socketBytes: [],
  errors: [],
  ...over,
});
const err = (pid: number, syscall: number, errno: number, count: number): BpfError => ({ pid, syscall, errno, count });
const ingest = (): BpfIngest => new BpfIngest({ bootTimeMs: BOOT, unifiedMount: tmp, now: () => T + 900, membershipOf: () => undefined });

/** Counts of a snapshot per `pid syscall errno`, the pid taken from the process the key names. */
function counts(s: Snapshot): Record<string, number> {
  const pids = new Map(s.processes.map((p) => [p.key, p.pid]));
  const out: Record<string, number> = {};
  for (const e of sumSyscallErrors(s.syscallErrors ?? [])) out[`${pids.get(e.processKey) ?? '?'} ${e.syscall} ${e.errno}`] = e.count;
  return out;
}

describe('syscall and errno names', () => {
  it('names x86_64 syscalls and Linux errnos, and keeps the number where there is no name', () => {
    expect([syscallName(257, 'x64'), syscallName(61, 'x64'), syscallName(0, 'x64'), syscallName(435, 'x64'), syscallName(334, 'x64')]).toEqual([
      'openat',
      'wait4',
      'read',
      'clone3',
      'rseq',
    ]);
    // Unused numbers, -1 (the kernel did not know the call) and another architecture's table stay numbers.
    expect([syscallName(400, 'x64'), syscallName(-1, 'x64'), syscallName(257, 'arm64')]).toEqual(['400', '-1', '257']);
    expect([errnoName(2), errnoName(11), errnoName(115), errnoName(133), errnoName(512), errnoName(41), errnoName(999)]).toEqual([
      'ENOENT',
      'EAGAIN',
      'EINPROGRESS',
      'EHWPOISON',
      'ERESTARTSYS',
      '41',
      '999',
    ]);
  });
});

describe('BpfIngest: failed syscalls', () => {
  const arch = process.arch === 'x64';

  it("a short-lived process's errors go with its exit to the process the completion adds, in its container", () => {
    const bpf = ingest();
    const s0 = sample(0);
    bpf.complete(toSnapshot(s0));
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    // Its errors come an interval before its exit: they wait for it.
    bpf.push([{ t: 'tick', interval: interval(400e6, { errors: [err(401, 257, 2, 1)] }) }]);
    bpf.push([{ t: 'tick', interval: interval(900e6, { errors: [err(401, 257, 2, 2), err(401, 21, 2, 1)], exits: [exit(401, T + 100, 800e6)] }) }]);
    const done = bpf.complete(toSnapshot(sample(1), s0));
    const cat = done.processes.find((p) => p.pid === 401)!;
    expect(cat).toMatchObject({ containerKey: CKEY, comm: 'cat' });
    expect(done.syscallErrors?.every((e) => e.processKey === cat.key)).toBe(true);
    expect(counts(done)).toEqual(arch ? { '401 openat ENOENT': 3, '401 access ENOENT': 1 } : { '401 257 ENOENT': 3, '401 21 ENOENT': 1 });
    expect(bpf.stats.errorsDropped).toBe(0);
  });

  it("a live process's errors go to the tick's process on the pid; a pid nobody holds waits four ticks (NET_WAIT), then is dropped and counted", () => {
    const bpf = ingest();
    const s0 = sample(0);
    bpf.complete(toSnapshot(s0));
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([{ t: 'tick', interval: interval(900e6, { errors: [err(300, 61, 10, 40), err(777, 257, 13, 5)] }) }]);
    const first = bpf.complete(toSnapshot(sample(1), s0));
    expect(first.syscallErrors).toEqual([{ processKey: SHELL.key, syscall: syscallName(61), errno: 'ECHILD', count: 40 }]);
    for (let i = 2; i <= 4; i++) expect(bpf.complete(toSnapshot(sample(i), sample(i - 1))).syscallErrors).toBeUndefined();
    expect(bpf.stats.errorsDropped).toBe(0);
    bpf.complete(toSnapshot(sample(5), sample(4)));
    expect(bpf.stats.errorsDropped).toBe(5);
  });
});

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/sysdig');

describe('SysdigIngest: err records', () => {
  it("curl_google (real bridge output): curl's failed access, open and connect calls are in the snapshot, by syscall and errno", () => {
    const parser = new BridgeParser();
    const sysdig = new SysdigIngest();
    sysdig.push(parser.push(fs.readFileSync(path.join(FIXTURES, 'curl_google.jsonl'), 'utf8')));
    sysdig.push(parser.end());
    sysdig.finish();
    const snapshots = sysdig.takeSnapshots();
    const all = snapshots.flatMap((s) => s.syscallErrors ?? []);
    const curl = snapshots.flatMap((s) => s.processes).find((p) => p.comm === 'curl')!;
    const mine = sumSyscallErrors(all.filter((e) => e.processKey === curl.key));
    expect(mine.map((e) => `${e.syscall} ${e.errno} ${e.count}`)).toEqual(expect.arrayContaining(['access ENOENT 39', 'open ENOENT 1', 'connect ENOENT 2']));
    // Each count once: the snapshots' sum is the bridge's.
    const wire = fs
      .readFileSync(path.join(FIXTURES, 'curl_google.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"t":"err"'))
      .reduce((a, l) => a + (JSON.parse(l) as { count: number }).count, 0);
    expect(all.reduce((a, e) => a + e.count, 0)).toBe(wire);
  });

  it("'complete' mode: errors of a process procfs saw move onto its procfs key; those of a short-lived one stay with it", () => {
    const sysdig = new SysdigIngest({ mode: 'complete' });
    const s0 = sample(0);
    sysdig.complete(toSnapshot(s0));
    const cg = `memory=/docker/${CID} cpu=/docker/${CID}`;
    const identity = (pid: number, start: number, exact: boolean): BridgeRecord => ({
      v: 1,
      t: exact ? 'exec' : 'proc',
      ts: T + 100,
      pid,
      start,
      start_exact: exact,
      ppid: 1,
      vpid: -1,
      uid: 0,
      comm: `p${pid}`,
      exe: '',
      cmdline: `p${pid}`,
      container: '',
      cgroups: cg,
    });
    const shellRef = { pid: 300, start: SHELL.startTimeMs };
    const shortRef = { pid: 402, start: T + 100 };
    sysdig.push([
      identity(300, SHELL.startTimeMs, true),
      identity(402, T + 100, true),
      { v: 1, t: 'err', ts: T + 200, ...shellRef, syscall: 'wait4', errno: 'ECHILD', count: 7 },
      { v: 1, t: 'err', ts: T + 200, ...shortRef, syscall: 'openat', errno: 'ENOENT', count: 1 },
      { v: 1, t: 'exit', ts: T + 300, ...shortRef, status: 256 },
      { v: 1, t: 'tick', ts: T + 900, dt_ms: 900, events: 5 },
    ]);
    const done = sysdig.complete(toSnapshot(sample(1), s0));
    expect(done.syscallErrors).toEqual([
      { processKey: SHELL.key, syscall: 'wait4', errno: 'ECHILD', count: 7 },
      { processKey: bridgeProcessKey(shortRef), syscall: 'openat', errno: 'ENOENT', count: 1 },
    ]);
    expect(done.processes.find((p) => p.key === bridgeProcessKey(shortRef))?.containerKey).toBe(CKEY);
  });
});
