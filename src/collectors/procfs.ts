/**
 * Per-process counters from procfs, built for speed: a steady tick costs one readdir of /proc plus one pread of
 * `stat` and one of `io` per process, through fds held open across ticks (held-file.ts), into one shared Buffer parsed
 * byte by byte. What does not change while a process lives (cmdline, exe, cgroup, uid, NSpid, a few environment
 * variables) is read once per process, keyed by pid + start time, read again when it execs, and dropped when it leaves.
 *
 * A process that vanishes mid-read is simply gone: ENOENT (gone before open) and ESRCH (gone after open) are never
 * errors. Field layouts: proc_pid_stat(5), proc_pid_io(5), proc_pid_status(5); see spec/cgroups.md §3-4.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { HostSample, ProcessSample } from '../model/sample.js';
import { classifyReadError, errnoCode, FD_DENIED, FD_GONE, HeldFiles } from './held-file.js';
import type { UserNames } from './users.js';

export { FD_DENIED, FD_GONE } from './held-file.js';

/** A read failed for a reason other than the process exiting or a permission check. */
export class ProcfsError extends Error {
  override name = 'ProcfsError';
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  flags: number;
  utimeTicks: number;
  stimeTicks: number;
  /**
   * CPU time of the children it waited for (fields 16-17), and their minor faults (field 10): they grow when it
   * reaps a child, which also adds the child's /proc/PID/io to its own.
   */
  cutimeTicks: number;
  cstimeTicks: number;
  cminflt: number;
  numThreads: number;
  startTicks: number;
  vsizeBytes: number;
  rssPages: number;
  /**
   * Where the memory map puts the code and the stack (fields 26-28; 0 when the kernel hides them: no ptrace access,
   * kernel threads, a released map). exec builds a new map: with ASLR (randomize_va_space 1 or 2, the default) the
   * stack moves on every exec, and another binary moves the code, so a change tells an exec that kept comm (`sh -c`
   * exec'ing `sh -c`). Only PR_SET_MM moves them otherwise. arg_start/arg_end (48-49) would catch a same-binary exec
   * without ASLR too, but scanning 20 more fields costs ~7 % more per stat read: not worth it for hosts without ASLR.
   */
  startCode: number;
  endCode: number;
  startStack: number;
}

export interface ProcIo {
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
}

export interface ProcStatus {
  /** Effective uid (the second `Uid:` field), the one ps and top show as USER. */
  uid: number;
  /** NSpid: host pid first, innermost (in-container) pid last. */
  nspid: number[];
  /** `Kthread:` line, present on recent kernels only. */
  kthread?: boolean;
}

export interface ProcStatic {
  /** Arguments joined by spaces; empty for kernel threads and zombies. */
  cmdline: string;
  /** readlink of exe; '' when denied or absent (kernel threads, zombies). */
  exe: string;
  /** Text of /proc/PID/cgroup. */
  cgroupText: string;
  uid: number;
  /** Last NSpid field: the pid inside the innermost pid namespace. */
  nspid?: number;
  /** The asked environment variables that are set; {} when environ is unreadable. */
  env: Record<string, string>;
  /** exe or environ was refused (EACCES/EPERM): not root and not the same user. */
  denied?: boolean;
}

export interface HostCounters {
  cpuTotalTicks: number;
  cpuIdleTicks: number;
  ncpu: number;
  bootTimeSec: number;
}

const PF_KTHREAD = 0x00200000;
/** stat and io are far below this; one pread fills it. */
const SMALL_READ = 4096;
/** Enough for any real command line shown in a terminal; longer ones are cut here. */
const CMDLINE_CAP = 64 * 1024;
/** Slurm's variables sit among a few KiB of environment; variables past this are not seen. */
const ENVIRON_CAP = 256 * 1024;
/** /proc/stat's `intr` line grows with the number of interrupts on big hosts. */
const HOST_CAP = 4 * 1024 * 1024;

type Outcome = 'gone' | 'denied' | 'other';

/** held-file's classification; procfs has no cgroup to be removed, so ENODEV is just an error here. */
function classifyError(error: unknown): Outcome {
  const failure = classifyReadError(error);
  return failure === 'removed' ? 'other' : failure;
}

function fail(path: string, error: unknown): never {
  throw new ProcfsError(`cannot read ${path}: ${errnoCode(error) ?? String(error)}`, { cause: error });
}

// ---------------------------------------------------------------------------------------------------------------
// Parsers. The hot ones (stat, io) scan bytes; the string forms encode and reuse them so there is one code path.

/** A mutable ProcStat reused across reads, so a steady tick allocates no intermediate objects. */
function emptyStat(): ProcStat {
  return {
    pid: 0,
    comm: '',
    state: '',
    ppid: 0,
    flags: 0,
    utimeTicks: 0,
    stimeTicks: 0,
    cutimeTicks: 0,
    cstimeTicks: 0,
    cminflt: 0,
    numThreads: 0,
    startTicks: 0,
    vsizeBytes: 0,
    rssPages: 0,
    startCode: 0,
    endCode: 0,
    startStack: 0,
  };
}

/**
 * The memory-map fields of two stat reads differ: the process exec'd in between (see ProcStat.startCode). A map that
 * reads as all zeros now says nothing: an exiting process or zombie has released its map (its command stays as it was).
 */
export function execedBetween(a: Pick<ProcStat, 'startCode' | 'endCode' | 'startStack'>, b: ProcStat): boolean {
  if (b.startStack === 0 && b.startCode === 0) return false;
  return a.startStack !== b.startStack || a.startCode !== b.startCode || a.endCode !== b.endCode;
}

