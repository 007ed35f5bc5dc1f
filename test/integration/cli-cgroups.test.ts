/**
 * `bubble ls` and `bubble ps` against real cgroups this test creates, shaped like a Docker container (cgroupfs
 * driver), a Kubernetes pod container and a Slurm v1 job (memory/pids/freezer only: cpu and cpuacct stay at the
 * root, as Slurm does with ConstrainCores), each holding real processes. The CLI is the built one, run as a user would.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { bubble, Children } from '../helpers/cli.js';
import { needReal } from '../helpers/real.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const tag = hex(3);
const dockerId = hex(32);
const containerId = hex(32);
const podUid = [hex(4), hex(2), hex(2), hex(2), hex(6)].join('-');
const jobId = String(900_000 + Math.floor(Math.random() * 99_999));
const node = `bt${tag}`;

type Json = Record<string, unknown>;
const writable = cgroupsWritable();
const children = new Children();
const groups: TestCgroup[] = [];
const pids: Record<string, number> = {};
let dockerGroup: TestCgroup | undefined;

/** The kernel's own counters, for comparing over the same window as the command (never assume a whole core). */
const cgroupCpuNs = (group: TestCgroup): number => Number(readFileSync(`${group.dir('cpuacct')}/cpuacct.usage`, 'utf8'));
const processCpuNs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e9) / 100; // utime + stime, USER_HZ = 100
};

/** Runs `run` and gives the % of a core `counter` moved by over the same wall time. */
async function withKernelPercent<T>(counter: () => number, run: () => Promise<T>): Promise<{ result: T; percent: number }> {
  const c0 = counter();
  const t0 = process.hrtime.bigint();
  const result = await run();
  const percent = ((counter() - c0) / Number(process.hrtime.bigint() - t0)) * 100;
  return { result, percent };
}

/** bubble's figure over its interval against the kernel's over the command's whole run (it starts Node first). */
function expectNearKernel(measured: unknown, kernelPercent: number): void {
  expect(kernelPercent).toBeGreaterThan(5);
  expect(Math.abs((measured as number) - kernelPercent)).toBeLessThanOrEqual(0.25 * kernelPercent);
}

beforeAll(async () => {
  if (!writable.ok) return;
  const docker = makeTestCgroup(`/bubble-test-${tag}/docker/${dockerId}`);
  const kube = makeTestCgroup(`/bubble-test-${tag}/kubepods/burstable/pod${podUid}/${containerId}`);
  const slurm = makeTestCgroup(`/slurm_${node}/uid_0/job_${jobId}/step_batch/task_0`, {
    controllers: ['memory', 'pids', 'freezer', 'blkio'],
    v2: false,
  });
  groups.push(docker, kube, slurm);
  dockerGroup = docker;

  const burner = children.burner();
  const hog = children.allocator(64);
  docker.addPid(burner.pid!);
  docker.addPid(hog.pid!);
  pids['dockerBurner'] = burner.pid!;

  const kubeSleeper = children.start('sleep', ['300']);
  kube.addPid(kubeSleeper.pid!);
  pids['kube'] = kubeSleeper.pid!;

  const env = { SLURM_JOB_ID: jobId, SLURM_JOB_NAME: 'sim', SLURM_JOB_USER: 'alice' };
  const slurmBurner = children.burner(env);
  const slurmSleeper = children.start('sleep', ['300'], env);
  slurm.addPid(slurmBurner.pid!);
  slurm.addPid(slurmSleeper.pid!);
  pids['slurmBurner'] = slurmBurner.pid!;
  pids['slurmSleeper'] = slurmSleeper.pid!;
  await sleep(1500);
});

afterAll(async () => {
  children.killAll();
  await sleep(200);
  // Newest first: the Docker- and Kubernetes-shaped cgroups share their top directory.
  for (const group of groups.reverse()) await group.remove();
});

