/**
 * procfs parsers on fixture text (edge cases a live kernel rarely shows: comm with `)` in it, truncated and junk
 * lines, nested pid namespaces, hosts with many CPUs) and ProcfsCollector run over a fixture /proc tree in a temp dir
 * (vanishing pids, a missing io file, pid reuse, exec). The real /proc is exercised in
 * test/integration/procfs-real.test.ts, including unreadable entries as a non-root user.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parseEnviron,
  parseHostStat,
  parseIo,
  parseMeminfo,
  parseNetDev,
  parseStat,
  parseStatus,
  ProcfsCollector,
  ProcfsError,
  ProcReader,
  type ProcStatic,
} from '../../src/collectors/procfs.js';
import { parsePasswd, UserNames } from '../../src/collectors/users.js';
import { statLine, writeProc } from '../helpers/fake-proc.js';

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'bubble-procfs-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));
let dirCount = 0;
function freshDir(): string {
  const dir = path.join(tmpRoot, `t${dirCount++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const IO_TEXT = 'rchar: 323934931\nwchar: 323929600\nsyscr: 632687\nsyscw: 632675\nread_bytes: 4096\nwrite_bytes: 323932160\ncancelled_write_bytes: 0\n';

describe('parseStat', () => {
  it('reads the kept fields of a plain line', () => {
    // Fields 11, 16, 17: cminflt, cutime, cstime (the children it reaped).
    expect(parseStat(statLine(4242, 'sleep', { 11: 7, 16: 30, 17: 12 }))).toEqual({
      pid: 4242,
      comm: 'sleep',
      state: 'S',
      ppid: 1,
      flags: 4194304,
      utimeTicks: 250,
      stimeTicks: 50,
      cutimeTicks: 30,
      cstimeTicks: 12,
      cminflt: 7,
      numThreads: 1,
      startTicks: 5000,
      vsizeBytes: 10_485_760,
      rssPages: 300,
      startCode: 94000000000000,
      endCode: 94000000065536,
      startStack: 140730000000000,
    });
  });

  it('reads where the memory map puts code and stack, and does without them on a short line', () => {
    const st = parseStat(statLine(9, 'sh', { 26: 1, 27: 1, 28: 0 }));
    expect(st).toMatchObject({ startCode: 1, endCode: 1, startStack: 0 });
    const short = statLine(9, 'sh').split(' ').slice(0, 25).join(' ');
    expect(parseStat(short)).toMatchObject({ rssPages: 300, startCode: 0, endCode: 0, startStack: 0 });
  });

  it('splits at the last ) so comm may hold spaces and parentheses', () => {
    const st = parseStat(statLine(77, 'my (odd) ) name', { 4: 9, 22: 123 }));
    expect(st?.comm).toBe('my (odd) ) name');
    expect(st?.ppid).toBe(9);
    expect(st?.startTicks).toBe(123);
    expect(parseStat(statLine(78, ') S 1 2 3'))?.comm).toBe(') S 1 2 3');
  });

  it('keeps a UTF-8 comm and tolerates negative priority and nice fields', () => {
    const st = parseStat(statLine(5, 'wörker', { 18: -100, 19: -20 }));
    expect(st?.comm).toBe('wörker');
    expect(st?.numThreads).toBe(1);
  });

  it('returns undefined for truncated lines and junk', () => {
    const full = statLine(4242, 'sleep');
    const through23 = full.split(' ').slice(0, 23).join(' ');
    expect(parseStat(through23)).toBeUndefined();
    expect(parseStat(full.slice(0, 30))).toBeUndefined();
    expect(parseStat(full.split(' ').slice(0, 24).join(' '))?.rssPages).toBe(300);
    for (const junk of ['', '\n', 'hello world', '12 (unclosed S 1 2 3', 'abc (x) S 1', '12 (x) S one 2 3', '12 x) S 1']) {
      expect(parseStat(junk), junk).toBeUndefined();
    }
  });

  it('reads a zombie: state Z, rss 0', () => {
    const st = parseStat(statLine(4321, 'defunct', { 3: 'Z', 23: 0, 24: 0 }));
    expect(st?.state).toBe('Z');
    expect(st?.rssPages).toBe(0);
  });

  it('keeps the flags word, where PF_KTHREAD (0x00200000) marks kernel threads', () => {
    const st = parseStat(statLine(2, 'kthreadd', { 4: 0, 9: 0x00208040 }));
    expect(st?.flags).toBe(0x00208040);
    expect((st?.flags ?? 0) & 0x00200000).not.toBe(0);
  });
});

describe('parseIo', () => {
  it('reads the four kept counters', () => {
    expect(parseIo(IO_TEXT)).toEqual({ rchar: 323934931, wchar: 323929600, readBytes: 4096, writeBytes: 323932160 });
  });
  it('accepts any line order and returns undefined when a counter is missing', () => {
    expect(parseIo('write_bytes: 4\nread_bytes: 3\nwchar: 2\nrchar: 1\n')).toEqual({
      rchar: 1,
      wchar: 2,
      readBytes: 3,
      writeBytes: 4,
    });
    expect(parseIo('rchar: 1\nwchar: 2\nread_bytes: 3\n')).toBeUndefined();
    expect(parseIo('')).toBeUndefined();
    expect(parseIo('rchar: x\nwchar: 2\nread_bytes: 3\nwrite_bytes: 4\n')).toBeUndefined();
  });
});

describe('parseStatus', () => {
  const status = (extra: string): string => `Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\nPPid:\t1\n${extra}Threads:\t1\n`;

  it('takes the effective uid and the nested NSpid list', () => {
    expect(parseStatus(status('Uid:\t1000\t1001\t1000\t1000\nGid:\t100\t100\t100\t100\nNSpid:\t4242\t7\t1\n'))).toEqual({
      uid: 1001,
      nspid: [4242, 7, 1],
    });
  });
  it('reads Kthread when the kernel writes it', () => {
    expect(parseStatus(status('Uid:\t0\t0\t0\t0\nNSpid:\t2\nKthread:\t1\n'))).toEqual({ uid: 0, nspid: [2], kthread: true });
    expect(parseStatus(status('Uid:\t0\t0\t0\t0\nKthread:\t0\n'))?.kthread).toBe(false);
  });
  it('returns undefined without a Uid line', () => {
    expect(parseStatus(status('NSpid:\t1\n'))).toBeUndefined();
    expect(parseStatus('Uid:\n')).toBeUndefined();
    expect(parseStatus('')).toBeUndefined();
  });
});

describe('host files', () => {
  it('sums the cpu line (without guest, already in user/nice) and counts cpuN lines', () => {
    const cpus = Array.from({ length: 96 }, (_, n) => `cpu${n} 10 0 5 100 1 0 0 0 0 0`).join('\n');
    const text = `cpu  1000 20 300 9000 400 5 6 7 800 9\n${cpus}\nintr 123 4 5 6\nctxt 99\nbtime 1795297111\nprocesses 5000\n`;
    expect(parseHostStat(text)).toEqual({
      cpuTotalTicks: 1000 + 20 + 300 + 9000 + 400 + 5 + 6 + 7,
      cpuIdleTicks: 9400,
      ncpu: 96,
      bootTimeSec: 1795297111,
    });
  });

  it('reads meminfo, falling back to free+buffers+cached without MemAvailable', () => {
    expect(parseMeminfo('MemTotal:       24684096 kB\nMemFree:        24014992 kB\nMemAvailable:   24266320 kB\n')).toEqual({
      memTotalBytes: 24684096 * 1024,
      memAvailableBytes: 24266320 * 1024,
    });
    expect(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n').memAvailableBytes).toBe(420 * 1024);
  });

  it('sums net/dev over every interface but lo, including names that run into the counters', () => {
    const text = [
      'Inter-|   Receive                                                |  Transmit',
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
      '    lo:    3245      30    0    0    0     0          0         0     3245      30    0    0    0     0       0          0',
      '  eth0: 317778740   10506    0    0    0     0          0         0   659849    5975    0    0    0     0       0          0',
      'docker0:     100       1    0    0    0     0          0         0      746       7    0    2    0     0       0          0',
      'veth1234567:5 1 0 0 0 0 0 0 6 1 0 0 0 0 0 0',
      '',
    ].join('\n');
    expect(parseNetDev(text)).toEqual({ rxBytes: 317778740 + 100 + 5, txBytes: 659849 + 746 + 6 });
  });
});

describe('parseEnviron', () => {
  const env = ['SLURM_JOB_ID=4242', 'PATH=/bin', 'SLURM_JOB_NAME=a=b c', 'SLURM_JOB_ID=9', 'XSLURM_JOB_USER=no', ''].join('\0');
  it('returns only the asked keys; the first occurrence wins; values may hold = and spaces', () => {
    expect(parseEnviron(env, ['SLURM_JOB_ID', 'SLURM_JOB_NAME', 'SLURM_JOB_USER'])).toEqual({
      SLURM_JOB_ID: '4242',
      SLURM_JOB_NAME: 'a=b c',
    });
  });
  it('finds a key anywhere, including the last entry without a trailing NUL', () => {
    expect(parseEnviron('A=1\0B=2', ['B', 'A'])).toEqual({ A: '1', B: '2' });
    expect(parseEnviron('', ['A'])).toEqual({});
    expect(parseEnviron('AB=1\0', ['A'])).toEqual({});
  });
});

describe('UserNames', () => {
  it('parses passwd, first line per uid wins, skipping NIS and comment lines', () => {
    const names = parsePasswd(
      'root:x:0:0:root:/root:/bin/bash\n+nis::::::\n#c:x:5:5\nalice:x:1000:1000::/home/alice:/bin/sh\ntoor:x:0:0::/:/bin/sh\nbad:x:abc:1\n',
    );
    expect([...names]).toEqual([
      [0, 'root'],
      [1000, 'alice'],
    ]);
  });

  it('names known uids, returns unknown ones as text, and re-reads at most once a minute', () => {
    const file = path.join(freshDir(), 'passwd');
    writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\n');
    let now = 1_000_000;
    const users = new UserNames(file, () => now);
    expect(users.name(0)).toBe('root');
    expect(users.name(1234)).toBe('1234');
    writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\nbob:x:1234:1234::/home/bob:/bin/sh\n');
    now += 30_000;
    expect(users.name(1234)).toBe('1234');
    now += 31_000;
    expect(users.name(1234)).toBe('bob');
  });

  it('falls back to numbers when the file is missing', () => {
    expect(new UserNames(path.join(tmpRoot, 'no-such-passwd')).name(0)).toBe('0');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A fixture /proc tree through ProcReader and ProcfsCollector.

const statusFor = (uid: number, nspid: string): string => `Name:\tx\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nNSpid:\t${nspid}\n`;

function fixtureTree(): string {
  const root = freshDir();
  writeFileSync(path.join(root, 'stat'), 'cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 100 0 50 800 50 0 0 0 0 0\nbtime 1700000000\n');
  writeFileSync(path.join(root, 'meminfo'), 'MemTotal: 2048 kB\nMemAvailable: 1024 kB\n');
  mkdirSync(path.join(root, 'self'));
  writeFileSync(path.join(root, 'uptime'), '1.0 1.0\n');
  mkdirSync(path.join(root, '12abc'));
  // A containerised process: nested pid namespaces, Slurm environment, io readable.
  writeProc(root, 100, {
    stat: statLine(100, 'sim (v2)', { 4: 1, 14: 300, 15: 100, 20: 4, 22: 5000, 24: 256 }),
    io: IO_TEXT,
    status: statusFor(1000, '100\t7\t1'),
    cmdline: 'sim\0--steps\x00100\0',
    cgroup: '0::/system.slice/slurmstepd.scope/job_4242/step_0/user/task_0\n',
    environ: 'PATH=/bin\0SLURM_JOB_ID=4242\0SLURM_JOB_NAME=sim\0SLURM_JOB_USER=alice\0HOME=/root\0',
    exe: '/opt/sim/bin/sim',
    netns: 'net:[4026532999]',
    netdev: 'Inter-|\n face |\n    lo: 5 0 0 0 0 0 0 0 5 0 0 0 0 0 0 0\n  eth0: 10 0 0 0 0 0 0 0 20 0 0 0 0 0 0 0\n',
  });
  // No io file (a kernel without task I/O accounting): reported, without I/O bytes, and not counted as denied.
  writeProc(root, 200, {
    stat: statLine(200, 'noio', { 4: 100 }),
    status: statusFor(0, '200'),
    cmdline: 'noio\0',
    cgroup: '0::/\n',
  });
  // Listed by readdir, but its stat is gone by the time it is read.
  writeProc(root, 300, { status: statusFor(0, '300'), cmdline: '', cgroup: '0::/\n' });
  // kthreadd and a kernel worker: PF_KTHREAD, no cmdline, no exe.
  writeProc(root, 2, {
    stat: statLine(2, 'kthreadd', { 4: 0, 9: 0x00208040, 24: 0 }),
    io: IO_TEXT,
    status: `${statusFor(0, '2')}Kthread:\t1\n`,
    cmdline: '',
    cgroup: '0::/\n',
  });
  writeProc(root, 15, {
    stat: statLine(15, 'kworker/0:1-events', { 4: 2, 9: 0x04208060, 24: 0 }),
    io: IO_TEXT,
    status: statusFor(0, '15'),
    cmdline: '',
    cgroup: '0::/\n',
  });
  // A zombie: empty cmdline and no exe link.
  writeProc(root, 400, {
    stat: statLine(400, 'defunct', { 3: 'Z', 4: 100, 23: 0, 24: 0 }),
    io: IO_TEXT,
    status: statusFor(1000, '400\t9\t2'),
    cmdline: '',
    cgroup: '0::/system.slice/slurmstepd.scope/job_4242/step_0/user/task_0\n',
  });
  return root;
}

function passwdFile(): string {
  const file = path.join(freshDir(), 'passwd');
  writeFileSync(file, 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n');
  return file;
}

function collector(root: string, maxHeldFds?: number) {
  const reader = new ProcReader({ root, clkTck: 100, pageSize: 4096 });
  const calls: { pid: number; info: ProcStatic }[] = [];
  const c = new ProcfsCollector({
    reader,
    users: new UserNames(passwdFile()),
    classify: (info, pid) => {
      calls.push({ pid, info });
      return info.cgroupText.includes('job_4242') ? 'slurm:4242' : 'host';
    },
    ...(maxHeldFds !== undefined && { maxHeldFds }),
  });
  return { reader, c, calls };
}

describe('ProcReader on a fixture tree', () => {
  it('lists numeric entries only', () => {
    const root = fixtureTree();
    expect(new ProcReader({ root, clkTck: 100, pageSize: 4096 }).listPids().sort((a, b) => a - b)).toEqual([2, 15, 100, 200, 300, 400]);
  });

  it('reads stat, io, static info, net namespace and net/dev', () => {
    const reader = new ProcReader({ root: fixtureTree(), clkTck: 100, pageSize: 4096 });
    expect(reader.readStat(100)?.comm).toBe('sim (v2)');
    expect(reader.readIo(100)).toEqual({ rchar: 323934931, wchar: 323929600, readBytes: 4096, writeBytes: 323932160 });
    expect(reader.readStatic(100, ['SLURM_JOB_ID', 'SLURM_JOB_USER', 'NOPE'])).toEqual({
      cmdline: 'sim --steps 100',
      exe: '/opt/sim/bin/sim',
      cgroupText: '0::/system.slice/slurmstepd.scope/job_4242/step_0/user/task_0\n',
      uid: 1000,
      nspid: 1,
      env: { SLURM_JOB_ID: '4242', SLURM_JOB_USER: 'alice' },
    });
    expect(reader.readNetNs(100)).toBe('net:[4026532999]');
    expect(reader.readNetDev(100)).toEqual({ rxBytes: 10, txBytes: 20 });
    expect(reader.readHost()).toEqual({
      ncpu: 1,
      cpuTotalTicks: 1000,
      cpuIdleTicks: 850,
      memTotalBytes: 2048 * 1024,
      memAvailableBytes: 1024 * 1024,
      bootTimeMs: 1_700_000_000_000,
    });
  });

  it('says gone (undefined) for missing files and pids, without throwing', () => {
    const reader = new ProcReader({ root: fixtureTree(), clkTck: 100, pageSize: 4096 });
    expect(reader.readStat(300)).toBeUndefined();
    expect(reader.readIo(200)).toBeUndefined();
    expect(reader.readStat(999)).toBeUndefined();
    expect(reader.readIo(999)).toBeUndefined();
    expect(reader.readStatic(999, ['A'])).toBeUndefined();
    expect(reader.readNetNs(200)).toBeUndefined();
    expect(reader.readNetDev(200)).toBeUndefined();
    // Kernel threads and zombies have no exe: an empty string, not a vanished process.
    expect(reader.readStatic(400, ['A'])).toEqual({ cmdline: '', exe: '', cgroupText: expect.any(String), uid: 1000, nspid: 2, env: {} });
  });

  it('skips exe and environ for kernel threads (they have neither; failed reads are the slow part)', () => {
    const root = fixtureTree();
    writeProc(root, 16, {
      status: statusFor(0, '16'),
      cmdline: '',
      cgroup: '0::/\n',
      environ: 'SLURM_JOB_ID=1\0',
      exe: '/bin/true',
    });
    const reader = new ProcReader({ root, clkTck: 100, pageSize: 4096 });
    expect(reader.readStatic(16, ['SLURM_JOB_ID'])).toMatchObject({ exe: '/bin/true', env: { SLURM_JOB_ID: '1' } });
    expect(reader.readStatic(16, ['SLURM_JOB_ID'], true)).toMatchObject({ exe: '', env: {} });
  });

  it('throws a typed error with the cause for failures that are not an exit', () => {
    const root = freshDir();
    mkdirSync(path.join(root, '5', 'stat'), { recursive: true });
    const reader = new ProcReader({ root, clkTck: 100, pageSize: 4096 });
    expect(() => reader.readStat(5)).toThrow(ProcfsError);
    try {
      new ProcReader({ root: path.join(root, 'missing'), clkTck: 100, pageSize: 4096 }).listPids();
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ProcfsError);
      expect(((error as ProcfsError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    }
  });

  it('takes clock ticks and page size from getconf when not given', () => {
    const reader = new ProcReader({ root: fixtureTree() });
    const getconf = (name: string): number => Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    expect(reader.clkTck).toBe(getconf('CLK_TCK'));
    expect(reader.pageSize).toBe(getconf('PAGESIZE'));
  });
});

describe.each([
  ['held fds', undefined],
  ['no held fds (over the cap)', 0],
])('ProcfsCollector on a fixture tree, %s', (_name, maxHeldFds) => {
  it('builds process samples, skipping a pid whose stat vanished', () => {
    const root = fixtureTree();
    const { c, calls } = collector(root, maxHeldFds);
    const tick = c.collect(1_700_000_000_000);
    expect([...tick.processes.keys()].sort()).toEqual(['100:5000', '15:5000', '200:5000', '2:5000', '400:5000']);
    expect(tick.processes.get('100:5000')).toEqual({
      key: '100:5000',
      pid: 100,
      startTicks: 5000,
      startTimeMs: 1_700_000_000_000 + 50_000,
      ppid: 1,
      comm: 'sim (v2)',
      cmdline: 'sim --steps 100',
      exe: '/opt/sim/bin/sim',
      uid: 1000,
      user: 'alice',
      state: 'S',
      cpuNs: 4e9,
      childCpuNs: 0,
      rssBytes: 256 * 4096,
      vsizeBytes: 10_485_760,
      threads: 4,
      readBytes: 4096,
      writeBytes: 323932160,
      rchar: 323934931,
      wchar: 323929600,
      nspid: 1,
      containerKey: 'slurm:4242',
      kernelThread: false,
    });
    expect(tick.statics.get('100:5000')?.env).toEqual({ SLURM_JOB_ID: '4242', SLURM_JOB_NAME: 'sim', SLURM_JOB_USER: 'alice' });
    const noIo = tick.processes.get('200:5000');
    expect(noIo?.readBytes).toBeUndefined();
    expect(noIo?.rchar).toBeUndefined();
    expect(noIo?.user).toBe('root');
    expect(tick.ioDenied).toBe(0);
    expect(tick.staticDenied).toBe(0);
    expect(tick.processes.get('2:5000')?.kernelThread).toBe(true);
    expect(tick.processes.get('15:5000')?.kernelThread).toBe(true);
    const zombie = tick.processes.get('400:5000');
    expect(zombie).toMatchObject({ state: 'Z', rssBytes: 0, cmdline: '', exe: '', nspid: 2, containerKey: 'slurm:4242', kernelThread: false });
    expect(calls.map((call) => call.pid).sort((a, b) => a - b)).toEqual([2, 15, 100, 200, 400]);
    c.close();
  });

  it('reads static info once per process, rereads stat each tick, drops processes that leave', () => {
    const root = fixtureTree();
    const { c, calls } = collector(root, maxHeldFds);
    c.collect(0);
    if (maxHeldFds === undefined)
      expect(c.openFds).toBe(9); // stat for 5 processes, io for 4 (200 has none)
    else expect(c.openFds).toBe(0);
    // Static files change on disk; a steady process must not reread them. stat changes must show.
    writeFileSync(path.join(root, '100', 'cmdline'), 'changed\0');
    writeFileSync(path.join(root, '100', 'stat'), statLine(100, 'sim (v2)', { 14: 500, 15: 100, 22: 5000, 24: 512 }));
    rmSync(path.join(root, '15'), { recursive: true });
    const tick = c.collect(0);
    expect(calls).toHaveLength(5);
    expect(tick.processes.get('100:5000')).toMatchObject({ cmdline: 'sim --steps 100', cpuNs: 6e9, rssBytes: 512 * 4096 });
    expect(tick.processes.has('15:5000')).toBe(false);
    expect(tick.statics.has('15:5000')).toBe(false);
    if (maxHeldFds === undefined) expect(c.openFds).toBe(7);
    c.close();
    expect(c.openFds).toBe(0);
  });

  it('treats a pid with a new start time as a new process (pid reuse)', () => {
    const root = fixtureTree();
    const { c, calls } = collector(root, maxHeldFds);
    c.collect(0);
    // Rewritten in place, so a held fd sees it too; the real kernel answers ESRCH on the old fd instead.
    writeFileSync(path.join(root, '200', 'cmdline'), 'reborn\0');
    writeFileSync(path.join(root, '200', 'stat'), statLine(200, 'noio', { 4: 100, 22: 9000 }));
    const tick = c.collect(0);
    expect(tick.processes.has('200:5000')).toBe(false);
    expect(tick.processes.get('200:9000')?.cmdline).toBe('reborn');
    expect(tick.statics.has('200:5000')).toBe(false);
    expect(calls.filter((call) => call.pid === 200)).toHaveLength(2);
    c.close();
  });

  it('rereads static info when comm changes (the process exec’d after it was first seen)', () => {
    const root = fixtureTree();
    const { c, calls } = collector(root, maxHeldFds);
    c.collect(0);
    writeFileSync(path.join(root, '200', 'cmdline'), 'python3\0job.py\0');
    writeFileSync(path.join(root, '200', 'cgroup'), '0::/system.slice/slurmstepd.scope/job_4242/step_1/user/task_0\n');
    writeFileSync(path.join(root, '200', 'stat'), statLine(200, 'python3', { 4: 100 }));
    const tick = c.collect(0);
    expect(tick.processes.get('200:5000')).toMatchObject({ comm: 'python3', cmdline: 'python3 job.py', containerKey: 'slurm:4242' });
    expect(calls.filter((call) => call.pid === 200)).toHaveLength(2);
    c.close();
  });

  it('a process reaped between its stat and io reads keeps the io counts last read (its parent absorbs them when it reaps it)', () => {
    const root = fixtureTree();
    const { c } = collector(root, maxHeldFds);
    expect(c.collect(0).processes.get('100:5000')?.writeBytes).toBe(323932160);
    // It ran (its CPU time moved, so io is read again), but its io is gone: read by path, ENOENT as after a reap.
    writeFileSync(path.join(root, '100', 'stat'), statLine(100, 'sim (v2)', { 14: 500, 15: 100, 22: 5000, 24: 512 }));
    rmSync(path.join(root, '100', 'io'));
    const tick = c.collect(0);
    expect(tick.processes.get('100:5000')).toMatchObject({ cpuNs: 6e9, readBytes: 4096, writeBytes: 323932160, rchar: 323934931 });
    c.close();
  });

  it('drops a process whose static files vanish while it is admitted', () => {
    const root = fixtureTree();
    rmSync(path.join(root, '200', 'status'));
    const { c } = collector(root, maxHeldFds);
    const tick = c.collect(0);
    expect(tick.processes.has('200:5000')).toBe(false);
    expect(tick.processes.has('100:5000')).toBe(true);
    c.close();
  });
});

describe('ProcfsCollector fd cap', () => {
  it('holds fds up to the cap, reads the rest by path, and takes up fds freed by exits', () => {
    const root = fixtureTree();
    const { c } = collector(root, 4);
    const first = c.collect(0);
    expect(first.processes.size).toBe(5);
    expect(c.openFds).toBe(4);
    rmSync(path.join(root, '2'), { recursive: true });
    rmSync(path.join(root, '15'), { recursive: true });
    const second = c.collect(0);
    expect(second.processes.size).toBe(3);
    expect(c.openFds).toBeLessThanOrEqual(4);
    writeFileSync(path.join(root, '400', 'stat'), statLine(400, 'defunct', { 3: 'Z', 4: 100, 14: 700, 23: 0, 24: 0 }));
    expect(c.collect(0).processes.get('400:5000')?.cpuNs).toBe(7.5e9);
    c.close();
    expect(c.openFds).toBe(0);
  });
});
