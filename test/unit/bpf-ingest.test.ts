/**
 * BpfIngest: bpftrace intervals completing procfs snapshots through the sysdig completion. Snapshots are
 * procfs-shaped (hand-made Samples through toSnapshot); the cgroup v2 ids are the inodes of a real directory tree
 * made here (the id bpftrace reports is the inode of the cgroup's directory), and the parent fallback is given the
 * membership a real /proc/PID/cgroup would hold.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BpfIngest, exitCode, membershipText, scanCgroupIds } from '../../src/collectors/bpf-ingest.js';
import type { BpfExit, BpfInterval } from '../../src/collectors/bpf.js';
import { parseProcCgroup } from '../../src/collectors/identity.js';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot } from '../../src/model/snapshot.js';
import { sampleAt } from '../helpers/samples.js';

const MiB = 1024 * 1024;
const T = 1_700_000_000_000;
const BOOT = T - 3_600_000;
const CID = 'c'.repeat(64);
const CKEY = `docker:${CID}`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-bpf-ingest-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
fs.mkdirSync(path.join(tmp, 'docker', CID), { recursive: true });
fs.mkdirSync(path.join(tmp, 'system.slice', 'slurmd.service'), { recursive: true });
const CONTAINER_CG = fs.statSync(path.join(tmp, 'docker', CID)).ino;
const SLURMD_CG = fs.statSync(path.join(tmp, 'system.slice', 'slurmd.service')).ino;

function procfsProcess(pid: number, startTimeMs: number, cpuNs: number, containerKey: string): ProcessSample {
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
    cpuNs,
    rssBytes: MiB,
    vsizeBytes: MiB,
    threads: 1,
    readBytes: 0,
    writeBytes: 0,
    containerKey,
    kernelThread: false,
  };
}

/** procfs at T + t s: the container's shell (pid 300) and one process that lives across the tick (pid 310). */
function sample(t: number, extra: ProcessSample[] = []): Sample {
  const shell = procfsProcess(300, T - 60_000, 1e9, CKEY);
  const processes = [shell, ...extra];
  const host: ContainerSample = { key: 'host', identity: { kind: 'host', id: 'host', name: 'host', cgroup: '/' }, meta: {}, cgroup: {}, processKeys: [] };
  const container: ContainerSample = {
    key: CKEY,
    identity: { kind: 'docker', id: CID, name: CID.slice(0, 12), cgroup: `/docker/${CID}` },
    meta: {},
    cgroup: { cpuUsageNs: t * 1e9 },
    processKeys: processes.map((p) => p.key),
  };
  return sampleAt(t, T, BOOT, processes, [host, container]);
}

/** Boot-relative ns of wall time `ms`. */
const bootNs = (ms: number): number => (ms - BOOT) * 1e6;

function exit(pid: number, startMs: number, over: Partial<BpfExit> = {}): BpfExit {
  return {
    pid,
    ppid: 300,
    uid: 0,
    comm: 'md5sum',
    code: 0,
    cpuNs: 4_000_000,
    startBootNs: bootNs(startMs) + 3_000_000,
    exitMonoNs: 0,
    cgroupId: CONTAINER_CG,
    ...over,
  };
}

function interval(monoNs: number, over: Partial<BpfInterval> = {}): BpfInterval {
  return { monoNs, exits: [], execs: new Map(), opens: [], net: [], connections: [], socketBytes: [], errors: [], ...over };
}

function ingest(parents: Record<number, string> = {}): BpfIngest {
  return new BpfIngest({
    bootTimeMs: BOOT,
    unifiedMount: tmp,
    now: () => T + 900,
    membershipOf: (pid) => (parents[pid] === undefined ? undefined : parseProcCgroup(parents[pid]!)),
  });
}

