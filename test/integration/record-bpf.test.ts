/**
 * `bubble record --source bpf` against real parts: real bpftrace on native/bpf/bubble.bt, a real busybox container
 * running `md5sum /bin/busybox` in a loop (each md5sum a process of ~4 ms, far shorter than a tick), a real
 * Slurm-shaped v1 cgroup (memory/pids only, as Slurm makes them) whose shell runs /bin/true in a loop, and a real
 * SQLite file read back through `bubble export`. Then bpftrace is killed mid-run: the recorder goes on and says so.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfAvailability, runBpftrace, type BpfInterval } from '../../src/collectors/bpf.js';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { bubble, Children, jsonLines, recordAfterAttach, startBubble } from '../helpers/cli.js';
import { docker as dockerCli, dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { needReal } from '../helpers/real.js';

type Json = Record<string, unknown>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-record-bpf-'));
const bpf = bpfAvailability();
const bpfWhy = bpf.ok ? '' : bpf.why;
const writable = cgroupsWritable();
const docker = dockerAvailable();
const children = new Children();
const tag = randomBytes(3).toString('hex');
const jobId = String(800_000 + Math.floor(Math.random() * 99_999));
let job: TestCgroup | undefined;
const loopName = uniqueName('bubble-bpf-md5');

afterAll(async () => {
  children.killAll();
  removeContainer(loopName);
  await sleep(200);
  await job?.remove();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ready = (): boolean => bpf.ok && writable.ok && docker.ok;

describe('record --source bpf: short-lived processes in a container and a Slurm job', () => {
  const db = path.join(tmp, 'short', 'bubble.db');
  let status = -1;
  let stderr = '';
  /** Wall time bpftrace said it was attached, and the recording's end. */
  let attachedAt = 0;
  let endedAt = 0;
  let md5Lines: number[] = [];

  beforeAll(async () => {
    if (!ready()) return;
    ensureTestImage();
    // One md5sum line on stdout per process; `docker logs -t` times each, so the test knows how many started when.
    runContainer(loopName, ['sh', '-c', 'while true; do md5sum /bin/busybox; done']);
    job = makeTestCgroup(`/slurm_bt${tag}/uid_0/job_${jobId}/step_0/task_0`, { controllers: ['memory', 'pids'], v2: false });
    const loop = children.start('sh', ['-c', 'while :; do /bin/false; sleep 0.05; done'], { SLURM_JOB_ID: jobId, SLURM_JOB_NAME: 'short' });
    job.addPid(loop.pid!);
    // bpftrace takes seconds to compile and attach (more with the syscall-error probe, on by default, and on a loaded
    // host): the duration leaves at least 8 s attached.
    const recorder = startBubble(['record', '--db', db, '--source', 'bpf', '--duration', '20s']);
    await recorder.waitFor('bpftrace attached', 40_000);
    attachedAt = Date.now();
    status = await recorder.exited();
    endedAt = Date.now();
    stderr = recorder.stderr();
    const logs = execFileSync('docker', ['logs', '-t', loopName], { encoding: 'utf8', maxBuffer: 64 << 20 });
    md5Lines = logs
      .split('\n')
      .filter((l) => / [0-9a-f]{32} {2}\/bin\/busybox$/.test(l))
      // RFC 3339 with nanoseconds: milliseconds are enough.
      .map((l) => Date.parse(`${l.slice(0, 23)}Z`));
    dockerCli(['stop', '-t', '0', loopName]);
  }, 120_000);

  const need = (ctx: Parameters<typeof needReal>[0]): void => {
    needReal(ctx, 'bpftrace as root', bpf.ok, bpfWhy);
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
  };

  it('records and stops cleanly, saying when bpftrace attached', (ctx) => {
    need(ctx);
    expect(status, stderr).toBe(0);
    expect(stderr).toContain('bubble: bpftrace attached: short-lived processes and their opens from now on');
    expect(stderr).not.toMatch(/bpftrace (ended|could not)/);
  });

  it("has at least 90 % of the container's md5sum processes, with their container, and their CPU adds up to the cgroup's", async (ctx) => {
    need(ctx);
    // Whole seconds well inside the attached part of the recording.
    const from = Math.ceil(attachedAt / 1000) * 1000 + 1000;
    const to = Math.floor(endedAt / 1000) * 1000 - 2000;
    expect(to - from).toBeGreaterThanOrEqual(8000);
    const processes = await bubble(['export', '--json', '--what', 'processes', '--tier', 'second', '--container', loopName, '--db', db]);
    expect(processes.status, processes.stderr).toBe(0);
    const rows = jsonLines(processes.stdout);
    const inRange = (r: Json): boolean => Date.parse(r['time'] as string) >= from && Date.parse(r['time'] as string) < to;
    const started = (r: Json): number => Date.parse(r['start_time'] as string);
    const md5 = new Set(
      rows.filter((r) => r['comm'] === 'md5sum' && started(r) >= from && started(r) < to - 1000).map((r) => `${r['pid']}:${r['start_time']}`),
    );
    const printed = md5Lines.filter((t) => t >= from && t < to - 1000).length;
    expect(printed).toBeGreaterThan(100);
    expect(md5.size).toBeGreaterThanOrEqual(Math.floor(printed * 0.9));
    expect(md5.size).toBeLessThanOrEqual(Math.ceil(printed * 1.1));
    for (const r of rows) expect(r['container_name']).toBe(loopName);

    const containers = await bubble(['export', '--json', '--tier', 'second', '--container', loopName, '--db', db]);
    const cgroupCpu = jsonLines(containers.stdout)
      .filter(inRange)
      .reduce((a, r) => a + ((r['cpu_seconds'] as number | null) ?? 0), 0);
    const processCpu = rows.filter(inRange).reduce((a, r) => a + ((r['cpu_seconds'] as number | null) ?? 0), 0);
    expect(cgroupCpu).toBeGreaterThan(0.5);
    expect(Math.abs(processCpu - cgroupCpu) / cgroupCpu).toBeLessThan(0.15);
  });

  it("files opened by processes too short for the descriptor sampler are in the access intervals (md5sum's /bin/busybox)", async (ctx) => {
    need(ctx);
    const files = await bubble(['export', '--json', '--what', 'files', '--container', loopName, '--db', db]);
    expect(files.status, files.stderr).toBe(0);
    const opens = jsonLines(files.stdout).filter((r) => r['comm'] === 'md5sum' && r['path'] === '/bin/busybox' && r['source'] === 'bpf');
    expect(opens.length).toBeGreaterThan(50);
  });

  it("files the Slurm job's short processes under the job (their parent's v1 cgroups), with their exit codes", async (ctx) => {
    need(ctx);
    const r = await bubble(['export', '--json', '--what', 'processes', '--container', jobId, '--db', db]);
    expect(r.status, r.stderr).toBe(0);
    const rows = jsonLines(r.stdout);
    for (const x of rows) expect(x['container']).toBe(`slurm:${jobId}`);
    // Processes that lived while bpftrace ran (exits before it attached have no code).
    const traced = (comm: string): Json[] =>
      rows.filter(
        (x) => x['comm'] === comm && Date.parse(x['start_time'] as string) > attachedAt + 1000 && Date.parse(x['exit_time'] as string) < endedAt - 3000,
      );
    const falses = traced('false');
    // ~16 loops a second (false + sleep 0.05) for the attached part; far more than procfs alone could catch.
    expect(new Set(falses.map((x) => `${x['pid']}:${x['start_time']}`)).size).toBeGreaterThan(50);
    for (const x of falses) expect(x['exit_code']).toBe(1);
    const sleeps = traced('sleep');
    expect(sleeps.length).toBeGreaterThan(50);
    for (const x of sleeps) expect(x['exit_code']).toBe(0);
  });
});

