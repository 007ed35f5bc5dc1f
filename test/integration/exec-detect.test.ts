/**
 * exec keeps pid and start time, so a process is the same key before and after it: its command must still follow.
 * Real processes: a forked child first seen before it execs, a shell that execs another shell (comm stays `sh`), and
 * a real Docker container started while the sampler ticks (first seen as `runc init`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
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
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  if (dockerOk.ok) removeContainer(containerName);
});

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  children.push(child);
  return child;
}

const byPid = (s: Sample, pid: number): ProcessSample | undefined => [...s.processes.values()].find((p) => p.pid === pid);
const childOf = (s: Sample, ppid: number): ProcessSample | undefined => [...s.processes.values()].find((p) => p.ppid === ppid);

describe('exec is detected', () => {
  it('a forked child seen before its exec shows the new command from the next tick on', async () => {
    const parent = start('sh', ['-c', '(sleep 0.8; exec sleep 30) & wait']);
    const sampler = new Sampler();
    try {
      await sleep(300);
      const before = sampler.sample();
      const child = childOf(before, parent.pid!);
      expect(child?.comm).toBe('sh');
      expect(child?.cmdline).toBe('sh -c (sleep 0.8; exec sleep 30) & wait');
      await sleep(1200);
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
    const shell = start('sh', ['-c', 'sleep 0.8; exec sh -c "sleep 30; :"']);
    const sampler = new Sampler();
    try {
      await sleep(300);
      const before = byPid(sampler.sample(), shell.pid!);
      expect(before?.cmdline).toBe('sh -c sleep 0.8; exec sh -c "sleep 30; :"');
      await sleep(1200);
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
    // Time for the child node to start as nobody and see the shell once before it execs.
    const shell = start('sh', ['-c', 'sleep 1.5; exec sh -c "sleep 30; :"']);
    try {
      const run = runAsNobody(
        dir,
        `import { ProcReader, ProcfsCollector } from './procfs.js';
import { UserNames } from './users.js';
const target = Number(process.argv[2]);
const reader = new ProcReader();
const collector = new ProcfsCollector({ reader, users: new UserNames(), classify: () => 'host', schedstat: true });
const of = (tick) => [...tick.processes.values()].find((p) => p.pid === target);
const before = of(collector.collect(0));
const hidden = reader.readStat(target);
const t0 = Date.now();
let after = before;
while (Date.now() - t0 < 2500) {
  after = of(collector.collect(0));
  await new Promise((resolve) => setTimeout(resolve, 100));
}
console.log(JSON.stringify({ before, after, startCode: hidden.startCode, startStack: hidden.startStack }));
collector.close();
`,
        [String(shell.pid)],
      );
      expect(run.stderr).toBe('');
      const result = JSON.parse(run.stdout) as { before: ProcessSample; after: ProcessSample; startCode: number; startStack: number };
      // The kernel hides the map from this user: the memory-map signature cannot tell the exec.
      expect(result).toMatchObject({ startCode: 1, startStack: 0 });
      expect(result.before.cmdline).toBe('sh -c sleep 1.5; exec sh -c "sleep 30; :"');
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
