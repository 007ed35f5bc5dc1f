/**
 * FdCollector on a fixture /proc tree, for what a real host will not show on demand: every link form (pipe, anon
 * inodes with and without brackets, namespace fds, netlink-like sockets absent from the tables), deleted files, a
 * process gone before its fds are read, an fd closed between readlink and fdinfo, a namespace whose first process left
 * before its tables were read, and the caches (fdinfo per fd + target, netns per process, tables per namespace).
 * The real thing (real processes, a real container) is in test/integration/fds-real.test.ts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FdCollector, modeOfFlags, parseFdinfoFlags, type ProcessFds } from '../../src/collectors/fds.js';
import { writeProc } from '../helpers/fake-proc.js';

const NET_FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/net');
const HOST_NS = 'net:[4026531840]';
const CONTAINER_NS = 'net:[4026532999]';
const QUIET_NS = 'net:[4026533000]';

let root: string;

function fdLink(pid: number, fd: number, target: string, flags?: string): void {
  const dir = path.join(root, String(pid));
  mkdirSync(path.join(dir, 'fd'), { recursive: true });
  mkdirSync(path.join(dir, 'fdinfo'), { recursive: true });
  rmSync(path.join(dir, 'fd', String(fd)), { force: true });
  symlinkSync(target, path.join(dir, 'fd', String(fd)));
  if (flags !== undefined) writeFileSync(path.join(dir, 'fdinfo', String(fd)), `pos:\t0\nflags:\t${flags}\nmnt_id:\t24\nino:\t1234\n`);
}

function tables(pid: number, names: readonly string[], override: Record<string, string> = {}): void {
  const dir = path.join(root, String(pid), 'net');
  mkdirSync(dir, { recursive: true });
  for (const name of names) copyFileSync(path.join(NET_FIXTURES, name), path.join(dir, name));
  for (const [name, text] of Object.entries(override)) writeFileSync(path.join(dir, name), text);
}

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const TAIL = '00000000:00000000 00:00000000 00000000     0        0';

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'bubble-fds-'));
  // 100: host netns, every kind of link. Its tables lack tcp6 and udp6, as on a kernel without IPv6.
  writeProc(root, 100, { netns: HOST_NS });
  fdLink(100, 0, '/dev/null', '0100002');
  fdLink(100, 1, 'pipe:[123]');
  fdLink(100, 2, 'pipe:[124]');
  fdLink(100, 3, '/var/log/app.log', '02102001'); // O_CLOEXEC|O_LARGEFILE|O_APPEND|O_WRONLY
  fdLink(100, 4, '/tmp/scratch file (deleted)', '0100000');
  fdLink(100, 5, 'anon_inode:[eventpoll]');
  fdLink(100, 6, 'anon_inode:inotify');
  fdLink(100, 7, 'socket:[1001]');
  fdLink(100, 8, 'socket:[20005]');
  fdLink(100, 9, 'socket:[555]'); // netlink: in none of the five tables
  fdLink(100, 10, 'net:[4026531840]');
  fdLink(100, 11, '/data/app\x1b[31m.db', '0100002');
  fdLink(100, 12, 'socket:[3002]');
  fdLink(100, 13, 'anon_inode:[eventfd]');
  tables(100, ['tcp', 'udp', 'unix']);

  // 200: same netns, one socket; no net/ of its own: the namespace is read through 100.
  writeProc(root, 200, { netns: HOST_NS });
  fdLink(200, 3, 'socket:[1002]');

  // 700 and 300: a container netns. 700 comes first and has already left its net/ (exited mid-pass): read via 300,
  // whose table gives inode 1001 another address than the host's (same inode number, other namespace).
  writeProc(root, 700, { netns: CONTAINER_NS });
  fdLink(700, 4, 'socket:[1001]');
  writeProc(root, 300, { netns: CONTAINER_NS });
  fdLink(300, 4, 'socket:[1001]');
  tables(300, [], {
    tcp: `${TCP_HEADER}   0: 020011AC:1F90 00000000:0000 0A ${TAIL} 1001 1 0000000000000000 100 0 0 10 0\n`,
  });

  // 400: a netns of its own, no sockets: its tables must not be read (it has none to read anyway).
  writeProc(root, 400, { netns: QUIET_NS });
  fdLink(400, 0, '/dev/null', '0100000');
  fdLink(400, 1, 'pipe:[900]');

  // 600: fd 3 closed between readlink and fdinfo (no fdinfo/3), fd 4 fine.
  writeProc(root, 600, { netns: QUIET_NS });
  fdLink(600, 3, '/closed/meanwhile');
  fdLink(600, 4, '/still/open', '0100001');

  // 800: an empty fd/ (a zombie, or a daemon that closed everything).
  mkdirSync(path.join(root, '800', 'fd'), { recursive: true });

  // 900: a netns of its own with all five tables, a unix listener and a netlink-like socket found in none.
  writeProc(root, 900, { netns: 'net:[4026533100]' });
  fdLink(900, 3, 'socket:[20001]');
  fdLink(900, 4, 'socket:[777]');
  tables(900, ['tcp', 'tcp6', 'udp', 'udp6', 'unix']);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const proc = (pid: number): { key: string; pid: number } => ({ key: `${pid}:${pid * 10}`, pid });

describe('FdCollector on a fixture /proc', () => {
  let result: Map<string, ProcessFds>;
  let collector: FdCollector;

  beforeAll(() => {
    collector = new FdCollector({ root });
    // 500 is not in the tree: gone before its fds were read.
    result = collector.collect([100, 200, 700, 300, 400, 500, 600, 800].map(proc));
  });

  it('lists files with modes from fdinfo flags, deleted files with their suffix, raw paths', () => {
    const p = result.get('100:1000')!;
    expect(p.files).toEqual([
      { fd: 0, path: '/dev/null', mode: 'rw', append: false, deleted: false },
      { fd: 3, path: '/var/log/app.log', mode: 'w', append: true, deleted: false },
      { fd: 4, path: '/tmp/scratch file (deleted)', mode: 'r', append: false, deleted: true },
      { fd: 11, path: '/data/app\x1b[31m.db', mode: 'rw', append: false, deleted: false },
    ]);
  });

  it('counts pipes, anon inodes (with and without brackets) and other links, without listing them', () => {
    const p = result.get('100:1000')!;
    expect(p).toMatchObject({ pipes: 2, anonInodes: 3, other: 1, otherSockets: 1 });
    expect(p.denied).toBeUndefined();
  });

  it('joins socket fds to the rows of their namespace by inode', () => {
    expect(result.get('100:1000')!.sockets).toEqual([
      { fd: 7, protocol: 'tcp', localAddress: '127.0.0.1', localPort: 80, remoteAddress: '0.0.0.0', remotePort: 0, state: 'LISTEN', inode: 1001 },
      { fd: 8, protocol: 'unix', path: '/run/my app/ctl sock', type: 'seqpacket', state: 'LISTEN', inode: 20005 },
      { fd: 12, protocol: 'udp', localAddress: '127.0.0.1', localPort: 41394, remoteAddress: '127.0.0.1', remotePort: 53, state: 'ESTABLISHED', inode: 3002 },
    ]);
    expect(result.get('200:2000')!.sockets).toEqual([expect.objectContaining({ fd: 3, inode: 1002, state: 'ESTABLISHED', remotePort: 54321 })]);
  });

  it("takes a container's sockets from its own namespace's tables, through a process still alive", () => {
    const listener = { protocol: 'tcp', localAddress: '172.17.0.2', localPort: 8080, state: 'LISTEN', inode: 1001 };
    expect(result.get('300:3000')!.sockets).toEqual([expect.objectContaining({ fd: 4, ...listener })]);
    expect(result.get('700:7000')!.sockets).toEqual([expect.objectContaining({ fd: 4, ...listener })]);
  });

  it('leaves out a gone process, skips an fd closed before its fdinfo was read, keeps an empty fd/', () => {
    expect(result.has('500:5000')).toBe(false);
    expect(result.get('600:6000')!.files).toEqual([{ fd: 4, path: '/still/open', mode: 'w', append: false, deleted: false }]);
    expect(result.get('800:8000')).toEqual({ files: [], sockets: [], pipes: 0, anonInodes: 0, other: 0, otherSockets: 0 });
    expect(collector.lastPass).toMatchObject({ processes: 8, read: 7, gone: 1, denied: 0, vanishedFds: 1 });
  });

  it('reads each namespace with sockets once, and no table of a namespace without sockets', () => {
    // host: tcp, udp, unix (tcp6, udp6 absent); container: tcp only (its one inode found there). The quiet one: none.
    expect(collector.lastPass).toMatchObject({ netns: 2, tableReads: 4, fdinfoReads: 7 });
  });
});

describe('FdCollector caches', () => {
  it('reads fdinfo only for new or retargeted fds, and forgets processes that left', () => {
    const collector = new FdCollector({ root });
    collector.collect([proc(100), proc(400)]);
    expect(collector.lastPass.fdinfoReads).toBe(5);
    expect(collector.cachedProcesses).toBe(2);

    // Steady: nothing new, no fdinfo read; the mode comes from the cache even if fdinfo changed meanwhile.
    writeFileSync(path.join(root, '100', 'fdinfo', '0'), 'pos:\t0\nflags:\t0100000\n');
    const steady = collector.collect([proc(100), proc(400)]);
    expect(collector.lastPass.fdinfoReads).toBe(0);
    expect(steady.get('100:1000')!.files[0]).toMatchObject({ fd: 0, mode: 'rw' });

    // fd 3 now points elsewhere (closed and reopened): read again.
    fdLink(100, 3, '/var/log/app.log.1', '0100002');
    const moved = collector.collect([proc(100), proc(400)]);
    expect(collector.lastPass.fdinfoReads).toBe(1);
    expect(moved.get('100:1000')!.files.find((f) => f.fd === 3)).toEqual({ fd: 3, path: '/var/log/app.log.1', mode: 'rw', append: false, deleted: false });

    // 100 left (or its pid was reused: another key): its cache goes.
    collector.collect([proc(400)]);
    expect(collector.cachedProcesses).toBe(1);
    collector.collect([{ key: '100:1', pid: 100 }]);
    expect(collector.lastPass.fdinfoReads).toBe(4);

    fdLink(100, 3, '/var/log/app.log', '02102001');
    writeFileSync(path.join(root, '100', 'fdinfo', '0'), 'pos:\t0\nflags:\t0100002\n');
  });

  it('stops reading tables once every wanted inode is found', () => {
    const collector = new FdCollector({ root });
    // 300's one socket is a tcp listener: tcp6, udp, udp6 and unix are not read.
    collector.collect([proc(300)]);
    expect(collector.lastPass).toMatchObject({ netns: 1, tableReads: 1 });
    collector.collect([proc(400)]);
    expect(collector.lastPass).toMatchObject({ netns: 0, tableReads: 0 });
  });
});

describe('FdCollector socket table reads', () => {
  const p900 = proc(900);

  it('searches every table for new inodes, then reads only the tables that held them', () => {
    const collector = new FdCollector({ root });
    collector.collect([p900]);
    // 20001 is in unix; 777 is in no table, so all five were searched.
    expect(collector.lastPass).toMatchObject({ netns: 1, tableReads: 5 });
    const steady = collector.collect([p900]);
    // Steady: unix only. 777 is not searched for again every pass (netlink sockets are everywhere)...
    expect(collector.lastPass.tableReads).toBe(1);
    expect(steady.get('900:9000')).toMatchObject({
      sockets: [expect.objectContaining({ fd: 3, path: '/run/dbus/system_bus_socket', state: 'LISTEN' })],
      otherSockets: 1,
    });
    // ...but every 10 passes, in case it was bound meanwhile.
    const reads: number[] = [];
    for (let i = 0; i < 10; i++) {
      collector.collect([p900]);
      reads.push(collector.lastPass.tableReads);
    }
    expect(reads).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 5, 1]);

    // A new socket (the tcp6 listener): searched for; from then on unix and tcp6 are read.
    fdLink(900, 5, 'socket:[2001]');
    const grown = collector.collect([p900]);
    expect(collector.lastPass.tableReads).toBe(5);
    expect(grown.get('900:9000')!.sockets.map((s) => s.inode)).toEqual([20001, 2001]);
    collector.collect([p900]);
    expect(collector.lastPass.tableReads).toBe(2);
    rmSync(path.join(root, '900', 'fd', '5'));
  });

  it('knows netlink sockets from net/netlink: no search through every table for them, every 10 passes or ever', () => {
    // 950: like 900, but its namespace lists the netlink socket (inode 778) in net/netlink, as a real kernel does.
    writeProc(root, 950, { netns: 'net:[4026533150]' });
    fdLink(950, 3, 'socket:[20001]');
    fdLink(950, 4, 'socket:[778]');
    tables(950, ['tcp', 'tcp6', 'udp', 'udp6', 'unix'], {
      netlink:
        'sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n' +
        '0000000023f662db 0   0          00000000 0        0        0     2        0        4       \n' +
        '00000000bca43dbe 0   950        00000000 0        0        0     2        0        778     \n',
    });
    const collector = new FdCollector({ root });
    const p950 = proc(950);
    collector.collect([p950]);
    // The first search stops at netlink: tcp and tcp6 are not read.
    expect(collector.lastPass.tableReads).toBe(4);
    const reads: number[] = [];
    let last: ProcessFds | undefined;
    for (let i = 0; i < 12; i++) {
      last = collector.collect([p950]).get('950:9500');
      reads.push(collector.lastPass.tableReads);
    }
    // unix and netlink each pass, nothing more.
    expect(reads).toEqual(Array(12).fill(2));
    expect(last).toMatchObject({ sockets: [expect.objectContaining({ fd: 3, inode: 20001 })], otherSockets: 1 });
  });

  it('sees state changes every pass by default', () => {
    const collector = new FdCollector({ root });
    fdLink(900, 5, 'socket:[2001]');
    collector.collect([p900]);
    const tcp6 = path.join(root, '900', 'net', 'tcp6');
    const original = readFileSync(tcp6, 'utf8');
    try {
      // The listener at fd 5 (inode 2001) is closing (0A LISTEN -> 07 CLOSE).
      writeFileSync(tcp6, original.replace(':0000 0A ', ':0000 07 '));
      const next = collector.collect([p900]);
      expect(next.get('900:9000')!.sockets.find((s) => s.fd === 5)).toMatchObject({ inode: 2001, state: 'CLOSE' });
    } finally {
      writeFileSync(tcp6, original);
      rmSync(path.join(root, '900', 'fd', '5'));
    }
  });

  it('with socketTablesEvery: N, rereads a namespace with no new socket every N passes only', () => {
    const collector = new FdCollector({ root, socketTablesEvery: 3 });
    collector.collect([p900]);
    const stats: [number, number][] = [];
    for (let i = 0; i < 4; i++) {
      collector.collect([p900]);
      stats.push([collector.lastPass.tableReads, collector.lastPass.netnsReused]);
    }
    expect(stats).toEqual([
      [0, 1],
      [0, 1],
      [1, 0],
      [0, 1],
    ]);
    // A new socket is looked up at once, whatever N.
    fdLink(900, 5, 'socket:[2001]');
    const grown = collector.collect([p900]);
    expect(collector.lastPass.netnsReused).toBe(0);
    expect(grown.get('900:9000')!.sockets.map((s) => s.inode)).toEqual([20001, 2001]);
    rmSync(path.join(root, '900', 'fd', '5'));
  });
});

describe('fdinfo flags', () => {
  it('parses the octal flags line wherever it is', () => {
    expect(parseFdinfoFlags('pos:\t0\nflags:\t0102001\nmnt_id:\t24\n')).toBe(0o102001);
    expect(parseFdinfoFlags('flags:\t02\n')).toBe(2);
    expect(parseFdinfoFlags('pos:\t0\nmnt_id:\t24\n')).toBeUndefined();
    expect(parseFdinfoFlags('pos:\t0\nflags:\tzz\n')).toBeUndefined();
  });

  it('maps O_ACCMODE and O_APPEND', () => {
    expect(modeOfFlags(0o100000)).toEqual({ mode: 'r', append: false });
    expect(modeOfFlags(0o102001)).toEqual({ mode: 'w', append: true });
    expect(modeOfFlags(0o2000002)).toEqual({ mode: 'rw', append: false });
    expect(modeOfFlags(0o2002)).toEqual({ mode: 'rw', append: true });
  });
});