describe('BpfIngest', () => {
  it("adds a process that lived between two ticks with its container, command, lifetime and CPU; procfs's figures stay", () => {
    const bpf = ingest();
    const s0 = sample(0);
    bpf.complete(toSnapshot(s0));
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([
      {
        t: 'tick',
        interval: interval(900e6, {
          exits: [
            exit(401, T + 100, { exitMonoNs: 500e6 }),
            exit(402, T + 200, { comm: 'cat', code: 256, cpuNs: 1_000_000, exitMonoNs: 600e6 }),
            exit(403, T + 250, { comm: 'wc', exitMonoNs: 650e6 }),
          ],
          // busybox runs an applet by exec'ing /proc/self/exe: the comm names it.
          execs: new Map([
            [402, '/bin/cat'],
            [403, '/proc/self/exe'],
          ]),
          opens: [
            { pid: 401, path: '/bin/busybox', count: 1 },
            { pid: 999, path: '/etc/never', count: 1 },
          ],
        }),
      },
    ]);
    const s1 = sample(1);
    const plain = toSnapshot(s1, s0);
    const done = bpf.complete(plain);

    const added = done.processes.filter((p) => !plain.processes.some((q) => q.key === p.key));
    expect(added.map((p) => [p.pid, p.comm, p.cmdline, p.exe, p.containerKey, p.interval.cpuNs, p.cpuNs])).toEqual([
      [401, 'md5sum', 'md5sum', '', CKEY, 4_000_000, 4_000_000],
      [402, 'cat', '/bin/cat', '/bin/cat', CKEY, 1_000_000, 1_000_000],
      [403, 'wc', 'wc', '/proc/self/exe', CKEY, 4_000_000, 4_000_000],
    ]);
    // Users by this host's passwd, as procfs names them (uid 0 is root everywhere).
    expect(added.map((p) => p.user)).toEqual(['root', 'root', 'root']);
    // Start as procfs computes it (whole 10 ms ticks after boot); exit at its monotonic time on the wall clock.
    expect(added[0]!.startTimeMs).toBe(T + 100);
    expect(added[0]!.exitedAtMs).toBe(T + 500);
    expect(added[1]!.exitedAtMs).toBe(T + 600);
    // exit(1) is wait status 256: stored as a shell says it, 1.
    expect(added.map((p) => p.exitCode)).toEqual([0, 1, 0]);
    expect(done.exited.processes.filter((p) => added.includes(p))).toHaveLength(3);
    // The container's CPU is its cgroup's: the short-lived add none to it.
    expect(done.containers.find((c) => c.key === CKEY)!.interval.cpuNs).toBe(1e9);
    // The md5sum's open of /bin/busybox is an access observation of bpftrace's; a pid that never exited waits.
    expect(done.access).toEqual([expect.objectContaining({ kind: 'file', processKey: added[0]!.key, path: '/bin/busybox', opens: 1, source: 'bpf' })]);
    expect(bpf.stats).toMatchObject({ intervals: 1, exits: 3, byParent: 0, opensDropped: 0 });
  });

  it('never adds a process procfs saw (same pid, same start), so its CPU is not counted twice', () => {
    const bpf = ingest();
    const lived = procfsProcess(310, T + 200, 2_000_000, CKEY);
    const s0 = sample(0, [lived]);
    bpf.complete(toSnapshot(s0));
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([
      {
        t: 'tick',
        interval: interval(900e6, {
          exits: [exit(310, T + 200, { exitMonoNs: 500e6, cpuNs: 9_000_000 })],
          opens: [{ pid: 310, path: '/etc/hosts', count: 2 }],
        }),
      },
    ]);
    const s1 = sample(1);
    const plain = toSnapshot(s1, s0);
    const done = bpf.complete(plain);
    expect(done.processes.map((p) => p.key)).toEqual(plain.processes.map((p) => p.key));
    // Its opens land on procfs's key.
    expect(done.access).toEqual([expect.objectContaining({ processKey: lived.key, path: '/etc/hosts', opens: 2, source: 'bpf' })]);
  });

  it("takes the parent's cgroups when the process's own v2 cgroup names no container (a v1-only Slurm job)", () => {
    const job = '4:memory:/slurm/uid_1000/job_77/step_0/task_0\n3:cpuacct:/\n0::/system.slice/slurmd.service\n';
    const bpf = ingest({ 500: job });
    bpf.complete(toSnapshot(sample(0)));
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([
      {
        t: 'tick',
        interval: interval(900e6, {
          exits: [
            exit(501, T + 100, { ppid: 500, cgroupId: SLURMD_CG, exitMonoNs: 500e6 }),
            exit(502, T + 100, { ppid: 1, cgroupId: 1234567, exitMonoNs: 500e6 }),
          ],
        }),
      },
    ]);
    const done = bpf.complete(toSnapshot(sample(1), sample(0)));
    const added = done.processes.filter((p) => p.pid === 501 || p.pid === 502);
    expect(added.map((p) => [p.pid, p.containerKey])).toEqual([
      [501, 'slurm:77'],
      [502, 'host'],
    ]);
    expect(done.containers.find((c) => c.key === 'slurm:77')).toMatchObject({ kind: 'slurm', id: '77' });
    expect(bpf.stats.byParent).toBe(1);
  });

  it('drops opens whose process does not exit within three intervals, and counts them', () => {
    const bpf = ingest();
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([{ t: 'tick', interval: interval(1e9, { opens: [{ pid: 600, path: '/etc/a', count: 1 }] }) }]);
    bpf.push([{ t: 'tick', interval: interval(2e9) }]);
    expect(bpf.stats.opensDropped).toBe(0);
    bpf.push([{ t: 'tick', interval: interval(3e9) }]);
    expect(bpf.stats.opensDropped).toBe(1);
  });
});

