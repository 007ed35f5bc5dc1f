/**
 * Turns the sysdig bridge's records (collectors/sysdig.ts) into what the store records: Snapshots.
 *
 * Two uses:
 * - sysdig alone (`record --source sysdig`, `--source sysdig -`, `--sysdig-capture FILE`): every bridge `tick` closes
 *   one interval and becomes one Snapshot (takeSnapshots()), timed by the record's `ts`: a capture replays its own
 *   time. Processes carry sysdig's CPU and file bytes as `interval` deltas; containers are the sums of their
 *   processes (cpuSource 'processes').
 * - procfs and sysdig together (`--source both`): procfs snapshots stay primary and completeSnapshot() adds what only
 *   sysdig saw: per-file and per-connection bytes and opens, and processes that started and exited between two procfs
 *   ticks. It never adds sysdig CPU or bytes to a process or container procfs measured, so nothing is counted twice.
 *
 * Choices the protocol leaves open (native/sysdig-bridge/README.md, "bubble's side"):
 * - CPU is `cpu_ns` only (procinfo), never `run_ns`: the two are views of the same time and must not be added.
 * - A process's read/write bytes are the bytes of its `file` fds (syscall bytes, page cache included): socket bytes
 *   are network, pipes are neither.
 * - Container: the bridge's cgroup paths, resolved like procfs's (bridgeMembership + resolveMembership). When they
 *   name no container but sysdig gave a 12-character container id, the key is `docker:<short id>`.
 * - Network `protocol` is l4proto plus `6` for IPv6 (`tcp`, `udp6`, like /proc/net), `ip`/`ip6` when sysdig does not
 *   know the protocol (a socket opened before it started). `state` is `connect`, `accept`, or '' (unknown).
 * - File `mode` is what the process did in the interval: `r`, `w`, `rw`, or '' when it only opened the file.
 */
import { accessKey, formatEndpoint, type AccessObservation } from '../model/access.js';
import { containerKey, HOST_IDENTITY, type Identity } from '../model/identity.js';
import type { ContainerMeta } from '../model/sample.js';
import type { ContainerView, Interval, ProcessView, Snapshot } from '../model/snapshot.js';
import type { SyscallErrorCount } from '../model/syscall-errors.js';
import { containerView as buildContainerView, processView, type ContainerGauges, type ProcessFacts } from '../model/view.js';
import { resolveMembership } from './identity.js';
import { bridgeMembership, bridgeProcessKey, describeParseStats, type BridgeRecord, type IdentityFields, type IoRecord, type ParseStats } from './sysdig.js';

// ---- options and counts -------------------------------------------------------------------------------------------

/**
 * 'snapshots': each interval lists every process sysdig knows is alive (sysdig is the only source).
 * 'complete': each interval lists only the processes active in it (completeSnapshot() needs nothing more).
 */
export type IngestMode = 'snapshots' | 'complete';

export interface SysdigIngestOptions {
  /** @default 'snapshots' */
  readonly mode?: IngestMode;
  /** uid -> user name. Default: the uid as text ('' when unknown): a capture's uids belong to another machine. */
  readonly userName?: (uid: number) => string;
  /** Metadata (Docker names) for a container; live runs only. */
  readonly containerMeta?: (identity: Identity) => ContainerMeta | undefined;
  /** The parser's live counts: a snapshot's gaps carry describeParseStats() when lines were skipped. */
  readonly parseStats?: () => Readonly<ParseStats> | undefined;
}

export interface IngestStats {
  /** Intervals closed (bridge ticks, plus a last partial one at finish()). */
  ticks: number;
  /** Distinct processes seen. */
  processes: number;
  /** Distinct file paths and network endpoints (protocol, local, remote) seen; counting stops at DISTINCT_CAP. */
  files: number;
  endpoints: number;
  /** Records of a process whose identity line never came (a lost line): kept under a placeholder identity. */
  orphans: number;
  /** Records of a process after the interval of its exit: dropped (they would bring an exited process back). */
  late: number;
  /** 'complete' mode: active sysdig processes procfs never showed and that did not exit: dropped after a few ticks. */
  unmatched: number;
}

