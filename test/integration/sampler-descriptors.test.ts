/**
 * The descriptor pass in the sampler, on real processes: by default every process's open files are read every
 * tick, so what another process does to an idle one's file (an unlink) shows at the next tick; with a cheaper
 * cadence (descriptorsEvery N) an idle process is re-read only every N ticks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Sampler } from '../../src/collectors/sampler.js';
import { shownPath, type AccessObservation } from '../../src/model/access.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-sampler-fds-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** An idle process (sleep) holding `file` open for append on fd 3. */
async function holder(file: string): Promise<number> {
  const child = spawn('sh', ['-c', `exec 3>>${file}; exec sleep 60`], { stdio: 'ignore' });
  children.push(child);
  await sleep(300);
  return child.pid!;
}

/** Paths as shown: ` (deleted)` once, from the deleted flag. */
function pathsOf(access: readonly AccessObservation[] | undefined, pid: number): string[] {
  return (access ?? []).filter((o) => o.kind === 'file' && o.processKey.startsWith(`${pid}:`)).map((o) => (o.kind === 'file' ? shownPath(o) : ''));
}

describe('Sampler descriptor pass', () => {
  it('reads an idle process every tick by default: an unlink by someone else shows at once', async () => {
    const file = path.join(tmp, 'every-tick.log');
    const pid = await holder(file);
    const sampler = new Sampler({ descriptors: true, docker: undefined });
    try {
      expect(pathsOf(sampler.sample().access, pid)).toContain(file);
      sampler.sample();
      fs.unlinkSync(file);
      expect(pathsOf(sampler.sample().access, pid)).toContain(`${file} (deleted)`);
    } finally {
      sampler.close();
    }
  });

  it('with descriptorsEvery 5, an idle process keeps its last reading for up to 5 ticks', async () => {
    const file = path.join(tmp, 'cadence.log');
    const pid = await holder(file);
    const sampler = new Sampler({ descriptors: true, descriptorsEvery: 5 });
    try {
      expect(pathsOf(sampler.sample().access, pid)).toContain(file);
      sampler.sample();
      fs.unlinkSync(file);
      // Idle since: the old reading stands...
      const stale = pathsOf(sampler.sample().access, pid);
      expect(stale).toContain(file);
      expect(stale).not.toContain(`${file} (deleted)`);
      // ...until the cadence comes round.
      let seen = false;
      for (let i = 0; i < 5 && !seen; i++) seen = pathsOf(sampler.sample().access, pid).includes(`${file} (deleted)`);
      expect(seen).toBe(true);
    } finally {
      sampler.close();
    }
  });
});