describe('exit codes', () => {
  it('reads a wait status as a shell does', () => {
    expect([exitCode(0), exitCode(256), exitCode(7 << 8), exitCode(15), exitCode(9 | 0x80)]).toEqual([0, 1, 7, 143, 137]);
  });

  it('gives a process procfs saw exit the code bpftrace saw', () => {
    const bpf = ingest();
    const lived = procfsProcess(310, T - 30_000, 2_000_000, CKEY);
    const s0 = sample(0, [lived]);
    bpf.complete(toSnapshot(s0));
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([{ t: 'tick', interval: interval(900e6, { exits: [exit(310, T - 30_000, { startBootNs: bootNs(T - 30_000), code: 9, exitMonoNs: 500e6 })] }) }]);
    const done = bpf.complete(toSnapshot(sample(1), s0));
    expect(done.exited.processes.map((p) => [p.key, p.exitCode])).toEqual([[lived.key, 137]]);
    expect(done.processes.find((p) => p.pid === 310)).toBeUndefined();
  });

  it('reports a procfs exit again, with its code, when bpftrace tells the code a tick later', () => {
    const bpf = ingest();
    const lived = procfsProcess(310, T - 30_000, 2_000_000, CKEY);
    const s0 = sample(0, [lived]);
    const s1 = sample(1);
    bpf.complete(toSnapshot(s0));
    const first = bpf.complete(toSnapshot(s1, s0));
    expect(first.exited.processes.map((p) => [p.key, p.exitCode])).toEqual([[lived.key, undefined]]);
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([
      { t: 'tick', interval: interval(900e6, { exits: [exit(310, T - 30_000, { startBootNs: bootNs(T - 30_000), code: 3 << 8, exitMonoNs: 500e6 })] }) },
    ]);
    const next = bpf.complete(toSnapshot(sample(2), s1));
    expect(next.exited.processes.map((p) => [p.key, p.exitCode])).toEqual([[lived.key, 3]]);
    expect(next.processes.find((p) => p.pid === 310)).toBeUndefined();
  });
});

describe('cgroup ids and memberships', () => {
  it('maps directory inodes to cgroup paths', () => {
    const ids = scanCgroupIds(tmp);
    expect(ids.get(CONTAINER_CG)).toBe(`/docker/${CID}`);
    expect(ids.get(fs.statSync(tmp).ino)).toBe('/');
  });

  it('writes a membership as the bridge text the completion reads back', () => {
    expect(membershipText(parseProcCgroup('4:memory:/a b\n2:cpu,cpuacct:/c\n0::/d\n'))).toBe('memory=/a b cpu=/c cpuacct=/c =/d');
  });
});

