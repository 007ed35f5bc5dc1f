/**
 * Open files and sockets per process, from /proc/PID/fd (spec/cgroups.md §3; proc_pid_fd(5), proc_pid_fdinfo(5)).
 *
 * A pass costs one readdir of fd/ per process and one readlink per descriptor: that much is unavoidable, and it is all a
 * steady tick does for files. The rest is cached or shared:
 * - fdinfo (for the open mode) is read only for a regular-file fd not seen before with the same link target; the cache
 *   is per process key (pid + start time) and dropped when the process leaves.
 * - Socket tables are per network namespace, not per process: processes are grouped by `readlink ns/net` (cached per
 *   process key), and each namespace's tcp, tcp6, udp, udp6 and unix tables are read once, through one of its
 *   processes, only when one of them holds a socket this pass, and only until every wanted inode is found.
 * So the cost grows with descriptors, not with processes times namespaces.
 *
 * A process or fd that vanishes mid-read (ENOENT, ESRCH) is simply gone; EACCES/EPERM (not root, or a process this
 * user may not ptrace) marks the process `denied`. Paths are kept raw: a container names its files, so they are
 * escaped at output (format.ts safeText).
 */
import fs from 'node:fs';
import { parseInetTable, parseUnixTable, type InetProtocol, type SocketInfo } from './netstat.js';

