/**
 * ctop's `a` for every kind, not only Docker's: a container or job that ends while `top` runs stays listable, from
 * the live source itself. A real Slurm-shaped cgroup with a real process, sampled by the real Monitor.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Monitor } from '../../src/monitor/monitor.js';
import { LiveSource } from '../../src/tui/live-source.js';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { Children } from '../helpers/cli.js';
import { needReal } from '../helpers/real.js';

const writable = cgroupsWritable();
const children = new Children();
const groups: TestCgroup[] = [];

afterAll(async () => {
  children.killAll();
  for (const g of groups) await g.remove();
});

describe('LiveSource.exited', () => {
  it('keeps a job that ended during the session, without its last figures, and not while it runs', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const jobId = String(800_000 + Math.floor(Math.random() * 99_999));
    const node = `be${randomBytes(3).toString('hex')}`;
    const job = makeTestCgroup(`/slurm_${node}/uid_0/job_${jobId}/step_batch/task_0`, { controllers: ['memory', 'pids', 'freezer'], v2: false });
    groups.push(job);
    const child = children.start('sleep', ['600']);
    job.addPid(child.pid!);
    const monitor = new Monitor({ intervalMs: 100 });
    const source = new LiveSource(monitor);
    try {
      const first = monitor.tick();
      expect(first.containers.some((c) => c.key === `slurm:${jobId}`)).toBe(true);
      expect(source.exited().some((c) => c.key === `slurm:${jobId}`)).toBe(false);
      const gone = once(child, 'exit');
      child.kill('SIGKILL');
      await gone;
      await job.remove();
      groups.pop();
      const second = monitor.tick();
      expect(second.containers.some((c) => c.key === `slurm:${jobId}`)).toBe(false);
      const ended = source.exited().find((c) => c.key === `slurm:${jobId}`);
      expect(ended).toMatchObject({ kind: 'slurm', id: jobId, state: 'exited', processCount: 0 });
      expect(ended!.exitedAtMs).toBe(second.timeMs);
      expect(ended!.cpuPercent).toBeUndefined();
      expect(ended!.memoryBytes).toBeUndefined();
    } finally {
      source.close();
      monitor.close();
    }
  });
});
