/**
 * Open files and sockets per process, from /proc/PID/fd (spec/cgroups.md §3; proc_pid_fd(5), proc_pid_fdinfo(5)).
 *
 * A pass costs one readdir of fd/ per process and one readlink per descriptor: that much is unavoidable, and it is all a
 * steady tick does for files. The rest is cached or shared:
 * - fdinfo (for the open mode) is read only for a regular-file fd not seen before with the same link target; the cache
 *   is per process key (pid + start time) and dropped when the process leaves.
 * - Socket tables are per network namespace, not per process: processes are grouped by `readlink ns/net` (cached per
 *   process key), and a namespace's tables (tcp, tcp6, udp, udp6, unix) are read at most once per pass, through one of
 *   its processes, only when one of them holds a socket, and only the tables needed: those where its sockets were last
 *   found, plus a search (cheap tables first) when a socket is new. This matters because the kernel walks its whole
 *   TCP hash for each read of tcp or tcp6 (~1 ms on a host with 256k buckets, even when the namespace has 1 socket).
 * So the cost grows with descriptors and with namespaces that hold sockets, not with processes times namespaces.
 *
 * A process that was not scheduled at all since the previous pass made no system call, so its descriptor table is the
 * one read last pass (readlink costs the kernel ~4 µs per fd, most of a full read): only what others can change is
 * checked, each regular file's path (an unlink or rename elsewhere), with one readlink per distinct open file (mount,
 * inode and path, from fdinfo) across all idle processes, and its sockets, joined to this pass's tables. The caller
 * says which processes were idle when it knows (`idle`: the Sampler reads schedstat of single-threaded processes for
 * procfs.ts anyway); for the others the collector reads `schedstat` itself, each thread's when there are several (see
 * schedOf). When nothing differs the previous pass's ProcessFds object is returned as is, so callers can keep what they
 * built from it.
 *
 * A process or fd that vanishes mid-read (ENOENT, ESRCH) is simply gone; EACCES/EPERM (not root, or a process this
 * user may not ptrace) marks the process `denied`. Paths are kept raw: a container names its files, so they are
 * escaped at output (format.ts safeText).
 */
import fs from 'node:fs';
import { classifyReadError, errnoCode, HeldFiles } from './held-file.js';
import { parseInetTable, parseUnixTable, type InetProtocol, type SocketInfo } from './netstat.js';
import { parseSchedstatBytes } from './procfs.js';

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
  /** Path-named descriptors (regular files, also directories, devices and `/memfd:x (deleted)`), by fd. */
  files: OpenFile[];
  /** tcp, tcp6, udp, udp6 and unix sockets, by fd. */
  sockets: OpenSocket[];
  pipes: number;
  /** anon_inode:[eventpoll], anon_inode:inotify, eventfd, timerfd, ... */
  anonInodes: number;
  /** Any other link: namespace fds (`net:[4026531840]`) and other `type:[inode]` forms. */
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
  /** Descriptors the pass answered for: read in full (readlink'd) or, for an idle process, reused. */
  fds: number;
  /** Of those, readlink'd in full reads (path checks of idle processes are counted in pathChecks). */
  readlinks: number;
  /** Descriptors listed by readdir but closed before readlink or fdinfo. */
  vanishedFds: number;
  /** fdinfo files read (new or changed regular-file fds). */
  fdinfoReads: number;
  /** Network namespaces whose sockets were joined this pass. */
  netns: number;
  /** Of those, joined from an earlier pass's read (socketTablesEvery > 1). */
  netnsReused: number;
  /** Table files read (at most 6 per namespace: tcp, tcp6, udp, udp6, unix, netlink). */
  tableReads: number;
  /** Idle processes whose last read was reused (no readdir, no readlink per descriptor). */
  reused: number;
  /** schedstat files read to tell idle processes (those the caller said nothing about). */
  schedReads: number;
  /** readlinks done to check the paths of idle processes' files (one per distinct open file). */
  pathChecks: number;
}

export interface FdCollectorOptions {
  /** The procfs root. @default '/proc' */
  readonly root?: string;
  /**
   * Read a namespace's socket tables at most every N passes while it has no new socket (a new inode is always looked
   * up at once). Reading tcp and tcp6 costs the kernel a walk of its whole TCP hash (~1 ms each on a big host) per
   * namespace, so N > 1 makes a host with many containers much cheaper, at the price of socket states up to N passes
   * old. @default 1 (every pass)
   */
  readonly socketTablesEvery?: number;
}