/** Distinct files and endpoints are counted for the summary line up to this many (memory stays bounded). */
export const DISTINCT_CAP = 100_000;
/** A container whose last known process exited this long ago (event time) is reported as exited. */
const CONTAINER_GONE_MS = 60_000;
/** Exited process keys remembered, so that a late record does not bring one back. */
const RECENT_EXITS = 4096;
/** completeSnapshot(): how far a bridge start may be from procfs's (btime has whole seconds; ticks are 10 ms). */
export const START_TOLERANCE_MS = 1500;
/** completeSnapshot(): how long procfs processes are remembered after their last sight (sysdig's tick lags). */
const PROCFS_MEMORY_MS = 30_000;
/** completeSnapshot(): procfs ticks an unmatched, still running sysdig process waits to appear in procfs. */
const MAX_ATTEMPTS = 5;

// ---- state ------------------------------------------------------------------------------------------------------

interface Proc {
  readonly key: string;
  readonly pid: number;
  readonly start: number;
  exact: boolean;
  ppid: number;
  vpid: number;
  uid: number;
  comm: string;
  exe: string;
  cmdline: string;
  containerKey: string;
  placeholder: boolean;
  /** Cumulative: CPU ns (cpu_ns), bytes read and written on file fds. */
  cpuNs: number;
  readBytes: number;
  writeBytes: number;
  exitedAtMs?: number;
}

interface ContainerState {
  readonly identity: Identity;
  alive: number;
  cpuNs: number;
  readBytes: number;
  writeBytes: number;
  /** Event time its last known process exited; undefined while it has some. */
  emptySince?: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Activity {
  cpuNs: number;
  readBytes: number;
  writeBytes: number;
}

/** One closed interval: what the tick that ended it saw. */
export interface SysdigInterval {
  /** The tick's `ts` (capture time). */
  readonly timeMs: number;
  readonly dtMs: number;
  /** 'snapshots': every alive process; 'complete': the active ones. Both: those that exited in it. */
  readonly processes: readonly ProcessView[];
  /** Processes whose exit (or a new process on their pid) came in this interval. */
  readonly exited: readonly ProcessView[];
  /** Keys of processes whose `start` is their real start time (start_exact). */
  readonly exact: ReadonlySet<string>;
  readonly containers: readonly ContainerView[];
  readonly exitedContainers: readonly ContainerView[];
  /** Keyed by bridge process keys. */
  readonly access: readonly AccessObservation[];
  /** Failed syscalls (`err` records) of the interval, keyed by bridge process keys. */
  readonly errors: readonly SyscallErrorCount[];
}

// ---- pure helpers ---------------------------------------------------------------------------------------------------

const SHORT_ID = /^[0-9a-f]{12}$/;

/** The container a bridge process belongs to: its cgroup paths, else sysdig's 12-character container id. */
export function bridgeIdentity(cgroups: string, container: string): Identity {
  const fromPaths = cgroups === '' ? HOST_IDENTITY : resolveMembership(bridgeMembership(cgroups)).identity;
  let identity = fromPaths;
  if (identity.kind === 'host' && SHORT_ID.test(container)) {
    identity = { kind: 'docker', id: container, name: container, cgroup: '' };
  }
  // A container as a whole: Slurm's step and task are per process.
  if (identity.step !== undefined || identity.task !== undefined) {
    const { step: _step, task: _task, ...rest } = identity;
    identity = rest;
  }
  return identity;
}

/** l4proto + address family -> the protocol names /proc/net uses (`tcp`, `tcp6`, `udp`, `udp6`), `ip`/`ip6` when unknown. */
export function bridgeProtocol(r: Pick<IoRecord, 'l4proto' | 'cip' | 'sip'>): string {
  const v6 = (r.sip ?? r.cip ?? '').includes(':');
  const base = r.l4proto === undefined || r.l4proto === '' ? 'ip' : r.l4proto;
  return v6 ? `${base}6` : base;
}

/** An `io` record as an access observation, or undefined for pipes, `other` fds and sockets without a tuple. */
export function observationFromIo(r: IoRecord, processKey: string = bridgeProcessKey(r)): AccessObservation | undefined {
  const bytes = { bytesIn: r.bytes_in, bytesOut: r.bytes_out };
  if (r.kind === 'file') {
    const path = r.path ?? '';
    if (path === '') return undefined;
    const mode = `${r.bytes_in > 0 ? 'r' : ''}${r.bytes_out > 0 ? 'w' : ''}`;
    return { kind: 'file', processKey, path, mode, deleted: false, opens: r.opens, ...bytes, source: 'sysdig' };
  }
  if (r.kind === 'unix') {
    return { kind: 'net', processKey, protocol: 'unix', local: r.path ?? '', remote: '', state: '', opens: r.opens, ...bytes, source: 'sysdig' };
  }
  if (r.kind !== 'net' || r.sip === undefined || r.cip === undefined) return undefined;
  const client = formatEndpoint(r.cip, r.cport ?? 0);
  const server = formatEndpoint(r.sip, r.sport ?? 0);
  const isServer = r.server === true;
  return {
    kind: 'net',
    processKey,
    protocol: bridgeProtocol(r),
    local: isServer ? server : client,
    remote: isServer ? client : server,
    state: r.server === undefined ? '' : isServer ? 'accept' : 'connect',
    opens: r.opens,
    ...bytes,
    source: 'sysdig',
  };
}

function mergeObservation(into: Mutable<AccessObservation>, o: AccessObservation): void {
  into.opens += o.opens;
  into.bytesIn = (into.bytesIn ?? 0) + (o.bytesIn ?? 0);
  into.bytesOut = (into.bytesOut ?? 0) + (o.bytesOut ?? 0);
}

/**
 * The parse counts as one status line, also when nothing was skipped (`--verbose`):
 * 'sysdig bridge: skipped 0 of 244 lines', or describeParseStats()'s line, plus the ingest's own drops.
 */
export function bridgeStatusLine(parse: Readonly<ParseStats>, ingest?: Readonly<IngestStats>): string {
  let line = describeParseStats(parse) ?? `sysdig bridge: skipped 0 of ${parse.lines} lines`;
  if (ingest !== undefined && ingest.orphans > 0) line += `; ${ingest.orphans} records of processes whose identity line was lost`;
  if (ingest !== undefined && ingest.late > 0) line += `; ${ingest.late} late records of exited processes dropped`;
  return line;
}

// ---- the ingest ---------------------------------------------------------------------------------------------------

export class SysdigIngest {
  readonly mode: IngestMode;
  readonly stats: IngestStats = { ticks: 0, processes: 0, files: 0, endpoints: 0, orphans: 0, late: 0, unmatched: 0 };
  private readonly userName: (uid: number) => string;
  private readonly containerMeta: ((identity: Identity) => ContainerMeta | undefined) | undefined;
  private readonly parseStats: (() => Readonly<ParseStats> | undefined) | undefined;