/** A read failed for a reason other than the process or fd going away, or a permission check. */
export class FdsError extends Error {
  override name = 'FdsError';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

export interface OpenFile {
  readonly fd: number;
  /** The link target as the kernel gives it: ` (deleted)` stays on an unlinked file's path. */
  readonly path: string;
  readonly mode: 'r' | 'w' | 'rw';
  readonly append: boolean;
  /** The path ends with ` (deleted)`: the file was unlinked while open. */
  readonly deleted: boolean;
}

/** A socket fd joined with its row in the namespace's tables: flat, JSON-friendly. */
export type OpenSocket = { readonly fd: number } & SocketInfo;

export interface ProcessFds {
  /** Path-named descriptors (regular files, and also directories and devices), by fd. */
  files: OpenFile[];
  /** tcp, tcp6, udp, udp6 and unix sockets, by fd. */
  sockets: OpenSocket[];
  pipes: number;
  /** anon_inode:[eventpoll], anon_inode:inotify, eventfd, timerfd, ... */
  anonInodes: number;
  /** Anything else the kernel links to (namespace fds, `/dev/...`-less pseudo files). */
  other: number;
  /** Sockets not in the five tables (netlink, packet, raw, vsock; or gone before the tables were read). */
  otherSockets: number;
  /** true when fd/ (or a link in it) was unreadable: not root, or a process this user may not inspect. */
  denied?: boolean;
}

/** What one pass did: for benchmarks, the status line and tests of the caching. */
export interface FdPassStats {
  /** Processes asked for. */
  processes: number;
  /** Processes whose fd/ was read. */
  read: number;
  /** Processes gone before (or while) their fds were read. */
  gone: number;
  /** Processes whose fds were refused. */
  denied: number;
  /** Descriptors readlink'd. */
  fds: number;
  /** Descriptors listed by readdir but closed before readlink or fdinfo. */
  vanishedFds: number;
  /** fdinfo files read (new or changed regular-file fds). */
  fdinfoReads: number;
  /** Network namespaces whose tables were read this pass. */
  netns: number;
  /** Table files read (at most 5 per namespace). */
  tableReads: number;
}

const O_ACCMODE = 0o3;
/** x86, arm, arm64, riscv, s390, powerpc; alpha, sparc and parisc use other values. */
const O_APPEND = 0o2000;
const DELETED = ' (deleted)';
/** fdinfo of a regular file is `pos:`, `flags:`, `mnt_id:`, `ino:` and maybe locks: the flags come early. */
const FDINFO_READ = 512;
/** The unix table of a big host is a few MiB; stop there rather than hold more. */
const TABLE_CAP = 64 * 1024 * 1024;
/** Read in this order; a namespace stops as soon as every socket inode it wants is found. */
const TABLES: readonly (InetProtocol | 'unix')[] = ['tcp', 'tcp6', 'udp', 'udp6', 'unix'];

type Outcome = 'gone' | 'denied' | 'other';

function classify(error: unknown): Outcome {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ESRCH') return 'gone';
  if (code === 'EACCES' || code === 'EPERM') return 'denied';
  return 'other';
}

function fail(path: string, error: unknown): never {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  throw new FdsError(`cannot read ${path}: ${code ?? String(error)}`, { cause: error });
}

/** `flags:` of an fdinfo text, octal; undefined when absent. */
export function parseFdinfoFlags(text: string): number | undefined {
  let at = 0;
  if (!text.startsWith('flags:')) {
    at = text.indexOf('\nflags:') + 1;
    if (at === 0) return undefined;
  }
  let i = at + 6;
  while (text.charCodeAt(i) === 0x09 || text.charCodeAt(i) === 0x20) i++;
  const start = i;
  let v = 0;
  for (;;) {
    const d = text.charCodeAt(i) - 0x30;
    if (!(d >= 0 && d <= 7)) break;
    v = v * 8 + d;
    i++;
  }
  return i > start ? v : undefined;
}

/** 'r', 'w' or 'rw' and append, from open(2) flags. */
export function modeOfFlags(flags: number): { mode: OpenFile['mode']; append: boolean } {
  const acc = flags & O_ACCMODE;
  return { mode: acc === 1 ? 'w' : acc === 2 ? 'rw' : 'r', append: (flags & O_APPEND) !== 0 };
}

/** `socket:[123]` / `pipe:[123]` -> 123; -1 when not that shape. */
function bracketNumber(target: string, prefixLen: number): number {
  if (target.charCodeAt(prefixLen - 1) !== 0x5b || target.charCodeAt(target.length - 1) !== 0x5d) return -1;
  let v = 0;
  for (let i = prefixLen; i < target.length - 1; i++) {
    const d = target.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return target.length - 1 > prefixLen ? v : -1;
}

interface CachedFile {
  readonly target: string;
  readonly file: OpenFile;
  pass: number;
}

/** What is remembered of a process between passes. */
interface ProcState {
  /** `net:[4026531840]`, read the first time the process holds a socket. */
  netns: string | undefined;
  readonly files: Map<number, CachedFile>;
  pass: number;
}

/** The processes of one network namespace that hold sockets this pass, and what they wait for. */
interface NsGroup {
  readonly pids: number[];
  readonly wanted: Set<number>;
  /** Parallel arrays: result, fd, inode of every socket fd to join. */
  readonly holders: ProcessFds[];
  readonly fds: number[];
  readonly inodes: number[];
}

function emptyFds(): ProcessFds {
  return { files: [], sockets: [], pipes: 0, anonInodes: 0, other: 0, otherSockets: 0 };
}

function byFd(a: { fd: number }, b: { fd: number }): number {
  return a.fd - b.fd;
}

function sortedByFd(list: readonly { fd: number }[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i - 1]!.fd > list[i]!.fd) return false;
  return true;
}

export class FdCollector {
  readonly root: string;
  /** Counters of the last collect(). */
  lastPass: FdPassStats = FdCollector.zeroStats(0);
  private readonly procs = new Map<string, ProcState>();
  private pass = 0;
  /** One buffer for every file read: reads are synchronous, so nothing else holds it in between. */
  private buf = Buffer.allocUnsafe(256 * 1024);

  constructor(opts: { root?: string } = {}) {
    this.root = opts.root ?? '/proc';
  }

  private static zeroStats(processes: number): FdPassStats {
    return { processes, read: 0, gone: 0, denied: 0, fds: 0, vanishedFds: 0, fdinfoReads: 0, netns: 0, tableReads: 0 };
  }

  /** Processes remembered between passes (fd mode and netns caches). */
  get cachedProcesses(): number {
    return this.procs.size;
  }

  /** Forgets every cached process; the next pass rereads fdinfo and netns. */
  clear(): void {
    this.procs.clear();
  }

