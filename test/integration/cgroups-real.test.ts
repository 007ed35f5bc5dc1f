/**
 * CgroupReader against this host's real cgroups: a test cgroup made with mkdir, real processes moved in, counters
 * compared with wall time and with what the processes were made to do. Children are killed and the cgroup removed
 * in `finally`, even when an assertion fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CgroupReader, cgroupVersion, readCgroupMounts, type ContainerCgroupPaths } from '../../src/collectors/cgroups.js';
import type { CgroupCounters } from '../../src/model/sample.js';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { needReal } from '../helpers/real.js';

const MiB = 1024 ** 2;
const writable = cgroupsWritable();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh docker-like relPath, so the identity patterns would see a container. */
function testPath(): string {
  return `/bubble-test-${randomBytes(4).toString('hex')}/docker/${randomBytes(32).toString('hex')}`;
}

/** Children of one test: killed (and reaped) in finally. */
class Children {
  readonly list: ChildProcess[] = [];

  /** sh that burns one core. */
  burner(): ChildProcess {
    return this.#add(spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
  }

  /**
   * A process that waits for 'go' on stdin, then runs `script` (so what it does is charged to the cgroup it was
   * moved to: memory is charged where a page is first touched) and prints 'ready'.
   */
  gated(cmd: string, args: string[]): ChildProcess {
    return this.#add(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] }));
  }

  #add(child: ChildProcess): ChildProcess {
    this.list.push(child);
    if (child.pid === undefined) throw new Error('spawn failed');
    return child;
  }

  async killAll(): Promise<void> {
    await Promise.all(
      this.list.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
  }
}

