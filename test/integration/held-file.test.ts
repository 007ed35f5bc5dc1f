/**
 * held-file.ts, the one held-fd reader of procfs, fds and cgroups, on real files: a held stat of a real process
 * re-reads current numbers and fails as `gone` once the process is reaped (never reading a pid's next owner); a held
 * file of a real cgroup fails as `removed` once the cgroup is rmdir'ed; the count of held fds is bounded.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { classifyReadError, FD_GONE, HeldFiles } from '../../src/collectors/held-file.js';
import { cgroupsWritable, makeTestCgroup } from '../helpers/cgroups.js';
import { needReal } from '../helpers/real.js';

const writable = cgroupsWritable();

function failureOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return classifyReadError(error);
  }
  return 'no error';
}

describe('HeldFiles on real files', () => {
  it('re-reads a live process through its held stat, then calls it gone once it is reaped', async () => {
    const files = new HeldFiles({ max: 4, bufferBytes: 64 });
    const child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    const fd = files.open(`/proc/${child.pid}/stat`);
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(files.held).toBe(1);
    const utime = (): number => Number(files.buf.toString('latin1', 0, files.read(fd, 'eof')).split(') ')[1]!.split(' ')[11]);
    const first = utime();
    await sleep(300);
    // The same fd, read again at offset 0, gives the kernel's current numbers (the buffer grew past its 64 bytes).
    expect(utime()).toBeGreaterThan(first);
    expect(files.buf.length).toBeGreaterThan(64);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(failureOf(() => files.read(fd, 'once'))).toBe('gone');
    files.close(fd);
    expect(files.held).toBe(0);
    expect(files.open(`/proc/${child.pid}/stat`)).toBe(FD_GONE);
    expect(files.held).toBe(0);
  });

  it('calls a held file of a removed cgroup removed', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const cg = makeTestCgroup(`/bubble-test-${randomBytes(4).toString('hex')}`, { controllers: ['memory', 'pids'], v2: false });
    const dir = cg.dir('memory') ?? cg.dir('pids')!;
    const files = new HeldFiles({ max: 4 });
    const fd = files.open(`${dir}/cgroup.procs`);
    expect(files.read(fd, 'short')).toBe(0);
    await cg.remove();
    expect(failureOf(() => files.read(fd, 'short'))).toBe('removed');
    files.close(fd);
  });

  it('holds at most max fds and reads whole files by path up to a cap', () => {
    const files = new HeldFiles({ max: 2, bufferBytes: 16 });
    const a = files.open('/proc/self/stat');
    const b = files.open('/proc/self/status');
    expect(files.room()).toBe(false);
    expect(files.room(1, 3)).toBe(true);
    files.close(a);
    expect(files.room()).toBe(true);
    files.close(b);
    files.close(FD_GONE);
    expect(files.held).toBe(0);
    // /proc/self/maps is far longer than 100 bytes: eof stops at the cap, once at the buffer.
    expect(files.readPath('/proc/self/maps', 'eof', 100)).toBe(100);
    expect(files.readPath('/proc/self/maps', 'eof')).toBeGreaterThan(100);
    expect(failureOf(() => files.readPath('/proc/self/no-such-file', 'eof'))).toBe('gone');
  });
});