  private hostname = '';
  private ncpu = 0;
  /** Alive processes, and those that exited in the open interval. */
  private readonly procs = new Map<string, Proc>();
  private readonly byPid = new Map<number, string>();
  private readonly recentExits = new Set<string>();
  private readonly containers = new Map<string, ContainerState>();
  private readonly identities = new Map<string, { identity: Identity; key: string }>();
  private readonly files = new Set<string>();
  private readonly endpoints = new Set<string>();

  // The open interval.
  private activity = new Map<string, Activity>();
  private access = new Map<string, Mutable<AccessObservation>>();
  private errors: SyscallErrorCount[] = [];
  private exitedNow: string[] = [];
  private lastTs: number | undefined;
  private openRecords = 0;

  private readonly queue: SysdigInterval[] = [];
  private readonly completion = new Completion();

  constructor(options: SysdigIngestOptions = {}) {
    this.mode = options.mode ?? 'snapshots';
    this.userName = options.userName ?? ((uid) => (uid >= 0 ? String(uid) : ''));
    this.containerMeta = options.containerMeta;
    this.parseStats = options.parseStats;
  }

  /** Folds records in; each `tick` closes the open interval and queues it. */
  push(records: readonly BridgeRecord[]): void {
    for (const r of records) {
      switch (r.t) {
        case 'hello':
          if (r.host !== '') this.hostname = r.host;
          if (r.ncpu > 0) this.ncpu = r.ncpu;
          break;
        case 'proc':
        case 'exec':
          this.identify(r);
          this.note(r.ts);
          break;
        case 'exit': {
          const p = this.lookup(r);
          if (p !== undefined && p.exitedAtMs === undefined) this.exit(p, r.ts);
          this.note(r.ts);
          break;
        }
        case 'cpu': {
          const p = this.lookup(r);
          if (p !== undefined && r.cpu_ns > 0) {
            p.cpuNs += r.cpu_ns;
            this.act(p).cpuNs += r.cpu_ns;
            const c = this.containers.get(p.containerKey);
            if (c !== undefined) c.cpuNs += r.cpu_ns;
          }
          this.note(r.ts);
          break;
        }
        case 'io': {
          const p = this.lookup(r);
          if (p !== undefined) this.io(p, r);
          this.note(r.ts);
          break;
        }
        case 'err': {
          const p = this.lookup(r);
          if (p !== undefined && r.count > 0) {
            this.act(p);
            this.errors.push({ processKey: p.key, syscall: r.syscall, errno: r.errno, count: r.count });
          }
          this.note(r.ts);
          break;
        }
        case 'tick':
          this.close(r.ts, r.dt_ms);
          break;
        case 'end':
          break;
      }
    }
  }