/** Sends 'go' and waits for the child's 'ready' line. */
async function release(child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const stdout = child.stdout;
  if (stdout === null || child.stdin === null) throw new Error('child has no pipes');
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`child ${child.pid} did not get ready`)), timeoutMs);
    stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child ${child.pid} exited (${code}) before it was ready`));
    });
  });
  child.stdin.write('go\n');
  await ready;
}

/** 64 MiB allocated and touched (Buffer.alloc fills it) after 'go', then idle. */
const HOG = `process.stdin.once('data', () => {
  const b = Buffer.alloc(64 * 1024 * 1024, 1);
  globalThis.keep = b;
  process.stdout.write('ready\\n');
  setInterval(() => { b[0]++; }, 1000);
});`;

/** Runs body with a test cgroup and a set of children; cleans both up whatever happens. */
async function withCgroup(opts: Parameters<typeof makeTestCgroup>[1], body: (cg: TestCgroup, kids: Children) => Promise<void>): Promise<void> {
  const cg = makeTestCgroup(testPath(), opts);
  const kids = new Children();
  try {
    await body(cg, kids);
  } finally {
    await kids.killAll();
    await cg.remove();
  }
  // Nothing left behind: every dir the helper made is gone.
  const top = cg.relPath.split('/')[1] ?? '';
  for (const mount of [...Object.values(cg.mounts.v1), ...(cg.mounts.v2 === undefined ? [] : [cg.mounts.v2])]) {
    expect(existsSync(`${mount}/${top}`)).toBe(false);
  }
}

/** CPU time over wall time between two reads, in cores. */
async function cpuCores(
  reader: CgroupReader,
  paths: ContainerCgroupPaths,
  ms: number,
): Promise<{ cores: number; before: CgroupCounters; after: CgroupCounters }> {
  const before = reader.read(paths);
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  const after = reader.read(paths);
  const wallNs = Number(process.hrtime.bigint() - t0);
  return { cores: ((after.cpuUsageNs ?? NaN) - (before.cpuUsageNs ?? NaN)) / wallNs, before, after };
}

/** Writes a limit file in the v1 leaf of `controller`, else in the v2 leaf when that file exists there. */
function setLimit(cg: TestCgroup, controller: string, v1File: string, v1Value: string, v2File: string, v2Value: string): boolean {
  const v1 = cg.dir(controller);
  if (v1 !== undefined) {
    writeFileSync(`${v1}/${v1File}`, v1Value);
    return true;
  }
  const v2 = cg.dir('v2');
  if (v2 !== undefined && existsSync(`${v2}/${v2File}`)) {
    writeFileSync(`${v2}/${v2File}`, v2Value);
    return true;
  }
  return false;
}

/** Whole-disk MAJ:MIN of the block device holding `dir` (v1 throttle rules are per disk, not per partition). */
function diskOf(dir: string): string {
  // Linux dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
  const dev = statSync(dir, { bigint: true }).dev;
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  const sys = `/sys/dev/block/${major}:${minor}`;
  return existsSync(`${sys}/partition`) ? readFileSync(`${sys}/../dev`, 'utf8').trim() : `${major}:${minor}`;
}

describe('CgroupReader on real cgroups', () => {
  it('holds its files open between reads, sees new values through them, and lets go once the cgroup is removed', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    let reader: CgroupReader | undefined;
    let held: string[] = [];
    const heldInto = (relPath: string): string[] =>
      readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          return target.includes(relPath) ? [target] : [];
        } catch {
          return [];
        }
      });
    let paths: ContainerCgroupPaths | undefined;
    let relPath = '';
    await withCgroup({}, async (cg, kids) => {
      paths = cg.paths;
      relPath = cg.relPath;
      reader = new CgroupReader(cg.mounts);
      expect(reader.read(cg.paths).pids).toBe(0);
      held = heldInto(cg.relPath);
      // pids.current at least, in the pids hierarchy or cgroup2.
      expect(held.some((t) => t.endsWith('/pids.current'))).toBe(true);
      const sleeper = kids.gated('sleep', ['30']);
      cg.addPid(sleeper.pid ?? 0);
      // The same fds, read again from offset 0: the new member shows.
      expect(reader.read(cg.paths).pids).toBe(1);
      expect(heldInto(cg.relPath)).toEqual(held);
    });
    // Removed (withCgroup checked every dir is gone, so the held fds did not keep it): no stale numbers, no fds.
    expect(reader!.read(paths!)).toEqual({});
    expect(heldInto(relPath), 'fds still held after removal').toEqual([]);
    reader!.close();
  });

  it('reports CPU, memory, pids and the memory limit of a cgroup holding a CPU burner and a 64 MiB process', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    await withCgroup({}, async (cg, kids) => {
      const limited = setLimit(cg, 'memory', 'memory.limit_in_bytes', String(512 * MiB), 'memory.max', String(512 * MiB));
      expect(limited).toBe(true);
      const burner = kids.burner();
      cg.addPid(burner.pid ?? 0);
      const hog = kids.gated(process.execPath, ['-e', HOG]);
      cg.addPid(hog.pid ?? 0);
      await release(hog);

      const reader = new CgroupReader(cg.mounts);
      const { cores, after } = await cpuCores(reader, cg.paths, 1500);
      expect(cores).toBeGreaterThan(0.5);
      expect(cores).toBeLessThan(1.1);
      expect(after.cpuUserNs).toBeGreaterThan(0);
      expect(after.cpuSystemNs).toBeGreaterThanOrEqual(0);
      expect(after.memoryUsageBytes).toBeGreaterThanOrEqual(64 * MiB);
      // Anonymous memory is never inactive_file: the working set holds the 64 MiB too.
      expect(after.memoryWorkingSetBytes).toBeGreaterThanOrEqual(64 * MiB);
      expect(after.memoryWorkingSetBytes).toBeLessThanOrEqual(after.memoryUsageBytes ?? 0);
      expect(after.memoryLimitBytes).toBe(512 * MiB);
      expect(after.memoryPeakBytes).toBeGreaterThanOrEqual(after.memoryUsageBytes ?? Infinity);
      expect(after.oomKills ?? 0).toBe(0);
      expect(after.pids).toBeGreaterThanOrEqual(2);
      expect(after.cpuLimitCores).toBeUndefined();
      if (cg.v2) expect(after.cpuPressure?.some).toBeDefined(); // PSI comes from the unified hierarchy
    });
  });

  it('reads the same CPU time from the unified hierarchy as from cpuacct (hybrid: v2 cpu.stat without controllers)', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const version = cgroupVersion(readCgroupMounts());
    needReal(ctx, 'hybrid cgroups', version === 'hybrid', `this host is ${version}`);
    await withCgroup({}, async (cg, kids) => {
      cg.addPid(kids.burner().pid ?? 0);
      const reader = new CgroupReader(cg.mounts);
      const v2Only: ContainerCgroupPaths = { v2: cg.relPath, v1: {} };
      const b1 = reader.read(cg.paths);
      const b2 = reader.read(v2Only);
      const t0 = process.hrtime.bigint();
      await sleep(1200);
      const a1 = reader.read(cg.paths);
      const a2 = reader.read(v2Only);
      const wallNs = Number(process.hrtime.bigint() - t0);
      const d1 = (a1.cpuUsageNs ?? NaN) - (b1.cpuUsageNs ?? NaN);
      const d2 = (a2.cpuUsageNs ?? NaN) - (b2.cpuUsageNs ?? NaN);
      expect(d2 / wallNs).toBeGreaterThan(0.5);
      expect(Math.abs(d1 - d2) / wallNs).toBeLessThan(0.1);
      // No memory controller on the unified side of a hybrid host: nothing to report there.
      expect(a2.memoryUsageBytes).toBeUndefined();
    });
  });

  it('reports a CPU quota and the throttling it causes', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    await withCgroup({}, async (cg, kids) => {
      let limited = false;
      const cpuDir = cg.dir('cpu');
      const v2Dir = cg.dir('v2');
      if (cpuDir !== undefined) {
        writeFileSync(`${cpuDir}/cpu.cfs_period_us`, '100000');
        writeFileSync(`${cpuDir}/cpu.cfs_quota_us`, '20000');
        limited = true;
      } else if (v2Dir !== undefined && existsSync(`${v2Dir}/cpu.max`)) {
        writeFileSync(`${v2Dir}/cpu.max`, '20000 100000');
        limited = true;
      }
      needReal(ctx, 'a cpu controller for the test cgroup', limited, 'neither v1 cpu nor v2 cpu.max is available');
      cg.addPid(kids.burner().pid ?? 0);
      const reader = new CgroupReader(cg.mounts);
      const { cores, before, after } = await cpuCores(reader, cg.paths, 1200);
      expect(after.cpuLimitCores).toBe(0.2);
      expect(cores).toBeGreaterThan(0.1);
      expect(cores).toBeLessThan(0.3);
      expect((after.cpuPeriods ?? 0) - (before.cpuPeriods ?? 0)).toBeGreaterThanOrEqual(8);
      expect((after.cpuThrottledPeriods ?? 0) - (before.cpuThrottledPeriods ?? 0)).toBeGreaterThanOrEqual(5);
      expect((after.cpuThrottledNs ?? 0) - (before.cpuThrottledNs ?? 0)).toBeGreaterThan(100_000_000);
    });
  });

  it('counts block I/O written and read with O_DIRECT from inside the cgroup', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const scratch = `/var/tmp/bubble-io-${randomBytes(4).toString('hex')}`;
    try {
      await withCgroup({}, async (cg, kids) => {
        const blkio = cg.dir('blkio');
        if (blkio !== undefined) {
          // Recent kernels only count v1 throttle stats on devices that have a throttle rule: set a harmless one.
          const disk = diskOf('/var/tmp');
          writeFileSync(`${blkio}/blkio.throttle.write_bps_device`, `${disk} 1000000000000`);
          writeFileSync(`${blkio}/blkio.throttle.read_bps_device`, `${disk} 1000000000000`);
        }
        const dd = kids.gated('sh', [
          '-c',
          `read go; dd if=/dev/zero of=${scratch} bs=1M count=8 oflag=direct 2>/dev/null && dd if=${scratch} of=/dev/null bs=1M iflag=direct 2>/dev/null && echo ready; exec sleep 60`,
        ]);
        cg.addPid(dd.pid ?? 0);
        await release(dd);
        const c = new CgroupReader(cg.mounts).read(cg.paths);
        needReal(ctx, 'block I/O accounting', c.ioWriteBytes !== undefined, 'neither blkio nor io.stat is available for the test cgroup');
        expect(c.ioWriteBytes).toBeGreaterThanOrEqual(8 * MiB);
        expect(c.ioReadBytes).toBeGreaterThanOrEqual(8 * MiB);
      });
    } finally {
      rmSync(scratch, { force: true });
    }
  });

  it('Slurm-like layout: memory/pids/blkio/freezer dirs, cpu and cpuacct left at the root', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const version = cgroupVersion(readCgroupMounts());
    needReal(ctx, 'cgroup v1 hierarchies', version === 'v1' || version === 'hybrid', `this host is ${version}`);
    await withCgroup({ controllers: ['memory', 'pids', 'blkio', 'freezer'], v2: false }, async (cg, kids) => {
      expect(cg.dir('cpu')).toBeUndefined();
      expect(cg.dir('freezer')).toBeDefined();
      const hog = kids.gated(process.execPath, ['-e', HOG]);
      cg.addPid(hog.pid ?? 0);
      await release(hog);
      // cpu stays where the test runner is (the root here), memory moved to the job's dir.
      const hogCgroups = readFileSync(`/proc/${hog.pid}/cgroup`, 'utf8');
      const cpuLine = (text: string): string | undefined => text.split('\n').find((l) => /^\d+:(?:[^:]*,)?cpu(?:,[^:]*)?:/.test(l));
      expect(cpuLine(hogCgroups)).toBeDefined();
      expect(cpuLine(hogCgroups)).toBe(cpuLine(readFileSync('/proc/self/cgroup', 'utf8')));
      expect(hogCgroups).toContain(`:memory:${cg.relPath}\n`);
      const c = new CgroupReader(cg.mounts).read(cg.paths);
      expect(c.memoryUsageBytes).toBeGreaterThanOrEqual(64 * MiB);
      expect(c.pids).toBeGreaterThanOrEqual(1);
      // No cpuacct dir and no v2 path: the job's CPU is not the root's; it stays unknown (the sampler sums processes).
      expect(c.cpuUsageNs).toBeUndefined();
      expect(c.cpuPressure).toBeUndefined();
    });
  });

  it('gives {} once the cgroup is gone, without throwing', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const cg = makeTestCgroup(testPath());
    const reader = new CgroupReader(cg.mounts);
    try {
      expect(reader.read(cg.paths).pids).toBe(0);
    } finally {
      await cg.remove();
    }
    expect(reader.read(cg.paths)).toEqual({});
  });
});