describe('record --source bpf --bpf-files off', () => {
  const name = uniqueName('bubble-bpf-nofiles');
  const db = path.join(tmp, 'nofiles', 'bubble.db');
  let status = -1;
  let stderr = '';
  afterAll(() => removeContainer(name));

  beforeAll(async () => {
    if (!bpf.ok || !docker.ok) return;
    ensureTestImage();
    // The loop whose md5sum opens of /bin/busybox the test above finds with the probes on.
    runContainer(name, ['sh', '-c', 'while true; do md5sum /bin/busybox; done']);
    ({ status, stderr } = await recordAfterAttach(['--db', db, '--source', 'bpf', '--bpf-files', 'off'], 4000));
  }, 120_000);

  it('records no bpf-sourced opens of the short-lived md5sums while bpftrace still records the processes', async (ctx) => {
    needReal(ctx, 'bpftrace as root', bpf.ok, bpfWhy);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    expect(status, stderr).toBe(0);
    expect(stderr).toContain('bubble: bpftrace attached: short-lived processes (their opens not: --bpf-files off) from now on');
    const files = await bubble(['export', '--json', '--what', 'files', '--container', name, '--db', db]);
    expect(files.status, files.stderr).toBe(0);
    expect(jsonLines(files.stdout).filter((r) => r['source'] === 'bpf')).toEqual([]);
    const processes = await bubble(['export', '--json', '--what', 'processes', '--tier', 'second', '--container', name, '--db', db]);
    expect(processes.status, processes.stderr).toBe(0);
    expect(
      new Set(
        jsonLines(processes.stdout)
          .filter((r) => r['comm'] === 'md5sum')
          .map((r) => `${r['pid']}:${r['start_time']}`),
      ).size,
    ).toBeGreaterThan(50);
  });
});

