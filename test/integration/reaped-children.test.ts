/**
 * Processes that come and go (issue 10 items 3-4), on real cgroups this test creates, sampled by the real Sampler:
 * - a Slurm-shaped job (cpu/cpuacct left at the root, so its CPU is summed from processes) running a short-process
 *   loop: the job's CPU counts the children its shell reaped (cutime/cstime), as the kernel's counters do;
 * - a dd loop: the shell that reaps the dd children shows its own bytes (about none), not theirs, while the dd
 *   processes' bytes add up to the cgroup's blkio.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Sampler } from '../../src/collectors/sampler.js';
import { toSnapshot, type Snapshot } from '../../src/model/snapshot.js';
import type { Sample } from '../../src/model/sample.js';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { needReal } from '../helpers/real.js';

const tag = randomBytes(3).toString('hex');
const writable = cgroupsWritable();
const children: ChildProcess[] = [];
const groups: TestCgroup[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sleep(300);
  for (const g of groups.reverse()) await g.remove();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function start(script: string, env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn('sh', ['-c', script], { stdio: 'ignore', env: { ...process.env, ...env } });
  children.push(child);
  return child;
}

const clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime + cutime + cstime (fields 14-17) of one process, from /proc, ns; parsed here, not by the code under test. */
function cpuWithChildren(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after comm, which ends at the last ')': field 3 (state) is the first.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = [14, 15, 16, 17].reduce((sum, f) => sum + Number(fields[f - 3]), 0);
  return (ticks * 1e9) / clkTck;
}

/** Samples every `everyMs` until `done()` (checked after each tick), calling `each` with each tick's snapshot. */
async function tickUntil(sampler: Sampler, everyMs: number, done: () => boolean, each: (snap: Snapshot) => void): Promise<void> {
  let prev: Sample = sampler.sample();
  let last = toSnapshot(prev);
  for (;;) {
    await sleep(everyMs);
    const sample = sampler.sample();
    last = toSnapshot(sample, prev, last);
    each(last);
    prev = sample;
    if (done()) return;
  }
}

/** MAJ:MIN of the whole disk holding `dir` (blkio throttles disks, not partitions); undefined off a block device (tmpfs). */
function diskOf(dir: string): string | undefined {
  const dev = statSync(dir).dev;
  const id = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
  if (!existsSync(`/sys/dev/block/${id}`)) return undefined;
  const sys = realpathSync(`/sys/dev/block/${id}`);
  return existsSync(`${sys}/partition`) ? readFileSync(`${path.dirname(sys)}/dev`, 'utf8').trim() : id;
}

/** A fresh directory on a disk (the dd loop's bytes must reach a block device), with that disk's MAJ:MIN. */
function diskDir(): { dir: string; disk: string } | undefined {
  for (const parent of [tmpdir(), '/var/tmp']) {
    if (!existsSync(parent)) continue;
    const disk = diskOf(parent);
    if (disk === undefined) continue;
    const dir = mkdtempSync(path.join(parent, 'bubble-reaped-'));
    dirs.push(dir);
    return { dir, disk };
  }
  return undefined;
}

