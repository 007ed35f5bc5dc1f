/**
 * What a Sample tells the view builder besides counters: which processes did not change since the last tick (an
 * explicit set, not object identity), and when each counter group was read, so a one-shot rate divides by the time
 * between the two reads of its counter and not by the time between the two ticks' starts (a first tick is slower).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sampler } from '../../src/collectors/sampler.js';
import { readSeconds } from '../../src/model/read-time.js';
import { toSnapshot } from '../../src/model/snapshot.js';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { needReal } from '../helpers/real.js';

const children: ChildProcess[] = [];
const writable = cgroupsWritable();
let group: TestCgroup | undefined;
const dockerId = randomBytes(32).toString('hex');

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  children.push(child);
  return child;
}

beforeAll(async () => {
  if (!writable.ok) return;
  group = makeTestCgroup(`/bubble-test-${randomBytes(3).toString('hex')}/docker/${dockerId}`, { controllers: ['cpu', 'cpuacct', 'memory', 'pids'] });
  const cpu = group.dir('cpu');
  if (cpu !== undefined) {
    // Half a core in 1 ms slices: the counter moves in steps of at most 1 ms, so 1 s intervals compare within 0.2 %.
    writeFileSync(`${cpu}/cpu.cfs_period_us`, '2000');
    writeFileSync(`${cpu}/cpu.cfs_quota_us`, '1000');
  } else if (group.dir('v2') !== undefined) {
    writeFileSync(`${group.dir('v2')}/cpu.max`, '1000 2000');
  }
  const burner = start('sh', ['-c', 'while :; do :; done']);
  group.addPid(burner.pid!);
  await sleep(300);
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await sleep(100);
  await group?.remove();
});

/** The cgroup's own CPU counter, ns. */
function usageNs(g: TestCgroup): number {
  const acct = g.dir('cpuacct');
  if (acct !== undefined) return Number(readFileSync(`${acct}/cpuacct.usage`, 'utf8'));
  return Number(/usage_usec (\d+)/.exec(readFileSync(`${g.dir('v2')}/cpu.stat`, 'utf8'))![1]) * 1000;
}

const nowNs = (): number => Number(process.hrtime.bigint());

describe('Sample read times', () => {
  it('a one-shot CPU% from a fresh sampler is within 3 % of the cgroup counter over the same interval, run after run', { timeout: 60_000 }, async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const key = `docker:${dockerId}`;
    for (let run = 0; run < 10; run++) {
      // A fresh sampler, as `ps` and `ls` use: its first tick reads every process's static files and is the slow one.
      const sampler = new Sampler();
      try {
        const first = sampler.sample();
        const u1 = usageNs(group!);
        const t1 = nowNs();
        await sleep(1000);
        const second = sampler.sample();
        const u2 = usageNs(group!);
        const t2 = nowNs();
        const a = first.containers.get(key)!;
        const b = second.containers.get(key)!;
        expect(a.cgroupMonoNs).toBeTypeOf('number');
        expect(b.cgroupMonoNs).toBeGreaterThan(a.cgroupMonoNs!);
        // The group was read inside its tick: after the tick's start, and after the processes.
        expect(a.cgroupMonoNs!).toBeGreaterThanOrEqual(first.processesMonoNs!);
        expect(first.processesMonoNs!).toBeGreaterThanOrEqual(first.hostMonoNs!);
        expect(first.hostMonoNs!).toBeGreaterThanOrEqual(first.monoNs);
        const seconds = readSeconds(b.cgroupMonoNs, a.cgroupMonoNs, second.monoNs, first.monoNs);
        // What ls and ps print: the view builder's CPU% of the container (100 = one core).
        const view = toSnapshot(second, first).containers.find((c) => c.key === key)!;
        const measured = view.cpuPercent! / 100;
        expect(view.intervalMs).toBeCloseTo(seconds * 1000, 6);
        const truth = (u2 - u1) / (t2 - t1);
        expect(truth).toBeGreaterThan(0.2);
        expect(Math.abs(measured / truth - 1)).toBeLessThan(0.03);
      } finally {
        sampler.close();
      }
    }
  });

  it('names the processes whose sample did not change since the last tick, and only those', async () => {
    const idle = start('sleep', ['30']);
    const busy = start('sh', ['-c', 'while :; do :; done']);
    await sleep(200);
    const sampler = new Sampler();
    try {
      const first = sampler.sample();
      expect(first.unchanged).toBeUndefined();
      await sleep(200);
      sampler.sample();
      await sleep(200);
      const third = sampler.sample();
      const keyOf = (pid: number): string => [...third.processes.values()].find((p) => p.pid === pid)!.key;
      expect(third.unchanged).toBeInstanceOf(Set);
      expect(third.unchanged!.has(keyOf(idle.pid!))).toBe(true);
      expect(third.unchanged!.has(keyOf(busy.pid!))).toBe(false);
      // Every key is a process of this tick.
      for (const key of third.unchanged!) expect(third.processes.has(key)).toBe(true);
    } finally {
      sampler.close();
    }
  });
});
