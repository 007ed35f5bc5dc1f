import { describe, expect, it } from 'vitest';
import type { ContainerSample, HostSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot } from '../../src/model/snapshot.js';
import { sortContainers, sortProcesses } from '../../src/model/sort.js';

const GiB = 1024 ** 3;
const host: HostSample = {
  hostname: 'vm',
  ncpu: 2,
  cpuTotalTicks: 10_000,
  cpuIdleTicks: 8_000,
  memTotalBytes: 8 * GiB,
  memAvailableBytes: 6 * GiB,
  bootTimeMs: 1_000_000,
};

function proc(pid: number, containerKey: string, over: Partial<ProcessSample> = {}): ProcessSample {
  return {
    key: `${pid}:100`,
    pid,
    startTicks: 100,
    startTimeMs: 1_001_000,
    ppid: 1,
    comm: `p${pid}`,
    cmdline: `p${pid} --flag`,
    exe: `/bin/p${pid}`,
    uid: 0,
    user: 'root',
    state: 'R',
    cpuNs: 0,
    rssBytes: 100 * 1024 * 1024,
    vsizeBytes: 200 * 1024 * 1024,
    threads: 1,
    readBytes: 0,
    writeBytes: 0,
    containerKey,
    kernelThread: false,
    ...over,
  };
}

function sample(timeS: number, processes: ProcessSample[], containers: ContainerSample[], hostOver: Partial<HostSample> = {}): Sample {
  return {
    timeMs: 2_000_000 + timeS * 1000,
    monoNs: timeS * 1e9,
    host: { ...host, ...hostOver },
    processes: new Map(processes.map((p) => [p.key, p])),
    containers: new Map(containers.map((c) => [c.key, c])),
    gaps: [],
  };
}

const dockerId = 'a'.repeat(64);
function docker(cpuUsageNs: number | undefined, processKeys: string[], over: Partial<ContainerSample> = {}): ContainerSample {
  return {
    key: `docker:${dockerId}`,
    identity: { kind: 'docker', id: dockerId, name: dockerId.slice(0, 12), cgroup: `/docker/${dockerId}` },
    meta: { name: 'web-1', image: 'busybox' },
    cgroup: {
      ...(cpuUsageNs !== undefined && { cpuUsageNs }),
      memoryWorkingSetBytes: 512 * 1024 * 1024,
      memoryLimitBytes: GiB,
      ioReadBytes: 1000,
      ioWriteBytes: 5000,
      pids: 7,
      cpuPeriods: 100,
      cpuThrottledPeriods: 10,
    },
    netRxBytes: 10_000,
    netTxBytes: 2_000,
    processKeys,
    ...over,
  };
}

function slurm(processKeys: string[]): ContainerSample {
  return {
    key: 'slurm:4242',
    identity: { kind: 'slurm', id: '4242', name: 'job 4242', cgroup: '/slurm/uid_0/job_4242' },
    meta: { jobName: 'sim', jobUser: 'alice' },
    cgroup: { memoryUsageBytes: GiB / 2 },
    processKeys,
    steps: ['batch'],
  };
}

