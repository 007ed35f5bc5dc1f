/**
 * ProcReader and ProcfsCollector against the real /proc: children with a known argv and environment, a CPU burner,
 * a real zombie, a process killed between ticks, the ESRCH guard of held fds, unreadable entries as a non-root user.
 * (Speed is measured by `npm run bench`, not asserted here: benchmarks are not timed tests.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcfsCollector, ProcReader, type ProcfsTick } from '../../src/collectors/procfs.js';
import { UserNames } from '../../src/collectors/users.js';
import { compiledCollectors, runAsNobody } from '../helpers/as-nobody.js';
import { isRoot, needReal } from '../helpers/real.js';

const children: ChildProcess[] = [];
const tmpDirs: string[] = [];

function start(command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(command, args, { stdio: 'ignore', ...(env !== undefined && { env }) });
  children.push(child);
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map(exited));
  for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
});

const reader = new ProcReader();
const bootTimeMs = reader.readHost().bootTimeMs;
const classified: number[] = [];
const collector = new ProcfsCollector({
  reader,
  users: new UserNames(),
  classify: (_info, pid) => {
    classified.push(pid);
    return 'host';
  },
});
afterAll(() => collector.close());

function find(tick: ProcfsTick, pid: number) {
  return [...tick.processes.values()].find((p) => p.pid === pid);
}

/** Field 22 read with a plain split, independent of the byte parser under test. */
function startTicksOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
}

describe('ProcfsCollector on the real /proc', () => {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', SLURM_JOB_ID: '4242', SLURM_JOB_NAME: 'sim', SLURM_JOB_USER: 'alice', OTHER: 'x' };
  let sleeper: ChildProcess;
  let burner: ChildProcess;
  let spawnedAtMs = 0;

  beforeAll(async () => {
    spawnedAtMs = Date.now();
    sleeper = start('sleep', ['30'], env);
    // `yes` into /dev/null burns a core and writes: cpuNs and wchar must both grow.
    burner = start('yes', ['burn']);
    await sleep(200);
  });

  it('finds its children with ppid, comm, cmdline, env subset, user, rss and threads; cpu grows', async () => {
    const first = collector.collect(bootTimeMs);
    const sleepPid = sleeper.pid!;
    const s = find(first, sleepPid);
    expect(s).toMatchObject({
      ppid: process.pid,
      comm: 'sleep',
      cmdline: 'sleep 30',
      uid: process.getuid!(),
      user: os.userInfo().username,
      kernelThread: false,
      nspid: sleepPid,
    });
    expect(s?.exe).toMatch(/\/sleep$/);
    expect(s?.rssBytes).toBeGreaterThan(0);
    expect(s?.threads).toBeGreaterThanOrEqual(1);
    // The key carries the start time, so a reused pid can never alias this process.
    expect(s?.key).toBe(`${sleepPid}:${startTicksOf(sleepPid)}`);
    expect(Math.abs((s?.startTimeMs ?? 0) - spawnedAtMs)).toBeLessThan(2500);
    expect(first.statics.get(s?.key ?? '')?.env).toEqual({ SLURM_JOB_ID: '4242', SLURM_JOB_NAME: 'sim', SLURM_JOB_USER: 'alice' });
    expect(s?.readBytes).toBeTypeOf('number');

    const b1 = find(first, burner.pid!);
    expect(b1).toMatchObject({ comm: 'yes', cmdline: 'yes burn', ppid: process.pid });
    await sleep(1000);
    const second = collector.collect(bootTimeMs);
    const b2 = find(second, burner.pid!);
    expect(b2?.key).toBe(b1?.key);
    expect((b2?.cpuNs ?? 0) - (b1?.cpuNs ?? 0)).toBeGreaterThan(0.2e9);
    expect((b2?.wchar ?? 0) - (b1?.wchar ?? 0)).toBeGreaterThan(0);
    // Static info is read once per process, not once per tick.
    expect(classified.filter((pid) => pid === burner.pid)).toHaveLength(1);
  });

  it('keeps a real zombie (state Z, rss 0), first seen as one with an empty cmdline and exe', async () => {
    // The background sleep's parent execs into `sleep 30`, which never reaps it.
    const parent = start('sh', ['-c', 'sleep 0.1 & exec sleep 30']);
    let zombie;
    for (let i = 0; i < 50 && zombie === undefined; i++) {
      await sleep(100);
      zombie = [...collector.collect(bootTimeMs).processes.values()].find((p) => p.ppid === parent.pid && p.state === 'Z');
    }
    // Seen alive first: it keeps the command line it had.
    expect(zombie).toMatchObject({ comm: 'sleep', state: 'Z', rssBytes: 0 });
    // Seen for the first time as a zombie: nothing to read but stat, status and cgroup, and no failure.
    const fresh = new ProcfsCollector({ reader, users: new UserNames(), classify: () => 'host' });
    try {
      const tick = fresh.collect(bootTimeMs);
      expect(tick.processes.get(zombie!.key)).toMatchObject({ state: 'Z', rssBytes: 0, cmdline: '', exe: '', ppid: parent.pid });
      expect(tick.statics.get(zombie!.key)?.env).toEqual({});
    } finally {
      fresh.close();
    }
  });

  it('drops a process killed between ticks, without errors, and closes its fds', async () => {
    const victim = start('sleep', ['30']);
    await sleep(100);
    const before = collector.collect(bootTimeMs);
    const key = find(before, victim.pid!)?.key;
    expect(key).toBeDefined();
    const fdsBefore = collector.openFds;
    victim.kill('SIGKILL');
    await exited(victim);
    const after = collector.collect(bootTimeMs);
    expect(after.processes.has(key!)).toBe(false);
    expect(after.statics.has(key!)).toBe(false);
    expect(collector.openFds).toBeLessThan(fdsBefore);
  });

  it('a held stat fd of a dead process fails with ESRCH, so it never reads a newer process on the same pid', async () => {
    const victim = start('sleep', ['30']);
    await sleep(100);
    const pid = victim.pid!;
    const fd = reader.openFd(pid, 'stat');
    expect(fd).toBeGreaterThanOrEqual(0);
    const out = reader.readStat(pid)!;
    expect(reader.statInto(pid, fd, out)).toBe(true);
    victim.kill('SIGKILL');
    await exited(victim);
    expect(() => readFileSync(`/proc/${pid}/stat`)).toThrow(/ENOENT/);
    expect(reader.statInto(pid, fd, out)).toBe(false);
    expect(reader.readStat(pid)).toBeUndefined();
    expect(reader.readIo(pid)).toBeUndefined();
    expect(reader.readStatic(pid, ['PATH'])).toBeUndefined();
    reader.closeFd(fd);
  });

  it('marks kernel threads', () => {
    const tick = collector.collect(bootTimeMs);
    expect(find(tick, 2)?.kernelThread).toBe(true);
    const workers = [...tick.processes.values()].filter((p) => p.ppid === 2);
    expect(workers.length).toBeGreaterThan(0);
    expect(workers.every((p) => p.kernelThread && p.cmdline === '')).toBe(true);
    expect(find(tick, process.pid)?.kernelThread).toBe(false);
  });

  it('reads the host counters', () => {
    const host = reader.readHost();
    expect(host.ncpu).toBe(os.cpus().length);
    expect(host.memTotalBytes).toBeGreaterThan(0);
    expect(host.memAvailableBytes).toBeLessThanOrEqual(host.memTotalBytes);
    expect(host.cpuIdleTicks).toBeLessThan(host.cpuTotalTicks);
    expect(Math.abs(host.bootTimeMs - (Date.now() - os.uptime() * 1000))).toBeLessThan(5000);
    expect(reader.readNetNs(process.pid)).toMatch(/^net:\[\d+\]$/);
    expect(reader.readNetDev(process.pid)?.rxBytes).toBeGreaterThanOrEqual(0);
  });
});

