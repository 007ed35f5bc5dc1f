/**
 * cgroupfs counters for one container on v1, v2 and hybrid hosts (spec/cgroups.md sections 2 and 4).
 *
 * Per metric the v1 controller wins when the container has a dir in a mounted v1 hierarchy for it; otherwise the v2
 * dir is used when its file exists (on v2 a controller's files only exist where the controller is enabled). PSI
 * exists on v2 only, so on hybrid hosts it comes from the unified hierarchy while the rest comes from v1.
 *
 * The reader runs every tick for every container, so files are read with open/read into one reused Buffer, values
 * are looked up in the text without splitting it, and files found missing are remembered per directory.
 */
import { readFileSync, statfsSync, statSync } from 'node:fs';
import os from 'node:os';
import type { CgroupCounters, Pressure, PressureLine } from '../model/sample.js';
import { FD_GONE, HeldFiles } from './held-file.js';

/** Where each hierarchy is mounted: v2 = the cgroup2 mount dir; v1 = controller name -> mount dir (a 'cpu,cpuacct' co-mount gives both keys the same dir; named hierarchies as 'name=systemd'). */
export interface CgroupMounts {
  readonly v2?: string;
  readonly v1: Readonly<Record<string, string>>;
}

/** The container's directory per hierarchy, relative to each mount (same shape identity.ts produces). */
export interface ContainerCgroupPaths {
  readonly v2?: string;
  readonly v1: Readonly<Record<string, string>>;
}

export class CgroupError extends Error {
  override readonly name = 'CgroupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// ---- mountinfo ----

/** Mount options of a v1 cgroup superblock that are not controllers. */
const V1_NON_CONTROLLER_OPTIONS = new Set(['rw', 'ro', 'noprefix', 'clone_children', 'xattr', 'cpuset_v2_mode', 'favordynmods', 'all', 'none']);

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMountPath(s: string): string {
  return s.includes('\\') ? s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))) : s;
}

/**
 * Parses /proc/self/mountinfo (proc(5)): `id parent maj:min root mountpoint opts [optional...] - fstype source superopts`.
 * A mount of a hierarchy's root ('/') wins over a bind mount of a subdirectory (which would shift every path); when
 * only subdirectory mounts exist, the first one is kept as the best available.
 */
export function parseMountinfo(text: string): CgroupMounts {
  let v2: string | undefined;
  let v2Root = false;
  const v1: Record<string, string> = {};
  const v1Root: Record<string, boolean> = {};
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 4) continue;
    const fstype = fields[dash + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = fields[3] ?? '';
    const mountPoint = unescapeMountPath(fields[4] ?? '');
    if (mountPoint === '') continue;
    const atRoot = root === '/';
    if (fstype === 'cgroup2') {
      if (v2 === undefined || (atRoot && !v2Root)) {
        v2 = mountPoint;
        v2Root = atRoot;
      }
      continue;
    }
    for (const opt of (fields[dash + 3] ?? '').split(',')) {
      if (opt === '' || V1_NON_CONTROLLER_OPTIONS.has(opt)) continue;
      if (opt.includes('=') && !opt.startsWith('name=')) continue; // release_agent=..., etc.
      if (v1[opt] === undefined || (atRoot && !v1Root[opt])) {
        v1[opt] = mountPoint;
        v1Root[opt] = atRoot;
      }
    }
  }
  return v2 === undefined ? { v1 } : { v2, v1 };
}

/** Reads `${procRoot}/self/mountinfo`. Throws CgroupError when it cannot be read (no procfs is not a gap to hide). */
export function readCgroupMounts(procRoot = '/proc'): CgroupMounts {
  const file = `${procRoot}/self/mountinfo`;
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch (cause) {
    throw new CgroupError(`cannot read ${file}`, { cause });
  }
  return parseMountinfo(text);
}