/** Fills `out` from stat bytes; false on junk or a truncated line (fewer than 24 fields; 25-28 are optional). */
function parseStatBytes(b: Buffer, len: number, out: ProcStat): boolean {
  let i = 0;
  let pid = 0;
  while (i < len) {
    const c = b[i]! - 0x30;
    if (c < 0 || c > 9) break;
    pid = pid * 10 + c;
    i++;
  }
  if (i === 0 || i + 1 >= len || b[i] !== 0x20 || b[i + 1] !== 0x28) return false;
  const commStart = i + 2;
  // comm may hold spaces and parentheses: it ends at the last ')'.
  let close = len - 1;
  while (close >= commStart && b[close] !== 0x29) close--;
  if (close < commStart || close + 3 >= len || b[close + 1] !== 0x20) return false;
  const stateCode = b[close + 2]!;
  if (stateCode <= 0x20 || b[close + 3] !== 0x20) return false;
  i = close + 4;
  out.startCode = 0;
  out.endCode = 0;
  out.startStack = 0;
  // Fields 4..28, one token each; only the ones kept are converted.
  for (let field = 4; field <= 28; field++) {
    while (i < len && b[i] === 0x20) i++;
    if (i >= len || b[i] === 0x0a) {
      if (field <= 24) return false;
      break;
    }
    let negative = false;
    if (b[i] === 0x2d) {
      negative = true;
      i++;
    }
    const start = i;
    let value = 0;
    while (i < len) {
      const c = b[i]! - 0x30;
      if (c < 0 || c > 9) break;
      value = value * 10 + c;
      i++;
    }
    if (i === start || (i < len && b[i] !== 0x20 && b[i] !== 0x0a)) return false;
    if (negative) value = -value;
    switch (field) {
      case 4:
        out.ppid = value;
        break;
      case 9:
        out.flags = value;
        break;
      case 11:
        out.cminflt = value;
        break;
      case 14:
        out.utimeTicks = value;
        break;
      case 15:
        out.stimeTicks = value;
        break;
      case 16:
        out.cutimeTicks = value;
        break;
      case 17:
        out.cstimeTicks = value;
        break;
      case 20:
        out.numThreads = value;
        break;
      case 22:
        out.startTicks = value;
        break;
      case 23:
        out.vsizeBytes = value;
        break;
      case 24:
        out.rssPages = value;
        break;
      case 26:
        out.startCode = value;
        break;
      case 27:
        out.endCode = value;
        break;
      case 28:
        out.startStack = value;
        break;
      default:
        break;
    }
  }
  out.pid = pid;
  out.comm = b.toString('utf8', commStart, close);
  out.state = String.fromCharCode(stateCode);
  return true;
}

/** Parses /proc/PID/stat text; undefined on junk or a truncated line. */
export function parseStat(text: string): ProcStat | undefined {
  const b = Buffer.from(text, 'utf8');
  const out = emptyStat();
  return parseStatBytes(b, b.length, out) ? out : undefined;
}

/** Fills `out` from io bytes (`key: value` lines, any order); false when one of the four kept keys is missing. */
/**
 * `schedstat` (sched_info: time on CPU in ns, time waiting on a runqueue in ns, times scheduled in) into out[0] (run
 * time) and out[1] (times scheduled in). The run time may exceed 2^53 ns after 104 days of CPU; it is only compared
 * for equality, together with the exact count, so the rounding does not matter. False on junk.
 */
export function parseSchedstatBytes(b: Buffer, len: number, out: Float64Array): boolean {
  let field = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= len; i++) {
    const c = i < len ? b[i]! : 0x20;
    if (c >= 0x30 && c <= 0x39) {
      value = value * 10 + (c - 0x30);
      digits++;
      continue;
    }
    if (digits === 0) continue;
    if (field === 0) out[0] = value;
    else if (field === 2) {
      out[1] = value;
      return true;
    }
    field++;
    value = 0;
    digits = 0;
  }
  return false;
}

function parseIoBytes(b: Buffer, len: number, out: ProcIo): boolean {
  let found = 0;
  let i = 0;
  while (i < len) {
    const keyStart = i;
    while (i < len && b[i] !== 0x3a && b[i] !== 0x0a) i++;
    if (i < len && b[i] === 0x3a) {
      const keyLen = i - keyStart;
      const first = b[keyStart];
      i++;
      while (i < len && b[i] === 0x20) i++;
      const start = i;
      let value = 0;
      while (i < len) {
        const c = b[i]! - 0x30;
        if (c < 0 || c > 9) break;
        value = value * 10 + c;
        i++;
      }
      // Key length + first letter tell the kept keys apart: rchar wchar read_bytes write_bytes.
      if (i > start) {
        if (keyLen === 5 && first === 0x72) {
          out.rchar = value;
          found |= 1;
        } else if (keyLen === 5 && first === 0x77) {
          out.wchar = value;
          found |= 2;
        } else if (keyLen === 10 && first === 0x72) {
          out.readBytes = value;
          found |= 4;
        } else if (keyLen === 11 && first === 0x77) {
          out.writeBytes = value;
          found |= 8;
        }
      }
    }
    while (i < len && b[i] !== 0x0a) i++;
    i++;
  }
  return found === 15;
}

/** Parses /proc/PID/io text; undefined when rchar, wchar, read_bytes or write_bytes is missing. */
export function parseIo(text: string): ProcIo | undefined {
  const b = Buffer.from(text, 'latin1');
  const out: ProcIo = { rchar: 0, wchar: 0, readBytes: 0, writeBytes: 0 };
  return parseIoBytes(b, b.length, out) ? out : undefined;
}

/** Parses /proc/PID/status for Uid, NSpid and Kthread; undefined when there is no Uid line. */
export function parseStatus(text: string): ProcStatus | undefined {
  let uid: number | undefined;
  let nspid: number[] = [];
  let kthread: boolean | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('Uid:')) {
      // real, effective, saved, fs
      const ids = line.slice(4).trim().split(/\s+/);
      const effective = Number(ids[1] ?? ids[0]);
      if (ids[0] !== '' && Number.isInteger(effective)) uid = effective;
    } else if (line.startsWith('NSpid:')) {
      const ids = line.slice(6).trim().split(/\s+/).map(Number);
      if (ids.every((n) => Number.isInteger(n) && n > 0)) nspid = ids;
    } else if (line.startsWith('Kthread:')) {
      kthread = line.slice(8).trim() === '1';
    }
  }
  if (uid === undefined) return undefined;
  return kthread === undefined ? { uid, nspid } : { uid, nspid, kthread };
}