describe('toSnapshot', () => {
  it('gives no rates on a first sample but keeps levels', () => {
    const s = toSnapshot(sample(0, [proc(10, `docker:${dockerId}`)], [docker(1e9, ['10:100'])]));
    const c = s.containers[0]!;
    expect(c.cpuPercent).toBeUndefined();
    expect(c.memoryBytes).toBe(512 * 1024 * 1024);
    expect(c.memoryPercent).toBeCloseTo(50);
    expect(s.processes[0]!.cpuPercent).toBeUndefined();
    expect(s.intervalMs).toBe(0);
  });

  it('derives CPU% (100 = one core), bytes/s and throttling from two samples', () => {
    const a = sample(0, [proc(10, `docker:${dockerId}`, { cpuNs: 0, readBytes: 0 })], [docker(0, ['10:100'])]);
    const b = sample(
      2,
      [proc(10, `docker:${dockerId}`, { cpuNs: 3e9, readBytes: 4096, writeBytes: 8192 })],
      [
        docker(3e9, ['10:100'], {
          cgroup: { cpuUsageNs: 3e9, ioReadBytes: 3000, ioWriteBytes: 9000, cpuPeriods: 200, cpuThrottledPeriods: 60, memoryLimitBytes: GiB },
          netRxBytes: 30_000,
          netTxBytes: 2_000,
        }),
      ],
      { cpuTotalTicks: 10_400, cpuIdleTicks: 8_100 },
    );
    const s = toSnapshot(b, a);
    const c = s.containers[0]!;
    expect(s.intervalMs).toBe(2000);
    expect(c.cpuPercent).toBeCloseTo(150);
    expect(c.cpuSource).toBe('cgroup');
    expect(c.blkReadBytesPerSec).toBeCloseTo(1000);
    expect(c.blkWriteBytesPerSec).toBeCloseTo(2000);
    expect(c.netRxBytesPerSec).toBeCloseTo(10_000);
    expect(c.netTxBytesPerSec).toBe(0);
    expect(c.throttledPercent).toBeCloseTo(50);
    expect(c.name).toBe('web-1');
    const p = s.processes[0]!;
    expect(p.cpuPercent).toBeCloseTo(150);
    expect(p.readBytesPerSec).toBeCloseTo(2048);
    expect(p.memPercent).toBeCloseTo((100 / 1024) * 100);
    // host: (400 - 100) busy of 400 ticks on 2 cpus = 150% of one core
    expect(s.host.cpuPercent).toBeCloseTo(150);
    expect(s.host.memUsedBytes).toBe(2 * GiB);
  });

  it('sums processes when the cgroup has no CPU or block I/O counters (Slurm leaves cpuacct at the root)', () => {
    const a = sample(0, [proc(20, 'slurm:4242', { cpuNs: 1e9 }), proc(21, 'slurm:4242', { cpuNs: 0 })], [slurm(['20:100', '21:100'])]);
    const b = sample(
      1,
      [
        proc(20, 'slurm:4242', { cpuNs: 1.5e9, readBytes: 100, writeBytes: 0 }),
        proc(21, 'slurm:4242', { cpuNs: 0.25e9 }),
        // started during the interval: all its CPU counts
        proc(22, 'slurm:4242', { key: '22:300', startTimeMs: 2_000_500, cpuNs: 0.25e9, threads: 4 }),
      ],
      [slurm(['20:100', '21:100', '22:300'])],
    );
    const c = toSnapshot(b, a).containers[0]!;
    expect(c.cpuSource).toBe('processes');
    expect(c.cpuPercent).toBeCloseTo(100);
    expect(c.pids).toBe(6);
    expect(c.blkReadBytesPerSec).toBeCloseTo(100);
    expect(c.name).toBe('job 4242 sim');
    expect(c.user).toBe('alice');
    expect(c.steps).toEqual(['batch']);
    expect(c.memoryBytes).toBe(GiB / 2);
  });

  it('counts the children a job process reaped once: its cutime/cstime delta minus what they had when last seen', () => {
    // Shell 20 runs children: 30 was seen at 0 with 0.2 s (and 0.05 s of its own reaped children) and 1 MB written,
    // then ran 0.1 s more and wrote 1 MB more before 20 reaped it; a child 31 was born and reaped unseen (0.3 s, 2 MB).
    const a = sample(
      0,
      [
        proc(20, 'slurm:4242', { cpuNs: 1e9, childCpuNs: 5e9, writeBytes: 50e6 }),
        proc(30, 'slurm:4242', { key: '30:200', startTicks: 200, ppid: 20, cpuNs: 0.2e9, childCpuNs: 0.05e9, writeBytes: 1e6 }),
      ],
      [slurm(['20:100', '30:200'])],
    );
    const b = sample(1, [proc(20, 'slurm:4242', { cpuNs: 1.01e9, childCpuNs: 5e9 + 0.35e9 + 0.3e9, writeBytes: 50e6 + 2e6 + 2e6 })], [slurm(['20:100'])]);
    const s = toSnapshot(b, a);
    const c = s.containers[0]!;
    // 0.01 (shell) + 0.65 (reaped) - 0.25 (30's, counted at 0) = 0.41 s in 1 s
    expect(c.interval.cpuNs).toBeCloseTo(0.41e9, -3);
    expect(c.cpuPercent).toBeCloseTo(41);
    // Bytes: the shell's own are what the kernel added minus 30's last sight: 30's last 1 MB and 31's 2 MB (unseen).
    const shell = s.processes.find((p) => p.pid === 20)!;
    expect(shell.interval.writeBytes).toBe(3e6);
    expect(shell.interval.cpuNs).toBeCloseTo(0.01e9, -3);
    expect(c.interval.writeBytes).toBe(3e6);
    // Without childCpuNs (a source whose counters leave children out) nothing is subtracted.
    const plain = (p: ProcessSample): ProcessSample => {
      const { childCpuNs: _drop, ...rest } = p;
      return rest;
    };
    const a2 = { ...a, processes: new Map([...a.processes].map(([k, p]) => [k, plain(p)])) };
    const b2 = { ...b, processes: new Map([...b.processes].map(([k, p]) => [k, plain(p)])) };
    expect(toSnapshot(b2, a2).processes.find((p) => p.pid === 20)!.interval.writeBytes).toBe(4e6);
  });

  it('hands a gone chain up to the nearest live ancestor: sh -> timeout -> yes all reaped in one interval count once', () => {
    // yes (40) was seen with 2 s under timeout (35); both went in the interval; sh (20) reaped timeout, whose cutime
    // held yes's whole 2.5 s: sh's cutime grows by 2.5 + timeout's own 0.01. Counted already: yes's 2 s.
    const a = sample(
      0,
      [
        proc(20, 'slurm:4242', { cpuNs: 1e9, childCpuNs: 0 }),
        proc(35, 'slurm:4242', { key: '35:200', startTicks: 200, ppid: 20, cpuNs: 0.01e9, childCpuNs: 0 }),
        proc(40, 'slurm:4242', { key: '40:210', startTicks: 210, ppid: 35, cpuNs: 2e9, childCpuNs: 0 }),
      ],
      [slurm(['20:100', '35:200', '40:210'])],
    );
    const b = sample(1, [proc(20, 'slurm:4242', { cpuNs: 1e9, childCpuNs: 2.51e9 })], [slurm(['20:100'])]);
    // Only what nobody saw: yes's last 0.5 s.
    expect(toSnapshot(b, a).containers[0]!.interval.cpuNs).toBeCloseTo(0.5e9, -3);
  });

  it('reports what disappeared as exited, with the time it was missed', () => {
    const a = sample(0, [proc(10, `docker:${dockerId}`), proc(11, 'host')], [docker(0, ['10:100'])]);
    const b = sample(1, [proc(11, 'host')], []);
    const s = toSnapshot(b, a);
    expect(s.exited.processes.map((p) => p.pid)).toEqual([10]);
    expect(s.exited.processes[0]!.exitedAtMs).toBe(b.timeMs);
    expect(s.exited.containers.map((c) => c.name)).toEqual(['web-1']);
    expect(s.exited.containers[0]!.exitedAtMs).toBe(b.timeMs);
  });

  it("shows a Slurm job's memory limit only when the job asked for memory, or when it is well below the node's", () => {
    const job = (memoryLimitBytes: number, memoryRequested?: boolean): ContainerSample => ({
      ...slurm(['20:100']),
      cgroup: { memoryUsageBytes: GiB, memoryLimitBytes },
      meta: { jobName: 'sim', ...(memoryRequested !== undefined && { memoryRequested }) },
    });
    const limitOf = (c: ContainerSample): number | undefined => toSnapshot(sample(0, [proc(20, 'slurm:4242')], [c])).containers[0]!.memoryLimitBytes;
    const node = 7.6 * GiB; // RealMemory, under the 8 GiB MemTotal
    expect(limitOf(job(node, false))).toBeUndefined();
    expect(limitOf(job(node, true))).toBe(node);
    // No readable task environment: near the host's memory is the node's, a small limit is the job's.
    expect(limitOf(job(node))).toBeUndefined();
    expect(limitOf(job(2 * GiB))).toBe(2 * GiB);
    expect(limitOf(job(2 * GiB, false))).toBeUndefined();
    // A Docker container's limit near the host's memory stays: only Slurm gives jobs the node's memory.
    expect(toSnapshot(sample(0, [], [docker(0, [], { cgroup: { memoryLimitBytes: node } })])).containers[0]!.memoryLimitBytes).toBe(node);
  });

  it('treats a counter that went backwards as unknown, not negative', () => {
    const a = sample(0, [], [docker(5e9, [])]);
    const b = sample(1, [], [docker(1e9, [])]);
    expect(toSnapshot(b, a).containers[0]!.cpuPercent).toBeUndefined();
  });

  it('sorts processes and keeps host last among containers', () => {
    const a = sample(0, [proc(1, 'host'), proc(2, 'host')], []);
    const b = sample(1, [proc(1, 'host', { cpuNs: 1e8 }), proc(2, 'host', { cpuNs: 5e8, rssBytes: 1 })], []);
    const s = toSnapshot(b, a);
    expect(sortProcesses(s.processes, 'cpu').map((p) => p.pid)).toEqual([2, 1]);
    expect(sortProcesses(s.processes, 'mem').map((p) => p.pid)).toEqual([1, 2]);
    const hostContainer: ContainerSample = {
      key: 'host',
      identity: { kind: 'host', id: 'host', name: 'host', cgroup: '/' },
      meta: {},
      cgroup: {},
      processKeys: ['1:100', '2:100'],
    };
    const both = toSnapshot(sample(1, b.processes.size ? [...b.processes.values()] : [], [hostContainer, docker(0, [])]), a);
    // host burns 60% here, the idle docker container still comes first
    expect(both.containers.find((c) => c.kind === 'host')!.cpuPercent).toBeCloseTo(60);
    const list = sortContainers(both.containers, 'cpu');
    expect(list.map((c) => c.kind)).toEqual(['docker', 'host']);
  });
});

