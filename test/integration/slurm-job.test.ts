/**
 * A Slurm job's memory limit and steps (issue 10 item 5), on real Slurm-shaped v1 cgroups this test creates
 * (`/slurm_<node>/uid_0/job_<id>/step_<step>/task_0`, cpu/cpuacct left at the root), through the built CLI:
 * - a job without a memory request whose memory cgroup limit is the node's (ConstrainRAMSpace gives it RealMemory, a
 *   bit under MemTotal) shows no limit, as a Docker container without one does;
 * - a job that asked for memory shows its limit, even one near the node's memory;
 * - `ps <jobid>` says which step each process runs in.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { bubble, Children } from '../helpers/cli.js';
import { needReal } from '../helpers/real.js';

const tag = randomBytes(3).toString('hex');
const node = `bt${tag}`;
const base = 900_000 + Math.floor(Math.random() * 99_000);
/** No request, limit = the node's memory; asked 512 MiB; asked (nearly) the whole node. */
const jobs = { unrequested: String(base), small: String(base + 1), whole: String(base + 2) };
const MiB = 1024 * 1024;
const writable = cgroupsWritable();
const children = new Children();
const groups: TestCgroup[] = [];
const pids: Record<string, number> = {};
let memTotal = 0;

type Json = Record<string, unknown>;

function jobCgroup(jobId: string, step: string): TestCgroup {
  const group = makeTestCgroup(`/slurm_${node}/uid_0/job_${jobId}/step_${step}/task_0`, { controllers: ['memory', 'pids', 'freezer'], v2: false });
  groups.push(group);
  return group;
}

/** Sets the job-level memory limit, where Slurm puts it. */
function limitJob(group: TestCgroup, jobId: string, bytes: number): void {
  writeFileSync(`${group.mounts.v1['memory']}/slurm_${node}/uid_0/job_${jobId}/memory.limit_in_bytes`, String(bytes));
}

beforeAll(async () => {
  if (!writable.ok) return;
  memTotal = Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
  // Slurm's RealMemory: a little under MemTotal, page-aligned.
  const nodeMemory = Math.floor((memTotal * 0.95) / 4096) * 4096;

  const env = (jobId: string, over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    SLURM_JOB_ID: jobId,
    SLURM_JOB_NAME: 'mem',
    SLURM_JOB_USER: 'alice',
    ...over,
  });
  const batch = jobCgroup(jobs.unrequested, 'batch');
  const step0 = jobCgroup(jobs.unrequested, '0');
  limitJob(batch, jobs.unrequested, nodeMemory);
  const batchSleeper = children.start('sleep', ['300'], env(jobs.unrequested));
  const stepSleeper = children.start('sleep', ['301'], env(jobs.unrequested, { SLURM_STEP_ID: '0' }));
  batch.addPid(batchSleeper.pid!);
  step0.addPid(stepSleeper.pid!);
  pids['batch'] = batchSleeper.pid!;
  pids['step0'] = stepSleeper.pid!;

  const small = jobCgroup(jobs.small, 'batch');
  limitJob(small, jobs.small, 512 * MiB);
  small.addPid(children.start('sleep', ['300'], env(jobs.small, { SLURM_MEM_PER_NODE: '512' })).pid!);

  const whole = jobCgroup(jobs.whole, 'batch');
  limitJob(whole, jobs.whole, nodeMemory);
  whole.addPid(children.start('sleep', ['300'], env(jobs.whole, { SLURM_MEM_PER_NODE: String(Math.floor(nodeMemory / MiB)) })).pid!);
  await sleep(300);
});

afterAll(async () => {
  children.killAll();
  await sleep(200);
  for (const group of groups.reverse()) await group.remove();
});

describe('a Slurm job on real cgroups', () => {
  it('shows no memory limit without a memory request, and the limit it asked for otherwise', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const run = await bubble(['ls', '--json', '--interval', '0.3']);
    expect(run.status).toBe(0);
    const rows = (JSON.parse(run.stdout) as { containers: Json[] }).containers;
    const row = (jobId: string): Json | undefined => rows.find((r) => r['key'] === `slurm:${jobId}`);
    expect(row(jobs.unrequested)).toMatchObject({ kind: 'slurm', memory_limit_bytes: null });
    expect(row(jobs.small)).toMatchObject({ kind: 'slurm', memory_limit_bytes: 512 * MiB });
    expect(row(jobs.whole)!['memory_limit_bytes']).toBeGreaterThan(0.9 * memTotal);

    // The plain table's LIMIT column says `-` for it, as for a Docker container without a limit.
    const plain = await bubble(['ls', '--interval', '0.3']);
    const lines = plain.stdout.split('\n');
    const limitAt = lines[0]!.indexOf('LIMIT');
    const line = lines.find((l) => l.startsWith(`job ${jobs.unrequested} mem`));
    expect(line).toBeDefined();
    expect(line!.slice(limitAt).trimStart().startsWith('-')).toBe(true);
  });

  it('ps <jobid> says the step of each process (STEP column, step field)', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const run = await bubble(['ps', jobs.unrequested, '--json', '--interval', '0.3']);
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as { container: Json; processes: Json[] };
    expect(result.container).toMatchObject({ key: `slurm:${jobs.unrequested}`, steps: ['0', 'batch'], memory_limit_bytes: null });
    const step = (pid: number): unknown => result.processes.find((p) => p['pid'] === pid)?.['step'];
    expect(step(pids['batch']!)).toBe('batch');
    expect(step(pids['step0']!)).toBe('0');

    const plain = await bubble(['ps', jobs.unrequested, '--interval', '0.3']);
    expect(plain.status).toBe(0);
    const lines = plain.stdout.trimEnd().split('\n');
    // The header line says no limit; then the table.
    expect(lines[0]).not.toContain(' / ');
    const header = lines[1]!;
    expect(header).toMatch(/\bSTEP\s+COMMAND$/);
    const at = header.indexOf('STEP');
    const cell = (pid: number): string | undefined =>
      lines
        .find((l) => new RegExp(`^\\s*${pid}\\s`).test(l))
        ?.slice(at)
        .split(/\s+/)[0];
    expect(cell(pids['batch']!)).toBe('batch');
    expect(cell(pids['step0']!)).toBe('0');
  });
});