/**
 * Parses /proc/stat: the aggregate `cpu` line, the number of `cpuN` lines (online CPUs) and `btime`.
 * Total = user+nice+system+idle+iowait+irq+softirq+steal; guest and guest_nice are left out because the kernel
 * already counts them in user and nice. Idle = idle + iowait.
 */
export function parseHostStat(text: string): HostCounters {
  let cpuTotalTicks = 0;
  let cpuIdleTicks = 0;
  let ncpu = 0;
  let bootTimeSec = 0;
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    if (text.startsWith('cpu', pos)) {
      if (text.charCodeAt(pos + 3) === 0x20) {
        const fields = text
          .slice(pos + 3, end)
          .trim()
          .split(/\s+/)
          .map(Number);
        for (let f = 0; f < 8 && f < fields.length; f++) cpuTotalTicks += fields[f] || 0;
        cpuIdleTicks = (fields[3] || 0) + (fields[4] || 0);
      } else {
        ncpu++;
      }
    } else if (text.startsWith('btime ', pos)) {
      bootTimeSec = Number(text.slice(pos + 6, end).trim()) || 0;
    }
    pos = end + 1;
  }
  return { cpuTotalTicks, cpuIdleTicks, ncpu, bootTimeSec };
}

/** Parses /proc/meminfo; MemAvailable falls back to MemFree+Buffers+Cached on kernels older than 3.14. */
export function parseMeminfo(text: string): { memTotalBytes: number; memAvailableBytes: number } {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) kb.set(line.slice(0, colon), Number.parseInt(line.slice(colon + 1).trim(), 10) || 0);
  }
  const available = kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
  return { memTotalBytes: (kb.get('MemTotal') ?? 0) * 1024, memAvailableBytes: available * 1024 };
}

/** Sums rx and tx bytes of /proc/PID/net/dev over every interface except loopback. */
export function parseNetDev(text: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of text.split('\n')) {
    // Long names run into the counters (`docker0:  0`), so split at the colon, not at whitespace.
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo' || name === '' || name.includes('|')) continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (fields.length < 9) continue;
    rxBytes += Number(fields[0]) || 0;
    txBytes += Number(fields[8]) || 0;
  }
  return { rxBytes, txBytes };
}

/** Picks `keys` out of NUL-separated `KEY=value` text; the first occurrence wins, like getenv. */
export function parseEnviron(buf: string, keys: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of keys) {
    const needle = `${key}=`;
    let at = buf.startsWith(needle) ? 0 : buf.indexOf(`\0${needle}`);
    if (at < 0) continue;
    if (at > 0 || buf.charCodeAt(0) === 0) at += 1;
    const valueStart = at + needle.length;
    let valueEnd = buf.indexOf('\0', valueStart);
    if (valueEnd < 0) valueEnd = buf.length;
    env[key] = buf.slice(valueStart, valueEnd);
  }
  return env;
}

// ---------------------------------------------------------------------------------------------------------------
// Reader

let sysconfCache: { clkTck: number; pageSize: number } | undefined;

