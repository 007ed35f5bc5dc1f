/**
 * Container network bytes on a fixture /proc: the namespace is read through the container's oldest process (by start
 * time, not by pid: pids wrap), then the next oldest when that one left, and when every process left before the read,
 * the namespace's last read stands in (same time, so no bytes and no seconds are made up).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Sampler } from '../../src/collectors/sampler.js';
import { statLine, writeProc } from '../helpers/fake-proc.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'bubble-sampler-net-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CID = 'e'.repeat(64);
const status = (pid: number): string => `Name:\tx\nUid:\t0\t0\t0\t0\nNSpid:\t${pid}\n`;
const netdev = (rx: number, tx: number): string =>
  'Inter-|   Receive                                                |  Transmit\n' +
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
  `    lo: 999999 10 0 0 0 0 0 0 999999 10 0 0 0 0 0 0\n  eth0: ${rx} 100 0 0 0 0 0 0 ${tx} 50 0 0 0 0 0 0\n`;

describe('Sampler: container network bytes per namespace', () => {
  it('reads through the oldest process, falls back to the next, and keeps the last read when all left', () => {
    const proc = path.join(root, 'proc');
    mkdirSync(proc, { recursive: true });
    writeFileSync(path.join(proc, 'stat'), 'cpu  1 0 1 1 0 0 0 0 0 0\ncpu0 1 0 0 0 0 0 0 0 0 0\nbtime 1700000000\n');
    writeFileSync(path.join(proc, 'meminfo'), 'MemTotal: 8388608 kB\nMemAvailable: 6291456 kB\n');
    writeProc(proc, 1, {
      stat: statLine(1, 'systemd', { 4: 0, 22: 1 }),
      status: status(1),
      cmdline: '/sbin/init\0',
      cgroup: '0::/init.scope\n',
      netns: 'net:[4026531840]',
    });
    const cgroup = `0::/system.slice/docker-${CID}.scope\n`;
    // The container's shell started first (tick 5000) but has the higher pid; pid 50 is a wget started after a wrap.
    const shell = (rx: number | undefined): void =>
      writeProc(proc, 900, {
        stat: statLine(900, 'sh', { 4: 1, 22: 5000 }),
        status: status(900),
        cmdline: 'sh\0',
        cgroup,
        netns: 'net:[4026532100]',
        ...(rx !== undefined && { netdev: netdev(rx, rx / 2) }),
      });
    const wget = (rx: number | undefined): void =>
      writeProc(proc, 50, {
        stat: statLine(50, 'wget', { 4: 900, 22: 9000 }),
        status: status(50),
        cmdline: 'wget\0x\0',
        cgroup,
        netns: 'net:[4026532100]',
        ...(rx !== undefined && { netdev: netdev(rx, rx / 2) }),
      });
    const gone = (pid: number): void => rmSync(path.join(proc, String(pid), 'net'), { recursive: true, force: true });
    let mono = 0;
    const sampler = new Sampler({
      procRoot: proc,
      cgroupMounts: { v1: {} },
      passwdPath: '/dev/null',
      now: () => 1_800_000_000_000 + mono / 1e6,
      monoNs: () => mono,
    });
    const net = (): { rx?: number; tx?: number; at?: number } => {
      const c = sampler.sample().containers.get(`docker:${CID}`)!;
      return { rx: c.netRxBytes, tx: c.netTxBytes, at: c.netMonoNs };
    };
    try {
      // The wget, lowest pid, has left by the time net/dev is read: the shell, oldest, is read.
      shell(1000);
      wget(undefined);
      expect(net()).toEqual({ rx: 1000, tx: 500, at: 0 });
      // The shell left (between listing and read): the next oldest, the wget, stands in.
      mono = 1e9;
      gone(900);
      wget(3000);
      expect(net()).toEqual({ rx: 3000, tx: 1500, at: 1e9 });
      // Both left before the read: the namespace's last read, with its own time.
      mono = 2e9;
      gone(50);
      expect(net()).toEqual({ rx: 3000, tx: 1500, at: 1e9 });
      // Back: the bytes of both intervals show at once, over both intervals' time.
      mono = 3e9;
      shell(7000);
      expect(net()).toEqual({ rx: 7000, tx: 3500, at: 3e9 });
    } finally {
      sampler.close();
    }
  });
});