describe('unreadable /proc entries as a non-root user', () => {
  /**
   * The module must run as another user, so it runs in a child process started with uid/gid 65534. Node 20 cannot
   * import .ts, and dist/ may be stale or absent, so the test compiles the real source files (not a copy) with the
   * project's own TypeScript into a temp dir; procfs.ts imports held-file.ts, and only types from elsewhere.
   */
  it('reports io, exe and environ of a root process as denied, and still reads its stat', async (ctx) => {
    needReal(ctx, 'root', isRoot, 'starting a process as uid 65534 needs root');
    const target = start('sleep', ['30'], { PATH: process.env['PATH'] ?? '/usr/bin:/bin', SLURM_JOB_ID: '7' });
    await sleep(100);
    const dir = compiledCollectors('bubble-procfs-nobody-', ['procfs', 'held-file', 'users']);
    tmpDirs.push(dir);
    const run = runAsNobody(
      dir,
      `import { ProcReader, ProcfsCollector } from './procfs.js';
import { UserNames } from './users.js';
const target = Number(process.argv[2]);
const reader = new ProcReader();
const collector = new ProcfsCollector({ reader, users: new UserNames(), classify: () => 'host' });
const tick = collector.collect(0);
const sample = [...tick.processes.values()].find((p) => p.pid === target);
console.log(JSON.stringify({
  uid: process.getuid(),
  io: reader.readIo(target) ?? null,
  ownIo: reader.readIo(process.pid) ?? null,
  comm: reader.readStat(target)?.comm ?? null,
  static: reader.readStatic(target, ['SLURM_JOB_ID']) ?? null,
  sample: sample ?? null,
  ioDenied: tick.ioDenied,
  staticDenied: tick.staticDenied,
}));
collector.close();
`,
      [String(target.pid)],
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(result['uid']).toBe(65534);
    expect(result['io']).toBe('denied');
    expect(result['ownIo']).toMatchObject({ rchar: expect.any(Number) });
    expect(result['comm']).toBe('sleep');
    expect(result['static']).toMatchObject({ cmdline: 'sleep 30', exe: '', env: {}, uid: 0, denied: true });
    const sample = result['sample'] as Record<string, unknown>;
    expect(sample).toMatchObject({ comm: 'sleep', cmdline: 'sleep 30', user: 'root', ppid: process.pid });
    expect(sample).not.toHaveProperty('readBytes');
    expect(result['ioDenied']).toBeGreaterThanOrEqual(1);
    expect(result['staticDenied']).toBeGreaterThanOrEqual(1);
  });
});