describe('interval deltas', () => {
  it('carries exact counter deltas that the rates are made of', () => {
    const a = sample(0, [proc(10, `docker:${dockerId}`, { cpuNs: 1e9, readBytes: 100, writeBytes: 0 })], [docker(7e9, ['10:100'])]);
    const b = sample(
      2,
      [proc(10, `docker:${dockerId}`, { cpuNs: 2.5e9, readBytes: 4196, writeBytes: 10 })],
      [docker(10e9, ['10:100'], { cgroup: { cpuUsageNs: 10e9, ioReadBytes: 1500, ioWriteBytes: 5000 }, netRxBytes: 10_500, netTxBytes: 2_000 })],
    );
    const s = toSnapshot(b, a);
    expect(s.processes[0]!.interval).toEqual({ cpuNs: 1.5e9, readBytes: 4096, writeBytes: 10 });
    expect(s.containers[0]!.interval).toEqual({ cpuNs: 3e9, readBytes: 500, writeBytes: 0, netRxBytes: 500, netTxBytes: 0 });
    expect(toSnapshot(a).containers[0]!.interval).toEqual({});
  });
});

describe('a container that starts during the interval', () => {
  it('counts all of its cgroup CPU in the interval, since its counters began at zero', () => {
    const a = sample(0, [proc(11, 'host')], []);
    const b = sample(1, [proc(11, 'host'), proc(10, `docker:${dockerId}`, { key: '10:900', startTimeMs: 2_000_500, cpuNs: 4e8 })], [docker(4e8, ['10:900'])]);
    const c = toSnapshot(b, a).containers.find((x) => x.kind === 'docker')!;
    expect(c.interval.cpuNs).toBe(4e8);
    expect(c.cpuPercent).toBeCloseTo(40);
  });
  it('but not for a container whose processes were already there (first sight of an old container)', () => {
    const a = sample(0, [proc(10, `docker:${dockerId}`)], []);
    const b = sample(1, [proc(10, `docker:${dockerId}`)], [docker(9e9, ['10:100'])]);
    expect(toSnapshot(b, a).containers[0]!.cpuPercent).toBeUndefined();
  });
});