  /** The stream ended: records after the last tick (a cut stream) close one last interval. */
  finish(): void {
    if (this.openRecords > 0 && this.lastTs !== undefined) this.close(this.lastTs, 0);
  }

  /** Closed intervals not taken yet, oldest first. */
  takeIntervals(): SysdigInterval[] {
    return this.queue.splice(0, this.queue.length);
  }

  /** sysdig alone: one Snapshot per closed interval, oldest first. */
  takeSnapshots(): Snapshot[] {
    const gaps = this.gaps();
    return this.takeIntervals().map((i) => this.snapshotOf(i, gaps));
  }

  /** The snapshot an interval stands for (see the module comment). */
  snapshotOf(i: SysdigInterval, gaps: readonly string[] = this.gaps()): Snapshot {
    return {
      timeMs: i.timeMs,
      intervalMs: i.dtMs,
      host: { hostname: this.hostname, ncpu: this.ncpu, memTotalBytes: 0, memUsedBytes: 0 },
      containers: i.containers,
      processes: i.processes,
      exited: { containers: i.exitedContainers, processes: i.exited },
      gaps,
      access: i.access,
      ...(i.errors.length > 0 && { syscallErrors: i.errors }),
    };
  }

  /** What a snapshot's gaps say about the bridge: the skipped-lines line, when lines were skipped. */
  gaps(): string[] {
    const parse = this.parseStats?.();
    const line = parse === undefined ? undefined : describeParseStats(parse);
    return line === undefined ? [] : [line];
  }

  /** See completeSnapshot(). */
  complete(snapshot: Snapshot): Snapshot {
    const completed = this.completion.complete(snapshot, this.takeIntervals(), this);
    const gaps = this.gaps();
    return gaps.length === 0 ? completed : { ...completed, gaps: [...completed.gaps, ...gaps] };
  }

  /** A container's view for a process procfs never saw (completeSnapshot()), without any counter of its own. */
  bareContainerView(key: string): ContainerView | undefined {
    const c = this.containers.get(key);
    return c === undefined ? undefined : this.containerView(key, c, { cpuNs: 0, readBytes: 0, writeBytes: 0 }, 0, 0, false);
  }

  // ---- records ----

  private note(ts: number): void {
    this.lastTs = ts;
    this.openRecords++;
  }

  private resolveContainer(cgroups: string, container: string): { identity: Identity; key: string } {
    const memo = `${container}\u0000${cgroups}`;
    let hit = this.identities.get(memo);
    if (hit === undefined) {
      const identity = bridgeIdentity(cgroups, container);
      hit = { identity, key: containerKey(identity) };
      if (this.identities.size > 4096) this.identities.clear();
      this.identities.set(memo, hit);
    }
    return hit;
  }

  private attach(p: Proc, key: string, identity: Identity): void {
    let c = this.containers.get(key);
    if (c === undefined) {
      c = { identity, alive: 0, cpuNs: 0, readBytes: 0, writeBytes: 0 };
      this.containers.set(key, c);
    }
    c.alive++;
    delete c.emptySince;
    p.containerKey = key;
  }

  private detach(p: Proc, at: number): void {
    const c = this.containers.get(p.containerKey);
    if (c === undefined) return;
    c.alive = Math.max(0, c.alive - 1);
    if (c.alive === 0) c.emptySince = at;
  }