/** CLK_TCK and PAGESIZE from getconf, once per process; 100 and 4096 (x86-64, arm64 defaults) when it fails. */
function sysconf(): { clkTck: number; pageSize: number } {
  if (sysconfCache !== undefined) return sysconfCache;
  const ask = (name: string, fallback: number): number => {
    try {
      const value = Number(execFileSync('getconf', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return Number.isInteger(value) && value > 0 ? value : fallback;
    } catch {
      return fallback;
    }
  };
  sysconfCache = { clkTck: ask('CLK_TCK', 100), pageSize: ask('PAGESIZE', 4096) };
  return sysconfCache;
}

export class ProcReader {
  readonly root: string;
  readonly clkTck: number;
  readonly pageSize: number;
  /** The fds held across ticks (at most maxHeldFds) and the one buffer every read goes into. */
  readonly files: HeldFiles;

  /** maxHeldFds: most fds held open across ticks (stat, io, schedstat per process); beyond it files are opened per read. */
  constructor(opts: { root?: string; clkTck?: number; pageSize?: number; maxHeldFds?: number } = {}) {
    this.root = opts.root ?? '/proc';
    this.files = new HeldFiles({ max: opts.maxHeldFds ?? 3072 });
    const needSysconf = opts.clkTck === undefined || opts.pageSize === undefined;
    const system = needSysconf ? sysconf() : undefined;
    this.clkTck = opts.clkTck ?? system?.clkTck ?? 100;
    this.pageSize = opts.pageSize ?? system?.pageSize ?? 4096;
  }

  /** Numeric entries of the root (thread group ids; threads live under task/). */
  listPids(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (error) {
      fail(this.root, error);
    }
    const pids: number[] = [];
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c < 0x30 || c > 0x39) continue;
      const pid = Number(name);
      if (Number.isInteger(pid)) pids.push(pid);
    }
    return pids;
  }

  pidPath(pid: number, file: string): string {
    return `${this.root}/${pid}/${file}`;
  }

  /**
   * Opens a per-process file to hold across ticks (counted in files.held; ask files.room() first); FD_GONE or
   * FD_DENIED instead of throwing for those cases.
   */
  openFd(pid: number, file: string): number {
    const path = this.pidPath(pid, file);
    try {
      return this.files.open(path);
    } catch (error) {
      fail(path, error);
    }
  }

  /** Closes a held fd (no-op for a sentinel). */
  closeFd(fd: number): void {
    this.files.close(fd);
  }

  /**
   * One pread at offset 0 into the shared buffer, through `fd` when >= 0 (procfs regenerates the content; a held fd of
   * a dead process fails with ESRCH, so it never reads a newer process that reused the pid), else open/read/close.
   * Enough for single-record files (stat, io), which the kernel returns whole in one read.
   */
  private readSmall(pid: number, file: string, fd: number): number {
    return fd >= 0 ? this.files.read(fd, 'once', SMALL_READ) : this.files.readPath(this.pidPath(pid, file), 'once', SMALL_READ);
  }

  /** Reads a whole file into the shared buffer (growing it up to `cap`); returns the length. Throws errno errors. */
  private slurp(path: string, cap: number): number {
    return this.files.readPath(path, 'eof', cap);
  }

  /** Fills `out` from `stat` (held `fd`, or by path when fd < 0); false when the process is gone or the text is junk. */
  statInto(pid: number, fd: number, out: ProcStat): boolean {
    let len: number;
    try {
      len = this.readSmall(pid, 'stat', fd);
    } catch (error) {
      if (classifyError(error) !== 'other') return false;
      fail(this.pidPath(pid, 'stat'), error);
    }
    return parseStatBytes(this.files.buf, len, out);
  }

  /** Fills `out` from `io`; 'gone', or 'denied' when the ptrace check refuses (needs root or the same user). */
  ioInto(pid: number, fd: number, out: ProcIo): 'ok' | 'gone' | 'denied' {
    let len: number;
    try {
      len = this.readSmall(pid, 'io', fd);
    } catch (error) {
      const outcome = classifyError(error);
      if (outcome === 'other') fail(this.pidPath(pid, 'io'), error);
      return outcome;
    }
    return parseIoBytes(this.files.buf, len, out) ? 'ok' : 'gone';
  }

  /** Fills `out` from `schedstat` (see parseSchedstatBytes); false when gone, absent or junk. */
  schedInto(pid: number, fd: number, out: Float64Array): boolean {
    let len: number;
    try {
      len = this.readSmall(pid, 'schedstat', fd);
    } catch (error) {
      if (classifyError(error) !== 'other') return false;
      fail(this.pidPath(pid, 'schedstat'), error);
    }
    return parseSchedstatBytes(this.files.buf, len, out);
  }

  /** undefined = gone. */
  readStat(pid: number): ProcStat | undefined {
    const out = emptyStat();
    return this.statInto(pid, -1, out) ? out : undefined;
  }

  /** 'denied' = EACCES/EPERM (needs root or the same user); undefined = gone. */
  readIo(pid: number): ProcIo | 'denied' | undefined {
    const out: ProcIo = { rchar: 0, wchar: 0, readBytes: 0, writeBytes: 0 };
    const outcome = this.ioInto(pid, -1, out);
    return outcome === 'ok' ? out : outcome === 'denied' ? 'denied' : undefined;
  }

  /** Whole-file text, or 'gone' / 'denied'. */
  private readText(path: string, cap: number, encoding: 'utf8' | 'latin1'): string | 'gone' | 'denied' {
    try {
      const len = this.slurp(path, cap);
      return this.files.buf.toString(encoding, 0, len);
    } catch (error) {
      const outcome = classifyError(error);
      if (outcome === 'other') fail(path, error);
      return outcome;
    }
  }

  /** Arguments joined by spaces ('' when refused, or for kernel threads and zombies); undefined when gone. */
  readCmdline(pid: number): string | undefined {
    const cmdPath = this.pidPath(pid, 'cmdline');
    try {
      let len = this.slurp(cmdPath, CMDLINE_CAP);
      const b = this.files.buf;
      while (len > 0 && b[len - 1] === 0) len--;
      for (let i = 0; i < len; i++) if (b[i] === 0) b[i] = 0x20;
      return b.toString('utf8', 0, len);
    } catch (error) {
      const outcome = classifyError(error);
      if (outcome === 'gone') return undefined;
      if (outcome === 'other') fail(cmdPath, error);
      return '';
    }
  }

  /**
   * What stays fixed while the process lives; undefined when it is gone. `kernelThread` (from stat flags) skips exe
   * and environ, which kernel threads do not have: failed syscalls are the slow part of reading a new process.
   */
  readStatic(pid: number, envKeys: readonly string[], kernelThread = false): ProcStatic | undefined {
    const statusText = this.readText(this.pidPath(pid, 'status'), HOST_CAP, 'latin1');
    if (statusText === 'gone' || statusText === 'denied') return undefined;
    // A real kernel always writes Uid; a status without one is not a process (a torn fixture tree).
    const status = parseStatus(statusText);
    if (status === undefined) return undefined;

    const cmdline = this.readCmdline(pid);
    if (cmdline === undefined) return undefined;

    const cgroupText = this.readText(this.pidPath(pid, 'cgroup'), HOST_CAP, 'utf8');
    if (cgroupText === 'gone') return undefined;

    let denied = false;
    let exe = '';
    const skip = kernelThread || status.kthread === true;
    if (!skip) {
      try {
        exe = fs.readlinkSync(this.pidPath(pid, 'exe'));
      } catch (error) {
        // Zombies (and kernel threads) have no exe (ENOENT): not a sign the process left.
        if (classifyError(error) === 'denied') denied = true;
      }
    }

    let env: Record<string, string> = {};
    if (envKeys.length > 0 && !skip) {
      const environ = this.readText(this.pidPath(pid, 'environ'), ENVIRON_CAP, 'utf8');
      if (environ === 'denied') denied = true;
      else if (environ !== 'gone') env = parseEnviron(environ, envKeys);
    }

    const nspid = status.nspid[status.nspid.length - 1];
    const info: ProcStatic = {
      cmdline,
      exe,
      cgroupText: cgroupText === 'denied' ? '' : cgroupText,
      uid: status.uid,
      env,
    };
    if (nspid !== undefined) info.nspid = nspid;
    if (denied) info.denied = true;
    return info;
  }

  /** readlink of ns/net, e.g. `net:[4026531840]`; undefined when gone or unreadable. */
  readNetNs(pid: number): string | undefined {
    try {
      return fs.readlinkSync(this.pidPath(pid, 'ns/net'));
    } catch (error) {
      if (classifyError(error) === 'other') fail(this.pidPath(pid, 'ns/net'), error);
      return undefined;
    }
  }

  /** rx/tx bytes of the process's network namespace, loopback excluded; undefined when gone or unreadable. */
  readNetDev(pid: number): { rxBytes: number; txBytes: number } | undefined {
    const text = this.readText(this.pidPath(pid, 'net/dev'), HOST_CAP, 'latin1');
    return text === 'gone' || text === 'denied' ? undefined : parseNetDev(text);
  }

  /** Host CPU and memory counters from /proc/stat and /proc/meminfo. */
  readHost(): Omit<HostSample, 'hostname'> {
    const read = (file: string): string => {
      const text = this.readText(`${this.root}/${file}`, HOST_CAP, 'latin1');
      if (text === 'gone' || text === 'denied') fail(`${this.root}/${file}`, new Error(text));
      return text;
    };
    const stat = parseHostStat(read('stat'));
    const mem = parseMeminfo(read('meminfo'));
    return {
      ncpu: stat.ncpu,
      cpuTotalTicks: stat.cpuTotalTicks,
      cpuIdleTicks: stat.cpuIdleTicks,
      memTotalBytes: mem.memTotalBytes,
      memAvailableBytes: mem.memAvailableBytes,
      bootTimeMs: stat.bootTimeSec * 1000,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Collector

export const DEFAULT_ENV_KEYS: readonly string[] = ['SLURM_JOB_ID', 'SLURM_JOB_NAME', 'SLURM_JOB_USER', 'SLURM_JOB_SLUID', 'SLURM_STEP_ID'];

export interface ProcfsCollectorOptions {
  reader: ProcReader;
  users: UserNames;
  /** Called once per new process (pid+starttime), and again if it execs; returns the container key. */
  classify: (staticInfo: ProcStatic, pid: number) => string;
  /** @default SLURM_JOB_ID, SLURM_JOB_NAME, SLURM_JOB_USER, SLURM_JOB_SLUID, SLURM_STEP_ID */
  envKeys?: readonly string[];
  /**
   * Most fds held open across ticks (stat, io and with `schedstat` a third per process); beyond it files are opened
   * per read. @default 3072
   */
  maxHeldFds?: number;
  /**
   * Read each single-threaded process's schedstat (one small read) to tell, exactly, which processes were not
   * scheduled at all since the previous collect (ProcfsTick.idle); those are not asked for stat again (see
   * STAT_REFRESH_TICKS), which costs the kernel three times as much. @default false
   */
  schedstat?: boolean;
}

export interface ProcfsTick {
  processes: Map<string, ProcessSample>;
  /** Static info of this tick's processes, by process key. */
  statics: ReadonlyMap<string, ProcStatic>;
  /** Processes whose io is unreadable (not root, another user's process). */
  ioDenied: number;
  /** Processes whose exe or environ is unreadable. */
  staticDenied: number;
  /**
   * With `schedstat`: keys of processes that were not on a CPU once between the previous collect and this one (their
   * single thread's schedstat count and run time did not move). Such a process made no system call in between, so
   * nothing it owns alone (its descriptor table) can have changed. Empty without `schedstat`.
   */
  idle: ReadonlySet<string>;
}

/** One live process as the collector remembers it between ticks. */
interface Entry {
  readonly pid: number;
  readonly startTicks: number;
  readonly key: string;
  /** comm and the memory map when the static info was read: a change means the process exec'd (see collect()). */
  comm: string;
  startCode: number;
  endCode: number;
  startStack: number;
  info: ProcStatic;
  user: string;
  containerKey: string;
  statFd: number;
  ioFd: number;
  /** io was refused once: the answer holds for the process's life, so it is not asked again every tick. */
  ioDenied: boolean;
  /** io does not exist for this process; not asked again either. */
  ioAbsent: boolean;
  seenTick: number;
  /** utime + stime + cutime + cstime + cminflt when io was last read, and what it said (see IO_REREAD_TICKS). */
  ioCpuTicks: number;
  ioTick: number;
  lastIo: ProcIo | undefined;
  /** Held schedstat fd (-1: none), and whether this process has no schedstat (or it was refused). */
  schedFd: number;
  schedAbsent: boolean;
  /** The schedstat run time and count read at schedTick (0: not read last tick, so nothing to compare with). */
  schedRun: number;
  schedCount: number;
  schedTick: number;
  /** What the last stat read gave, handed out again while the process is not scheduled. */
  lastSample: ProcessSample | undefined;
}

/**
 * /proc/PID/io is re-read when the process ran (schedstat, where it is read) or used CPU or reaped a child since the last read (a reaped child's bytes are
 * added to its parent's io: a shell that waits uses no CPU tick but its children's cutime or cminflt move), and at
 * least every IO_REREAD_TICKS ticks: a process that ran no instruction did no read or write, and the counters are
 * cumulative, so a byte a process moved without its CPU ticking over is credited at the next read, never lost. Most processes are idle: this halves
 * the reads of a tick. Kernel threads have no io worth reading.
 */
const IO_REREAD_TICKS = 10;

/** What moves when a process ran or reaped a child (monotonic counters: their sum changes when any of them does). */
function ioKey(st: ProcStat): number {
  return st.utimeTicks + st.stimeTicks + st.cutimeTicks + st.cstimeTicks + st.cminflt;
}

/**
 * With `schedstat`, a process that was not scheduled since the last tick is not asked for stat: its CPU time, state,
 * threads and memory map cannot have moved without it running. Two things can change all the same, so stat is read
 * anyway every STAT_REFRESH_TICKS ticks (staggered by pid) and whenever the parent left: RSS shrinking under reclaim
 * or swap-out, and the ppid of a child whose parent exited (it is reparented while asleep).
 */
const STAT_REFRESH_TICKS = 10;

const EMPTY_STATIC: ProcStatic = { cmdline: '', exe: '', cgroupText: '', uid: -1, env: {} };

/** Held fds outlive a collector that is dropped without close(): release them when it is collected. */
const fdReaper = new FinalizationRegistry<{ cache: Map<number, Entry>; reader: ProcReader }>(({ cache, reader }) => {
  for (const entry of cache.values()) {
    if (entry.statFd >= 0) reader.closeFd(entry.statFd);
    if (entry.ioFd >= 0) reader.closeFd(entry.ioFd);
    if (entry.schedFd >= 0) reader.closeFd(entry.schedFd);
  }
});

/** Field by field: the key and start time are the entry's, so equal samples are the same process at rest. */
function sameSample(a: ProcessSample, b: ProcessSample): boolean {
  return (
    a.startTimeMs === b.startTimeMs &&
    a.ppid === b.ppid &&
    a.comm === b.comm &&
    a.cmdline === b.cmdline &&
    a.exe === b.exe &&
    a.uid === b.uid &&
    a.user === b.user &&
    a.state === b.state &&
    a.cpuNs === b.cpuNs &&
    a.childCpuNs === b.childCpuNs &&
    a.rssBytes === b.rssBytes &&
    a.vsizeBytes === b.vsizeBytes &&
    a.threads === b.threads &&
    a.readBytes === b.readBytes &&
    a.writeBytes === b.writeBytes &&
    a.rchar === b.rchar &&
    a.wchar === b.wchar &&
    a.nspid === b.nspid &&
    a.containerKey === b.containerKey &&
    a.kernelThread === b.kernelThread
  );
}

export class ProcfsCollector {
  private readonly reader: ProcReader;
  private readonly users: UserNames;
  private readonly classify: (staticInfo: ProcStatic, pid: number) => string;
  private readonly envKeys: readonly string[];
  /** At most this many of the reader's held fds are this collector's (ProcfsCollectorOptions.maxHeldFds). */
  private readonly maxHeldFds: number;
  private readonly schedstat: boolean;
  private readonly sched = new Float64Array(2);
  /** By pid; the entry's startTicks tells a reused pid apart. */
  private readonly cache = new Map<number, Entry>();
  private tick = 0;
  private readonly stat = emptyStat();
  private readonly io: ProcIo = { rchar: 0, wchar: 0, readBytes: 0, writeBytes: 0 };

  constructor(o: ProcfsCollectorOptions) {
    this.reader = o.reader;
    this.users = o.users;
    this.classify = o.classify;
    this.envKeys = o.envKeys ?? DEFAULT_ENV_KEYS;
    this.maxHeldFds = o.maxHeldFds ?? o.reader.files.max;
    this.schedstat = o.schedstat === true;
    fdReaper.register(this, { cache: this.cache, reader: this.reader }, this);
  }

  /** Number of fds currently held open across ticks. */
  get openFds(): number {
    return this.reader.files.held;
  }

  /** Closes every held fd and forgets every process; the next collect() starts afresh. */
  close(): void {
    for (const entry of this.cache.values()) this.release(entry);
    this.cache.clear();
  }

  collect(bootTimeMs: number): ProcfsTick {
    const tick = ++this.tick;
    const reader = this.reader;
    const st = this.stat;
    const io = this.io;
    const nsPerTick = 1e9 / reader.clkTck;
    const msPerTick = 1000 / reader.clkTck;
    const pageSize = reader.pageSize;
    const processes = new Map<string, ProcessSample>();
    const statics = new Map<string, ProcStatic>();
    const idle = new Set<string>();
    let ioDenied = 0;
    let staticDenied = 0;
    let vanished: Set<number> | undefined;

    for (const pid of reader.listPids()) {
      let entry = this.cache.get(pid);
      let schedRead = false;
      if (entry !== undefined && this.schedstat) {
        const last = entry.lastSample;
        // Not scheduled since last tick: stat would say what it said (see STAT_REFRESH_TICKS for what it would not).
        if (last !== undefined && (tick + pid) % STAT_REFRESH_TICKS !== 0 && this.parentListed(last.ppid, tick)) {
          schedRead = true;
          if (this.notScheduled(entry, last.threads, tick)) {
            entry.seenTick = tick;
            idle.add(entry.key);
            processes.set(entry.key, last);
            statics.set(entry.key, entry.info);
            if (entry.ioDenied && !last.kernelThread) ioDenied++;
            if (entry.info.denied === true) staticDenied++;
            continue;
          }
        }
      }
      if (entry !== undefined) {
        this.holdFds(entry);
        // ESRCH on a held fd, or another start time: the remembered process is gone (maybe its pid reused).
        if (!reader.statInto(pid, entry.statFd, st) || st.startTicks !== entry.startTicks) {
          // Reaped during this pass, maybe after its parent was read: see rereadParent().
          if (entry.lastSample !== undefined) (vanished ??= new Set()).add(entry.lastSample.ppid);
          this.forget(entry);
          entry = undefined;
        } else if (st.comm !== entry.comm || execedBetween(entry, st) || this.execedHidden(entry, st, schedRead)) {
          // comm, or the memory map, changes on exec: a process first seen between fork and exec would otherwise keep
          // its parent's cmdline, exe, uid and cgroup for life. Re-read once (a prctl rename costs one extra read).
          if (!this.refresh(entry, st)) {
            this.forget(entry);
            continue;
          }
        }
      }
      if (entry === undefined) {
        entry = this.admit(pid, st);
        if (entry === undefined) continue;
      }
      entry.seenTick = tick;

      const kernelThread = (st.flags & PF_KTHREAD) !== 0 || st.ppid === 2 || pid === 2;
      if (this.schedstat && !schedRead && this.notScheduled(entry, st.numThreads, tick)) idle.add(entry.key);
      const childTicks = st.cutimeTicks + st.cstimeTicks;
      const ioTicks = ioKey(st);
      let ioState: 'ok' | 'gone' | 'denied' = entry.ioDenied ? 'denied' : 'gone';
      let ioNow: ProcIo | undefined;
      if (kernelThread) {
        ioState = 'gone';
      } else if (entry.lastIo !== undefined && ioTicks === entry.ioCpuTicks && tick - entry.ioTick < IO_REREAD_TICKS && !this.ranThisTick(entry, idle, tick)) {
        ioState = 'ok';
        ioNow = entry.lastIo;
      } else if (!entry.ioDenied && !entry.ioAbsent) {
        ioState = reader.ioInto(pid, entry.ioFd, io);
        if (ioState === 'ok') {
          ioNow = entry.lastIo ?? { rchar: 0, wchar: 0, readBytes: 0, writeBytes: 0 };
          ioNow.rchar = io.rchar;
          ioNow.wchar = io.wchar;
          ioNow.readBytes = io.readBytes;
          ioNow.writeBytes = io.writeBytes;
          entry.lastIo = ioNow;
          entry.ioCpuTicks = ioTicks;
          entry.ioTick = tick;
        } else {
          this.dropIo(entry, ioState);
          // Reaped between its stat and io reads: its parent now holds its io. Without counts this tick the child's
          // last sample would hand snapshot.ts's Reaped nothing to take out, and the parent would show every byte the
          // child wrote as its own. The counts last read stand instead (what came after is unseen, as for any exit).
          if (ioState === 'gone' && entry.lastIo !== undefined) {
            ioState = 'ok';
            ioNow = entry.lastIo;
          }
        }
      }
      // A process that exits between its stat and io reads, never read before, is still reported this tick, without io.
      const hasIo = ioState === 'ok' && ioNow !== undefined;
      if (ioState === 'denied') ioDenied++;
      const info = entry.info;
      if (info.denied === true) staticDenied++;

      const fresh: ProcessSample = {
        key: entry.key,
        pid,
        startTicks: entry.startTicks,
        startTimeMs: bootTimeMs + entry.startTicks * msPerTick,
        ppid: st.ppid,
        comm: st.comm,
        cmdline: info.cmdline,
        exe: info.exe,
        uid: info.uid,
        user: entry.user,
        state: st.state,
        cpuNs: (st.utimeTicks + st.stimeTicks) * nsPerTick,
        childCpuNs: childTicks * nsPerTick,
        rssBytes: st.rssPages * pageSize,
        vsizeBytes: st.vsizeBytes,
        threads: st.numThreads,
        readBytes: hasIo ? ioNow!.readBytes : undefined,
        writeBytes: hasIo ? ioNow!.writeBytes : undefined,
        rchar: hasIo ? ioNow!.rchar : undefined,
        wchar: hasIo ? ioNow!.wchar : undefined,
        nspid: info.nspid,
        containerKey: entry.containerKey,
        kernelThread,
      };
      // Nothing moved (a refresh tick of an idle process, or one that ran too briefly to tick its CPU time over): hand
      // out the same object, as for a process not scheduled, so what consumers built from it stays valid.
      const last = entry.lastSample;
      const sample = last !== undefined && sameSample(last, fresh) ? last : fresh;
      processes.set(entry.key, sample);
      statics.set(entry.key, info);
      entry.lastSample = sample;
    }

    if (vanished !== undefined) {
      for (const ppid of vanished) {
        const parent = this.cache.get(ppid);
        if (parent !== undefined && parent.seenTick === tick) this.rereadParent(parent, processes, nsPerTick, pageSize);
      }
    }
    // Whatever was not listed this tick has left: close its fds and drop its static info.
    for (const entry of this.cache.values()) {
      if (entry.seenTick !== tick) this.forget(entry);
    }
    return { processes, statics, ioDenied, staticDenied, idle };
  }

  /**
   * The parent was already seen this tick (a parent that exited reparents its children: their ppid changes while
   * they sleep). A child listed before its parent (pids wrapped) is simply read.
   */
  private parentListed(ppid: number, tick: number): boolean {
    if (ppid <= 2) return true;
    return this.cache.get(ppid)?.seenTick === tick;
  }

  /**
   * Reads schedstat; true when the process is single-threaded now and at the last read (one tick ago), and its count
   * and run time did not move. A process with more threads is never called idle: the file speaks for its leader only.
   */
  private notScheduled(entry: Entry, threads: number, tick: number): boolean {
    if (threads !== 1 || entry.schedAbsent) {
      entry.schedTick = 0;
      return false;
    }
    const reader = this.reader;
    if (entry.schedFd < 0 && reader.files.room(1, this.maxHeldFds)) {
      const fd = reader.openFd(entry.pid, 'schedstat');
      if (fd >= 0) {
        entry.schedFd = fd;
      } else if (fd === FD_DENIED) {
        entry.schedAbsent = true;
      }
    }
    const sched = this.sched;
    if (!reader.schedInto(entry.pid, entry.schedFd, sched)) {
      // Gone (seen next tick) or a kernel without schedstat: either way, read this process in full.
      entry.schedAbsent = true;
      entry.schedTick = 0;
      return false;
    }
    const still = entry.schedTick === tick - 1 && sched[0] === entry.schedRun && sched[1] === entry.schedCount;
    entry.schedRun = sched[0]!;
    entry.schedCount = sched[1]!;
    entry.schedTick = tick;
    return still;
  }

  /**
   * The map is hidden (another user's process, not root: stat shows start_code 1 and start_stack 0), so an exec that
   * keeps comm can only be told from cmdline: read it for a single-threaded process that ran since the last tick
   * (`ran`: its schedstat moved; else its CPU time did). One that did not run did not exec. Costs nothing where the map
   * is visible (root, or one's own processes).
   */
  private execedHidden(entry: Entry, st: ProcStat, ran: boolean): boolean {
    if (st.startCode !== 1 || st.startStack !== 0 || st.numThreads !== 1) return false;
    const last = entry.lastSample;
    if (last === undefined) return false;
    if (!ran && last.cpuNs === (st.utimeTicks + st.stimeTicks) * (1e9 / this.reader.clkTck)) return false;
    const cmdline = this.reader.readCmdline(entry.pid);
    return cmdline !== undefined && cmdline !== entry.info.cmdline;
  }

  /**
   * schedstat was read this tick and says the process ran since the last (or cannot say: no earlier read to compare):
   * its io may have moved without a CPU tick (a dd writing 10 MiB to the page cache in 5 ms), and a process about to
   * exit has no next read to credit it at, so its io is read again (see IO_REREAD_TICKS).
   */
  private ranThisTick(entry: Entry, idle: ReadonlySet<string>, tick: number): boolean {
    return this.schedstat && entry.schedTick === tick && !idle.has(entry.key);
  }

  /**
   * A child that was listed this pass but gone when its stat was read was reaped during the pass, maybe after its
   * parent was read: reaping added its CPU (cutime/cstime) and io to the parent's counters. The parent's CPU and io
   * are read again so this tick's sample holds them in the tick the child is missed: toSnapshot takes the child's last
   * counts out of its parent's deltas then (snapshot.ts, Reaped), which would otherwise come one tick late.
   */
  private rereadParent(entry: Entry, processes: Map<string, ProcessSample>, nsPerTick: number, pageSize: number): void {
    const last = processes.get(entry.key);
    const st = this.stat;
    if (last === undefined || last.kernelThread || !this.reader.statInto(entry.pid, entry.statFd, st) || st.startTicks !== entry.startTicks) return;
    let io = entry.lastIo;
    if (!entry.ioDenied && !entry.ioAbsent && this.reader.ioInto(entry.pid, entry.ioFd, this.io) === 'ok') {
      io = { ...this.io };
      entry.lastIo = io;
      entry.ioCpuTicks = ioKey(st);
      entry.ioTick = this.tick;
    }
    const sample: ProcessSample = {
      ...last,
      state: st.state,
      cpuNs: (st.utimeTicks + st.stimeTicks) * nsPerTick,
      childCpuNs: (st.cutimeTicks + st.cstimeTicks) * nsPerTick,
      rssBytes: st.rssPages * pageSize,
      threads: st.numThreads,
      ...(last.readBytes !== undefined && io !== undefined && { readBytes: io.readBytes, writeBytes: io.writeBytes, rchar: io.rchar, wchar: io.wchar }),
    };
    processes.set(entry.key, sample);
    entry.lastSample = sample;
  }

  /** A pid not in the cache (or whose process changed): read stat into `st`, then the static info once. */
  private admit(pid: number, st: ProcStat): Entry | undefined {
    const reader = this.reader;
    const hold = reader.files.room(2, this.maxHeldFds);
    let statFd = -1;
    if (hold) {
      statFd = reader.openFd(pid, 'stat');
      if (statFd === FD_GONE) return undefined;
    }
    if (!reader.statInto(pid, statFd, st)) {
      if (statFd >= 0) reader.closeFd(statFd);
      return undefined;
    }
    const ioFd = hold ? reader.openFd(pid, 'io') : -1;
    const entry: Entry = {
      pid,
      startTicks: st.startTicks,
      key: `${pid}:${st.startTicks}`,
      comm: '',
      startCode: 0,
      endCode: 0,
      startStack: 0,
      info: EMPTY_STATIC,
      user: '',
      containerKey: '',
      statFd: Math.max(statFd, -1),
      ioFd: Math.max(ioFd, -1),
      ioDenied: ioFd === FD_DENIED,
      // No io file while stat is there: a kernel without task I/O accounting (or a fixture tree); stop asking.
      ioAbsent: ioFd === FD_GONE,
      seenTick: 0,
      ioCpuTicks: -1,
      ioTick: 0,
      lastIo: undefined,
      schedFd: -1,
      schedAbsent: false,
      schedRun: 0,
      schedCount: 0,
      schedTick: 0,
      lastSample: undefined,
    };
    if (!this.refresh(entry, st)) {
      this.release(entry);
      return undefined;
    }
    this.cache.set(pid, entry);
    return entry;
  }

  /** (Re-)reads the static info and the container key; false when the process is gone. */
  private refresh(entry: Entry, st: ProcStat): boolean {
    const info = this.reader.readStatic(entry.pid, this.envKeys, (st.flags & PF_KTHREAD) !== 0);
    if (info === undefined) return false;
    entry.info = info;
    entry.comm = st.comm;
    entry.startCode = st.startCode;
    entry.endCode = st.endCode;
    entry.startStack = st.startStack;
    entry.user = this.users.name(info.uid);
    entry.containerKey = this.classify(info, entry.pid);
    return true;
  }

  /** Opens fds for a process that had to go without them, once there is room again. */
  private holdFds(entry: Entry): void {
    if (entry.statFd >= 0 || !this.reader.files.room(2, this.maxHeldFds)) return;
    const statFd = this.reader.openFd(entry.pid, 'stat');
    if (statFd < 0) return;
    entry.statFd = statFd;
    if (entry.ioDenied || entry.ioAbsent) return;
    const ioFd = this.reader.openFd(entry.pid, 'io');
    if (ioFd >= 0) {
      entry.ioFd = ioFd;
    } else {
      this.dropIo(entry, ioFd === FD_DENIED ? 'denied' : 'gone');
    }
  }

  /** Stops reading io for a process: refused, or gone (exited, or no io file at all). */
  private dropIo(entry: Entry, why: 'gone' | 'denied'): void {
    if (why === 'denied') entry.ioDenied = true;
    else entry.ioAbsent = true;
    if (entry.ioFd >= 0) {
      this.reader.closeFd(entry.ioFd);
      entry.ioFd = -1;
    }
  }

  private release(entry: Entry): void {
    if (entry.statFd >= 0) {
      this.reader.closeFd(entry.statFd);
      entry.statFd = -1;
    }
    if (entry.ioFd >= 0) {
      this.reader.closeFd(entry.ioFd);
      entry.ioFd = -1;
    }
    if (entry.schedFd >= 0) {
      this.reader.closeFd(entry.schedFd);
      entry.schedFd = -1;
    }
  }

  private forget(entry: Entry): void {
    this.release(entry);
    if (this.cache.get(entry.pid) === entry) this.cache.delete(entry.pid);
  }
}