describe('record --source bpf: per-process network bytes', () => {
  const senderName = uniqueName('bubble-bpf-nc');
  afterAll(() => removeContainer(senderName));

  it("sums the short nc processes' sent bytes to what the server received, within 10 %", async (ctx) => {
    needReal(ctx, 'bpftrace as root', bpf.ok, bpfWhy);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    // The host as containers on the default bridge reach it.
    let bridge: string | undefined;
    try {
      bridge = /inet ([0-9.]+)/.exec(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'docker0'], { encoding: 'utf8' }))?.[1];
    } catch {
      bridge = undefined;
    }
    needReal(ctx, "Docker's bridge docker0", bridge !== undefined, 'no IPv4 address on docker0');
    ensureTestImage();
    let received = 0;
    const sockets = new Set<net.Socket>();
    const server = net.createServer((c) => {
      sockets.add(c);
      c.on('data', (d: Buffer) => (received += d.length));
      c.on('close', () => sockets.delete(c));
      c.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const db = path.join(tmp, 'net', 'bubble.db');
    let senderId = '';
    let stderrOf = '';
    try {
      const recorder = startBubble(['record', '--db', db, '--source', 'bpf', '--duration', '30s', '--verbose']);
      const startedAt = Date.now();
      await recorder.waitFor('bpftrace attached', 40_000);
      // Socket bytes count from the second tick after the probes attached.
      await sleep(2500);
      // Each nc lives well under a tick: 200 kB to the test's server, then it exits.
      senderId = runContainer(senderName, ['sh', '-c', `while true; do head -c 200000 /dev/zero | nc -w 1 ${bridge!} ${port}; done`]).id;
      await sleep(6000);
      dockerCli(['kill', senderName]);
      // bpftrace's last intervals must reach the recorder before it stops.
      expect(Date.now() - startedAt).toBeLessThan(25_000);
      expect(await recorder.exited(), recorder.stderr()).toBe(0);
      stderrOf = recorder.stderr();
    } finally {
      // A killed container's connections are never closed by their peer.
      for (const c of sockets) c.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
    expect(received).toBeGreaterThan(2_000_000);
    // By id: the name comes from Docker's event stream, which a loaded host may deliver late.
    const r = await bubble(['export', '--json', '--what', 'processes', '--tier', 'second', '--container', senderId, '--db', db]);
    expect(r.status, r.stderr).toBe(0);
    const rows = jsonLines(r.stdout);
    const nc = rows.filter((x) => x['comm'] === 'nc');
    expect(new Set(nc.map((x) => `${x['pid']}:${x['start_time']}`)).size).toBeGreaterThan(5);
    // Every process of the container: an nc procfs caught between fork and exec is stored under the shell's comm.
    const sent = rows.reduce((a, x) => a + ((x['net_tx_bytes'] as number | null) ?? 0), 0);
    expect(Math.abs(sent - received) / received, `sent ${sent}, received ${received}; ${stderrOf}`).toBeLessThan(0.1);
    // head writes to a pipe, not a socket: measured, and none.
    const head = rows.filter((x) => x['comm'] === 'head');
    expect(head.length).toBeGreaterThan(0);
    for (const x of head) expect(x['net_tx_bytes']).toBe(0);
  }, 90_000);
});

describe('the bpftrace program on this kernel', () => {
  for (const [errors, files] of [
    [false, true],
    [true, true],
    [true, false],
    [false, false],
  ] as const)
    it(`attaches and gives intervals, the syscall-error probe ${errors ? 'on' : 'off'}, the files-opened probes ${files ? 'on' : 'off'}`, async (ctx) => {
      needReal(ctx, 'bpftrace as root', bpf.ok, bpfWhy);
      const intervals: BpfInterval[] = [];
      const run = runBpftrace({ intervalMs: 200, errors, files }, (events) => {
        for (const e of events) if (e.t === 'tick') intervals.push(e.interval);
      });
      const started = Date.now();
      while (intervals.length < 3 && Date.now() - started < 40_000) {
        await sleep(100);
        // A failed start settles done: say why instead of waiting.
        await Promise.race([run.done, sleep(0)]);
      }
      // cat of a missing file: an error on openat (257) with ENOENT (2) when the probe is there, none without it; a
      // short-lived cat's open of a file that is there, when the openat probes are.
      execFileSync('sh', ['-c', 'cat /nonexistent-bubble-bpf 2>/dev/null; cat /etc/hostname >/dev/null; true']);
      await sleep(700);
      run.stop();
      await run.done;
      expect(intervals.length).toBeGreaterThanOrEqual(3);
      const enoent = intervals.flatMap((i) => i.errors).filter((e) => e.syscall === 257 && e.errno === 2);
      if (errors) expect(enoent.length).toBeGreaterThan(0);
      else expect(intervals.flatMap((i) => i.errors)).toEqual([]);
      const opens = intervals.flatMap((i) => i.opens);
      if (files) expect(opens.filter((o) => o.path === '/etc/hostname').length).toBeGreaterThan(0);
      else expect(opens).toEqual([]);
      expect(run.stats.malformed + run.stats.outOfRange + run.stats.unknownType).toBe(0);
    }, 60_000);
});

describe('record --source bpf when bpftrace is killed', () => {
  it('goes on recording procfs, says so, and starts bpftrace again', async (ctx) => {
    needReal(ctx, 'bpftrace as root', bpf.ok, bpfWhy);
    const db = path.join(tmp, 'killed', 'bubble.db');
    const recorder = startBubble(['record', '--db', db, '--source', 'bpf', '--duration', '14s']);
    await recorder.waitFor('bpftrace attached', 40_000);
    const bubblePid = recorder.child.pid!;
    const bpftrace = execFileSync('pgrep', ['-P', String(bubblePid), '-x', 'bpftrace'], { encoding: 'utf8' }).trim();
    expect(bpftrace).toMatch(/^\d+$/);
    const killedAt = Date.now();
    process.kill(Number(bpftrace), 'SIGKILL');
    await recorder.waitFor(/bpftrace ended \(killed by SIGKILL\); procfs goes on, restarting bpftrace \(1 of 3\)/, 10_000);
    // Started again (after 2 s): a new bpftrace under the recorder.
    await sleep(3000);
    const again = execFileSync('pgrep', ['-P', String(bubblePid), '-x', 'bpftrace'], { encoding: 'utf8' }).trim();
    expect(again).toMatch(/^\d+$/);
    expect(again).not.toBe(bpftrace);
    expect(await recorder.exited(), recorder.stderr()).toBe(0);
    // Ticks kept coming after the kill: one a second for the whole --duration.
    const ticks = Number(/recorded (\d+) ticks/.exec(recorder.stderr())?.[1]);
    expect(ticks).toBeGreaterThanOrEqual(13);
    expect(Date.now() - killedAt).toBeGreaterThan(3000);
    // And bpftrace came back: the restarted one is stopped with the recorder, none is left behind.
    await sleep(200);
    expect(() => execFileSync('pgrep', ['-P', String(bubblePid), '-x', 'bpftrace'])).toThrow();
  }, 90_000);

  it('without bpftrace, --source bpf is one line saying what to install', async (ctx) => {
    needReal(ctx, 'bpftrace as root', bpf.ok, bpfWhy);
    const r = await bubble([
      'record',
      '--db',
      path.join(tmp, 'none', 'bubble.db'),
      '--source',
      'bpf',
      '--duration',
      '1s',
      '--bpftrace-bin',
      '/nonexistent/bpftrace',
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('bubble: --source bpf: bpftrace is not installed: install it with `apt-get install bpftrace` for short-lived processes');
  });
});
