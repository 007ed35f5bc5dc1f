/**
 * Processes that were not scheduled between two ticks (schedstat did not move) are not read again: procfs hands out
 * their last stat, the descriptor pass their last table. These tests, on real processes, check what must still be
 * seen: what such a process did before it went back to sleep, what others did to it (its parent exited, its peer
 * closed the connection, its file was renamed), and that a busy process is read as usual.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcfsCollector, ProcReader } from '../../src/collectors/procfs.js';
import { Sampler } from '../../src/collectors/sampler.js';
import { UserNames } from '../../src/collectors/users.js';
import type { AccessObservation } from '../../src/model/access.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-not-scheduled-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(child);
  return child;
}

function keyOf(processes: ReadonlyMap<string, { pid: number }>, pid: number): string | undefined {
  for (const [key, p] of processes) if (p.pid === pid) return key;
  return undefined;
}

const ofPid = (access: readonly AccessObservation[] | undefined, pid: number): AccessObservation[] =>
  (access ?? []).filter((o) => o.processKey.startsWith(`${pid}:`));

describe('a process that was not scheduled between ticks', () => {
  it('procfs: an idle sleep is handed out unchanged (same sample), a busy process is read and its CPU grows', async () => {
    const idle = start('sleep', ['30']);
    const busy = start('sh', ['-c', 'while :; do :; done']);
    await sleep(200);
    const collector = new ProcfsCollector({ reader: new ProcReader(), users: new UserNames(), classify: () => 'host', schedstat: true });
    try {
      const first = collector.collect(0);
      await sleep(300);
      const second = collector.collect(0);
      await sleep(300);
      const third = collector.collect(0);
      const idleKey = keyOf(third.processes, idle.pid!)!;
      const busyKey = keyOf(third.processes, busy.pid!)!;
      expect(third.idle.has(idleKey)).toBe(true);
      expect(third.processes.get(idleKey)).toBe(second.processes.get(idleKey));
      expect(third.processes.get(idleKey)!.state).toBe('S');
      expect(third.idle.has(busyKey)).toBe(false);
      expect(third.processes.get(busyKey)!.cpuNs).toBeGreaterThan(first.processes.get(busyKey)!.cpuNs);
    } finally {
      collector.close();
    }
  });

  it('procfs: a sleeping child whose parent exits shows its new parent at the next tick', async () => {
    // sh starts a sleep in the background, says its pid, and exits a second later: the sleep is reparented.
    const parent = start('sh', ['-c', 'sleep 30 & echo $!; sleep 1']);
    const orphanPid = await new Promise<number>((resolve) => parent.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    children.push({ kill: () => process.kill(orphanPid, 'SIGKILL') } as unknown as ChildProcess);
    const collector = new ProcfsCollector({ reader: new ProcReader(), users: new UserNames(), classify: () => 'host', schedstat: true });
    try {
      collector.collect(0);
      await sleep(200);
      const before = collector.collect(0);
      const key = keyOf(before.processes, orphanPid)!;
      expect(before.processes.get(key)!.ppid).toBe(parent.pid);
      await new Promise((resolve) => parent.once('exit', resolve));
      const after = collector.collect(0);
      expect(after.processes.get(key)!.ppid).not.toBe(parent.pid);
      expect(after.processes.get(key)!.ppid).toBe(Number(fs.readFileSync(`/proc/${orphanPid}/stat`, 'latin1').split(') ')[1]!.split(' ')[1]));
    } finally {
      collector.close();
    }
  });

  it('descriptors: an idle holder is not re-read (same observations), and a rename by someone else still shows', async () => {
    const file = path.join(tmp, 'held.log');
    const holder = start('sh', ['-c', `exec 3>>${file}; exec sleep 30`]);
    await sleep(300);
    const sampler = new Sampler({ descriptors: true });
    try {
      sampler.sample();
      const a = ofPid(sampler.sample().access, holder.pid!);
      const b = ofPid(sampler.sample().access, holder.pid!);
      expect(a.map((o) => (o.kind === 'file' ? o.path : ''))).toContain(file);
      // The very same objects: nothing was read for it but one readlink per open file.
      expect(b).toEqual(a);
      for (let i = 0; i < a.length; i++) expect(b[i]).toBe(a[i]);
      const stats = (sampler as unknown as { fds: { lastPass: { reused: number; pathChecks: number } } }).fds.lastPass;
      expect(stats.reused).toBeGreaterThan(0);
      expect(stats.pathChecks).toBeGreaterThan(0);

      fs.renameSync(file, `${file}.1`);
      const renamed = ofPid(sampler.sample().access, holder.pid!).map((o) => (o.kind === 'file' ? o.path : ''));
      expect(renamed).toContain(`${file}.1`);
      expect(renamed).not.toContain(file);
    } finally {
      sampler.close();
    }
  });

  it('descriptors: a process that wakes up, opens a file and sleeps again shows the file at the next tick', async () => {
    const first = path.join(tmp, 'first.log');
    const second = path.join(tmp, 'second.log');
    const proc = start('sh', ['-c', `exec 3>>${first}; sleep 1; exec 4>>${second}; exec sleep 30`]);
    await sleep(300);
    const sampler = new Sampler({ descriptors: true });
    try {
      sampler.sample();
      const before = ofPid(sampler.sample().access, proc.pid!).map((o) => (o.kind === 'file' ? o.path : ''));
      expect(before).toContain(first);
      expect(before).not.toContain(second);
      await sleep(1200);
      const after = ofPid(sampler.sample().access, proc.pid!).map((o) => (o.kind === 'file' ? o.path : ''));
      expect(after).toContain(second);
    } finally {
      sampler.close();
    }
  });

  it('descriptors: an idle client whose peer closes the connection shows CLOSE_WAIT at the next tick', async () => {
    const server = net.createServer();
    const accepted: net.Socket[] = [];
    server.on('connection', (s) => accepted.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    // A single-threaded client that connects and sleeps (python3: .ci/run installs it).
    const client = start('python3', ['-c', `import socket,time; s=socket.create_connection(('127.0.0.1',${port})); print('up', flush=True); time.sleep(30)`]);
    await new Promise((resolve) => client.stdout!.once('data', resolve));
    const sampler = new Sampler({ descriptors: true });
    try {
      sampler.sample();
      await sleep(200);
      const states = (): string[] =>
        ofPid(sampler.sample().access, client.pid!).flatMap((o) => (o.kind === 'net' && o.remote === `127.0.0.1:${port}` ? [o.state] : []));
      expect(states()).toEqual(['ESTABLISHED']);
      expect(states()).toEqual(['ESTABLISHED']);
      for (const s of accepted) s.destroy();
      await sleep(100);
      expect(states()).toEqual(['CLOSE_WAIT']);
    } finally {
      sampler.close();
      server.close();
    }
  });
});
