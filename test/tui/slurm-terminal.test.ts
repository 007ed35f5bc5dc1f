/**
 * A real Slurm job in `bubble top` (tmux, the real bundle): a one-node slurmctld + slurmd (test/helpers/slurm-setup.sh)
 * runs `sbatch -c 2 -p debug` with a `yes` in the batch step and an `srun` step beside it. The job's view shows its
 * state, elapsed time and partition (from the tasks' environment and the cgroup, no slurmctld asked), its CPU
 * efficiency against its two cores, and a STEP column that puts `yes` in `batch` and the srun's `sleep` in step 0.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { isRoot, needReal } from '../helpers/real.js';
import { Tmux, tmuxAvailable } from '../helpers/tmux.js';

const SETUP = path.join(path.dirname(fileURLToPath(import.meta.url)), '../helpers/slurm-setup.sh');
const tmux = tmuxAvailable();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-slurm-tui-'));
const sessions: Tmux[] = [];
let slurm = { ok: false, why: 'not root' };
let startedSlurm = false;
let jobId = '';
/** Jobs of single tests, cancelled at the end when a failed test left them running. */
const jobs: string[] = [];

beforeAll(async () => {
  if (!isRoot) return;
  const setup = spawnSync('sh', [SETUP], { encoding: 'utf8', timeout: 60_000 });
  slurm = setup.status === 0 ? { ok: true, why: '' } : { ok: false, why: `one-node Slurm did not start: ${setup.stderr.trim() || setup.error?.message}` };
  if (!slurm.ok) return;
  startedSlurm = setup.stdout.trim() === 'started';
  const sbatch = spawnSync(
    'sbatch',
    ['--parsable', '-c', '2', '-p', 'debug', '-J', 'bubble-top', '-o', '/dev/null', '--wrap', 'srun --overlap sleep 60 & timeout 60 yes > /dev/null; wait'],
    { encoding: 'utf8' },
  );
  jobId = sbatch.stdout.trim().split(';')[0] ?? '';
  // top names a job at launch from its cgroup: wait until slurmd made it (a loaded host takes seconds to start a job).
  await untilRunning(jobId);
}, 90_000);

/** Until the job's batch step has a cgroup (the cpuset hierarchy, which task/cgroup creates on v1), or 30 s. */
async function untilRunning(id: string): Promise<void> {
  const batchCgroup = (): boolean =>
    fs
      .readdirSync('/sys/fs/cgroup/cpuset')
      .filter((n) => n.startsWith('slurm'))
      .some((top) => fs.existsSync(path.join('/sys/fs/cgroup/cpuset', top, 'uid_0', `job_${id}`, 'step_batch')));
  for (let i = 0; i < 300 && /^\d+$/.test(id) && !batchCgroup(); i++) await new Promise((r) => setTimeout(r, 100));
}

afterEach(() => {
  for (const t of sessions.splice(0)) t.kill();
  // The first job holds the node's two cores: the next test's job would wait for them.
  if (jobId !== '') spawnSync('scancel', [jobId]);
});

afterAll(() => {
  for (const id of [jobId, ...jobs]) if (id !== '') spawnSync('scancel', [id]);
  // Daemons this test started stop with it; ones that already ran are left as they were.
  if (startedSlurm) spawnSync('scontrol', ['shutdown'], { timeout: 30_000 });
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('a real Slurm job in bubble top', () => {
  it('shows state, elapsed time, partition, CPU efficiency and each process step', async (ctx) => {
    needReal(ctx, 'root', isRoot, 'Slurm daemons need root');
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'Slurm', slurm.ok, slurm.why);
    expect(jobId).toMatch(/^\d+$/);
    const t = new Tmux(`${process.execPath} ${BIN} top --no-record --db ${path.join(tmp, 'slurm.db')} ${jobId}`, 160, 30);
    sessions.push(t);
    // Both steps up, and a CPU figure for the job (the second tick).
    const screen = await t.waitFor((s) => /\bbatch\b.*\byes\b/.test(s) && /\b0 .*sleep 60/.test(s) && /efficiency \d/.test(s), 30_000);
    const info = screen.split('\n').slice(1, 3).join('\n');
    expect(info).toContain(`job ${jobId} bubble-top`);
    expect(info).toMatch(/\brunning \d+s\b/);
    expect(info).toContain('partition debug');
    expect(info).toContain('steps 0, batch');
    // One busy core (yes) of the two allocated (the job's cpuset): efficiency is the CPU figure over two cores.
    expect(info).toMatch(/ cpu \d+\.\d% of 2 cpus {2}efficiency /);
    const cpu = Number(/ cpu (\d+\.\d)%/.exec(info)?.[1]);
    const efficiency = Number(/efficiency (\d+\.\d)%/.exec(info)?.[1]);
    expect(cpu).toBeGreaterThan(5);
    expect(Math.abs(efficiency - cpu / 2)).toBeLessThanOrEqual(0.1);
    const rows = screen.split('\n');
    expect(rows.find((l) => /^ +PID /.test(l))).toMatch(/ USER +STEP +(S +)?CPU%/);
    expect(rows.find((l) => / yes$/.test(l.trimEnd()))).toMatch(/ batch +([A-Z] +)?\d/);
    expect(rows.find((l) => /sleep 60$/.test(l.trimEnd()))).toMatch(/ 0 +([A-Z] +)?\d/);
    t.keys('q');
    await t.waitFor('EXIT=0');
  });

  it('keeps an ended job on screen with its exit code (from scontrol) and r shows its last second', async (ctx) => {
    needReal(ctx, 'root', isRoot, 'Slurm daemons need root');
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'Slurm', slurm.ok, slurm.why);
    const sbatch = spawnSync('sbatch', ['--parsable', '-c', '1', '-J', 'bubble-ends', '-o', '/dev/null', '--wrap', 'sleep 6; exit 3'], { encoding: 'utf8' });
    const ending = sbatch.stdout.trim().split(';')[0] ?? '';
    expect(ending).toMatch(/^\d+$/);
    jobs.push(ending);
    // `top JOB` finds the job on its first tick: wait until its task runs.
    for (let i = 0; i < 300 && spawnSync('squeue', ['-h', '-j', ending, '-o', '%T'], { encoding: 'utf8' }).stdout.trim() !== 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500));
    const t = new Tmux(`${process.execPath} ${BIN} top --no-record --db ${path.join(tmp, 'ends.db')} ${ending}`, 120, 30);
    sessions.push(t);
    await t.waitFor((s) => s.includes(`job ${ending} bubble-ends`) && s.includes('sleep 6'), 20_000);
    const screen = await t.waitFor('exited with code 3', 40_000);
    expect(screen).toMatch(new RegExp(`job ${ending} bubble-ends +slurm +exited with code 3 at \\d{4}-`));
    t.keys('r');
    // Its last second: the job is there again, running or completing (slurmstepd outlives the task by a moment).
    const last = await t.waitFor((s) => new RegExp(`job ${ending} bubble-ends +slurm .*(running|completing) \\d+s`).test(s));
    expect(last).not.toContain('exited with code 3');
    expect(last).toMatch(/ at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    t.keys('q');
    await t.waitFor('EXIT=0');
  }, 90_000);
});