/** hybrid = v1 controllers mounted and a cgroup2 mount too. Named v1 hierarchies (name=systemd) hold no controllers. */
export function cgroupVersion(m: CgroupMounts): 'v1' | 'v2' | 'hybrid' | 'none' {
  const v1 = Object.keys(m.v1).some((k) => !k.startsWith('name='));
  if (v1) return m.v2 === undefined ? 'v1' : 'hybrid';
  return m.v2 === undefined ? 'none' : 'v2';
}

// ---- pure parsers ----

const CH_0 = 48;
const CH_9 = 57;
const CH_MINUS = 45;
const CH_NL = 10;
const CH_SPACE = 32;
const CH_TAB = 9;
const CH_CR = 13;

/** Strict integer in text[start, end): optional '-', digits only; undefined otherwise. */
function parseIntRange(text: string, start: number, end: number): number | undefined {
  let i = start;
  let negative = false;
  if (i < end && text.charCodeAt(i) === CH_MINUS) {
    negative = true;
    i++;
  }
  if (i >= end) return undefined;
  let n = 0;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < CH_0 || c > CH_9) return undefined;
    n = n * 10 + (c - CH_0);
  }
  return negative ? -n : n;
}

function isSpace(c: number): boolean {
  return c === CH_SPACE || c === CH_NL || c === CH_TAB || c === CH_CR;
}

/** A single-value file (`memory.current`, `cpuacct.usage`): one integer, surrounding whitespace allowed. */
export function parseSingleInt(text: string): number | undefined {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  return parseIntRange(text, start, end);
}

/** `pids.max`-style limit: 'max' means none (undefined). */
export function parseMaxOrInt(text: string): number | undefined {
  return text.trim() === 'max' ? undefined : parseSingleInt(text);
}

/** Flat keyed files (cpu.stat, memory.stat, memory.events, cpuacct.stat): `key value` lines. Lines that are not one key and one integer are skipped. */
export function parseFlatKeyed(text: string, into: Map<string, number> = new Map()): Map<string, number> {
  let pos = 0;
  const len = text.length;
  while (pos < len) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = len;
    const sp = text.indexOf(' ', pos);
    if (sp > pos && sp < eol) {
      const end = text.charCodeAt(eol - 1) === CH_CR ? eol - 1 : eol;
      const value = parseIntRange(text, sp + 1, end);
      if (value !== undefined) into.set(text.slice(pos, sp), value);
    }
    pos = eol + 1;
  }
  return into;
}

/** One key of a flat keyed file without building a map (the per-tick path); same rules as parseFlatKeyed. */
export function flatKeyedValue(text: string, key: string): number | undefined {
  let from = 0;
  for (;;) {
    const at = text.indexOf(key, from);
    if (at < 0) return undefined;
    const after = at + key.length;
    if ((at === 0 || text.charCodeAt(at - 1) === CH_NL) && text.charCodeAt(after) === CH_SPACE) {
      let eol = text.indexOf('\n', after);
      if (eol < 0) eol = text.length;
      if (text.charCodeAt(eol - 1) === CH_CR) eol--;
      return parseIntRange(text, after + 1, eol);
    }
    from = at + 1;
  }
}

export interface IoBytes {
  readonly readBytes: number;
  readonly writeBytes: number;
}

/**
 * v2 io.stat: `MAJ:MIN rbytes=N wbytes=N rios=N ...` per device, summed. A device line without rbytes and wbytes, or
 * with a non-numeric value, makes the whole file unusable (undefined). No lines = no I/O yet = zero.
 */
export function parseIoStat(text: string): IoBytes | undefined {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === '') continue;
    if (!/^\d+:\d+$/.test(fields[0] ?? '')) return undefined;
    let r: number | undefined;
    let w: number | undefined;
    for (let i = 1; i < fields.length; i++) {
      const f = fields[i] ?? '';
      const eq = f.indexOf('=');
      if (eq <= 0) return undefined;
      const name = f.slice(0, eq);
      if (name !== 'rbytes' && name !== 'wbytes') continue;
      const v = parseIntRange(f, eq + 1, f.length);
      if (v === undefined || v < 0) return undefined;
      if (name === 'rbytes') r = v;
      else w = v;
    }
    if (r === undefined || w === undefined) return undefined;
    readBytes += r;
    writeBytes += w;
  }
  return { readBytes, writeBytes };
}