  /** A proc/exec record: a new process, or new identity (exec, or a placeholder learning who it is). */
  private identify(r: IdentityFields & { readonly ts: number }): void {
    const key = bridgeProcessKey(r);
    if (this.recentExits.has(key)) {
      this.stats.late++;
      return;
    }
    const { identity, key: cKey } = this.resolveContainer(r.cgroups, r.container);
    let p = this.procs.get(key);
    if (p === undefined) {
      // A new process on a pid: the one that held it is gone, even if its exit never came.
      const previous = this.byPid.get(r.pid);
      const old = previous === undefined ? undefined : this.procs.get(previous);
      if (old !== undefined && old.exitedAtMs === undefined) this.exit(old, r.ts);
      p = this.create(r, false);
    } else if (p.containerKey !== cKey) {
      this.detach(p, r.ts);
    }
    p.exact = r.start_exact;
    p.ppid = r.ppid;
    p.vpid = r.vpid;
    p.uid = r.uid;
    p.comm = r.comm;
    p.exe = r.exe;
    p.cmdline = r.cmdline;
    p.placeholder = false;
    if (p.containerKey !== cKey) this.attach(p, cKey, identity);
    this.act(p);
  }

  private create(ref: { pid: number; start: number }, placeholder: boolean): Proc {
    const key = bridgeProcessKey(ref);
    const p: Proc = {
      key,
      pid: ref.pid,
      start: ref.start,
      exact: false,
      ppid: -1,
      vpid: -1,
      uid: -1,
      comm: '',
      exe: '',
      cmdline: '',
      containerKey: '',
      placeholder,
      cpuNs: 0,
      readBytes: 0,
      writeBytes: 0,
    };
    this.procs.set(key, p);
    this.byPid.set(ref.pid, key);
    this.stats.processes++;
    if (placeholder) this.attach(p, 'host', HOST_IDENTITY);
    return p;
  }

  /** The process a cpu/io/err record is about; a placeholder when its identity line was lost. */
  private lookup(r: { pid: number; start: number }): Proc | undefined {
    const key = bridgeProcessKey(r);
    const p = this.procs.get(key);
    if (p !== undefined) return p;
    if (this.recentExits.has(key)) {
      this.stats.late++;
      return undefined;
    }
    this.stats.orphans++;
    const previous = this.byPid.get(r.pid);
    const old = previous === undefined ? undefined : this.procs.get(previous);
    if (old !== undefined && old.exitedAtMs === undefined && old.start < r.start) this.exit(old, this.lastTs ?? r.start);
    return this.create(r, true);
  }

  private exit(p: Proc, at: number): void {
    // The store keeps whole milliseconds; the bridge writes microseconds.
    p.exitedAtMs = Math.floor(at);
    this.exitedNow.push(p.key);
    this.act(p);
  }

  private act(p: Proc): Activity {
    let a = this.activity.get(p.key);
    if (a === undefined) {
      a = { cpuNs: 0, readBytes: 0, writeBytes: 0 };
      this.activity.set(p.key, a);
    }
    return a;
  }

  private io(p: Proc, r: IoRecord): void {
    const a = this.act(p);
    if (r.kind === 'file') {
      a.readBytes += r.bytes_in;
      a.writeBytes += r.bytes_out;
      p.readBytes += r.bytes_in;
      p.writeBytes += r.bytes_out;
      const c = this.containers.get(p.containerKey);
      if (c !== undefined) {
        c.readBytes += r.bytes_in;
        c.writeBytes += r.bytes_out;
      }
    }
    const o = observationFromIo(r, p.key);
    if (o === undefined) return;
    const key = accessKey(o);
    const seen = this.access.get(key);
    if (seen === undefined) this.access.set(key, { ...o });
    else mergeObservation(seen, o);
    const distinct = o.kind === 'file' ? this.files : this.endpoints;
    if (distinct.size < DISTINCT_CAP) {
      distinct.add(o.kind === 'file' ? o.path : `${o.protocol} ${o.local} ${o.remote}`);
      this.stats.files = this.files.size;
      this.stats.endpoints = this.endpoints.size;
    }
  }

  // ---- intervals ----

