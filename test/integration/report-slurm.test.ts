/**
 * `bubble report` on a real Slurm job: a one-node slurmctld + slurmd on this host (test/helpers/slurm-setup.sh,
 * proctrack/cgroup and task/cgroup with ConstrainCores on cgroup v1), `sbatch -c 2` running one `yes` for 20 s, then
 * exit 3 (after a 2 s `srun` step), recorded by a real `bubble record`. seff's efficiency of that job is ~50 %: one busy core of two allocated.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { bubble, startBubble, type RunResult } from '../helpers/cli.js';
import { isRoot, needReal } from '../helpers/real.js';

type Json = Record<string, unknown>;
const SETUP = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/slurm-setup.sh');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-report-slurm-'));
const db = path.join(tmp, 'store.db');
let slurm = { ok: false, why: 'not root' };
let startedSlurm = false;
let jobId = '';
let recordStatus = -1;
let live: RunResult | undefined;

beforeAll(async () => {
  if (!isRoot) return;
  const setup = spawnSync('sh', [SETUP], { encoding: 'utf8', timeout: 60_000 });
  slurm = setup.status === 0 ? { ok: true, why: '' } : { ok: false, why: `one-node Slurm did not start: ${setup.stderr.trim() || setup.error?.message}` };
  if (!slurm.ok) return;
  startedSlurm = setup.stdout.trim() === 'started';
  const recorder = startBubble(['record', '--db', db, '--interval', '0.5s', '--duration', '34s']);
  await recorder.waitFor('recording to');
  const sbatch = spawnSync(
    'sbatch',
    ['--parsable', '-c', '2', '-J', 'bubble-yes', '-o', '/dev/null', '--wrap', 'srun sleep 2; timeout 20 yes > /dev/null; exit 3'],
    {
      encoding: 'utf8',
    },
  );
  jobId = sbatch.stdout.trim().split(';')[0] ?? '';
  // While it runs, `ls --json` rates it against its cpuset through the same efficiency function.
  await sleep(8000);
  live = await bubble(['ls', '--json', '--db', db]);
  recordStatus = await recorder.exited();
}, 90_000);

afterAll(() => {
  if (jobId !== '') spawnSync('scancel', [jobId]);
  // Daemons this test started stop with it; ones that already ran are left as they were.
  if (startedSlurm) spawnSync('scontrol', ['shutdown'], { timeout: 30_000 });
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('bubble report of a real Slurm job', () => {
  it('shows the running job with its cpuset and CPU efficiency in ls --json', (ctx) => {
    needReal(ctx, 'root', isRoot, 'Slurm daemons and recording need root');
    needReal(ctx, 'Slurm', slurm.ok, slurm.why);
    expect(live?.status, live?.stderr).toBe(0);
    const job = (JSON.parse(live!.stdout) as { containers: Json[] }).containers.find((c) => c['key'] === `slurm:${jobId}`);
    expect(job).toMatchObject({ kind: 'slurm', cpuset_cpus: 2 });
    expect(job!['cpu_efficiency_percent'] as number).toBeCloseTo((job!['cpu_percent'] as number) / 2, 1);
    expect(job!['cpu_efficiency_percent'] as number).toBeGreaterThan(15);
  });

  it('gives ~50 % efficiency for one busy core of two allocated, with yes as the top process', async (ctx) => {
    needReal(ctx, 'root', isRoot, 'Slurm daemons and recording need root');
    needReal(ctx, 'Slurm', slurm.ok, slurm.why);
    expect(recordStatus).toBe(0);
    expect(jobId).toMatch(/^\d+$/);
    const run = await bubble(['report', jobId, '--db', db, '--json']);
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as Json;
    expect(r).toMatchObject({ kind: 'slurm', id: jobId, name: `job ${jobId} bubble-yes`, running: false, cpuset_cpus: 2, cpu_allocated_cores: 2 });
    // Step 0 (srun) ran for 2 s, then only the batch step: the store keeps both.
    expect(r['steps']).toEqual(['0', 'batch']);
    expect(r['exit_time']).not.toBeNull();
    // From slurmctld (scontrol), asked once the job's cgroup was gone.
    expect(r['exit_code']).toBe(3);
    const top = (r['top_cpu'] as Json[])[0]!;
    expect(top['comm']).toBe('yes');
    expect(top['lifetime_seconds'] as number).toBeGreaterThan(18);
    // ~50 %: yes keeps one of two cores busy for 20 s of a ~22 s job. On a loaded machine yes gets less than a core,
    // so the figure is checked against what yes itself used: its CPU time over two cores times the job's sampled time.
    const efficiency = r['cpu_efficiency_percent'] as number;
    const fromYes = ((top['cpu_seconds'] as number) / (2 * (r['sampled_seconds'] as number))) * 100;
    expect(Math.abs(efficiency - fromYes), `${efficiency} vs ${fromYes}`).toBeLessThan(3);
    expect(efficiency).toBeGreaterThan(20);
    expect(efficiency).toBeLessThan(60);

    const text = await bubble(['report', jobId, '--db', db]);
    expect(text.status).toBe(0);
    for (const l of text.stdout.trimEnd().split('\n')) expect([...l].length, l).toBeLessThanOrEqual(80);
    expect(text.stdout).toContain(`(Slurm job ${jobId}), user root`);
    expect(text.stdout).toMatch(/exited .* with code 3\./);
    expect(text.stdout).toContain('\nSteps: 0, batch.\n');
    expect(text.stdout).toMatch(/of 2\.00 allowed\n {9}efficiency [2-5]\d\.\d% of the allocation/);
  });
});