/**
 * v1 blkio `*io_service_bytes*`: `MAJ:MIN Op N` lines (Read, Write, Sync, Async, Discard, Total) and a final
 * `Total N`. Read and Write are summed over devices; Total lines are ignored. An empty file (v1 always prints a
 * Total line) or a malformed line gives undefined.
 */
export function parseBlkioServiceBytes(text: string): IoBytes | undefined {
  let readBytes = 0;
  let writeBytes = 0;
  let lines = 0;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length === 1 && fields[0] === '') continue;
    lines++;
    if (fields.length === 2 && fields[0] === 'Total') {
      if (parseIntRange(fields[1] ?? '', 0, (fields[1] ?? '').length) === undefined) return undefined;
      continue;
    }
    if (fields.length !== 3 || !/^\d+:\d+$/.test(fields[0] ?? '')) return undefined;
    const raw = fields[2] ?? '';
    const v = parseIntRange(raw, 0, raw.length);
    if (v === undefined || v < 0) return undefined;
    if (fields[1] === 'Read') readBytes += v;
    else if (fields[1] === 'Write') writeBytes += v;
  }
  return lines === 0 ? undefined : { readBytes, writeBytes };
}

function parsePressureLine(fields: readonly string[]): PressureLine | undefined {
  let avg10: number | undefined;
  let avg60: number | undefined;
  let avg300: number | undefined;
  let totalUs: number | undefined;
  for (let i = 1; i < fields.length; i++) {
    const f = fields[i] ?? '';
    const eq = f.indexOf('=');
    if (eq <= 0) return undefined;
    const raw = f.slice(eq + 1);
    const name = f.slice(0, eq);
    if (name === 'total') {
      totalUs = parseIntRange(raw, 0, raw.length);
      if (totalUs === undefined) return undefined;
      continue;
    }
    if (!/^\d+(?:\.\d+)?$/.test(raw)) return undefined;
    const v = Number(raw);
    if (name === 'avg10') avg10 = v;
    else if (name === 'avg60') avg60 = v;
    else if (name === 'avg300') avg300 = v;
  }
  if (avg10 === undefined || avg60 === undefined || avg300 === undefined || totalUs === undefined) return undefined;
  return { avg10, avg60, avg300, totalUs };
}

/** PSI (`{cpu,memory,io}.pressure`): `some|full avg10= avg60= avg300= total=<µs>`. Malformed lines are dropped, so garbage gives `{}`. */
export function parsePressure(text: string): Pressure {
  let some: PressureLine | undefined;
  let full: PressureLine | undefined;
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const kind = fields[0];
    if (kind !== 'some' && kind !== 'full') continue;
    const parsed = parsePressureLine(fields);
    if (parsed === undefined) continue;
    if (kind === 'some') some = parsed;
    else full = parsed;
  }
  return { ...(some !== undefined && { some }), ...(full !== undefined && { full }) };
}

/** CFS quota / period in cores; a quota of 'max' or <= 0 (v1 uses -1) is no limit. */
export function cpuLimitCores(quotaUs: number | undefined, periodUs: number | undefined): number | undefined {
  if (quotaUs === undefined || periodUs === undefined || quotaUs <= 0 || periodUs <= 0) return undefined;
  return quotaUs / periodUs;
}

/** A cpuset list (`0-3,8,10-11`) -> how many CPUs it names; undefined when empty or malformed. */
export function cpusetCount(text: string): number | undefined {
  const list = text.trim();
  if (list === '') return undefined;
  let count = 0;
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    count += hi - lo + 1;
  }
  return count;
}

/** v2 cpu.max: `$MAX $PERIOD`, where `max` is unlimited -> cores or undefined. */
export function parseCpuMax(text: string): number | undefined {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 2) return undefined;
  const [quota = '', period = ''] = fields;
  if (quota === 'max') return undefined;
  return cpuLimitCores(parseIntRange(quota, 0, quota.length), parseIntRange(period, 0, period.length));
}