describe('processes that come and go', () => {
  it('a Slurm job without cpuacct counts the short processes its shell reaped: within 15 % of utime+stime+cutime+cstime', { timeout: 60_000 }, async (ctx) => {
    needReal(ctx, 'cgroups', writable.ok, writable.why);
    const jobId = String(900_000 + Math.floor(Math.random() * 99_999));
    const job = makeTestCgroup(`/slurm_bt${tag}/uid_0/job_${jobId}/step_batch/task_0`, { controllers: ['memory', 'pids', 'freezer'], v2: false });
    groups.push(job);
    const loop = start('while :; do md5sum /bin/busybox >/dev/null; done', { SLURM_JOB_ID: jobId, SLURM_JOB_NAME: 'churn' });
    job.addPid(loop.pid!);
    await sleep(300);

    const sampler = new Sampler();
    let jobNs = 0;
    let ticks = 0;
    let source: string | undefined;
    const before = cpuWithChildren(loop.pid!);
    const t0 = Date.now();
    await tickUntil(
      sampler,
      500,
      () => Date.now() - t0 >= 5000,
      (snap) => {
        const view = snap.containers.find((c) => c.key === `slurm:${jobId}`);
        expect(view, 'the job is seen every tick').toBeDefined();
        source = view!.cpuSource;
        jobNs += view!.interval.cpuNs ?? Number.NaN;
        ticks++;
      },
    );
    const after = cpuWithChildren(loop.pid!);
    sampler.close();
    const kernelNs = after - before;
    expect(source).toBe('processes');
    expect(ticks).toBeGreaterThanOrEqual(8);
    // The loop keeps about one core busy over 5 s on an idle machine; on a loaded one still well above a second.
    expect(kernelNs).toBeGreaterThan(0.5e9);
    expect(Math.abs(jobNs - kernelNs) / kernelNs).toBeLessThan(0.15);
  });

  it('a shell running dd children shows its own write bytes (about none); the dd processes add up to the cgroup blkio', { timeout: 90_000 }, async (ctx) => {
    needReal(ctx, 'cgroups', writable.ok, writable.why);
    const where = diskDir();
    needReal(ctx, 'a directory on a block device', where !== undefined, 'neither the temp dir nor /var/tmp is on a block device');
    const { dir, disk } = where!;
    const dockerId = randomBytes(32).toString('hex');
    const group = makeTestCgroup(`/bubble-test-${tag}/docker/${dockerId}`, { controllers: ['blkio', 'memory', 'pids'], v2: false });
    groups.push(group);
    const blkio = group.dir('blkio');
    needReal(ctx, 'v1 blkio', blkio !== undefined, 'no v1 blkio hierarchy');
    // 40 MB/s: each 20 MiB dd spends ~0.5 s in fsync, so a 150 ms tick sees it with its bytes counted (write_bytes
    // grows when pages are dirtied, before fsync) and the bookkeeping knows what the shell's io will absorb.
    writeFileSync(`${blkio}/blkio.throttle.write_bps_device`, `${disk} 40000000`);
    const file = path.join(dir, 'out');
    const done = path.join(dir, 'done');
    const loop = start(
      `sleep 0.5; i=0; while [ $i -lt 6 ]; do dd if=/dev/zero of=${file} bs=1M count=20 conv=fsync 2>/dev/null; sleep 0.3; i=$((i+1)); done; ` +
        `: > ${done}; sleep 300`,
    );
    group.addPid(loop.pid!);
    await sleep(100);

    const sampler = new Sampler();
    let shellOwn = 0;
    let ddSum = 0;
    let ddSeen = 0;
    const dds = new Set<number>();
    let first: number | undefined;
    let lastBlk: number | undefined;
    let finished = false;
    await tickUntil(
      sampler,
      150,
      () => {
        const was = finished;
        finished = existsSync(done);
        return was;
      },
      (snap) => {
        const view = snap.containers.find((c) => c.id === dockerId);
        if (view?.blkWriteBytes !== undefined) {
          first ??= view.blkWriteBytes - (view.interval.writeBytes ?? 0);
          lastBlk = view.blkWriteBytes;
        }
        for (const p of [...snap.processes, ...snap.exited.processes]) {
          if (p.pid === loop.pid && p.comm === 'sh') shellOwn += p.interval.writeBytes ?? 0;
          if (p.comm === 'dd' && p.ppid === loop.pid) {
            ddSum += p.interval.writeBytes ?? 0;
            if (!dds.has(p.pid)) ddSeen++;
            dds.add(p.pid);
          }
        }
      },
    );
    sampler.close();
    expect(first, 'the cgroup blkio is read').toBeDefined();
    const blk = lastBlk! - first!;
    expect(ddSeen).toBe(6);
    expect(blk).toBeGreaterThan(100 * 1024 * 1024);
    expect(Math.abs(ddSum - blk) / blk).toBeLessThan(0.15);
    // Without the bookkeeping the shell shows every dd's 20 MiB (120 MiB) as its own.
    expect(shellOwn).toBeLessThan(0.05 * blk);
  });
});