describe('per-process socket bytes', () => {
  const net = (pid: number, family: number, rxBytes: number, txBytes: number) => ({ pid, family, protocol: family === 1 ? 0 : 6, rxBytes, txBytes });

  it("go to the tick's process on the pid, inet and inet6 only; the others had none (0, not unmeasured)", () => {
    const bpf = ingest();
    const lived = procfsProcess(310, T + 200, 2_000_000, CKEY);
    const s0 = sample(0, [lived]);
    bpf.complete(toSnapshot(s0));
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([
      { t: 'tick', interval: interval(500e6, { net: [net(310, 2, 1000, 10), net(310, 1, 5000, 5000)] }) },
      { t: 'tick', interval: interval(900e6, { net: [net(310, 10, 500, 20), net(401, 2, 300, 0)], exits: [exit(401, T + 300, { exitMonoNs: 800e6 })] }) },
    ]);
    const s1 = sample(1, [lived]);
    const plain = toSnapshot(s1, s0);
    const done = bpf.complete(plain);
    expect(done.processNetMeasured).toBe(true);
    const p310 = done.processes.find((p) => p.pid === 310)!;
    expect(p310.interval).toMatchObject({ netRxBytes: 1500, netTxBytes: 30 });
    expect(p310.netRxBytesPerSec).toBe(1500);
    // The short-lived md5sum's bytes land on the process the completion added.
    expect(done.processes.find((p) => p.pid === 401)!.interval).toMatchObject({ netRxBytes: 300, netTxBytes: 0 });
    expect(done.exited.processes.find((p) => p.pid === 401)!.interval.netRxBytes).toBe(300);
    const shell = plain.processes.find((p) => p.pid === 300)!;
    expect(shell.netRxBytesPerSec).toBeUndefined();
    const silent = done.processes.find((p) => p.pid === 300)!;
    expect(silent.interval).toMatchObject({ netRxBytes: 0, netTxBytes: 0 });
    expect([silent.netRxBytesPerSec, silent.netTxBytesPerSec]).toEqual([0, 0]);
    // Its other rates are the ones procfs's view was built with.
    expect(silent.cpuPercent).toBe(shell.cpuPercent);
  });

  it('a process procfs reused unchanged is completed to the same object as last tick: no copy per idle process per tick', () => {
    const bpf = ingest();
    const s0 = sample(0);
    bpf.complete(toSnapshot(s0));
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([{ t: 'tick', interval: interval(900e6) }]);
    // The shell's CPU does not move: the sampler lists it unchanged, and toSnapshot hands its last view on.
    const idle = (t: number): Sample => {
      const s = sample(t);
      const shell = [...s.processes.values()][0]!;
      return { ...s, unchanged: new Set([shell.key]) };
    };
    const s1 = idle(1);
    const plain1 = toSnapshot(s1, s0);
    const done1 = bpf.complete(plain1);
    bpf.push([{ t: 'tick', interval: interval(1900e6) }]);
    const plain2 = toSnapshot(idle(2), s1, plain1);
    expect(plain2.processes[0]).toBe(plain1.processes[0]);
    const done2 = bpf.complete(plain2);
    expect(done2.processes[0]).toBe(done1.processes[0]);
    expect(done2.processes[0]!.interval).toMatchObject({ netRxBytes: 0, netTxBytes: 0 });
    expect(done2.processes[0]!.netRxBytesPerSec).toBe(0);
    // A process with bytes gets its own view that tick.
    bpf.push([{ t: 'tick', interval: interval(2900e6, { net: [net(300, 2, 10, 0)] }) }]);
    const plain3 = toSnapshot(idle(3), idle(2), plain2);
    const done3 = bpf.complete(plain3);
    expect(done3.processes[0]).not.toBe(done2.processes[0]);
    expect(done3.processes[0]!.netRxBytesPerSec).toBe(10);
  });

  it('bytes of a pid no process holds wait four ticks, then are dropped and counted; unmeasured ticks say so', () => {
    const bpf = ingest();
    const s0 = sample(0);
    bpf.complete(toSnapshot(s0));
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([{ t: 'tick', interval: interval(900e6, { net: [net(777, 2, 40, 2)] }) }]);
    const first = bpf.complete(toSnapshot(sample(1), s0), false);
    expect(first.processNetMeasured).toBeUndefined();
    // Not measured: no process says 0.
    expect(first.processes.every((p) => p.netRxBytesPerSec === undefined && p.interval.netRxBytes === undefined)).toBe(true);
    expect(bpf.stats.netBytesDropped).toBe(0);
    for (let t = 2; t <= 4; t++) {
      bpf.complete(toSnapshot(sample(t), sample(t - 1)));
      expect(bpf.stats.netBytesDropped).toBe(0);
    }
    bpf.complete(toSnapshot(sample(5), sample(4)));
    expect(bpf.stats.netBytesDropped).toBe(42);
  });

  it('the last bytes of a process procfs saw exit are a row of their own in the next tick (they are not lost)', () => {
    const bpf = ingest();
    const lived = procfsProcess(310, T - 30_000, 2_000_000, CKEY);
    const s0 = sample(0, [lived]);
    const s1 = sample(1);
    bpf.complete(toSnapshot(s0));
    const gone = bpf.complete(toSnapshot(s1, s0));
    expect(gone.exited.processes.map((p) => p.pid)).toEqual([310]);
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([{ t: 'tick', interval: interval(1e9, { net: [net(310, 2, 0, 200_000)] }) }]);
    const next = bpf.complete(toSnapshot(sample(2), s1));
    const row = next.processes.find((p) => p.pid === 310)!;
    expect(row).toMatchObject({ key: lived.key, containerKey: CKEY });
    expect(row.interval).toEqual({ cpuNs: 0, netRxBytes: 0, netTxBytes: 200_000 });
    expect(bpf.stats.netBytesDropped).toBe(0);
  });
});