  private processView(p: Proc, a: Activity | undefined, seconds: number): ProcessView {
    const interval: Interval = { cpuNs: a?.cpuNs ?? 0, readBytes: a?.readBytes ?? 0, writeBytes: a?.writeBytes ?? 0 };
    const facts: ProcessFacts = {
      key: p.key,
      pid: p.pid,
      ...(p.vpid >= 0 && { nspid: p.vpid }),
      ppid: p.ppid,
      comm: p.comm,
      cmdline: p.cmdline,
      exe: p.exe,
      uid: p.uid,
      user: p.uid >= 0 ? this.userName(p.uid) : '',
      // sysdig does not report a state; an exited process is X (dead), like procfs's last word on one.
      state: p.exitedAtMs === undefined ? '' : 'X',
      containerKey: p.containerKey,
      kernelThread: false,
      startTimeMs: p.start,
      cpuNs: p.cpuNs,
      // sysdig sees no memory: no base, so no memory percent either.
      rssBytes: 0,
      vsizeBytes: 0,
      threads: 0,
      readBytes: p.readBytes,
      writeBytes: p.writeBytes,
    };
    return processView(facts, interval, seconds, 0, p.exitedAtMs);
  }

  private containerView(key: string, c: ContainerState, sums: Activity, count: number, seconds: number, measured: boolean): ContainerView {
    const gauges: ContainerGauges = {
      cpuSource: 'processes',
      ...(measured && { cpuNs: c.cpuNs, blkReadBytes: c.readBytes, blkWriteBytes: c.writeBytes }),
      processCount: count,
      pressure: {},
    };
    const interval: Interval = measured ? { cpuNs: sums.cpuNs, readBytes: sums.readBytes, writeBytes: sums.writeBytes } : {};
    return buildContainerView(c.identity, key, this.containerMeta?.(c.identity) ?? {}, gauges, interval, seconds, 0);
  }

  private close(ts: number, dtMs: number): void {
    // Whole milliseconds, rounded down so that a tick at x.999 stays in its second's bucket.
    const timeMs = Math.floor(ts);
    const seconds = dtMs / 1000;
    const processes: ProcessView[] = [];
    const exited: ProcessView[] = [];
    const exact = new Set<string>();
    const sums = new Map<string, { activity: Activity; count: number }>();
    const listed = this.mode === 'snapshots' ? this.procs.values() : [...this.activity.keys()].map((k) => this.procs.get(k)!);
    for (const p of listed) {
      const a = this.activity.get(p.key);
      const view = this.processView(p, a, seconds);
      processes.push(view);
      if (p.exitedAtMs !== undefined) exited.push(view);
      if (p.exact) exact.add(p.key);
      let s = sums.get(p.containerKey);
      if (s === undefined) {
        s = { activity: { cpuNs: 0, readBytes: 0, writeBytes: 0 }, count: 0 };
        sums.set(p.containerKey, s);
      }
      s.count++;
      if (a !== undefined) {
        s.activity.cpuNs += a.cpuNs;
        s.activity.readBytes += a.readBytes;
        s.activity.writeBytes += a.writeBytes;
      }
    }

    // The exited leave: their last records were in this interval.
    for (const key of this.exitedNow) {
      const p = this.procs.get(key);
      if (p === undefined) continue;
      this.procs.delete(key);
      if (this.byPid.get(p.pid) === key) this.byPid.delete(p.pid);
      this.detach(p, p.exitedAtMs ?? timeMs);
      this.recentExits.add(key);
      if (this.recentExits.size > RECENT_EXITS) this.recentExits.delete(this.recentExits.values().next().value!);
    }

    const containers: ContainerView[] = [];
    const exitedContainers: ContainerView[] = [];
    if (this.mode === 'snapshots') {
      if (!this.containers.has('host')) this.containers.set('host', { identity: HOST_IDENTITY, alive: 0, cpuNs: 0, readBytes: 0, writeBytes: 0 });
      for (const [key, c] of this.containers) {
        const s = sums.get(key);
        const view = this.containerView(key, c, s?.activity ?? { cpuNs: 0, readBytes: 0, writeBytes: 0 }, s?.count ?? 0, seconds, true);
        containers.push(view);
        // sysdig cannot see a container end (an idle process makes no events): a minute without any known process.
        if (key !== 'host' && c.alive === 0 && c.emptySince !== undefined && timeMs - c.emptySince >= CONTAINER_GONE_MS) {
          exitedContainers.push({ ...view, exitedAtMs: c.emptySince });
          this.containers.delete(key);
        }
      }
    }

    this.queue.push({ timeMs, dtMs, processes, exited, exact, containers, exitedContainers, access: [...this.access.values()], errors: this.errors });
    this.stats.ticks++;
    this.activity = new Map();
    this.access = new Map();
    this.errors = [];
    this.exitedNow = [];
    this.openRecords = 0;
  }
}

// ---- procfs + sysdig ------------------------------------------------------------------------------------------------

interface Seen {
  readonly key: string;
  readonly startTimeMs: number;
  lastSeen: number;
}

/** A sysdig process waiting for its procfs twin (or its exit). */
interface Pending {
  view: ProcessView;
  exact: boolean;
  cpuNs: number;
  access: AccessObservation[];
  errors: SyscallErrorCount[];
  attempts: number;
}

/** Strips the IPv4-mapped prefix procfs shows for an IPv4 peer of a tcp6 socket. */
const plainEndpoint = (e: string): string => e.replace(/^\[::ffff:([0-9.]+)\]/, '$1');

class Completion {
  /** procfs processes by pid, remembered a while after their last sight. */
  private readonly seen = new Map<number, Seen[]>();
  private pending = new Map<string, Pending>();