/**
 * Values at or above this are "unlimited": v1 writes PAGE_COUNTER_MAX in bytes, LONG_MAX rounded down to the page
 * size (9223372036854771712 with 4 KiB pages, less with larger pages), never a real limit.
 */
const V1_UNLIMITED = 2 ** 62;

/** v2 memory.max or v1 memory.limit_in_bytes -> bytes, undefined when unlimited ('max', the v1 huge value, or above the host's memory). */
export function parseMemoryLimit(text: string, hostMemoryBytes?: number): number | undefined {
  if (text.trim() === 'max') return undefined;
  const v = parseSingleInt(text);
  if (v === undefined || v < 0 || v >= V1_UNLIMITED) return undefined;
  if (hostMemoryBytes !== undefined && v > hostMemoryBytes) return undefined;
  return v;
}

// ---- reader ----

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** v1 cpuacct.stat counts USER_HZ ticks, fixed at 100 for userspace ABIs. */
const NS_PER_USER_HZ = 10_000_000;
/** Bound on the remembered directories: a long-running recorder outlives many containers. */
const MAX_CACHED_DIRS = 4096;
/** Files held open across ticks (about 18 per container); beyond it they are opened per read. */
const MAX_HELD_FDS = 2048;
/** statfs(2) f_type of cgroup2 and cgroup (v1) mounts (linux/magic.h). */
const CGROUP2_SUPER_MAGIC = 0x63677270;
const CGROUP_SUPER_MAGIC = 0x27e0eb;
const V1_BLKIO_FILES = [
  'blkio.throttle.io_service_bytes_recursive',
  'blkio.throttle.io_service_bytes',
  'blkio.io_service_bytes_recursive',
  'blkio.bfq.io_service_bytes_recursive',
] as const;

function joinCgroup(mount: string, rel: string): string | undefined {
  // A path from another cgroup namespace (`/../x`) does not name a dir under this mount.
  if (rel.includes('/..') || rel.startsWith('..')) return undefined;
  if (rel === '/' || rel === '') return mount;
  return rel.startsWith('/') ? mount + rel : `${mount}/${rel}`;
}

export class CgroupReader {
  readonly #mounts: CgroupMounts;
  readonly #hostMemoryBytes: number;
  /** Held fds (at most MAX_HELD_FDS) and the buffer every read goes into. */
  readonly #files = new HeldFiles({ max: MAX_HELD_FDS, bufferBytes: 16 * 1024 });
  /** Absolute dir -> files found missing there (a controller not enabled stays so). */
  readonly #missing = new Map<string, Set<string>>();
  /** Absolute dir -> file name -> fd held open across reads. */
  readonly #held = new Map<string, Map<string, number>>();
  readonly #cgroupfsDirs = new Map<string, boolean>();

  /** hostMemoryBytes: limits above it are reported as unlimited. @default os.totalmem() */
  constructor(mounts: CgroupMounts, opts: { hostMemoryBytes?: number } = {}) {
    this.#mounts = mounts;
    this.#hostMemoryBytes = opts.hostMemoryBytes ?? os.totalmem();
  }