describe('bubble ls on real cgroups', () => {
  it('attributes and measures a Docker-shaped, a Kubernetes-shaped and a Slurm v1 container', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const jobPids = [pids['slurmBurner']!, pids['slurmSleeper']!];
    let jobPercent = 0;
    const docker0 = withKernelPercent(
      () => cgroupCpuNs(dockerGroup!),
      async () => {
        const job = await withKernelPercent(
          () => jobPids.reduce((n, pid) => n + processCpuNs(pid), 0),
          () => bubble(['ls', '--json', '--interval', '1.5']),
        );
        jobPercent = job.percent;
        return job.result;
      },
    );
    const { result: run, percent: dockerPercent } = await docker0;
    expect(run.status).toBe(0);
    const rows = (JSON.parse(run.stdout) as { containers: Json[] }).containers;
    expect(rows.some((r) => r['kind'] === 'host')).toBe(false);

    const docker = rows.find((r) => r['id'] === dockerId);
    expect(docker).toMatchObject({ kind: 'docker', key: `docker:${dockerId}`, cpu_source: 'cgroup', processes: 2 });
    expect(docker!['cgroup']).toBe(`/bubble-test-${tag}/docker/${dockerId}`);
    expectNearKernel(docker!['cpu_percent'], dockerPercent);
    expect(docker!['memory_bytes']).toBeGreaterThanOrEqual(64 * 1024 * 1024);
    expect(docker!['pids']).toBeGreaterThanOrEqual(2);
    // It shares the host's network namespace: no per-container figure rather than the host's.
    expect(docker!['net_rx_bytes']).toBeNull();

    const kube = rows.find((r) => r['id'] === containerId);
    expect(kube).toMatchObject({ kind: 'kubernetes', parent: podUid, processes: 1 });
    expect(kube!['cpu_percent']).toBeLessThan(10);

    const job = rows.find((r) => r['key'] === `slurm:${jobId}`);
    expect(job).toMatchObject({ kind: 'slurm', id: jobId, name: `job ${jobId} sim`, user: 'alice', steps: ['batch'], processes: 2 });
    // cpu/cpuacct are not used for the job: its CPU is the sum of its processes.
    expect(job!['cpu_source']).toBe('processes');
    expectNearKernel(job!['cpu_percent'], jobPercent);
    expect(job!['cgroup']).toBe(`/slurm_${node}/uid_0/job_${jobId}`);
  });

  it('--all adds the host pseudo-container, last of the running ones (exited containers follow it)', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const run = await bubble(['ls', '--all', '--json', '--interval', '0.3']);
    expect(run.status).toBe(0);
    const rows = (JSON.parse(run.stdout) as { containers: Json[] }).containers;
    const running = rows.filter((r) => r['state'] !== 'exited');
    expect(running.at(-1)).toMatchObject({ kind: 'host', key: 'host' });
    expect(running.at(-1)!['processes']).toBeGreaterThan(3);
    expect(rows.slice(rows.indexOf(running.at(-1)!) + 1).every((r) => r['state'] === 'exited')).toBe(true);
  });

  it('prints a plain table with the job name and the Docker short id', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const run = await bubble(['ls', '--interval', '0.3']);
    expect(run.status).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    // Totals since start, not rates: the headers say so.
    expect(lines[0]).toMatch(/^NAME\s+KIND\s+ID\s+CPU%\s+EFF%\s+MEM\s+LIMIT\s+NET total rx\/tx\s+BLK total r\/w\s+PROCS\s+THR$/);
    expect(lines.some((l) => l.startsWith(`job ${jobId} sim`) && /\bslurm\b/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes(dockerId.slice(0, 12)) && /\bdocker\b/.test(l))).toBe(true);
    // Processes as the TUI counts them (its PROCS column and its container view), threads beside them.
    const [procs, threads] = lines
      .find((l) => l.includes(dockerId.slice(0, 12)))!
      .trim()
      .split(/\s+/)
      .slice(-2)
      .map(Number);
    expect(procs).toBe(2);
    expect(threads).toBeGreaterThanOrEqual(2);
  });
});

describe('bubble ps on real cgroups', () => {
  it('finds a Slurm job by id and sorts its processes by CPU', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const { result: run, percent: burnerPercent } = await withKernelPercent(
      () => processCpuNs(pids['slurmBurner']!),
      () => bubble(['ps', jobId, '--json', '--sort', 'cpu']),
    );
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as { container: Json; processes: Json[] };
    expect(result.container).toMatchObject({ key: `slurm:${jobId}`, name: `job ${jobId} sim` });
    expect(result.processes.map((p) => p['pid']).sort()).toEqual([pids['slurmBurner'], pids['slurmSleeper']].sort());
    const [first, second] = result.processes;
    expect(first).toMatchObject({ pid: pids['slurmBurner'], comm: 'sh', cmdline: 'sh -c while :; do :; done', user: 'root', ppid: process.pid });
    // Measured against the burner's own counter over the same run, not against a whole core.
    expectNearKernel(first!['cpu_percent'], burnerPercent);
    expect(second).toMatchObject({ pid: pids['slurmSleeper'], comm: 'sleep', cmdline: 'sleep 300' });
    expect(second!['cpu_percent']).toBeLessThan(5);
  });

  it('finds a container by id prefix and by cgroup path, and cuts at --limit', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const byPrefix = await bubble(['ps', dockerId.slice(0, 10), '--json', '--limit', '1', '--interval', '0.5']);
    expect(byPrefix.status).toBe(0);
    const a = JSON.parse(byPrefix.stdout) as { container: Json; processes: Json[] };
    expect(a.container['id']).toBe(dockerId);
    expect(a.processes).toHaveLength(1);
    expect(a.processes[0]!['pid']).toBe(pids['dockerBurner']);

    const byPath = await bubble(['ps', `/bubble-test-${tag}/kubepods/burstable/pod${podUid}/${containerId}`, '--json', '--interval', '0.3']);
    expect(byPath.status).toBe(0);
    const b = JSON.parse(byPath.stdout) as { container: Json; processes: Json[] };
    expect(b.container['kind']).toBe('kubernetes');
    expect(b.processes.map((p) => p['pid'])).toEqual([pids['kube']]);
  });

  it('sorts by memory', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const run = await bubble(['ps', dockerId, '--json', '--sort', 'mem', '--interval', '0.3']);
    const result = JSON.parse(run.stdout) as { processes: Json[] };
    expect(result.processes[0]!['comm']).toBe('node');
    expect(result.processes[0]!['rss_bytes']).toBeGreaterThanOrEqual(64 * 1024 * 1024);
  });
});