const O_ACCMODE = 0o3;
/** x86, arm, arm64, riscv, s390, powerpc; alpha, sparc and parisc use other values. */
const O_APPEND = 0o2000;
const DELETED = ' (deleted)';
/** fdinfo of a regular file is `pos:`, `flags:`, `mnt_id:`, `ino:` and maybe locks: the flags come early. */
const FDINFO_READ = 512;
/** The unix table of a big host is a few MiB; stop there rather than hold more. */
const TABLE_CAP = 64 * 1024 * 1024;
/** netlink is read only to know its sockets (every daemon has some) as such, not to list them. */
type TableName = InetProtocol | 'unix' | 'netlink';

type Outcome = 'gone' | 'denied' | 'other';

/** held-file's classification; /proc has no cgroup to be removed, so ENODEV is just an error here. */
function classify(error: unknown): Outcome {
  const failure = classifyReadError(error);
  return failure === 'removed' ? 'other' : failure;
}

function fail(path: string, error: unknown): never {
  throw new FdsError(`cannot read ${path}: ${errnoCode(error) ?? String(error)}`, { cause: error });
}

/** Offset just past `name` (e.g. `flags:`) at the start of a line of an fdinfo text; -1 when absent. */
function fdinfoValueAt(text: string, name: string): number {
  if (text.startsWith(name)) return name.length;
  const at = text.indexOf(`\n${name}`);
  return at < 0 ? -1 : at + 1 + name.length;
}

/** `flags:` of an fdinfo text, octal; undefined when absent. */
export function parseFdinfoFlags(text: string): number | undefined {
  let i = fdinfoValueAt(text, 'flags:');
  if (i < 0) return undefined;
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
  /** `mnt_id:ino` from fdinfo: fds with the same one and the same target share a dentry, so one readlink checks all. */
  readonly ident: string | undefined;
  /** ident and target: the key under which a pass shares that readlink. */
  readonly shared: string | undefined;
  pass: number;
}

function cachedFile(target: string, file: OpenFile, ident: string | undefined, pass: number): CachedFile {
  return { target, file, ident, shared: ident === undefined ? undefined : `${ident}\u0000${target}`, pass };
}

/** A process's last full read, kept so an idle process can be re-emitted without reading its fd/ again. */
interface LastRead {
  result: ProcessFds;
  files: CachedFile[];
  readonly socketFds: readonly number[];
  readonly socketInodes: readonly number[];
  /** result.otherSockets before the join (socket links without an inode). */
  readonly otherSockets: number;
}

/** What is remembered of a process between passes. */
interface ProcState {
  /** `net:[4026531840]`, read the first time the process holds a socket. */
  netns: string | undefined;
  readonly files: Map<number, CachedFile>;
  pass: number;
  last: LastRead | undefined;
  /** The result handed out last pass, while this pass decides whether to hand it out again. */
  previous: ProcessFds | undefined;
  /** schedstat run time and count read at schedPass, before that pass read the table (0: not read, or not usable). */
  schedRun: number;
  schedCount: number;
  schedPass: number;
  /** With several threads: each one's tid, run time and count at schedPass (undefined: single-threaded). */
  schedTasks: Float64Array | undefined;
  /** Index in schedTasks of the thread found to have run last: asked first next pass (busy threads stay busy). */
  schedMoved: number;
}

/** A table row found in a namespace, and which table it came from (where to look for it next pass). */
interface FoundRow {
  readonly table: TableName;
  /** undefined for a netlink socket: found, counted among otherSockets, not listed. */
  readonly info: SocketInfo | undefined;
}

/** What is remembered of a network namespace between passes. */
interface NsState {
  /** Wanted rows of the last read, by inode. */
  rows: Map<number, FoundRow>;
  /** Wanted inodes in none of the tables, and the pass they were last searched for. */
  absent: Map<number, number>;
  readPass: number;
  seenPass: number;
}

/** The least gap between two passes over which equal schedstat figures mean the process was not scheduled (a tick and more). */
const MIN_SCHED_GAP_MS = 20;
/** A process with more threads is read in full rather than asked thread by thread whether it ran. */
const MAX_THREADS_ASKED = 64;