  /** Never throws for missing/unreadable/malformed files: what cannot be read stays undefined. */
  read(paths: ContainerCgroupPaths): CgroupCounters {
    const out: Mutable<CgroupCounters> = {};
    const v2 = this.#mounts.v2 === undefined || paths.v2 === undefined ? undefined : joinCgroup(this.#mounts.v2, paths.v2);
    const acct = this.#v1Dir(paths, 'cpuacct');
    const cpu = this.#v1Dir(paths, 'cpu');
    // v2 cpu.stat serves both usage and throttling: read it once.
    const v2CpuStat = v2 !== undefined && (acct === undefined || cpu === undefined) ? this.#read(v2, 'cpu.stat') : undefined;

    if (acct !== undefined) {
      const usage = this.#read(acct, 'cpuacct.usage');
      if (usage !== undefined) out.cpuUsageNs = parseSingleInt(usage);
      const stat = this.#read(acct, 'cpuacct.stat');
      if (stat !== undefined) {
        out.cpuUserNs = ticksToNs(flatKeyedValue(stat, 'user'));
        out.cpuSystemNs = ticksToNs(flatKeyedValue(stat, 'system'));
      }
    } else if (v2CpuStat !== undefined) {
      out.cpuUsageNs = usToNs(flatKeyedValue(v2CpuStat, 'usage_usec'));
      out.cpuUserNs = usToNs(flatKeyedValue(v2CpuStat, 'user_usec'));
      out.cpuSystemNs = usToNs(flatKeyedValue(v2CpuStat, 'system_usec'));
    }

    if (cpu !== undefined) {
      const stat = this.#read(cpu, 'cpu.stat');
      if (stat !== undefined) {
        out.cpuPeriods = flatKeyedValue(stat, 'nr_periods');
        out.cpuThrottledPeriods = flatKeyedValue(stat, 'nr_throttled');
        out.cpuThrottledNs = flatKeyedValue(stat, 'throttled_time');
      }
      const quota = this.#read(cpu, 'cpu.cfs_quota_us');
      const period = quota === undefined ? undefined : this.#read(cpu, 'cpu.cfs_period_us');
      if (quota !== undefined && period !== undefined) out.cpuLimitCores = cpuLimitCores(parseSingleInt(quota), parseSingleInt(period));
    } else if (v2 !== undefined) {
      // The throttling keys are only present when the cpu controller is enabled for this cgroup.
      if (v2CpuStat !== undefined) {
        out.cpuPeriods = flatKeyedValue(v2CpuStat, 'nr_periods');
        out.cpuThrottledPeriods = flatKeyedValue(v2CpuStat, 'nr_throttled');
        out.cpuThrottledNs = usToNs(flatKeyedValue(v2CpuStat, 'throttled_usec'));
      }
      const max = this.#read(v2, 'cpu.max');
      if (max !== undefined) out.cpuLimitCores = parseCpuMax(max);
    }

    // The CPUs it may run on: a Slurm job's allocation (task/cgroup), or docker --cpuset-cpus.
    const cpuset = this.#v1Dir(paths, 'cpuset');
    const cpus = cpuset !== undefined ? this.#read(cpuset, 'cpuset.cpus') : v2 !== undefined ? this.#read(v2, 'cpuset.cpus.effective') : undefined;
    if (cpus !== undefined) out.cpusetCpus = cpusetCount(cpus);

    const mem = this.#v1Dir(paths, 'memory');
    if (mem !== undefined) {
      const usage = this.#read(mem, 'memory.usage_in_bytes');
      if (usage !== undefined) out.memoryUsageBytes = parseSingleInt(usage);
      const stat = this.#read(mem, 'memory.stat');
      if (stat !== undefined) {
        const inactive = flatKeyedValue(stat, 'total_inactive_file') ?? flatKeyedValue(stat, 'inactive_file');
        out.memoryWorkingSetBytes = workingSet(out.memoryUsageBytes, inactive);
      }
      const limit = this.#read(mem, 'memory.limit_in_bytes');
      if (limit !== undefined) out.memoryLimitBytes = parseMemoryLimit(limit, this.#hostMemoryBytes);
      const peak = this.#read(mem, 'memory.max_usage_in_bytes');
      if (peak !== undefined) out.memoryPeakBytes = parseSingleInt(peak);
      const oom = this.#read(mem, 'memory.oom_control');
      if (oom !== undefined) out.oomKills = flatKeyedValue(oom, 'oom_kill');
    } else if (v2 !== undefined) {
      const usage = this.#read(v2, 'memory.current');
      if (usage !== undefined) {
        out.memoryUsageBytes = parseSingleInt(usage);
        const stat = this.#read(v2, 'memory.stat');
        if (stat !== undefined) out.memoryWorkingSetBytes = workingSet(out.memoryUsageBytes, flatKeyedValue(stat, 'inactive_file'));
        const limit = this.#read(v2, 'memory.max');
        if (limit !== undefined) out.memoryLimitBytes = parseMemoryLimit(limit, this.#hostMemoryBytes);
        const peak = this.#read(v2, 'memory.peak');
        if (peak !== undefined) out.memoryPeakBytes = parseSingleInt(peak);
        const events = this.#read(v2, 'memory.events');
        if (events !== undefined) out.oomKills = flatKeyedValue(events, 'oom_kill');
      }
    }

    const blkio = this.#v1Dir(paths, 'blkio');
    let io: IoBytes | undefined;
    if (blkio !== undefined) {
      // The first file that exists and parses: which ones the kernel offers depends on its I/O schedulers.
      for (const name of V1_BLKIO_FILES) {
        const text = this.#read(blkio, name);
        if (text !== undefined) io = parseBlkioServiceBytes(text);
        if (io !== undefined) break;
      }
    } else if (v2 !== undefined) {
      const text = this.#read(v2, 'io.stat');
      if (text !== undefined) io = parseIoStat(text);
    }
    if (io !== undefined) {
      out.ioReadBytes = io.readBytes;
      out.ioWriteBytes = io.writeBytes;
    }

    const pids = this.#v1Dir(paths, 'pids') ?? v2;
    if (pids !== undefined) {
      const current = this.#read(pids, 'pids.current');
      if (current !== undefined) out.pids = parseSingleInt(current);
      const max = this.#read(pids, 'pids.max');
      if (max !== undefined) out.pidsLimit = parseMaxOrInt(max);
    }

    if (v2 !== undefined) {
      out.cpuPressure = this.#pressure(v2, 'cpu.pressure');
      out.memoryPressure = this.#pressure(v2, 'memory.pressure');
      out.ioPressure = this.#pressure(v2, 'io.pressure');
    }

    // Gaps are absent keys, not keys holding undefined: the object stays small and compares cleanly.
    for (const k of Object.keys(out) as (keyof CgroupCounters)[]) if (out[k] === undefined) delete out[k];
    return out;
  }

  /** Drops what was remembered about a container's dirs (call when it is gone for good). */
  forget(paths: ContainerCgroupPaths): void {
    if (this.#mounts.v2 !== undefined && paths.v2 !== undefined) {
      const dir = joinCgroup(this.#mounts.v2, paths.v2);
      if (dir !== undefined) {
        this.#missing.delete(dir);
        this.#dropDir(dir);
      }
    }
    for (const [controller, rel] of Object.entries(paths.v1)) {
      const mount = this.#mounts.v1[controller];
      const dir = mount === undefined ? undefined : joinCgroup(mount, rel);
      if (dir !== undefined) {
        this.#missing.delete(dir);
        this.#dropDir(dir);
      }
    }
  }

  #pressure(dir: string, name: string): Pressure | undefined {
    const text = this.#read(dir, name);
    if (text === undefined) return undefined;
    const p = parsePressure(text);
    return p.some === undefined && p.full === undefined ? undefined : p;
  }

  /** The container's dir in the v1 hierarchy of `controller`, when both the mount and the container's path exist. */
  #v1Dir(paths: ContainerCgroupPaths, controller: string): string | undefined {
    const mount = this.#mounts.v1[controller];
    if (mount === undefined) return undefined;
    let rel = paths.v1[controller];
    if (rel === undefined) {
      // Tolerate a co-mounted key as /proc/PID/cgroup spells it ('cpu,cpuacct').
      for (const key in paths.v1) {
        if (key.includes(',') && key.split(',').includes(controller)) {
          rel = paths.v1[key];
          break;
        }
      }
      if (rel === undefined) return undefined;
    }
    return joinCgroup(mount, rel);
  }

  /**
   * The file's text (latin1), or undefined when it cannot be read. ENOENT in an existing dir is remembered. Files are
   * held open between ticks and read with pread at offset 0 (kernfs regenerates the text), which spares a path walk,
   * an open and a close per file per tick; a removed cgroup fails the read (ENODEV) and its fd is closed then.
   */
  #read(dir: string, name: string): string | undefined {
    const missing = this.#missing.get(dir);
    if (missing?.has(name)) return undefined;
    let held = this.#held.get(dir);
    let fd = held?.get(name);
    let hold = true;
    const files = this.#files;
    if (fd === undefined) {
      try {
        fd = files.open(`${dir}/${name}`);
      } catch {
        return undefined;
      }
      if (fd < 0) {
        // ENOENT: a controller not enabled here (remembered), or the cgroup is gone. EACCES: not ours to read.
        if (fd === FD_GONE) this.#noteMissing(dir, name, missing);
        return undefined;
      }
      hold = files.room(0) && this.#onCgroupfs(dir);
      if (hold) {
        if (held === undefined) {
          held = new Map();
          this.#held.set(dir, held);
        }
        held.set(name, fd);
      }
    }
    try {
      // A short read is the end: seq_file fills what it is asked for until its last record.
      const n = files.read(fd, 'short');
      return files.buf.toString('latin1', 0, n);
    } catch {
      // ENODEV ('removed' in held-file.ts) and friends: the cgroup was removed. Its other files may not be asked again
      // (a missing usage file skips the rest of its controller): let go of all of them now.
      if (hold) this.#dropDir(dir);
      return undefined;
    } finally {
      if (!hold) files.close(fd);
    }
  }