  complete(snapshot: Snapshot, intervals: readonly SysdigInterval[], ingest: SysdigIngest): Snapshot {
    this.remember(snapshot);
    for (const i of intervals) this.gather(i);

    const access: AccessObservation[] = [];
    const errors: SyscallErrorCount[] = [];
    const added: ProcessView[] = [];
    const addedContainers = new Map<string, ContainerView>();
    const known = new Set(snapshot.containers.map((c) => c.key));
    // Indexed on first use: most ticks match nothing, and the index is of every descriptor on the host.
    let procfsAccess: ReturnType<typeof indexAccess> | undefined;
    const next = new Map<string, Pending>();

    for (const [key, p] of this.pending) {
      const twin = this.match(p.view.pid, p.view.startTimeMs, p.exact);
      if (twin !== undefined) {
        procfsAccess ??= indexAccess(snapshot.access ?? []);
        for (const o of p.access) access.push(adoptProcfsTwin({ ...o, processKey: twin }, procfsAccess));
        for (const e of p.errors) errors.push({ ...e, processKey: twin });
        continue;
      }
      if (p.view.exitedAtMs !== undefined) {
        // Started and exited between two procfs ticks: only sysdig saw it. Its CPU is in its cgroup's counters
        // already, so the container is left alone.
        // Its CPU over this procfs interval, through the one view builder; its bytes are in its access rows.
        const { readBytes: _r, writeBytes: _w, ...facts } = p.view;
        const view = processView(facts, { cpuNs: p.cpuNs }, snapshot.intervalMs / 1000, 0, p.view.exitedAtMs);
        added.push(view);
        access.push(...p.access);
        errors.push(...p.errors);
        if (!known.has(view.containerKey) && !addedContainers.has(view.containerKey)) {
          const c = ingest.bareContainerView(view.containerKey);
          if (c !== undefined) addedContainers.set(c.key, c);
        }
        continue;
      }
      if (++p.attempts >= MAX_ATTEMPTS) {
        ingest.stats.unmatched++;
        continue;
      }
      next.set(key, p);
    }
    this.pending = next;

    if (added.length === 0 && access.length === 0 && errors.length === 0) return snapshot;
    const newContainers = [...addedContainers.values()];
    return {
      ...snapshot,
      containers: newContainers.length === 0 ? snapshot.containers : [...snapshot.containers, ...newContainers],
      processes: added.length === 0 ? snapshot.processes : [...snapshot.processes, ...added],
      exited: {
        // A container procfs never saw gets its end with its process: no later procfs tick will report it.
        containers:
          newContainers.length === 0
            ? snapshot.exited.containers
            : [...snapshot.exited.containers, ...newContainers.map((c) => ({ ...c, exitedAtMs: snapshot.timeMs }))],
        processes: added.length === 0 ? snapshot.exited.processes : [...snapshot.exited.processes, ...added],
      },
      // Only failed syscalls: the access list stays as procfs made it.
      ...((added.length > 0 || access.length > 0) && { access: [...(snapshot.access ?? []), ...access] }),
      ...(errors.length > 0 && { syscallErrors: [...(snapshot.syscallErrors ?? []), ...errors] }),
    };
  }

