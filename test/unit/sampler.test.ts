/**
 * The whole sampler on a cgroup v2 host this machine is not: a fake /proc and a fake cgroup2 tree with a
 * Kubernetes pod container (systemd driver, every v2 controller file, its own network namespace), a Slurm v2 job in
 * a SLUID directory (slurmstepd proctitle and task environment name it), and host processes. Two ticks through
 * toSnapshot give the rates a user sees.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { slurmJobState } from '../../src/collectors/slurm.js';
import { Sampler } from '../../src/collectors/sampler.js';
import { toSnapshot, type Snapshot } from '../../src/model/snapshot.js';
import { statLine, writeProc } from '../helpers/fake-proc.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'bubble-sampler-'));
const proc = path.join(root, 'proc');
const cgroup2 = path.join(root, 'cgroup');
const passwd = path.join(root, 'passwd');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const POD = '1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b';
const CID = 'c'.repeat(64);
const POD_DIR = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD.replaceAll('-', '_')}.slice`;
const K8S_DIR = `${POD_DIR}/cri-containerd-${CID}.scope`;
const SLUID = 'sEKNKTV3WPV500';
const JOB_DIR = `/system.slice/slurmstepd.scope/${SLUID}`;
const PODMAN_ID = 'd'.repeat(64);
const MiB = 1024 * 1024;

const env = (vars: Record<string, string>): string =>
  Object.entries(vars)
    .map(([k, v]) => `${k}=${v}\0`)
    .join('');
const status = (uid: number, nspid: string): string => `Name:\tx\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nNSpid:\t${nspid}\n`;
const io = (read: number, write: number): string =>
  `rchar: ${read}\nwchar: ${write}\nsyscr: 1\nsyscw: 1\nread_bytes: ${read}\nwrite_bytes: ${write}\ncancelled_write_bytes: 0\n`;
const netdev = (rx: number, tx: number): string =>
  'Inter-|   Receive                                                |  Transmit\n' +
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
  `    lo: 999999 10 0 0 0 0 0 0 999999 10 0 0 0 0 0 0\n  eth0: ${rx} 100 0 0 0 0 0 0 ${tx} 50 0 0 0 0 0 0\n`;

function writeCgroup(dir: string, files: Record<string, string>): void {
  mkdirSync(path.join(cgroup2, dir), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(cgroup2, dir, name), text);
}

/** One tick's worth of counters: `t` seconds into the test. */
function writeTick(t: number): void {
  writeFileSync(
    path.join(proc, 'stat'),
    `cpu  ${1000 + t * 100} 0 ${500 + t * 50} ${8000 + t * 50} 0 0 0 0 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\ncpu1 1 0 0 0 0 0 0 0 0 0\nbtime 1700000000\n`,
  );
  writeFileSync(path.join(proc, 'meminfo'), `MemTotal: ${8 * 1024 * 1024} kB\nMemAvailable: ${6 * 1024 * 1024} kB\n`);
  // utime ticks (field 14) grow 100 per second for the k8s worker and the Slurm task: one core each.
  writeProc(proc, 1, {
    stat: statLine(1, 'systemd', { 4: 0, 22: 1 }),
    status: status(0, '1'),
    cmdline: '/sbin/init\0',
    cgroup: '0::/init.scope\n',
    io: io(0, 0),
    netns: 'net:[4026531840]',
  });
  writeProc(proc, 100, {
    stat: statLine(100, 'worker', { 4: 1, 14: 1000 + t * 100, 22: 500, 24: 2048 }),
    status: status(1000, '100\t7'),
    cmdline: 'python3\0serve.py\0',
    cgroup: `0::${K8S_DIR}\n`,
    io: io(t * 4096, t * 8192),
    netns: 'net:[4026532999]',
    netdev: netdev(1000 + t * 5000, 500 + t * 1000),
  });
  writeProc(proc, 200, {
    stat: statLine(200, 'slurmstepd', { 4: 1, 22: 600 }),
    status: status(0, '200'),
    cmdline: 'slurmstepd: [3385.0]\0',
    cgroup: `0::${JOB_DIR}/step_0/slurm\n`,
    io: io(0, 0),
    netns: 'net:[4026531840]',
  });
  writeProc(proc, 201, {
    stat: statLine(201, 'train', { 4: 200, 14: 2000 + t * 100, 22: 700, 24: 1024 }),
    status: status(1000, '201'),
    cmdline: './train\0--epochs\x003\0',
    cgroup: `0::${JOB_DIR}/step_0/user/task_0\n`,
    environ: env({
      SLURM_JOB_ID: '3385',
      SLURM_JOB_NAME: 'train',
      SLURM_JOB_USER: 'bob',
      SLURM_JOB_SLUID: SLUID,
      SLURM_JOB_PARTITION: 'gpu',
      SLURM_CPUS_ON_NODE: '4',
      HOME: '/home/bob',
    }),
    io: io(0, t * 1000),
    netns: 'net:[4026531840]',
  });

  // Podman: conmon (host, outside the container) names the container in its argv; crun adds a /container leaf.
  writeProc(proc, 300, {
    stat: statLine(300, 'conmon', { 4: 1, 22: 800 }),
    status: status(0, '300'),
    cmdline: `/usr/bin/conmon\0--api-version\x001\0-c\0${PODMAN_ID}\0-u\0${PODMAN_ID}\0-r\0/usr/bin/crun\0-n\0web-1\0`,
    cgroup: `0::/machine.slice/libpod-conmon-${PODMAN_ID}.scope\n`,
    io: io(0, 0),
  });
  writeProc(proc, 301, {
    stat: statLine(301, 'nginx', { 4: 300, 22: 810 }),
    status: status(0, '301\t1'),
    cmdline: 'nginx\0',
    cgroup: `0::/machine.slice/libpod-${PODMAN_ID}.scope/container\n`,
    io: io(0, 0),
  });
  writeCgroup(K8S_DIR, {
    'cpu.stat': `usage_usec ${5_000_000 + t * 1_500_000}\nuser_usec 4000000\nsystem_usec 1000000\nnr_periods ${100 + t * 10}\nnr_throttled ${t * 4}\nthrottled_usec ${t * 20000}\n`,
    'cpu.max': '150000 100000\n',
    'memory.current': `${300 * MiB}\n`,
    'memory.stat': `anon ${200 * MiB}\nfile ${100 * MiB}\ninactive_file ${40 * MiB}\nactive_file ${60 * MiB}\n`,
    'memory.max': `${1024 * MiB}\n`,
    'memory.peak': `${350 * MiB}\n`,
    'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    'io.stat': `8:0 rbytes=${t * 2 * MiB} wbytes=${t * MiB} rios=1 wios=1 dbytes=0 dios=0\n`,
    'pids.current': '3\n',
    'pids.max': 'max\n',
    'cpu.pressure': 'some avg10=12.50 avg60=1.00 avg300=0.10 total=1000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
    'memory.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
    'io.pressure': 'some avg10=3.25 avg60=0.00 avg300=0.00 total=0\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=0\n',
  });
  // Slurm's job directory: cpu.stat exists on every v2 cgroup; the job's memory controller is on.
  writeCgroup(JOB_DIR, {
    'cpu.stat': `usage_usec ${t * 500_000}\nuser_usec 0\nsystem_usec 0\n`,
    'memory.current': `${64 * MiB}\n`,
    'memory.stat': `inactive_file ${4 * MiB}\n`,
    'memory.max': 'max\n',
    'pids.current': '2\n',
  });
}

