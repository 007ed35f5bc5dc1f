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
/** The kernel's CPU seconds of the job's `yes` (utime + stime of /proc/PID/stat), the highest read while it ran. */
let yesKernelSeconds = 0;
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Pids in the job's cgroups (the cpuset hierarchy, which task/cgroup creates on v1), every step's. */
function jobPids(id: string): number[] {
  const pids: number[] = [];
  const walk = (dir: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else if (e.name === 'cgroup.procs') {
        for (const l of fs.readFileSync(path.join(dir, e.name), 'utf8').split('\n')) if (l !== '') pids.push(Number(l));
      }
    }
  };
  for (const top of fs.readdirSync('/sys/fs/cgroup/cpuset').filter((n) => n.startsWith('slurm'))) {
    const root = path.join('/sys/fs/cgroup/cpuset', top);
    for (const uid of fs.existsSync(root) ? fs.readdirSync(root).filter((n) => n.startsWith('uid_')) : []) walk(path.join(root, uid, `job_${id}`));
  }
  return pids;
}

/** Reads yes's CPU time from the kernel every 200 ms until `done` resolves. */
async function watchYes(id: string, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.then(() => (finished = true));
  while (!finished) {
    for (const pid of jobPids(id)) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (!stat.includes('(yes)')) continue;
        yesKernelSeconds = Math.max(yesKernelSeconds, (Number(fields[11]) + Number(fields[12])) / TICKS);
      } catch {
        // Gone between the listing and the read.
      }
    }
    await sleep(200);
  }
}

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
  const recorded = recorder.exited();
  const watching = watchYes(jobId, recorded);
  // While it runs, `ls --json` rates it against its cpuset through the same efficiency function.
  await sleep(8000);
  live = await bubble(['ls', '--json', '--db', db]);
  recordStatus = await recorded;
  await watching;
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
    // ~50 %: yes keeps one of two cores busy for 20 s of a ~22 s job. Checked against the kernel's own count of yes's
    // CPU (read from /proc while it ran, at most 200 ms before it exited) over two cores times the job's sampled time:
    // on a loaded machine yes gets less than a core, and the figure must follow what it really got.
    const efficiency = r['cpu_efficiency_percent'] as number;
    const sampled = r['sampled_seconds'] as number;
    const fromKernel = (yesKernelSeconds / (2 * sampled)) * 100;
    expect(yesKernelSeconds, 'the kernel counted CPU for yes').toBeGreaterThan(2);
    // yes's last 200 ms at most is unread (up to 0.5 points), and the job's shells and sleeps add a little.
    expect(Math.abs(efficiency - fromKernel), `${efficiency} vs ${fromKernel} from the kernel`).toBeLessThan(3);
    // When yes got (nearly) a whole core, this is seff's ~50 % within 10 points.
    if (yesKernelSeconds / 20 > 0.9) expect(Math.abs(efficiency - 50), `${efficiency}`).toBeLessThanOrEqual(10);

    const text = await bubble(['report', jobId, '--db', db]);
    expect(text.status).toBe(0);
    for (const l of text.stdout.trimEnd().split('\n')) expect([...l].length, l).toBeLessThanOrEqual(80);
    expect(text.stdout).toContain(`(Slurm job ${jobId}), user root`);
    expect(text.stdout).toMatch(/exited .* with code 3\./);
    expect(text.stdout).toContain('\nSteps: 0, batch.\n');
    expect(text.stdout).toMatch(/of 2\.00 allowed\n {9}efficiency \d+\.\d% of the allocation/);
    expect(text.stdout).toContain(`efficiency ${efficiency.toFixed(1)}% of the allocation`);
  });
});
