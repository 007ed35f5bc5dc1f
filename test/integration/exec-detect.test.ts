/**
 * exec keeps pid and start time, so a process is the same key before and after it: its command must still follow.
 * Real processes: a forked child first seen before it execs, a shell that execs another shell (comm stays `sh`), and
 * a real Docker container started while the sampler ticks (first seen as `runc init`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Sampler } from '../../src/collectors/sampler.js';
import type { ProcessSample, Sample } from '../../src/model/sample.js';
import { docker, dockerAvailable, ensureTestImage, removeContainer, TEST_IMAGE, uniqueName } from '../helpers/docker.js';
import { compiledCollectors, runAsNobody } from '../helpers/as-nobody.js';
import { isRoot, needReal } from '../helpers/real.js';

const children: ChildProcess[] = [];
const containerName = uniqueName('bubble-exec');
const dockerOk = dockerAvailable();
// Gates: a shell blocks reading a FIFO until the test opens it, so it execs exactly when told (no timing under load).
const gates = mkdtempSync(path.join(os.tmpdir(), 'bubble-exec-gates-'));
chmodSync(gates, 0o777);
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  if (dockerOk.ok) removeContainer(containerName);
  rmSync(gates, { recursive: true, force: true });
});

let gateCount = 0;
function gate(): string {
  const fifo = path.join(gates, `gate-${gateCount++}`);
  const made = spawnSync('mkfifo', ['-m', '666', fifo]);
  if (made.status !== 0) throw new Error(`mkfifo ${fifo} failed: ${made.stderr.toString()}`);
  return fifo;
}

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  children.push(child);
  return child;
}

const byPid = (s: Sample, pid: number): ProcessSample | undefined => [...s.processes.values()].find((p) => p.pid === pid);
const childOf = (s: Sample, ppid: number): ProcessSample | undefined => [...s.processes.values()].find((p) => p.ppid === ppid);

describe('exec is detected', () => {
  it('a forked child seen before its exec shows the new command from the next tick on', async () => {
    const fifo = gate();
    const script = `(read x < ${fifo}; exec sleep 30) & wait`;
    const parent = start('sh', ['-c', script]);
    const sampler = new Sampler();
    try {
      await sleep(300);
      const before = sampler.sample();
      const child = childOf(before, parent.pid!);
      expect(child?.comm).toBe('sh');
      expect(child?.cmdline).toBe(`sh -c ${script}`);
      writeFileSync(fifo, 'go\n');
      await sleep(300);
      const after = byPid(sampler.sample(), child!.pid);
      expect(after?.key).toBe(child!.key);
      expect(after?.comm).toBe('sleep');
      expect(after?.cmdline).toBe('sleep 30');
      expect(after?.exe).toMatch(/sleep$|busybox$|coreutils$/);
    } finally {
      sampler.close();
    }
  });

  it('an exec that keeps comm (sh exec sh) shows the new command line', async () => {
    const fifo = gate();
    const script = `read x < ${fifo}; exec sh -c "sleep 30; :"`;
    const shell = start('sh', ['-c', script]);
    const sampler = new Sampler();
    try {
      await sleep(300);
      const before = byPid(sampler.sample(), shell.pid!);
      expect(before?.cmdline).toBe(`sh -c ${script}`);
      writeFileSync(fifo, 'go\n');
      await sleep(300);
      const after = byPid(sampler.sample(), shell.pid!);
      expect(after?.key).toBe(before!.key);
      expect(after?.comm).toBe('sh');
      expect(after?.cmdline).toBe('sh -c sleep 30; :');
    } finally {
      sampler.close();
    }
  });

  it('an exec that keeps comm is told from cmdline where the memory map is hidden (not root, another user)', (ctx) => {
    needReal(ctx, 'root', isRoot, 'starting a process as uid 65534 needs root');
    const dir = compiledCollectors('bubble-exec-nobody-', ['procfs', 'held-file', 'users']);
    const fifo = gate();
    const script = `read x < ${fifo}; exec sh -c "sleep 30; :"`;
    const shell = start('sh', ['-c', script]);
    try {
      const run = runAsNobody(
        dir,
        `import { writeFileSync } from 'node:fs';
import { ProcReader, ProcfsCollector } from './procfs.js';
import { UserNames } from './users.js';
const target = Number(process.argv[2]);
const reader = new ProcReader();
const collector = new ProcfsCollector({ reader, users: new UserNames(), classify: () => 'host', schedstat: true });
const of = (tick) => [...tick.processes.values()].find((p) => p.pid === target);
const before = of(collector.collect(0));
const hidden = reader.readStat(target);
writeFileSync(process.argv[3], 'go\\n');
const t0 = Date.now();
let after = before;
while (Date.now() - t0 < 1000) {
  after = of(collector.collect(0));
  await new Promise((resolve) => setTimeout(resolve, 100));
}
console.log(JSON.stringify({ before, after, startCode: hidden.startCode, startStack: hidden.startStack }));
collector.close();
`,
        [String(shell.pid), fifo],
      );
      expect(run.stderr).toBe('');
      const result = JSON.parse(run.stdout) as { before: ProcessSample; after: ProcessSample; startCode: number; startStack: number };
      // The kernel hides the map from this user: the memory-map signature cannot tell the exec.
      expect(result).toMatchObject({ startCode: 1, startStack: 0 });
      expect(result.before.cmdline).toBe(`sh -c ${script}`);
      expect(result.after.key).toBe(result.before.key);
      expect(result.after.cmdline).toBe('sh -c sleep 30; :');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a Docker container started while sampling shows its own command, not runc init, once it runs', async (ctx) => {
    needReal(ctx, 'Docker', dockerOk.ok, dockerOk.why);
    ensureTestImage();
    const sampler = new Sampler();
    const samples: Sample[] = [];
    try {
      const run = spawn('docker', ['run', '-d', '--name', containerName, TEST_IMAGE, 'sh', '-c', 'sleep 300; :'], { stdio: 'ignore' });
      const exited = new Promise<void>((resolve) => run.on('exit', () => resolve()));
      let done = false;
      void exited.then(() => (done = true));
      // Ticks close together while the container starts, so its init is likely first seen before the exec.
      while (!done) {
        samples.push(sampler.sample());
        await sleep(10);
      }
      await sleep(300);
      samples.push(sampler.sample());
      const id = docker(['inspect', '--format', '{{.Id}}', containerName]);
      const pid = Number(docker(['inspect', '--format', '{{.State.Pid}}', containerName]));
      const last = samples[samples.length - 1]!;
      const init = byPid(last, pid)!;
      expect(init.containerKey).toBe(`docker:${id}`);
      expect(init.comm).toBe('sh');
      expect(init.cmdline).toBe('sh -c sleep 300; :');
      // No process of the container is still named by runc.
      const container = last.containers.get(`docker:${id}`)!;
      for (const key of container.processKeys) expect(last.processes.get(key)!.cmdline).not.toMatch(/runc/);
      const seenAsRunc = samples.some((s) => s.processes.get(init.key)?.cmdline.includes('runc') === true);
      ctx.annotate(`first seen as runc init: ${String(seenAsRunc)}`);
    } finally {
      sampler.close();
    }
  });
});