  /**
   * One pass over the given processes (key = `pid:startTicks`, see model/sample.ts). Gone processes are left out of
   * the result; each network namespace's tables are read at most once.
   */
  collect(processes: Iterable<{ readonly key: string; readonly pid: number }>): Map<string, ProcessFds> {
    const pass = ++this.pass;
    const stats = FdCollector.zeroStats(0);
    const out = new Map<string, ProcessFds>();
    const groups = new Map<string, NsGroup>();

    for (const p of processes) {
      stats.processes++;
      const result = this.readProcess(p.key, p.pid, pass, stats, groups);
      if (result !== undefined) out.set(p.key, result);
    }

    for (const group of groups.values()) this.joinSockets(group, stats);

    for (const result of out.values()) {
      if (!sortedByFd(result.files)) result.files.sort(byFd);
      if (!sortedByFd(result.sockets)) result.sockets.sort(byFd);
    }
    // Processes not asked for this pass have left: drop their caches.
    for (const [key, state] of this.procs) if (state.pass !== pass) this.procs.delete(key);
    this.lastPass = stats;
    return out;
  }

  /** Reads one process's fd/ (undefined when it is gone) and files its sockets under its namespace's group. */
  private readProcess(key: string, pid: number, pass: number, stats: FdPassStats, groups: Map<string, NsGroup>): ProcessFds | undefined {
    const dir = `${this.root}/${pid}/fd`;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (error) {
      const outcome = classify(error);
      if (outcome === 'gone') {
        stats.gone++;
        return undefined;
      }
      if (outcome === 'denied') {
        stats.denied++;
        const denied = emptyFds();
        denied.denied = true;
        return denied;
      }
      fail(dir, error);
    }
    stats.read++;

    let state = this.procs.get(key);
    if (state === undefined) {
      state = { netns: undefined, files: new Map(), pass };
      this.procs.set(key, state);
    }
    state.pass = pass;

    const result = emptyFds();
    const base = `${dir}/`;
    let socketFds: number[] | undefined;
    let socketInodes: number[] | undefined;
    let filesSeen = 0;
    const fdsBefore = stats.fds;
    for (const name of names) {
      let target: string;
      try {
        target = fs.readlinkSync(base + name);
      } catch (error) {
        const outcome = classify(error);
        if (outcome === 'gone') {
          // Closed between readdir and readlink; if the whole process left, its fd/ is now gone too.
          stats.vanishedFds++;
          continue;
        }
        if (outcome === 'denied') {
          // readdir passed but the links are refused (a process whose credentials changed): count it once.
          if (result.denied !== true) stats.denied++;
          result.denied = true;
          break;
        }
        fail(base + name, error);
      }
      stats.fds++;
      const fd = Number(name);
      const c0 = target.charCodeAt(0);
      if (c0 === 0x2f) {
        const file = this.fileOf(pid, fd, target, state, pass, stats, result);
        if (file !== undefined) {
          result.files.push(file);
          filesSeen++;
        }
      } else if (target.startsWith('socket:')) {
        const inode = bracketNumber(target, 8);
        if (inode > 0) {
          (socketFds ??= []).push(fd);
          (socketInodes ??= []).push(inode);
        } else {
          result.otherSockets++;
        }
      } else if (target.startsWith('pipe:')) {
        result.pipes++;
      } else if (target.startsWith('anon_inode:')) {
        result.anonInodes++;
      } else {
        result.other++;
      }
    }
    // Every link vanished: the process exited while we read it (a zombie's fd/ is empty, not unreadable).
    if (names.length > 0 && stats.fds === fdsBefore && result.denied !== true) {
      stats.gone++;
      stats.read--;
      return undefined;
    }
    // Closed fds leave stale entries: sweep only when there are some.
    if (state.files.size !== filesSeen) for (const [fd, c] of state.files) if (c.pass !== pass) state.files.delete(fd);

    if (socketFds !== undefined && socketInodes !== undefined) {
      const netns = this.netnsOf(pid, state);
      if (netns === undefined) {
        stats.gone++;
        return undefined;
      }
      let group = groups.get(netns);
      if (group === undefined) {
        group = { pids: [], wanted: new Set(), holders: [], fds: [], inodes: [] };
        groups.set(netns, group);
      }
      group.pids.push(pid);
      for (let i = 0; i < socketFds.length; i++) {
        group.wanted.add(socketInodes[i]!);
        group.holders.push(result);
        group.fds.push(socketFds[i]!);
        group.inodes.push(socketInodes[i]!);
      }
    }
    return result;
  }