describe('connections', () => {
  // A and A2: one socket address, reused by a second connection in the same interval (other ports).
  const A = '0xffff888100000a00,56000,80';
  const A2 = '0xffff888100000a00,56002,80';
  const B = '0xffff888100000b00,80,41000';
  const C = '0xffff888100000c00,43000,443';
  const conn = (id: string, local: string, lport: number, remote: string, rport: number, side: number, state: number) => ({
    id,
    localAddress: local,
    localPort: lport,
    remoteAddress: remote,
    remotePort: rport,
    side,
    state,
  });

  it("a 50 ms connection between two ticks is its process's, with both endpoints and its bytes; procfs's twin lends its fd", () => {
    const bpf = ingest();
    const server = procfsProcess(310, T - 60_000, 2_000_000, CKEY);
    const s0 = sample(0, [server]);
    bpf.complete(toSnapshot(s0));
    bpf.push([{ t: 'hello', monoNs: 0 }]);
    bpf.push([
      {
        t: 'tick',
        interval: interval(900e6, {
          exits: [exit(401, T + 300, { comm: 'wget', exitMonoNs: 800e6 })],
          // wget's connection opened and closed in the interval; the server's accepted one is still open.
          connections: [
            conn(A, '172.22.0.3', 56000, '172.22.0.2', 80, 1, 7),
            conn(A2, '172.22.0.3', 56002, '172.22.0.2', 80, 1, 7),
            conn(B, '::ffff:172.22.0.2', 80, '::ffff:172.22.0.9', 41000, 2, 1),
          ],
          socketBytes: [
            { pid: 401, id: A, rxBytes: 20_300, txBytes: 80 },
            { pid: 401, id: A2, rxBytes: 20_301, txBytes: 81 },
            { pid: 310, id: B, rxBytes: 90, txBytes: 20_300 },
            { pid: 310, id: C, rxBytes: 5, txBytes: 5 },
          ],
        }),
      },
    ]);
    const s1 = { ...sample(1, [server]) };
    const twin = {
      kind: 'net' as const,
      processKey: server.key,
      fd: 5,
      protocol: 'tcp6',
      local: '[::ffff:172.22.0.2]:80',
      remote: '[::ffff:172.22.0.9]:41000',
      state: 'ESTABLISHED',
      opens: 1,
      source: 'procfs' as const,
    };
    const done = bpf.complete(toSnapshot({ ...s1, access: [twin] }, s0));
    const wget = done.processes.find((p) => p.pid === 401)!;
    const net = (done.access ?? []).filter((o) => o.kind === 'net' && o.source === 'bpf');
    expect(net).toEqual([
      {
        kind: 'net',
        processKey: wget.key,
        protocol: 'tcp',
        local: '172.22.0.3:56000',
        remote: '172.22.0.2:80',
        state: 'connect',
        opens: 1,
        bytesIn: 20_300,
        bytesOut: 80,
        source: 'bpf',
      },
      expect.objectContaining({ processKey: wget.key, local: '172.22.0.3:56002', remote: '172.22.0.2:80', bytesIn: 20_301, bytesOut: 81 }),
      { ...twin, opens: 1, bytesIn: 90, bytesOut: 20_300, source: 'bpf' },
    ]);
    // Bytes on a socket whose endpoints bpftrace never saw count per process only.
    expect(bpf.stats.socketBytesUnattributed).toBe(10);

    // The next interval: the closed socket's id was forgotten (a new socket may reuse it); the open one goes on.
    bpf.push([
      {
        t: 'tick',
        interval: interval(1900e6, {
          socketBytes: [
            { pid: 310, id: B, rxBytes: 1, txBytes: 2 },
            { pid: 999, id: A, rxBytes: 7, txBytes: 0 },
          ],
        }),
      },
    ]);
    const next = bpf.complete(toSnapshot(sample(2, [server]), s1));
    expect((next.access ?? []).filter((o) => o.source === 'bpf')).toEqual([
      expect.objectContaining({ processKey: server.key, protocol: 'tcp6', state: 'accept', opens: 0, bytesIn: 1, bytesOut: 2 }),
    ]);
    expect(bpf.stats.socketBytesUnattributed).toBe(17);
  });
});
