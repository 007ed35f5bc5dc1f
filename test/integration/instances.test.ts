/**
 * Running bubbles leave each other's /proc reads out of their descriptor passes (collectors/instances.ts): a real
 * `bubble record` registers in a private directory and a Sampler given that directory reads none of its held fds,
 * while one without it reads them all; the registry is trusted only as root wrote it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { BubbleInstances } from '../../src/collectors/instances.js';
import { ProcReader } from '../../src/collectors/procfs.js';
import { Sampler } from '../../src/collectors/sampler.js';
import type { AccessObservation } from '../../src/model/access.js';
import { BIN, binBuilt } from '../helpers/cli.js';
import { isRoot, needReal } from '../helpers/real.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-instances-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

const reader = new ProcReader({ root: '/proc' });

function filesOf(access: readonly AccessObservation[] | undefined, pid: number): string[] {
  return (access ?? []).filter((o) => o.kind === 'file' && o.processKey.startsWith(`${pid}:`)).map((o) => (o.kind === 'file' ? o.path : ''));
}

/** Two ticks apart enough for the descriptor pass to have read everyone once; the second tick's observations. */
async function accessOf(sampler: Sampler): Promise<readonly AccessObservation[] | undefined> {
  sampler.sample();
  await sleep(300);
  return sampler.sample().access;
}

async function waitFor(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('bubbles beside each other', () => {
  it('a Sampler leaves a registered bubble record out of its descriptor pass; without the registry it reads its /proc fds', {
    timeout: 60_000,
  }, async (ctx) => {
    needReal(ctx, 'root', isRoot, 'bubble registers only as root');
    needReal(ctx, 'the built CLI', binBuilt(), 'run npm run build');
    const run = path.join(tmp, 'run');
    const dir = path.join(run, 'instances');
    const child = spawn(process.execPath, [BIN, 'record', '--source', 'procfs', '--db', path.join(tmp, 'r.db'), '--quiet'], {
      stdio: 'ignore',
      env: { ...process.env, BUBBLE_RUN_DIR: run },
    });
    children.push(child);
    const entry = path.join(dir, String(child.pid));
    await waitFor('the recorder to register', () => fs.existsSync(entry));
    expect(Number(fs.readFileSync(entry, 'utf8'))).toBe(reader.readStat(child.pid!)?.startTicks);
    // It holds /proc files open after its first tick.
    await waitFor('the recorder to hold /proc files', () => fs.readdirSync(`/proc/${child.pid}/fd`).length > 50);

    const plain = new Sampler({ descriptors: true });
    const seen = filesOf(await accessOf(plain), child.pid!);
    plain.close();
    expect(seen.filter((p) => p.startsWith('/proc/')).length).toBeGreaterThan(50);

    const aware = new Sampler({ descriptors: true, instancesDir: dir });
    expect(fs.existsSync(path.join(dir, String(process.pid))), 'the sampler registered its own process').toBe(true);
    expect(filesOf(await accessOf(aware), child.pid!)).toEqual([]);
    aware.close();
    expect(fs.existsSync(path.join(dir, String(process.pid))), 'close() removed its entry').toBe(false);

    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(fs.existsSync(entry), 'the recorder removed its entry when it stopped').toBe(false);
  });

  it('trusts only what root wrote: a wrong start time, a directory others may write or an entry root does not own reads the process as any other', async (ctx) => {
    needReal(ctx, 'root', isRoot, 'the registry is root-only');
    const file = path.join(tmp, 'held.log');
    const holder = spawn('sh', ['-c', `exec 3>>${file}; exec sleep 60`], { stdio: 'ignore' });
    children.push(holder);
    await sleep(300);
    const pid = holder.pid!;
    const ticks = reader.readStat(pid)!.startTicks;
    const dir = path.join(tmp, 'trust');
    fs.mkdirSync(dir, { mode: 0o755 });
    const entry = path.join(dir, String(pid));
    const readsHolder = async (): Promise<boolean> => {
      const sampler = new Sampler({ descriptors: true, instancesDir: dir });
      try {
        return filesOf(await accessOf(sampler), pid).includes(file);
      } finally {
        sampler.close();
      }
    };

    fs.writeFileSync(entry, `${ticks}\n`, { mode: 0o644 });
    expect(await readsHolder(), 'registered: left out').toBe(false);
    fs.writeFileSync(entry, `${ticks + 1}\n`);
    expect(await readsHolder(), 'another start time: a reused pid').toBe(true);
    fs.writeFileSync(entry, `${ticks}\n`);
    fs.chmodSync(dir, 0o777);
    expect(await readsHolder(), 'a directory anyone may write').toBe(true);
    fs.chmodSync(dir, 0o755);
    fs.chownSync(entry, 65534, 65534);
    expect(await readsHolder(), 'an entry root does not own').toBe(true);
    fs.chownSync(entry, 0, 0);
    expect(await readsHolder(), 'trusted again').toBe(false);
  });

  it('drops the entries of bubbles that are gone when one registers', (ctx) => {
    needReal(ctx, 'root', isRoot, 'the registry is root-only');
    const dir = path.join(tmp, 'stale');
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, '999999999'), '12\n');
    const instances = new BubbleInstances(dir);
    const self = reader.readStat(process.pid)!.startTicks;
    instances.register(process.pid, self, (pid, ticks) => reader.readStat(pid)?.startTicks === ticks);
    expect(fs.readdirSync(dir)).toEqual([String(process.pid)]);
    expect([...instances.current()]).toEqual([`${process.pid}:${self}`]);
    instances.unregister();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
