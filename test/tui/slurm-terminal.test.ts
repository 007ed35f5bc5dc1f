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

beforeAll(() => {
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
}, 90_000);

afterEach(() => {
  for (const t of sessions.splice(0)) t.kill();
});

afterAll(() => {
  if (jobId !== '') spawnSync('scancel', [jobId]);
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
    const cpu = Number(/ cpu (\d+\.\d)%/.exec(info)?.[1]);
    const efficiency = Number(/efficiency (\d+\.\d)%/.exec(info)?.[1]);
    expect(cpu).toBeGreaterThan(30);
    expect(Math.abs(efficiency - cpu / 2)).toBeLessThanOrEqual(0.1);
    const rows = screen.split('\n');
    expect(rows.find((l) => /^ +PID /.test(l))).toMatch(/ USER +STEP +CPU%/);
    expect(rows.find((l) => / yes$/.test(l.trimEnd()))).toMatch(/ batch +\d/);
    expect(rows.find((l) => /sleep 60$/.test(l.trimEnd()))).toMatch(/ 0 +\d/);
    t.keys('q');
    await t.waitFor('EXIT=0');
  });
});