  private remember(snapshot: Snapshot): void {
    const now = snapshot.timeMs;
    const note = (p: ProcessView): void => {
      if (p.kernelThread) return;
      let list = this.seen.get(p.pid);
      if (list === undefined) {
        list = [];
        this.seen.set(p.pid, list);
      }
      const hit = list.find((s) => s.key === p.key);
      if (hit !== undefined) hit.lastSeen = now;
      else list.push({ key: p.key, startTimeMs: p.startTimeMs, lastSeen: now });
    };
    for (const p of snapshot.processes) note(p);
    for (const p of snapshot.exited.processes) note(p);
    for (const [pid, list] of this.seen) {
      // Copied only when something expired: most pids hold one live process, every tick.
      if (list.every((s) => now - s.lastSeen <= PROCFS_MEMORY_MS)) continue;
      const kept = list.filter((s) => now - s.lastSeen <= PROCFS_MEMORY_MS);
      if (kept.length === 0) this.seen.delete(pid);
      else this.seen.set(pid, kept);
    }
  }

  private gather(i: SysdigInterval): void {
    for (const view of i.processes) {
      let p = this.pending.get(view.key);
      if (p === undefined) {
        p = { view, exact: i.exact.has(view.key), cpuNs: 0, access: [], errors: [], attempts: 0 };
        this.pending.set(view.key, p);
      }
      p.view = view;
      p.exact = i.exact.has(view.key);
      p.cpuNs += view.interval.cpuNs ?? 0;
    }
    for (const o of i.access) this.pending.get(o.processKey)?.access.push(o);
    for (const e of i.errors) this.pending.get(e.processKey)?.errors.push(e);
  }

  /**
   * The procfs key of a bridge process: same pid, and a start that agrees. An exact bridge start is within
   * START_TOLERANCE_MS of procfs's; an inexact one (when the bridge first saw it) is after procfs's start, and the
   * latest such procfs process wins (the pid's newest holder).
   */
  private match(pid: number, start: number, exact: boolean): string | undefined {
    const list = this.seen.get(pid);
    if (list === undefined) return undefined;
    let best: Seen | undefined;
    for (const s of list) {
      const ok = exact ? Math.abs(s.startTimeMs - start) <= START_TOLERANCE_MS : s.startTimeMs <= start + START_TOLERANCE_MS;
      if (ok && (best === undefined || s.startTimeMs > best.startTimeMs)) best = s;
    }
    return best?.key;
  }
}

/** procfs's observations by process and path (files) or by process and endpoints (network). */
export function indexAccess(observations: readonly AccessObservation[]): Map<string, AccessObservation> {
  const index = new Map<string, AccessObservation>();
  for (const o of observations) {
    if (o.source !== 'procfs') continue;
    const key =
      o.kind === 'file' ? `f\u0000${o.processKey}\u0000${o.path}` : `n\u0000${o.processKey}\u0000${plainEndpoint(o.local)}\u0000${plainEndpoint(o.remote)}`;
    if (!index.has(key)) index.set(key, o);
  }
  return index;
}

/**
 * A sysdig (or bpftrace) observation of a process procfs saw takes procfs's descriptor and mode (files) or descriptor, protocol and
 * state (network) when procfs has the same file or connection open, so both land in one access interval: procfs says
 * it is open, sysdig adds the bytes and opens.
 */
export function adoptProcfsTwin(o: AccessObservation, procfs: ReadonlyMap<string, AccessObservation>): AccessObservation {
  if (o.kind === 'file') {
    const twin = procfs.get(`f\u0000${o.processKey}\u0000${o.path}`);
    return twin?.kind === 'file' ? { ...o, ...(twin.fd !== undefined && { fd: twin.fd }), mode: twin.mode, deleted: twin.deleted } : o;
  }
  const twin = procfs.get(`n\u0000${o.processKey}\u0000${plainEndpoint(o.local)}\u0000${plainEndpoint(o.remote)}`);
  return twin?.kind === 'net'
    ? { ...o, ...(twin.fd !== undefined && { fd: twin.fd }), protocol: twin.protocol, local: twin.local, remote: twin.remote, state: twin.state }
    : o;
}

/**
 * procfs + sysdig: `snapshot` (from procfs) completed with what sysdig saw since the previous call. sysdig's access
 * observations move onto procfs's process keys (same pid, start within START_TOLERANCE_MS); processes that started
 * and exited between two procfs ticks are added to `processes` and `exited.processes` with their sysdig CPU, so they
 * get rows. Processes and containers procfs measured keep procfs's figures: sysdig adds no CPU or bytes to them.
 * A sysdig process still running but not in procfs yet waits for the next snapshots.
 */
export function completeSnapshot(snapshot: Snapshot, ingest: SysdigIngest): Snapshot {
  return ingest.complete(snapshot);
}
