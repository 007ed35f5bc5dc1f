/**
 * `bubble record` against real parts: a real cgroup shaped like a Docker container with a CPU burner, a real Docker
 * container that burns CPU for a few seconds and exits with code 7, and a real SQLite file. Then `bubble export` and
 * `bubble ls --db` read back the rows, the processes, the exit time and the exit code. Also: kill -9 of the recorder,
 * two recorders on one file, readers while it writes, and a disk that fills up.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { bubble, Children, jsonLines, startBubble } from '../helpers/cli.js';
import { dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { isRoot, needReal } from '../helpers/real.js';

type Json = Record<string, unknown>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-record-'));
const writable = cgroupsWritable();
const docker = dockerAvailable();
const children = new Children();
let group: TestCgroup | undefined;
const cgroupId = randomBytes(32).toString('hex');
const tag = randomBytes(3).toString('hex');

afterAll(async () => {
  children.killAll();
  await sleep(200);
  await group?.remove();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sum = (rows: Json[], field: string): number => rows.reduce((a, r) => a + ((r[field] as number | null) ?? 0), 0);

describe('bubble record with a real cgroup and a real Docker container', () => {
  const db = path.join(tmp, 'main', 'bubble.db');
  const exiterName = uniqueName('bubble-exit7');
  let exiterId = '';
  let exiterKernelCpu = 0;
  let burnerPid = 0;
  // The test cgroup's own CPU counter, read when the recorder said it records and when it had exited.
  let burnerUsage0 = 0;
  let burnerUsage1 = 0;
  let burnerWall0 = 0;
  let burnerWallMs = 0;
  const cpuacctUsageNs = (): number => Number(fs.readFileSync(path.join(group!.dir('cpuacct')!, 'cpuacct.usage'), 'utf8'));
  let recordStatus = -1;
  let recordStderr = '';

  beforeAll(async () => {
    if (!writable.ok || !docker.ok) return;
    ensureTestImage();
    group = makeTestCgroup(`/bubble-test-${tag}/docker/${cgroupId}`);
    const burner = children.burner();
    group.addPid(burner.pid!);
    burnerPid = burner.pid!;
    const recorder = startBubble(['record', '--db', db, '--interval', '0.5s', '--duration', '9s']);
    await recorder.waitFor('recording to');
    burnerUsage0 = cpuacctUsageNs();
    burnerWall0 = Date.now();
    // Burns CPU for 3 to 4 s (whole seconds of `date`), then exits with code 7 while the recorder runs.
    // Last, it prints its own /proc stat line: the kernel's count of the CPU it and its reaped children used.
    exiterId = runContainer(exiterName, ['sh', '-c', 'end=$(($(date +%s)+4)); while [ $(date +%s) -lt $end ]; do :; done; cat /proc/$$/stat; exit 7']).id;
    recordStatus = await recorder.exited();
    burnerUsage1 = cpuacctUsageNs();
    burnerWallMs = Date.now() - burnerWall0;
    recordStderr = recorder.stderr();
    // utime, stime, cutime, cstime (fields 14-17), in clock ticks of 1/100 s.
    const stat = execFileSync('docker', ['logs', exiterId], { encoding: 'utf8' }).trim().split('\n').pop()!;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    exiterKernelCpu = fields.slice(11, 15).reduce((a, f) => a + Number(f), 0) / 100;
    removeContainer(exiterName);
  }, 60_000);

  it('records, then stops cleanly after --duration', (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    expect(recordStatus).toBe(0);
    expect(recordStderr).toMatch(/recorded \d+ ticks to/);
    const mode = fs.statSync(db).mode & 0o777;
    expect(mode).toBe(0o600);
    expect(fs.statSync(path.dirname(db)).mode & 0o777).toBe(0o700);
  });

  it('export has the exited container, its processes, its exit time and exit code', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    const ls = await bubble(['ls', '--json', '--db', db, '--interval', '0.2']);
    expect(ls.status).toBe(0);
    const exited = (JSON.parse(ls.stdout) as { containers: Json[] }).containers.find((r) => r['id'] === exiterId);
    expect(exited).toMatchObject({ kind: 'docker', name: exiterName, state: 'exited', exit_code: 7 });
    expect(Date.parse(exited!['exit_time'] as string)).toBeGreaterThan(Date.now() - 60_000);

    const containers = await bubble(['export', '--json', '--db', db, '--container', exiterName, '--tier', 'second']);
    expect(containers.status).toBe(0);
    const rows = jsonLines(containers.stdout);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.every((r) => r['container'] === `docker:${exiterId}` && r['exit_code'] === 7)).toBe(true);
    // Against the kernel's own count (what the shell printed), not a guess at its share of a shared machine. The
    // recorder counts from its first sight of the container (at most one 0.5 s interval after it started) to the
    // last read of its cgroup before it went, so up to about two intervals of a core may be missing, none added.
    expect(exiterKernelCpu).toBeGreaterThan(0.2);
    expect(sum(rows, 'cpu_seconds')).toBeGreaterThan(exiterKernelCpu - 1.1);
    expect(sum(rows, 'cpu_seconds')).toBeLessThan(exiterKernelCpu + 0.1);

    const processes = await bubble(['export', '--json', '--db', db, '--container', exiterId.slice(0, 12), '--what', 'processes', '--tier', 'minute']);
    const procs = jsonLines(processes.stdout);
    expect(procs.some((p) => p['comm'] === 'sh' && p['nspid'] === 1 && typeof p['exit_time'] === 'string')).toBe(true);
  });

  it('the cgroup container burned one core, and CPU time is the same in every tier', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    const tiers: Record<string, number> = {};
    for (const tier of ['second', 'minute', 'hour', 'day']) {
      const run = await bubble(['export', '--json', '--db', db, '--container', cgroupId, '--tier', tier]);
      expect(run.status).toBe(0);
      tiers[tier] = sum(jsonLines(run.stdout), 'cpu_seconds');
    }
    // Against the cgroup's own counter, read around the recorder's run, not a guess at the burner's share of a shared
    // machine. The window also holds the recorder's start and exit; its ticks' deltas cover the 9 s of --duration but
    // the first 0.5 s interval (a first sight has no delta). So: at least the burner's rate over that share of the
    // window, and nothing added.
    const kernel = (burnerUsage1 - burnerUsage0) / 1e9;
    expect(kernel).toBeGreaterThan(0.5);
    expect(tiers['second']).toBeGreaterThan((kernel * 8.5) / (burnerWallMs / 1000) - 0.1);
    expect(tiers['second']).toBeLessThan(kernel + 0.05);
    for (const tier of ['minute', 'hour', 'day']) expect(tiers[tier]).toBeCloseTo(tiers['second']!, 6);

    const procs = await bubble(['export', '--csv', '--db', db, '--container', cgroupId, '--what', 'processes', '--tier', 'hour']);
    const [header, ...lines] = procs.stdout.trim().split('\r\n');
    expect(header!.split(',')).toContain('cmdline');
    expect(lines.some((l) => l.includes(`,${burnerPid},`) && l.includes('sh -c while :; do :; done'))).toBe(true);
  });
});

describe('recorder safety', () => {
  it('kill -9 leaves a file that opens; the next recorder takes over the stale lock', async (ctx) => {
    needReal(ctx, 'root', isRoot, 'the recorder reads every process');
    const db = path.join(tmp, 'kill9', 'bubble.db');
    const first = startBubble(['record', '--db', db, '--interval', '0.2s']);
    await first.waitFor('recording to');
    await sleep(2500);
    first.child.kill('SIGKILL');
    expect(await first.exited()).toBe(137);

    const ls = await bubble(['export', '--json', '--db', db, '--tier', 'second']);
    expect(ls.status).toBe(0);
    expect(jsonLines(ls.stdout).length).toBeGreaterThan(3);

    const second = await bubble(['record', '--db', db, '--interval', '0.2s', '--duration', '1s']);
    expect(second.status).toBe(0);
    expect(second.stderr).toMatch(/recorded \d+ ticks/);
  });

  it('a second recorder on the same file refuses with one line naming the holder pid', async (ctx) => {
    needReal(ctx, 'root', isRoot, 'the recorder reads every process');
    const db = path.join(tmp, 'two', 'bubble.db');
    const first = startBubble(['record', '--db', db, '--interval', '0.5s']);
    await first.waitFor('recording to');
    const second = await bubble(['record', '--db', db]);
    expect(second.status).toBe(1);
    expect(second.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    expect(second.stderr).toContain(db);

    // Readers while it writes: export and ls work, and the recorder keeps ticking.
    for (let i = 0; i < 5; i++) {
      const reader = await bubble(['export', '--csv', '--db', db, '--what', 'processes', '--tier', 'second']);
      expect(reader.status).toBe(0);
      expect(reader.stdout.split('\r\n')[0]).toMatch(/^time,tier,/);
    }
    await sleep(2500); // ticks keep coming while readers come and go
    first.child.kill('SIGTERM');
    expect(await first.exited()).toBe(0);
    expect(first.stderr()).toMatch(/recorded (\d+) ticks/);
    const ticks = Number(/recorded (\d+) ticks/.exec(first.stderr())![1]);
    expect(ticks).toBeGreaterThanOrEqual(4);
  });

  it('a full disk gives one clear line, the recorder keeps sampling and catches up when space returns', async (ctx) => {
    needReal(ctx, 'root', isRoot, 'mounting a small tmpfs needs root');
    const dir = fs.mkdtempSync(path.join(tmp, 'full-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'none', dir]);
    } catch (error) {
      needReal(ctx, 'tmpfs mounts', false, `mount failed: ${(error as Error).message}`);
    }
    try {
      const db = path.join(dir, 'bubble.db');
      const rec = startBubble(['record', '--db', db, '--interval', '0.1s']);
      await rec.waitFor('the disk is full', 30_000);
      expect(rec.stderr()).toMatch(/cannot write .*bubble\.db: the disk is full; still sampling, retrying every tick/);
      execFileSync('mount', ['-o', 'remount,size=32m', dir]);
      await rec.waitFor('again', 20_000);
      rec.child.kill('SIGINT');
      expect(await rec.exited()).toBe(0);
      const failures = rec
        .stderr()
        .split('\n')
        .filter((l) => l.includes('the disk is full'));
      expect(failures).toHaveLength(1);
      const after = await bubble(['export', '--json', '--db', db, '--tier', 'second']);
      expect(after.status).toBe(0);
    } finally {
      execFileSync('umount', ['-l', dir]);
    }
  });

  it('SIGINT while the disk is still full: one line, exit 1, no stack trace, and the file opens afterwards', async (ctx) => {
    needReal(ctx, 'root', isRoot, 'mounting a small tmpfs needs root');
    const dir = fs.mkdtempSync(path.join(tmp, 'full-stop-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'none', dir]);
    } catch (error) {
      needReal(ctx, 'tmpfs mounts', false, `mount failed: ${(error as Error).message}`);
    }
    try {
      const db = path.join(dir, 'bubble.db');
      const rec = startBubble(['record', '--db', db, '--interval', '0.1s']);
      await rec.waitFor('the disk is full', 30_000);
      rec.child.kill('SIGINT');
      expect(await rec.exited()).toBe(1);
      const lines = rec.stderr().trimEnd().split('\n');
      expect(lines.at(-1)).toMatch(/^bubble: could not write the last \d+ ticks? to .*bubble\.db: the disk is full; what was written before is kept$/);
      expect(rec.stderr()).not.toMatch(/internal error|\n\s+at /);
      execFileSync('mount', ['-o', 'remount,size=32m', dir]);
      const after = await bubble(['export', '--json', '--db', db, '--tier', 'second']);
      expect(after.status, after.stderr).toBe(0);
      // The lock was released: the next recorder starts without a word about another one.
      const next = await bubble(['record', '--db', db, '--duration', '1s', '--quiet']);
      expect(next.status, next.stderr).toBe(0);
    } finally {
      execFileSync('umount', ['-l', dir]);
    }
  });
});