/** The same threads with the same run times and counts: none of them was on a CPU in between. */
function sameTasks(a: Float64Array | undefined, b: Float64Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function descriptorCount(r: ProcessFds): number {
  return r.files.length + r.sockets.length + r.pipes + r.anonInodes + r.other + r.otherSockets;
}

/**
 * An inode found in no table is searched for again after this many passes (it may have been bound meanwhile), but only
 * when a process holding it ran: binding, connecting or listening takes a system call of a holder, and a search reads
 * tcp and tcp6 too (a walk of the kernel's whole TCP hash each; a daemon's closed or unbound socket sent every tenth
 * pass through both).
 */
const ABSENT_RECHECK_PASSES = 10;

function recentlyAbsent(ns: NsState, group: NsGroup, inode: number, pass: number): boolean {
  const searched = ns.absent.get(inode);
  return searched !== undefined && (pass - searched < ABSENT_RECHECK_PASSES || !group.ran.has(inode));
}

/** The processes of one network namespace that hold sockets this pass, and what they wait for. */
interface NsGroup {
  readonly pids: number[];
  readonly wanted: Set<number>;
  /** Parallel arrays: result, fd, inode of every socket fd to join, and its process's sockets of the last pass. */
  readonly holders: ProcessFds[];
  readonly fds: number[];
  readonly inodes: number[];
  readonly before: (readonly OpenSocket[] | undefined)[];
  /** Inodes held by a process read in full this pass (it ran, or the pass could not tell). */
  readonly ran: Set<number>;
}

function emptyFds(): ProcessFds {
  return { files: [], sockets: [], pipes: 0, anonInodes: 0, other: 0, otherSockets: 0 };
}

function byFd(a: { fd: number }, b: { fd: number }): number {
  return a.fd - b.fd;
}

function sameSocket(a: OpenSocket, b: OpenSocket): boolean {
  return a === b || (a.fd === b.fd && sameRow(a, b));
}

/** The same table row (inode, state, addresses): what joining a socket fd would copy. */
function sameRow(a: SocketInfo, b: SocketInfo): boolean {
  if (a.inode !== b.inode || a.state !== b.state) return false;
  if (a.protocol === 'unix' || b.protocol === 'unix') {
    return a.protocol === 'unix' && b.protocol === 'unix' && a.path === b.path && a.type === b.type;
  }
  return (
    a.protocol === b.protocol &&
    a.localAddress === b.localAddress &&
    a.localPort === b.localPort &&
    a.remoteAddress === b.remoteAddress &&
    a.remotePort === b.remotePort
  );
}

/** Same content; OpenFile objects are shared from the cache while their fd keeps its target, so identity will do. */
function sameFds(a: ProcessFds, b: ProcessFds): boolean {
  if (
    a.files.length !== b.files.length ||
    a.sockets.length !== b.sockets.length ||
    a.pipes !== b.pipes ||
    a.anonInodes !== b.anonInodes ||
    a.other !== b.other ||
    a.otherSockets !== b.otherSockets ||
    a.denied !== b.denied
  ) {
    return false;
  }
  for (let i = 0; i < a.files.length; i++) if (a.files[i] !== b.files[i]) return false;
  for (let i = 0; i < a.sockets.length; i++) if (!sameSocket(a.sockets[i]!, b.sockets[i]!)) return false;
  return true;
}

/** `mnt_id:ino` of an fdinfo text; undefined when either is missing (old kernels have no ino line). */
function fdinfoIdent(text: string): string | undefined {
  const mnt = fdinfoField(text, 'mnt_id:');
  const ino = fdinfoField(text, 'ino:');
  return mnt === undefined || ino === undefined ? undefined : `${mnt}:${ino}`;
}

function fdinfoField(text: string, name: string): string | undefined {
  const at = fdinfoValueAt(text, name);
  if (at < 0) return undefined;
  const end = text.indexOf('\n', at);
  const value = text.slice(at, end < 0 ? text.length : end).trim();
  return value === '' ? undefined : value;
}

/** Inodes of /proc/net/netlink rows (the last column) that are wanted. */
function netlinkInodes(text: string, wanted: ReadonlySet<number>): number[] {
  const out: number[] = [];
  let start = text.indexOf('\n') + 1; // header
  while (start > 0 && start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let i = end;
    while (i > start && text.charCodeAt(i - 1) === 0x20) i--;
    let j = i;
    while (j > start && text.charCodeAt(j - 1) !== 0x20) j--;
    const inode = Number(text.slice(j, i));
    if (Number.isInteger(inode) && inode > 0 && wanted.has(inode)) out.push(inode);
    start = end + 1;
  }
  return out;
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
  private readonly namespaces = new Map<string, NsState>();
  private readonly tablesEvery: number;
  private pass = 0;
  /** When the last pass began (monotonic ms). */
  private passAtMs: number | undefined;
  /** The buffer every file read goes into (nothing is held open: descriptors come and go with each pass). */
  private readonly files = new HeldFiles({ max: 0, bufferBytes: 256 * 1024 });
  /** schedOf's answer: run time, times scheduled in (the leader's); per thread when there are several. */
  private readonly sched = new Float64Array(2);
  private tasks: Float64Array | undefined;

  constructor(opts: FdCollectorOptions = {}) {
    this.root = opts.root ?? '/proc';
    this.tablesEvery = Math.max(1, Math.floor(opts.socketTablesEvery ?? 1));
  }

  private static zeroStats(processes: number): FdPassStats {
    return {
      processes,
      read: 0,
      gone: 0,
      denied: 0,
      fds: 0,
      vanishedFds: 0,
      fdinfoReads: 0,
      netns: 0,
      netnsReused: 0,
      tableReads: 0,
      reused: 0,
      pathChecks: 0,
      readlinks: 0,
      schedReads: 0,
    };
  }

  /** Processes remembered between passes (fd mode and netns caches). */
  get cachedProcesses(): number {
    return this.procs.size;
  }

  /** Forgets every cached process and namespace; the next pass rereads fdinfo, netns and tables. */
  clear(): void {
    this.procs.clear();
    this.namespaces.clear();
  }

  /**
   * One pass over the given processes (key = `pid:startTicks`, see model/sample.ts). Gone processes are left out of
   * the result; each network namespace's tables are read at most once. `idle`: the process was not scheduled since
   * the previous pass (see the file comment), or was; left out, the collector finds out itself from schedstat. A
   * process whose descriptors did not change gets last pass's object back.
   * `alive`: processes not read this pass but still running (a caller that skips idle processes): their caches are
   * kept. Without it, a process not asked for is taken to have left.
   */
  collect(
    processes: Iterable<{ readonly key: string; readonly pid: number; readonly idle?: boolean }>,
    alive?: { has(key: string): boolean },
  ): Map<string, ProcessFds> {
    const pass = ++this.pass;
    // schedstat's run time of a task that is on a CPU moves at the scheduler's tick (or when it is switched out), not
    // at each system call: equal figures tell "not scheduled" only over a gap longer than a tick (HZ >= 100: 10 ms).
    // Back-to-back passes of a process spinning on another core would otherwise reuse a stale table.
    const nowMs = performance.now();
    const schedTells = this.passAtMs !== undefined && nowMs - this.passAtMs >= MIN_SCHED_GAP_MS;
    this.passAtMs = nowMs;
    const stats = FdCollector.zeroStats(0);
    const out = new Map<string, ProcessFds>();
    const groups = new Map<string, NsGroup>();
    const paths = new Map<string, string>();

    const sched = this.sched;
    for (const p of processes) {
      stats.processes++;
      const state = this.procs.get(p.key);
      let idle = p.idle;
      // Read before the table (a process that opens a file after this read has moved by the next one).
      const schedOk = idle === undefined && this.schedOf(p.pid, state, stats);
      const tasks = schedOk ? this.tasks : undefined;
      if (idle === undefined) {
        idle =
          schedOk &&
          schedTells &&
          state !== undefined &&
          state.schedPass === pass - 1 &&
          (tasks === undefined
            ? state.schedTasks === undefined && state.schedRun === sched[0] && state.schedCount === sched[1]
            : sameTasks(state.schedTasks, tasks));
      }
      const run = sched[0]!;
      const count = sched[1]!;
      const reusable = idle && state !== undefined && state.last !== undefined && state.pass === pass - 1;
      const result = reusable
        ? (this.reuse(p.pid, state, pass, stats, groups, paths) ?? this.readProcess(p.key, p.pid, pass, stats, groups))
        : this.readProcess(p.key, p.pid, pass, stats, groups);
      if (result === undefined) continue;
      out.set(p.key, result);
      const now = state ?? this.procs.get(p.key);
      if (now !== undefined) {
        now.schedPass = schedOk ? pass : 0;
        now.schedRun = run;
        now.schedCount = count;
        now.schedTasks = tasks;
      }
    }

    for (const [netns, group] of groups) this.joinSockets(netns, group, pass, stats);

    for (const [key, result] of out) {
      stats.fds += descriptorCount(result);
      if (!sortedByFd(result.files)) result.files.sort(byFd);
      if (!sortedByFd(result.sockets)) result.sockets.sort(byFd);
      // What did not change is handed back as the object of the last pass.
      const state = this.procs.get(key);
      if (state === undefined) continue;
      const previous = state.previous;
      state.previous = undefined;
      if (previous !== undefined && state.last?.result === result && sameFds(result, previous)) {
        out.set(key, previous);
        state.last.result = previous;
      }
    }
    // Processes not asked for this pass have left: drop their caches.
    for (const [key, state] of this.procs) if (state.pass !== pass && alive?.has(key) !== true) this.procs.delete(key);
    for (const [netns, ns] of this.namespaces) if (ns.seenPass !== pass) this.namespaces.delete(netns);
    this.lastPass = stats;
    return out;
  }

  /**
   * An idle process's last read, re-emitted: paths checked (one readlink per distinct open file this pass, shared
   * through `paths`), sockets filed for joining. undefined when a check fails (the process is exiting, or an fd was
   * closed after all): the caller then reads the process in full.
   */
  private reuse(
    pid: number,
    state: ProcState,
    pass: number,
    stats: FdPassStats,
    groups: Map<string, NsGroup>,
    paths: Map<string, string>,
  ): ProcessFds | undefined {
    const last = state.last!;
    let files = last.result.files;
    let cached = last.files;
    for (let i = 0; i < cached.length; i++) {
      const c = cached[i]!;
      let now = c.shared === undefined ? undefined : paths.get(c.shared);
      if (now === undefined) {
        const link = `${this.root}/${pid}/fd/${c.file.fd}`;
        try {
          now = fs.readlinkSync(link);
        } catch (error) {
          if (classify(error) === 'other') fail(link, error);
          return undefined;
        }
        stats.pathChecks++;
        if (c.shared !== undefined) paths.set(c.shared, now);
      }
      if (now === c.target) continue;
      // Unlinked or renamed by someone else: same open file, same mode, new path.
      if (files === last.result.files) {
        files = files.slice();
        cached = cached.slice();
      }
      const file: OpenFile = { ...c.file, path: now, deleted: now.endsWith(DELETED) };
      const moved = cachedFile(now, file, c.ident, pass);
      files[files.indexOf(c.file)] = file;
      cached[i] = moved;
      state.files.set(c.file.fd, moved);
    }
    stats.reused++;
    state.pass = pass;
    if (files === last.result.files && last.socketFds.length === 0) {
      // Nothing another process could change: hand out the same object (no allocation for most of a host).
      state.previous = undefined;
      return last.result;
    }
    const result: ProcessFds = {
      files,
      sockets: [],
      pipes: last.result.pipes,
      anonInodes: last.result.anonInodes,
      other: last.result.other,
      otherSockets: last.otherSockets,
    };
    state.previous = last.result;
    last.result = result;
    last.files = cached;
    if (last.socketFds.length > 0 && state.netns !== undefined) {
      this.fileSockets(state.netns, pid, result, last.socketFds, last.socketInodes, state.previous?.sockets, false, groups);
    }
    return result;
  }

  /** Files a process's socket fds under its namespace's group, to be joined once the pass has read every process. */
  private fileSockets(
    netns: string,
    pid: number,
    result: ProcessFds,
    fds: readonly number[],
    inodes: readonly number[],
    before: readonly OpenSocket[] | undefined,
    ran: boolean,
    groups: Map<string, NsGroup>,
  ): void {
    let group = groups.get(netns);
    if (group === undefined) {
      group = { pids: [], wanted: new Set(), holders: [], fds: [], inodes: [], before: [], ran: new Set() };
      groups.set(netns, group);
    }
    group.pids.push(pid);
    for (let i = 0; i < fds.length; i++) {
      group.wanted.add(inodes[i]!);
      group.holders.push(result);
      group.fds.push(fds[i]!);
      group.inodes.push(inodes[i]!);
      group.before.push(before);
      if (ran) group.ran.add(inodes[i]!);
    }
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
      state = {
        netns: undefined,
        files: new Map(),
        pass,
        last: undefined,
        previous: undefined,
        schedRun: 0,
        schedCount: 0,
        schedPass: 0,
        schedTasks: undefined,
        schedMoved: 0,
      };
      this.procs.set(key, state);
    }
    state.previous = state.pass === pass - 1 ? state.last?.result : undefined;
    state.last = undefined;
    state.pass = pass;

    const result = emptyFds();
    const base = `${dir}/`;
    let socketFds: number[] | undefined;
    let socketInodes: number[] | undefined;
    const cachedFiles: CachedFile[] = [];
    let filesSeen = 0;
    const readlinksBefore = stats.readlinks;
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
          // readdir passed (the directory's mode lets root in) but the ptrace check on the links refused: a target
          // holding capabilities this process lacks, or one whose credentials changed. Counted once.
          if (result.denied !== true) stats.denied++;
          result.denied = true;
          break;
        }
        fail(base + name, error);
      }
      stats.readlinks++;
      const fd = Number(name);
      const c0 = target.charCodeAt(0);
      if (c0 === 0x2f) {
        const cached = this.fileOf(pid, fd, target, state, pass, stats, result);
        if (cached !== undefined) {
          result.files.push(cached.file);
          cachedFiles.push(cached);
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
    if (names.length > 0 && stats.readlinks === readlinksBefore && result.denied !== true) {
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
      this.fileSockets(netns, pid, result, socketFds, socketInodes, state.previous?.sockets, true, groups);
    }
    // A refused read is not kept for reuse: it is asked again next pass.
    if (result.denied !== true) {
      state.last = {
        result,
        files: cachedFiles,
        socketFds: socketFds ?? [],
        socketInodes: socketInodes ?? [],
        otherSockets: result.otherSockets,
      };
    }
    return result;
  }

  /** The cached file when the fd still links to the same target; else reads fdinfo. undefined = fd closed. */
  private fileOf(pid: number, fd: number, target: string, state: ProcState, pass: number, stats: FdPassStats, result: ProcessFds): CachedFile | undefined {
    const cached = state.files.get(fd);
    if (cached !== undefined && cached.target === target) {
      cached.pass = pass;
      return cached;
    }
    const path = `${this.root}/${pid}/fdinfo/${fd}`;
    let flags: number | undefined;
    let ident: string | undefined;
    try {
      stats.fdinfoReads++;
      const text = this.readText(path, FDINFO_READ, 'latin1', true);
      flags = parseFdinfoFlags(text);
      ident = fdinfoIdent(text);
    } catch (error) {
      const outcome = classify(error);
      if (outcome === 'gone') {
        stats.vanishedFds++;
        return undefined;
      }
      if (outcome === 'other') fail(path, error);
      // Refused although the link was readable: list the file, mode unknown (shown as 'r'), ask again next pass.
      result.denied = true;
      return cachedFile(target, { fd, path: target, mode: 'r', append: false, deleted: target.endsWith(DELETED) }, undefined, pass);
    }
    const { mode, append } = modeOfFlags(flags ?? 0);
    const file: OpenFile = { fd, path: target, mode, append, deleted: target.endsWith(DELETED) };
    const entry = cachedFile(target, file, ident, pass);
    state.files.set(fd, entry);
    return entry;
  }

  /**
   * schedstat of the process into this.sched (procfs.ts parseSchedstatBytes; run time and count move whenever a thread
   * is put on a CPU, so equal figures one pass apart mean no system call in between), and with several threads each
   * one's into this.tasks (the process's own file speaks for its leader only; `task`'s link count is 2 + threads, read
   * after schedstat so a thread cloned before it is seen). false when it cannot tell: gone, refused, no schedstat on
   * this kernel, too many threads to be worth asking, or no earlier read to weigh that against.
   */
  private schedOf(pid: number, state: ProcState | undefined, stats: FdPassStats): boolean {
    this.tasks = undefined;
    const dir = `${this.root}/${pid}/`;
    try {
      const len = this.files.readPath(`${dir}schedstat`, 'once', 256);
      stats.schedReads++;
      if (!parseSchedstatBytes(this.files.buf, len, this.sched)) return false;
      const threads = fs.statSync(`${dir}task`).nlink - 2;
      if (threads === 1) return true;
      // Threads share the table: it is the same only when none of them ran. Asked only while asking every thread (an
      // open, read and close each) costs less than a full read would (a readdir, and a readlink per descriptor).
      const last = state?.last?.result;
      if (last === undefined || threads > MAX_THREADS_ASKED || threads >= descriptorCount(last)) return false;
      return this.tasksOf(dir, state!, stats);
    } catch {
      return false; // the full read that follows says why (gone, refused)
    }
  }

  /**
   * Each thread's tid, run time and count into this.tasks, in `task/`'s order (by tid). With the same threads as the
   * last check, the first thread found to have moved ends the reads (the process ran; the one that moved last time is
   * asked first), and the threads not read keep their earlier figures: compared next pass, a thread that ran since
   * then differs from those as it would from fresh ones, so the answer stays exact. false on junk.
   */
  private tasksOf(dir: string, state: ProcState, stats: FdPassStats): boolean {
    const tids = fs.readdirSync(`${dir}task`);
    const n = tids.length;
    const tasks = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) tasks[i * 3] = Number(tids[i]);
    const before = state.schedTasks;
    let same = before !== undefined && before.length === tasks.length;
    for (let i = 0; same && i < n; i++) if (before![i * 3] !== tasks[i * 3]) same = false;
    const one = this.sched;
    const leaderRun = one[0]!;
    const leaderCount = one[1]!;
    const from = same && state.schedMoved < n ? state.schedMoved : 0;
    let moved = -1;
    for (let k = 0; k < n; k++) {
      const i = (from + k) % n;
      if (moved >= 0) {
        tasks[i * 3 + 1] = before![i * 3 + 1]!;
        tasks[i * 3 + 2] = before![i * 3 + 2]!;
        continue;
      }
      const len = this.files.readPath(`${dir}task/${tids[i]}/schedstat`, 'once', 256);
      stats.schedReads++;
      if (!parseSchedstatBytes(this.files.buf, len, one)) return false;
      tasks[i * 3 + 1] = one[0]!;
      tasks[i * 3 + 2] = one[1]!;
      if (same && (one[0] !== before![i * 3 + 1] || one[1] !== before![i * 3 + 2])) moved = i;
    }
    if (moved >= 0) state.schedMoved = moved;
    one[0] = leaderRun;
    one[1] = leaderCount;
    this.tasks = tasks;
    return true;
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

  /**
   * Joins the group's socket fds to its namespace's tables. Which tables are read depends on what the last read found:
   * every table that held one of the wanted inodes, and when some inode is new, the others too (cheap ones first) until
   * every inode is found. An inode in no table (netlink, packet, an unbound TCP socket) is searched for again only every
   * ABSENT_RECHECK_PASSES passes, so such sockets, which most daemons hold, do not force a full read each pass.
   * With `socketTablesEvery` > 1, a namespace with no new inode whose last read is less than that many passes old is
   * joined from that read without reading anything.
   */
  private joinSockets(netns: string, group: NsGroup, pass: number, stats: FdPassStats): void {
    stats.netns++;
    let ns = this.namespaces.get(netns);
    if (ns === undefined) {
      ns = { rows: new Map(), absent: new Map(), readPass: 0, seenPass: pass };
      this.namespaces.set(netns, ns);
    }
    ns.seenPass = pass;
    let unknown = 0;
    for (const inode of group.wanted) if (!ns.rows.has(inode) && !recentlyAbsent(ns, group, inode, pass)) unknown++;
    if (unknown > 0 || pass - ns.readPass >= this.tablesEvery) {
      this.readTables(group, ns, pass, stats);
    } else {
      stats.netnsReused++;
    }
    const rows = ns.rows;
    for (let i = 0; i < group.holders.length; i++) {
      const result = group.holders[i]!;
      const row = rows.get(group.inodes[i]!);
      if (row?.info === undefined) {
        result.otherSockets++;
        continue;
      }
      // Last pass's object when nothing moved (most sockets, most passes): no allocation, and sameFds finds it at once.
      const fd = group.fds[i]!;
      const was = group.before[i]?.[result.sockets.length];
      result.sockets.push(was !== undefined && was.fd === fd && sameRow(was, row.info) ? was : { fd, ...row.info });
    }
  }

  /** Reads what joinSockets needs (see there) through the first of the group's processes still alive; updates ns. */
  private readTables(group: NsGroup, ns: NsState, pass: number, stats: FdPassStats): void {
    const wanted = group.wanted;
    const previous = ns.rows;
    // Known inodes per table (from the last read), and how many inodes no table is known for.
    const expected = new Map<TableName, number>();
    let unknown = 0;
    let absent = 0;
    for (const inode of wanted) {
      const table = previous.get(inode)?.table;
      if (table !== undefined) expected.set(table, (expected.get(table) ?? 0) + 1);
      else if (recentlyAbsent(ns, group, inode, pass)) absent++;
      else unknown++;
    }
    // The kernel walks its whole TCP hash for tcp and for tcp6 (about 1 ms each on a big host, empty or not): when
    // searching, the cheap tables go first, then whichever TCP table held more of this namespace's sockets last time.
    // netlink before them: the netlink sockets every daemon holds would otherwise send each search through both.
    const order: TableName[] = ['unix', 'udp', 'udp6', 'netlink', 'tcp', 'tcp6'];
    if ((expected.get('tcp6') ?? 0) > (expected.get('tcp') ?? 0)) order.splice(4, 2, 'tcp6', 'tcp');

    const found = new Map<number, FoundRow>();
    const opts = { wanted };
    let holder = 0;
    for (const table of order) {
      if (found.size + absent >= wanted.size) break;
      const known = expected.get(table) ?? 0;
      if (known === 0 && unknown <= 0) continue;
      const read = this.readTable(group.pids, holder, table, stats);
      if (read === undefined) {
        unknown += known; // not read: look for its inodes in the tables that remain
        continue;
      }
      holder = read.holder;
      let foundKnown = 0;
      const parsed =
        table === 'netlink'
          ? netlinkInodes(read.text, wanted).map((inode) => ({ inode, info: undefined }))
          : (table === 'unix' ? parseUnixTable(read.text, opts) : parseInetTable(read.text, table, opts)).map((info) => ({ inode: info.inode, info }));
      for (const { inode, info } of parsed) {
        if (found.has(inode)) continue;
        found.set(inode, { table, info });
        const before = previous.get(inode)?.table;
        if (before === table) foundKnown++;
        else if (before === undefined && recentlyAbsent(ns, group, inode, pass)) absent--;
        else if (before === undefined) unknown--;
      }
      // Known here last time but not now (closed: a TCP socket leaves the table at CLOSE, fd open or not): keep looking.
      unknown += known - foundKnown;
    }
    const absentNow = new Map<number, number>();
    for (const inode of wanted) {
      if (found.has(inode)) continue;
      absentNow.set(inode, recentlyAbsent(ns, group, inode, pass) ? ns.absent.get(inode)! : pass);
    }
    ns.rows = found;
    ns.absent = absentNow;
    ns.readPass = pass;
  }

  /**
   * One table of the namespace, through pids[from] or the next process still alive; undefined when no process is
   * left, or when this kernel has no such table (tcp6 and udp6 without IPv6).
   */
  private readTable(pids: readonly number[], from: number, table: TableName, stats: FdPassStats): { text: string; holder: number } | undefined {
    for (let holder = from; holder < pids.length; holder++) {
      const pid = pids[holder]!;
      const path = `${this.root}/${pid}/net/${table}`;
      try {
        const text = this.readText(path, TABLE_CAP, 'utf8');
        stats.tableReads++;
        return { text, holder };
      } catch (error) {
        const outcome = classify(error);
        if (outcome === 'other') fail(path, error);
        // ENOENT while the process is still there: the table does not exist here. Otherwise try the next process.
        if (outcome === 'gone' && fs.existsSync(`${this.root}/${pid}/net`)) return undefined;
      }
    }
    return undefined;
  }

  /**
   * Whole file (up to cap) into the shared buffer, decoded; `once` stops after one read (fdinfo: a single-record file the
   * kernel returns whole). Throws errno errors.
   */
  private readText(path: string, cap: number, encoding: 'utf8' | 'latin1', once = false): string {
    const len = this.files.readPath(path, once ? 'once' : 'eof', cap);
    return this.files.buf.toString(encoding, 0, len);
  }
}