let snapshot: Snapshot;
beforeAll(() => {
  mkdirSync(proc, { recursive: true });
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n');
  writeTick(0);
  let wall = 1_800_000_000_000;
  let mono = 0;
  const sampler = new Sampler({
    procRoot: proc,
    cgroupMounts: { v2: cgroup2, v1: {} },
    passwdPath: passwd,
    now: () => wall,
    monoNs: () => mono,
  });
  const first = sampler.sample();
  writeTick(2);
  wall += 2000;
  mono += 2e9;
  snapshot = toSnapshot(sampler.sample(), first);
  sampler.close();
});

describe('Sampler on a cgroup v2 host (fixture)', () => {
  it('measures a Kubernetes container from its own v2 cgroup files', () => {
    const k8s = snapshot.containers.find((c) => c.kind === 'kubernetes');
    expect(k8s).toMatchObject({ id: CID, parent: POD, cgroup: K8S_DIR, cpuSource: 'cgroup', processCount: 1, pids: 3 });
    expect(k8s!.cpuPercent).toBeCloseTo(150);
    expect(k8s!.cpuLimitCores).toBeCloseTo(1.5);
    expect(k8s!.throttledPercent).toBeCloseTo(40);
    expect(k8s!.memoryBytes).toBe(260 * MiB);
    expect(k8s!.memoryLimitBytes).toBe(1024 * MiB);
    expect(k8s!.memoryPeakBytes).toBe(350 * MiB);
    expect(k8s!.oomKills).toBe(1);
    expect(k8s!.blkReadBytesPerSec).toBeCloseTo(2 * MiB);
    expect(k8s!.blkWriteBytesPerSec).toBeCloseTo(MiB);
    expect(k8s!.pressure).toEqual({ cpu: 12.5, memory: 0, io: 3.25 });
    // Own network namespace: eth0 counted, lo excluded.
    expect(k8s!.netRxBytesPerSec).toBeCloseTo(5000);
    expect(k8s!.netTxBytesPerSec).toBeCloseTo(1000);
    expect(k8s!.netRxBytes).toBe(11_000);
  });

  it('names a Slurm job in a SLUID directory by its job id, with name, user and steps', () => {
    const jobs = snapshot.containers.filter((c) => c.kind === 'slurm');
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ key: 'slurm:3385', id: '3385', name: 'job 3385 train', user: 'bob', steps: ['0'], processCount: 2, cgroup: JOB_DIR });
    // The job's own cpu.stat (half a core), not the sum of its processes (one core): the cgroup knows best.
    expect(jobs[0]!.cpuSource).toBe('cgroup');
    expect(jobs[0]!.cpuPercent).toBeCloseTo(50);
    expect(jobs[0]!.memoryBytes).toBe(60 * MiB);
    // It shares the host's network namespace: no figure rather than the host's.
    expect(jobs[0]!.netRxBytes).toBeUndefined();
    const task = snapshot.processes.find((p) => p.pid === 201);
    expect(task).toMatchObject({ containerKey: 'slurm:3385', user: 'bob', cmdline: './train --epochs 3', step: '0' });
    expect(task!.cpuPercent).toBeCloseTo(100);
    expect(task!.writeBytesPerSec).toBeCloseTo(1000);
    expect(snapshot.processes.find((p) => p.pid === 200)!.containerKey).toBe('slurm:3385');
  });

  it('gives a Slurm job its partition, state and start without slurmctld: environment and cgroup', () => {
    const job = snapshot.containers.find((c) => c.kind === 'slurm')!;
    expect(job.partition).toBe('gpu');
    // A task step (0) holds processes.
    expect(job.state).toBe('running');
    // Started with its oldest process, slurmstepd.
    expect(job.startedAtMs).toBe(snapshot.processes.find((p) => p.pid === 200)!.startTimeMs);
    expect(job.cpusetCpus).toBe(4);
  });

  it('names a Podman container from its conmon argv, conmon itself staying in host', () => {
    const podman = snapshot.containers.find((c) => c.kind === 'podman');
    expect(podman).toMatchObject({ id: PODMAN_ID, name: 'web-1', cgroup: `/machine.slice/libpod-${PODMAN_ID}.scope`, processCount: 1 });
    expect(snapshot.processes.find((p) => p.pid === 300)!.containerKey).toBe('host');
  });

  it('gives processes their in-container pid, rates and the host the rest', () => {
    const worker = snapshot.processes.find((p) => p.pid === 100);
    expect(worker).toMatchObject({ nspid: 7, containerKey: `kubernetes:${CID}`, user: 'bob' });
    expect(worker!.cpuPercent).toBeCloseTo(100);
    expect(worker!.readBytesPerSec).toBeCloseTo(4096);
    const host = snapshot.containers.find((c) => c.kind === 'host');
    // init and conmon
    expect(host).toMatchObject({ processCount: 2, cpuSource: 'processes' });
    expect(snapshot.host).toMatchObject({ ncpu: 2, memTotalBytes: 8 * 1024 ** 3, memUsedBytes: 2 * 1024 ** 3 });
    // 300 busy of 400 ticks over 2 cpus
    expect(snapshot.host.cpuPercent).toBeCloseTo(150);
    expect(snapshot.intervalMs).toBe(2000);
  });
});

describe('slurmJobState', () => {
  it('is running while a task step has processes, completing when only slurmstepd or the extern step is left', () => {
    expect(slurmJobState(new Set(['batch', 'extern']))).toBe('running');
    expect(slurmJobState(['0'])).toBe('running');
    expect(slurmJobState(['extern'])).toBe('completing');
    expect(slurmJobState([])).toBe('completing');
  });
});