  /** The cached OpenFile when the fd still links to the same target; else reads fdinfo. undefined = fd closed. */
  private fileOf(pid: number, fd: number, target: string, state: ProcState, pass: number, stats: FdPassStats, result: ProcessFds): OpenFile | undefined {
    const cached = state.files.get(fd);
    if (cached !== undefined && cached.target === target) {
      cached.pass = pass;
      return cached.file;
    }
    const path = `${this.root}/${pid}/fdinfo/${fd}`;
    let flags: number | undefined;
    try {
      stats.fdinfoReads++;
      flags = parseFdinfoFlags(this.readText(path, FDINFO_READ, 'latin1', true));
    } catch (error) {
      const outcome = classify(error);
      if (outcome === 'gone') {
        stats.vanishedFds++;
        return undefined;
      }
      if (outcome === 'other') fail(path, error);
      // Refused although the link was readable: list the file, mode unknown (shown as 'r'), ask again next pass.
      result.denied = true;
      return { fd, path: target, mode: 'r', append: false, deleted: target.endsWith(DELETED) };
    }
    const { mode, append } = modeOfFlags(flags ?? 0);
    const file: OpenFile = { fd, path: target, mode, append, deleted: target.endsWith(DELETED) };
    state.files.set(fd, { target, file, pass });
    return file;
  }

  /** readlink ns/net, once per process; `pid:N` when refused (the process's own tables are then read through it). */
  private netnsOf(pid: number, state: ProcState): string | undefined {
    if (state.netns !== undefined) return state.netns;
    const path = `${this.root}/${pid}/ns/net`;
    try {
      state.netns = fs.readlinkSync(path);
    } catch (error) {
      const outcome = classify(error);
      if (outcome === 'gone') return undefined;
      if (outcome === 'other') fail(path, error);
      return `pid:${pid}`; // not cached: the refusal may be temporary
    }
    return state.netns;
  }

  /** Reads the namespace's tables (through the first of its processes still alive) and joins its socket fds. */
  private joinSockets(group: NsGroup, stats: FdPassStats): void {
    stats.netns++;
    const byInode = new Map<number, SocketInfo>();
    let holder = 0;
    for (const table of TABLES) {
      if (byInode.size === group.wanted.size) break;
      const opts = { wanted: group.wanted };
      let text: string | undefined;
      while (holder < group.pids.length) {
        const pid = group.pids[holder]!;
        const path = `${this.root}/${pid}/net/${table}`;
        try {
          text = this.readText(path, TABLE_CAP, 'utf8');
          stats.tableReads++;
          break;
        } catch (error) {
          const outcome = classify(error);
          if (outcome === 'other') fail(path, error);
          // ENOENT with the process still there: this kernel has no such table (IPv6 disabled). Else try the next one.
          if (outcome === 'gone' && fs.existsSync(`${this.root}/${pid}/net/tcp`)) break;
          holder++;
        }
      }
      if (text === undefined) {
        if (holder >= group.pids.length) break;
        continue;
      }
      const rows = table === 'unix' ? parseUnixTable(text, opts) : parseInetTable(text, table, opts);
      for (const row of rows) byInode.set(row.inode, row);
    }
    for (let i = 0; i < group.holders.length; i++) {
      const result = group.holders[i]!;
      const info = byInode.get(group.inodes[i]!);
      if (info === undefined) result.otherSockets++;
      else result.sockets.push({ fd: group.fds[i]!, ...info });
    }
  }

  /**
   * Whole file (up to cap) into the shared buffer, decoded; `once` stops after one read (fdinfo: a single-record file the
   * kernel returns whole). Throws errno errors.
   */
  private readText(path: string, cap: number, encoding: 'utf8' | 'latin1', once = false): string {
    const fd = fs.openSync(path, fs.constants.O_RDONLY);
    try {
      let len = 0;
      for (;;) {
        if (len >= cap) break;
        if (len === this.buf.length) {
          const bigger = Buffer.allocUnsafe(Math.min(cap, this.buf.length * 2));
          this.buf.copy(bigger, 0, 0, len);
          this.buf = bigger;
        }
        const n = fs.readSync(fd, this.buf, len, Math.min(this.buf.length, cap) - len, null);
        if (n === 0) break;
        len += n;
        if (once) break;
      }
      return this.buf.toString(encoding, 0, len);
    } finally {
      fs.closeSync(fd);
    }
  }
}