  /**
   * Only cgroupfs files are held: a removed cgroup fails their reads, so a held fd never gives stale numbers. A
   * fixture tree on an ordinary file system keeps serving a deleted file's old content: opened per read there.
   */
  #onCgroupfs(dir: string): boolean {
    let yes = this.#cgroupfsDirs.get(dir);
    if (yes === undefined) {
      try {
        const type = statfsSync(dir).type;
        yes = type === CGROUP2_SUPER_MAGIC || type === CGROUP_SUPER_MAGIC;
      } catch {
        yes = false;
      }
      if (this.#cgroupfsDirs.size >= MAX_CACHED_DIRS) this.#cgroupfsDirs.clear();
      this.#cgroupfsDirs.set(dir, yes);
    }
    return yes;
  }

  /** Closes one held file. */
  #drop(dir: string, name: string): void {
    const held = this.#held.get(dir);
    const fd = held?.get(name);
    if (held === undefined || fd === undefined) return;
    held.delete(name);
    if (held.size === 0) this.#held.delete(dir);
    this.#files.close(fd);
  }

  /** Closes every file of a directory. */
  #dropDir(dir: string): void {
    for (const name of [...(this.#held.get(dir)?.keys() ?? [])]) this.#drop(dir, name);
  }

  /** Closes every held file. */
  close(): void {
    for (const dir of [...this.#held.keys()]) this.#dropDir(dir);
  }

  #noteMissing(dir: string, name: string, missing: Set<string> | undefined): void {
    let dirExists: boolean;
    try {
      dirExists = statSync(dir).isDirectory();
    } catch {
      dirExists = false;
    }
    if (!dirExists) {
      // The container is gone: nothing to remember about it.
      this.#missing.delete(dir);
      return;
    }
    if (missing === undefined) {
      if (this.#missing.size >= MAX_CACHED_DIRS) this.#missing.clear();
      missing = new Set();
      this.#missing.set(dir, missing);
    }
    missing.add(name);
  }
}

function ticksToNs(ticks: number | undefined): number | undefined {
  return ticks === undefined ? undefined : ticks * NS_PER_USER_HZ;
}

function usToNs(us: number | undefined): number | undefined {
  return us === undefined ? undefined : us * 1000;
}

function workingSet(usage: number | undefined, inactiveFile: number | undefined): number | undefined {
  if (usage === undefined || inactiveFile === undefined) return undefined;
  return Math.max(0, usage - inactiveFile);
}
