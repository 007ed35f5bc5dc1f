/**
 * bpftrace's intervals (collectors/bpf.ts) completing procfs ticks: `record --source bpf` and `procfs+bpf`.
 *
 * The completion itself is the sysdig bridge's (sysdig-ingest.ts, 'complete' mode): each bpftrace interval is turned
 * into the bridge records it stands for (an `exec` with the process's identity, its `cpu`, the files it opened as
 * `io`, its `exit`, then a `tick`), so a process that started and exited between two procfs ticks is added with its
 * container, command, lifetime and CPU, and one procfs saw keeps procfs's figures. Nothing is counted twice and
 * there is one completion to maintain.
 *
 * Choices:
 * - Start times are converted exactly as procfs converts /proc/PID/stat's starttime (boot time + whole clock ticks),
 *   so a process that procfs also saw matches its procfs twin (start_exact).
 * - Container: the exiting task's cgroup v2 id names its directory in the unified hierarchy (the id is the
 *   directory's inode). When that names no container (a v1-only container, as Slurm makes on hybrid hosts), the
 *   parent's /proc/PID/cgroup does: the parent (a job's shell, a container's loop) almost always outlives the child.
 * - Files: only opens of processes that exit within OPEN_WAIT intervals are kept (the program records opens of
 *   processes exec'd less than 2 s ago); longer-lived processes are the descriptor sampler's.
 * - Network: socket bytes of inet and inet6 sockets (unix sockets are not network) per pid since the last procfs
 *   tick go to that tick's process on the pid (procfs's, or a short-lived one just added) as `interval.netRxBytes`
 *   and `netTxBytes`. Bytes of a pid no process holds wait one more tick (its exit may come with the next interval),
 *   then are dropped and counted.
 * - Syscall errors: counted per pid, syscall number and errno in the kernel, named here (syscall-names.ts). Those of a
 *   pid that exits in the interval go with its exit as bridge `err` records, so they follow the process the
 *   completion adds (or its procfs twin); the others go to the tick's process on the pid like socket bytes, waiting
 *   NET_WAIT ticks for one, then dropped and counted.
 * - Connections: each TCP socket's endpoints come with its state changes (sock:inet_sock_set_state) and are kept by
 *   the socket's id until it closes; its bytes come per process and socket. A process's bytes on a socket whose
 *   endpoints are known become a `bpf` network observation of that process (both endpoints, connect or accept, bytes
 *   in and out), so a connection that lasted 50 ms between two ticks still lands in the access intervals. Bytes on
 *   sockets opened before bpftrace started have no endpoints: they count per process only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TickSource } from '../model/tick-source.js';
import { formatEndpoint, type AccessObservation } from '../model/access.js';
import type { ProcessView, Snapshot } from '../model/snapshot.js';
import type { SyscallErrorCount } from '../model/syscall-errors.js';
import { withProcessNet } from '../model/view.js';
import { bpfAvailability, describeBpfStats, runBpftrace, type BpfEvent, type BpfInterval, type BpfRun, type BpfStats } from './bpf.js';
import { readCgroupMounts } from './cgroups.js';
import { parseHostStat } from './procfs.js';
import { parseProcCgroup, resolveMembership, type CgroupMembership } from './identity.js';
import { adoptProcfsTwin, indexAccess, SysdigIngest } from './sysdig-ingest.js';
import { BRIDGE_PROTOCOL_VERSION, type BridgeRecord } from './sysdig.js';
import { errnoName, syscallName } from './syscall-names.js';
import { UserNames } from './users.js';

/** /proc/PID/stat counts start times in USER_HZ ticks (nsec_to_clock_t), whatever the kernel's HZ. */
const USER_HZ = 100;
const NS_PER_TICK = 1e9 / USER_HZ;
const MS_PER_TICK = 1000 / USER_HZ;
/** Intervals an open waits for its process's exit before it is dropped. */
const OPEN_WAIT = 3;
/** Intervals an exec'd file name is kept for the process's exit. */
const EXEC_WAIT = 10;
/** Opens and exec'd files held at most (a host exec'ing faster than this loses the oldest). */
const HELD_MAX = 50_000;
/** Exit codes held for procfs's report of the exit (two keys per exit). */
const CODES_MAX = 20_000;
/** Ticks socket bytes wait for a process on their pid: bpftrace's intervals lag procfs's ticks by one, and by more on a loaded host. */
const NET_WAIT = 4;
/** Address families whose socket bytes are network: AF_INET, AF_INET6. */
const NET_FAMILIES: ReadonlySet<number> = new Set([2, 10]);
/** TCP connections whose endpoints are held at most (the oldest go first). */
const SOCKETS_MAX = 65_536;
/** TCP state numbers (include/net/tcp_states.h). */
const TCP_CLOSE = 7;

/** A TCP socket's endpoints, as the network pane shows them, and the pids already reported on it. */
interface SocketEnds {
  readonly protocol: string;
  readonly local: string;
  readonly remote: string;
  /** connect, accept, or '' when the socket was already open when bpftrace started. */
  readonly state: string;
  readonly reported: Set<number>;
}

/** One process's bytes on one connection, not yet given to a snapshot. */
interface HeldConnection {
  readonly ends: SocketEnds;
  bytesIn: number;
  bytesOut: number;
  opens: number;
}

/** What a process without socket bytes in a measured interval had. */
const NO_NET = { netRxBytes: 0, netTxBytes: 0 } as const;

/** cgroup v2 id (directory inode) -> path in the unified hierarchy, rescanned (at most once per interval) on a miss. */
export class CgroupIds {
  private readonly root: string | undefined;
  private paths = new Map<number, string>();
  private scannedAt = -1;

  constructor(unifiedMount?: string) {
    this.root = unifiedMount;
  }

  /** The path of cgroup `id` ('/' for the root), or undefined when it is not (or no longer) there. */
  pathOf(id: number, interval: number): string | undefined {
    if (this.root === undefined) return undefined;
    const hit = this.paths.get(id);
    if (hit !== undefined || this.scannedAt === interval) return hit;
    this.scannedAt = interval;
    this.paths = scanCgroupIds(this.root);
    return this.paths.get(id);
  }
}

/** Walks a cgroup2 mount: directory inode -> path relative to the mount. */
export function scanCgroupIds(root: string, maxEntries = 100_000): Map<number, string> {
  const out = new Map<number, string>();
  try {
    out.set(statSync(root).ino, '/');
  } catch {
    return out;
  }
  const stack: string[] = [''];
  while (stack.length > 0 && out.size < maxEntries) {
    const rel = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      continue; // removed meanwhile
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const child = `${rel}/${e.name}`;
      try {
        out.set(statSync(join(root, child)).ino, child);
      } catch {
        continue;
      }
      stack.push(child);
    }
  }
  return out;
}

/** A membership as the bridge's `cgroups` text (`memory=/a cpu=/a =/a`), which bridgeIdentity() reads back. */
export function membershipText(m: CgroupMembership): string {
  const pairs = Object.entries(m.v1).map(([c, p]) => `${c}=${p}`);
  if (m.v2 !== undefined) pairs.push(`=${m.v2}`);
  return pairs.join(' ');
}

function readBootTimeMs(): number {
  try {
    return parseHostStat(readFileSync('/proc/stat', 'latin1')).bootTimeSec * 1000;
  } catch {
    return 0;
  }
}

function readMembership(pid: number): CgroupMembership | undefined {
  try {
    return parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'latin1'));
  } catch {
    return undefined;
  }
}

export interface BpfIngestOptions {
  /** Boot time, ms since the epoch (/proc/stat btime). */
  readonly bootTimeMs?: number;
  /** cgroup v2 mount; undefined when there is none. @default from /proc/self/mountinfo */
  readonly unifiedMount?: string | undefined;
  /** Wall clock now, ms. @default Date.now */
  readonly now?: () => number;
  /** A live pid's cgroup membership (the parent's, for attribution). @default /proc/PID/cgroup */
  readonly membershipOf?: (pid: number) => CgroupMembership | undefined;
}

export interface BpfIngestStats {
  /** bpftrace intervals taken. */
  intervals: number;
  /** Exits seen (processes procfs saw and not). */
  exits: number;
  /** Exits attributed through the parent's cgroups (the process's own named no container). */
  byParent: number;
  /** Opens whose process did not exit in time: left to the descriptor sampler. */
  opensDropped: number;
  /** Socket bytes whose pid no process of the snapshot held (a process bpftrace saw and the completion did not add). */
  netBytesDropped: number;
  /** Failed syscalls whose pid no process of the snapshot held in time. */
  errorsDropped: number;
  /** TCP bytes on sockets whose endpoints bpftrace never saw (opened before it started): per process only. */
  socketBytesUnattributed: number;
  /** Connections whose pid no process of the snapshot held. */
  connectionsDropped: number;
}

/** Folds bpftrace intervals into a SysdigIngest in 'complete' mode (see the module comment). */
export class BpfIngest {
  /** Users by the host's passwd, as the procfs sampler names them (bpftrace runs on this host). */
  private readonly users = new UserNames();
  readonly sysdig = new SysdigIngest({ mode: 'complete', userName: (uid) => this.users.name(uid) });
  readonly stats: BpfIngestStats = {
    intervals: 0,
    exits: 0,
    byParent: 0,
    opensDropped: 0,
    netBytesDropped: 0,
    socketBytesUnattributed: 0,
    connectionsDropped: 0,
    errorsDropped: 0,
  };
  private readonly bootTimeMs: number;
  private readonly ids: CgroupIds;
  private readonly now: () => number;
  private readonly membershipOf: (pid: number) => CgroupMembership | undefined;
  private lastMonoNs: number | undefined;
  /** pid -> opens still waiting for the pid's exit, with the interval they came in. */
  private opens = new Map<number, { path: string; count: number; interval: number }[]>();
  private execs = new Map<number, { file: string; interval: number }>();
  /** Socket bytes per pid not yet given to a snapshot; `waited` counts the snapshots that had no process on it. */
  private net = new Map<number, { rx: number; tx: number; waited: number }>();
  /** Failed syscalls per pid not yet given to a snapshot: `syscall\0errno` (names) -> count; `waited` as for `net`. */
  private errs = new Map<number, { counts: Map<string, number>; waited: number }>();
  /** Exit codes of recent exits, by procfs's process key and by the completion's (bridge) key. */
  private readonly codes = new Map<string, number>();
  /** procfs's exits whose code had not come yet, by key. */
  private readonly uncoded = new Map<string, { view: ProcessView; age: number }>();
  /** TCP connections' endpoints by connection id, in the order they were last changed. */
  private readonly sockets = new Map<string, SocketEnds>();
  /** Connections with bytes per pid (by connection id) not yet given to a snapshot; `waited` as for `net`. */
  private readonly connections = new Map<number, { byConnection: Map<string, HeldConnection>; waited: number }>();
  /** Processes procfs reported exited in the last NET_WAIT ticks, by pid. */
  private readonly procfsExits = new Map<number, { view: ProcessView; age: number }>();
  /**
   * Last tick's views without socket bytes, completed, by the view procfs gave: a view toSnapshot reused (the process
   * did not change) is completed to the same object again, so it makes no garbage and later stages see it unchanged.
   */
  private quiet = new Map<ProcessView, ProcessView>();

  constructor(options: BpfIngestOptions = {}) {
    this.bootTimeMs = options.bootTimeMs ?? readBootTimeMs();
    let unified = options.unifiedMount;
    if (!('unifiedMount' in options)) {
      try {
        unified = readCgroupMounts().v2;
      } catch {
        unified = undefined;
      }
    }
    this.ids = new CgroupIds(unified);
    this.now = options.now ?? Date.now;
    this.membershipOf = options.membershipOf ?? readMembership;
  }

  /** The start time procfs would give a process that started `startBootNs` after boot. */
  startMs(startBootNs: number): number {
    return this.bootTimeMs + Math.floor(startBootNs / NS_PER_TICK) * MS_PER_TICK;
  }

  push(events: readonly BpfEvent[]): void {
    for (const e of events) {
      if (e.t === 'hello') this.lastMonoNs = e.monoNs;
      else this.sysdig.push(this.records(e.interval));
    }
  }

  /**
   * A procfs snapshot completed with the processes, opens and socket bytes bpftrace saw since the last call.
   * `netMeasured`: bpftrace ran through the whole interval, so processes without bytes had none.
   */
  complete(snapshot: Snapshot, netMeasured = true): Snapshot {
    let done = this.sysdig.complete(snapshot);
    if (done.access !== snapshot.access && done.access !== undefined) {
      // The completion labels what it adds as sysdig's: these came from bpftrace.
      const before = new Set(snapshot.access ?? []);
      done = { ...done, access: done.access.map((o) => (before.has(o) ? o : { ...o, source: 'bpf' as const })) };
    }
    const byPid = this.pidIndex(done);
    return this.addExitCodes(this.addErrors(this.addConnections(this.addNet(done, netMeasured, byPid), byPid), byPid));
  }

  /**
   * Failed syscalls of pids that did not exit in bpftrace's intervals go to the tick's process on the pid (a live
   * holder first), or to one procfs reported exited in the last ticks; others wait NET_WAIT ticks, then are dropped.
   */
  private addErrors(snapshot: Snapshot, byPid: ReadonlyMap<number, number>): Snapshot {
    if (this.errs.size === 0) return snapshot;
    const errors: SyscallErrorCount[] = [];
    for (const [pid, held] of this.errs) {
      const i = byPid.get(pid);
      const p = (i === undefined ? undefined : snapshot.processes[i]) ?? this.procfsExits.get(pid)?.view;
      if (p === undefined && ++held.waited <= NET_WAIT) continue;
      if (p === undefined) for (const n of held.counts.values()) this.stats.errorsDropped += n;
      else errors.push(...errorCounts(p.key, held.counts));
      this.errs.delete(pid);
    }
    return errors.length === 0 ? snapshot : { ...snapshot, syscallErrors: [...(snapshot.syscallErrors ?? []), ...errors] };
  }

  /**
   * Exited processes (procfs's and the completion's) get the exit code bpftrace saw. procfs can notice an exit a tick
   * before bpftrace's interval reports it: such an exit waits NET_WAIT ticks for its code and is then reported again,
   * with the code (the store sets only the code of a process it already closed).
   */
  private addExitCodes(snapshot: Snapshot): Snapshot {
    const late: ProcessView[] = [];
    for (const [key, w] of this.uncoded) {
      const code = this.codes.get(key);
      if (code !== undefined) {
        this.codes.delete(key);
        late.push({ ...w.view, exitCode: code });
      }
      if (code !== undefined || ++w.age > NET_WAIT) this.uncoded.delete(key);
    }
    if (snapshot.exited.processes.length === 0 && late.length === 0) return snapshot;
    const coded = new Map<ProcessView, ProcessView>();
    for (const p of snapshot.exited.processes) {
      const code = this.codes.get(p.key);
      if (code === undefined) {
        if (!p.kernelThread) this.uncoded.set(p.key, { view: p, age: 0 });
        continue;
      }
      this.codes.delete(p.key);
      coded.set(p, { ...p, exitCode: code });
    }
    if (coded.size === 0 && late.length === 0) return snapshot;
    return {
      ...snapshot,
      processes: coded.size === 0 ? snapshot.processes : snapshot.processes.map((p) => coded.get(p) ?? p),
      exited: { ...snapshot.exited, processes: [...snapshot.exited.processes.map((p) => coded.get(p) ?? p), ...late] },
    };
  }

  /**
   * The processes that sent or received get their socket bytes of the interval. When the interval was measured
   * throughout, the others get 0 (they had none), so a view tells "no traffic" from "not measured".
   */
  private addNet(snapshot: Snapshot, measured: boolean, byPid: ReadonlyMap<number, number>): Snapshot {
    const bytes = new Map<number, { rx: number; tx: number }>();
    const late: ProcessView[] = [];
    for (const [pid, b] of this.net) {
      const i = byPid.get(pid);
      const gone = i === undefined ? this.procfsExits.get(pid)?.view : undefined;
      if (i !== undefined) bytes.set(i, b);
      else if (gone !== undefined) late.push(withProcessNet(gone, { cpuNs: 0, netRxBytes: b.rx, netTxBytes: b.tx }, 0));
      else if (++b.waited <= NET_WAIT) continue;
      else this.stats.netBytesDropped += b.rx + b.tx;
      this.net.delete(pid);
    }
    if (!measured && bytes.size === 0 && late.length === 0) return snapshot;
    const seconds = snapshot.intervalMs / 1000;
    const quiet = new Map<ProcessView, ProcessView>();
    const processes = snapshot.processes.map((p, i) => {
      const b = bytes.get(i);
      if (b !== undefined) return withProcessNet(p, { ...p.interval, netRxBytes: b.rx, netTxBytes: b.tx }, seconds);
      if (!measured || p.kernelThread) return p;
      const done = this.quiet.get(p) ?? withProcessNet(p, { ...p.interval, ...NO_NET }, seconds);
      if (seconds > 0) quiet.set(p, done);
      return done;
    });
    this.quiet = quiet;
    const exited = snapshot.exited.processes.length === 0 ? undefined : new Map(snapshot.processes.map((p, i) => [p, processes[i]!]));
    return {
      ...snapshot,
      // An exited process's last bytes are a row of its own in this tick, like the completion's short-lived ones.
      processes: late.length === 0 ? processes : [...processes, ...late],
      ...(exited !== undefined && { exited: { ...snapshot.exited, processes: snapshot.exited.processes.map((p) => exited.get(p) ?? p) } }),
      ...(measured && { processNetMeasured: true }),
    };
  }

  /**
   * Each process's bytes on connections whose endpoints are known, as `bpf` network observations of the process on
   * its pid (as for socket bytes: the tick's process, one procfs saw exit, or wait NET_WAIT ticks). One procfs also
   * sees open gets procfs's descriptor, protocol and state, so both extend one access interval.
   */
  private addConnections(snapshot: Snapshot, byPid: ReadonlyMap<number, number>): Snapshot {
    if (this.connections.size === 0) return snapshot;
    // Indexed on first use: connections often wait a tick for their process, and the index is of every descriptor.
    let procfs: ReturnType<typeof indexAccess> | undefined;
    const added: AccessObservation[] = [];
    for (const [pid, held] of this.connections) {
      const i = byPid.get(pid);
      const processKey = i !== undefined ? snapshot.processes[i]!.key : this.procfsExits.get(pid)?.view.key;
      if (processKey === undefined) {
        if (++held.waited <= NET_WAIT) continue;
        this.stats.connectionsDropped += held.byConnection.size;
      } else {
        for (const c of held.byConnection.values()) {
          const { protocol, local, remote, state } = c.ends;
          const o: AccessObservation = {
            kind: 'net',
            processKey,
            protocol,
            local,
            remote,
            state,
            opens: c.opens,
            bytesIn: c.bytesIn,
            bytesOut: c.bytesOut,
            source: 'bpf',
          };
          procfs ??= indexAccess(snapshot.access ?? []);
          added.push(adoptProcfsTwin(o, procfs));
        }
      }
      this.connections.delete(pid);
    }
    return added.length === 0 ? snapshot : { ...snapshot, access: [...(snapshot.access ?? []), ...added] };
  }

  /**
   * The snapshot's process index on each pid (a pid's live holder wins over one that exited in the interval), and
   * procfs's exits of this tick and the last ones remembered: their last bytes come with bpftrace's next interval.
   */
  private pidIndex(snapshot: Snapshot): Map<number, number> {
    const byPid = new Map<number, number>();
    snapshot.processes.forEach((p, i) => {
      if (!p.kernelThread && (!byPid.has(p.pid) || p.exitedAtMs === undefined)) byPid.set(p.pid, i);
    });
    for (const [pid, e] of this.procfsExits) if (++e.age > NET_WAIT) this.procfsExits.delete(pid);
    for (const p of snapshot.exited.processes) if (!byPid.has(p.pid)) this.procfsExits.set(p.pid, { view: p, age: 0 });
    return byPid;
  }

  /** The bridge records one interval stands for. */
  records(i: BpfInterval): BridgeRecord[] {
    const n = ++this.stats.intervals;
    const v = BRIDGE_PROTOCOL_VERSION;
    const wallNow = this.now();
    const wallOf = (monoNs: number): number => wallNow - Math.max(0, i.monoNs - monoNs) / 1e6;
    const dtMs = this.lastMonoNs === undefined ? 0 : Math.max(0, (i.monoNs - this.lastMonoNs) / 1e6);
    this.lastMonoNs = i.monoNs;

    for (const [pid, file] of i.execs) {
      this.execs.delete(pid);
      this.execs.set(pid, { file, interval: n });
    }
    for (const b of i.net) {
      if (!NET_FAMILIES.has(b.family)) continue;
      const held = this.net.get(b.pid);
      if (held === undefined) this.net.set(b.pid, { rx: b.rxBytes, tx: b.txBytes, waited: 0 });
      else {
        held.rx += b.rxBytes;
        held.tx += b.txBytes;
      }
    }
    for (const e of i.errors) {
      let held = this.errs.get(e.pid);
      if (held === undefined) this.errs.set(e.pid, (held = { counts: new Map(), waited: 0 }));
      const key = `${syscallName(e.syscall)}\u0000${errnoName(e.errno)}`;
      held.counts.set(key, (held.counts.get(key) ?? 0) + e.count);
    }
    this.takeConnections(i);
    for (const o of i.opens) {
      let list = this.opens.get(o.pid);
      if (list === undefined) this.opens.set(o.pid, (list = []));
      list.push({ path: o.path, count: o.count, interval: n });
    }

    const out: BridgeRecord[] = [];
    for (const e of i.exits) {
      this.stats.exits++;
      const start = this.startMs(e.startBootNs);
      const at = Math.max(start, wallOf(e.exitMonoNs));
      const exe = this.execs.get(e.pid)?.file ?? '';
      this.execs.delete(e.pid);
      const ref = { v, pid: e.pid, start } as const;
      const code = exitCode(e.code);
      this.codes.set(`${e.pid}:${Math.floor(e.startBootNs / NS_PER_TICK)}`, code);
      this.codes.set(`${e.pid}:${start}`, code);
      out.push({
        ...ref,
        t: 'exec',
        ts: at,
        start_exact: true,
        ppid: e.ppid,
        vpid: -1,
        uid: e.uid,
        comm: e.comm,
        exe,
        // busybox runs an applet by exec'ing /proc/self/exe: its comm says which applet, the path says nothing.
        cmdline: exe === '' || exe === '/proc/self/exe' ? e.comm : exe,
        container: '',
        cgroups: this.cgroupsOf(e.cgroupId, e.ppid, n),
      });
      out.push({ ...ref, t: 'cpu', ts: at, cpu_ns: e.cpuNs, run_ns: 0 });
      for (const o of this.opens.get(e.pid) ?? []) {
        out.push({ ...ref, t: 'io', ts: at, fd: 0, kind: 'file', path: o.path, bytes_in: 0, bytes_out: 0, opens: o.count, ops: 0 });
      }
      this.opens.delete(e.pid);
      for (const err of errorCounts('', this.errs.get(e.pid)?.counts)) {
        out.push({ ...ref, t: 'err', ts: at, syscall: err.syscall, errno: err.errno, count: err.count });
      }
      this.errs.delete(e.pid);
      out.push({ ...ref, t: 'exit', ts: at, status: e.code });
    }
    this.expire(n);
    // procfs reports an exit a tick after bpftrace at most; older codes are of processes nobody will report.
    for (const key of this.codes.keys()) {
      if (this.codes.size <= CODES_MAX) break;
      this.codes.delete(key);
    }
    out.push({ v, t: 'tick', ts: wallNow, dt_ms: dtMs, events: 0 });
    return out;
  }

  /** An interval's TCP endpoints and bytes per process and socket (see addConnections). */
  private takeConnections(i: BpfInterval): void {
    for (const c of i.connections) {
      const known = this.sockets.get(c.id);
      this.sockets.delete(c.id);
      this.sockets.set(c.id, {
        protocol: c.localAddress.includes(':') ? 'tcp6' : 'tcp',
        local: formatEndpoint(c.localAddress, c.localPort),
        remote: formatEndpoint(c.remoteAddress, c.remotePort),
        state: c.side === 1 ? 'connect' : c.side === 2 ? 'accept' : '',
        reported: known?.reported ?? new Set(),
      });
    }
    for (const b of i.socketBytes) {
      const ends = this.sockets.get(b.id);
      if (ends === undefined) {
        this.stats.socketBytesUnattributed += b.rxBytes + b.txBytes;
        continue;
      }
      let held = this.connections.get(b.pid);
      if (held === undefined) this.connections.set(b.pid, (held = { byConnection: new Map(), waited: 0 }));
      const c = held.byConnection.get(b.id);
      // A process's first bytes on a connection count as its open of it (the access intervals count opens).
      const opens = ends.reported.has(b.pid) ? 0 : 1;
      ends.reported.add(b.pid);
      if (c === undefined) held.byConnection.set(b.id, { ends, bytesIn: b.rxBytes, bytesOut: b.txBytes, opens });
      else {
        c.bytesIn += b.rxBytes;
        c.bytesOut += b.txBytes;
        c.opens += opens;
      }
    }
    // A closed connection is forgotten once its last bytes were taken (its socket's address is reused).
    for (const c of i.connections) if (c.state === TCP_CLOSE) this.sockets.delete(c.id);
    for (const sock of this.sockets.keys()) {
      if (this.sockets.size <= SOCKETS_MAX) break;
      this.sockets.delete(sock);
    }
  }

  /** The `cgroups` text of an exited process: its own v2 cgroup when that names a container, else its parent's. */
  private cgroupsOf(cgroupId: number, ppid: number, interval: number): string {
    const path = this.ids.pathOf(cgroupId, interval);
    const own: CgroupMembership | undefined = path === undefined ? undefined : { v2: path, v1: {}, deleted: false };
    if (own !== undefined && resolveMembership(own).identity.kind !== 'host') return membershipText(own);
    const parent = ppid > 0 ? this.membershipOf(ppid) : undefined;
    if (parent !== undefined && resolveMembership(parent).identity.kind !== 'host') {
      this.stats.byParent++;
      return membershipText(parent);
    }
    return own === undefined ? '' : membershipText(own);
  }

  private expire(n: number): void {
    let held = 0;
    for (const [pid, list] of this.opens) {
      // Their process had OPEN_WAIT intervals (this one included) to exit.
      const kept = list.filter((o) => n - o.interval < OPEN_WAIT - 1);
      this.stats.opensDropped += list.length - kept.length;
      if (kept.length === 0) this.opens.delete(pid);
      else if (kept.length !== list.length) this.opens.set(pid, kept);
      held += kept.length;
    }
    if (held > HELD_MAX) {
      for (const [pid, list] of this.opens) {
        if (held <= HELD_MAX) break;
        this.stats.opensDropped += list.length;
        held -= list.length;
        this.opens.delete(pid);
      }
    }
    for (const [pid, e] of this.execs) {
      if (n - e.interval < EXEC_WAIT && this.execs.size <= HELD_MAX) break; // insertion order: the rest are newer
      this.execs.delete(pid);
    }
  }
}

/** Held counts (`syscall\0errno` -> count) as the model's shape. */
function errorCounts(processKey: string, counts: ReadonlyMap<string, number> | undefined): SyscallErrorCount[] {
  const out: SyscallErrorCount[] = [];
  for (const [key, count] of counts ?? []) {
    const [syscall, errno] = key.split('\u0000') as [string, string];
    out.push({ processKey, syscall, errno, count });
  }
  return out;
}

/** A raw wait status as a shell's `$?`: the exit status, or 128 + the signal number that killed it. */
export function exitCode(status: number): number {
  const signal = status & 0x7f;
  return signal === 0 ? (status >> 8) & 0xff : 128 + signal;
}

// ---- the tick source ---------------------------------------------------------------------------------------------

export interface BpfSourceOptions {
  readonly intervalMs: number;
  /** The syscall-error probe. @default true (see BpfRunOptions.errors) */
  readonly errors?: boolean;
  /** The files-opened probes. @default true (see BpfRunOptions.files) */
  readonly files?: boolean;
  /** The bpftrace binary. @default from PATH */
  readonly bin?: string;
  /** Test hook: a BpfIngest with fixed clocks. */
  readonly ingest?: BpfIngest;
}

/** Restarts after bpftrace died on its own, at most this many, each after RESTART_DELAY_MS. */
export const MAX_RESTARTS = 3;
const RESTART_DELAY_MS = 2000;

/**
 * bpftrace as a TickSource. bpftrace dying, being killed or printing garbage is counted and survived: procfs goes
 * on, gap() says so, and a bpftrace that ended on its own is started again (MAX_RESTARTS times).
 */
export class BpfTickSource implements TickSource {
  readonly ingest: BpfIngest;
  /** Times bpftrace ended on its own (killed, crashed). */
  deaths = 0;
  private readonly options: BpfSourceOptions;
  private run: BpfRun | undefined;
  private failure: string | undefined;
  private closed = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Parse counts of runs that ended, added to the current run's. */
  private readonly past: BpfStats[] = [];
  private attached: (() => void) | undefined;
  private coveredTicks = 0;
  /** The current run ended: its counts are in `past` already. */
  private runEnded = false;
  /** Why bpftrace last ended, one line (undefined until it did). */
  private lastEnd: string | undefined;
  private gaveUp = false;

  constructor(options: BpfSourceOptions) {
    this.options = options;
    this.ingest = options.ingest ?? new BpfIngest();
    this.start();
  }

  /** The bpftrace process now running (tests kill it). */
  get pid(): number | undefined {
    return this.run?.pid;
  }

  get started(): boolean {
    return this.run?.started === true;
  }

  /** Parse counts over every run. */
  get stats(): BpfStats {
    const all = [...this.past, ...(this.run === undefined || this.runEnded ? [] : [this.run.stats])];
    const sum = { ...all[0]! };
    for (const s of all.slice(1)) for (const k of Object.keys(sum) as (keyof BpfStats)[]) sum[k] += s[k];
    return sum;
  }

  private start(): void {
    const run = runBpftrace(
      {
        intervalMs: Math.max(10, Math.round(this.options.intervalMs)),
        ...(this.options.errors !== undefined && { errors: this.options.errors }),
        ...(this.options.files !== undefined && { files: this.options.files }),
        ...(this.options.bin !== undefined && { bin: this.options.bin }),
      },
      (events) => {
        this.ingest.push(events);
        if (events.some((e) => e.t === 'hello')) {
          this.failure = undefined;
          const attached = this.attached;
          this.attached = undefined;
          attached?.();
        }
      },
    );
    this.run = run;
    this.runEnded = false;
    run.done.then(
      () => undefined,
      (error: unknown) => {
        if (this.closed) return;
        this.past.push({ ...run.stats });
        this.runEnded = true;
        const why = error instanceof Error ? error.message : String(error);
        this.lastEnd = why;
        if (!run.started) {
          // It never attached: starting it again would fail the same way.
          this.gaveUp = true;
          this.failure = `${why}; recording procfs only`;
          return;
        }
        this.deaths++;
        if (this.deaths > MAX_RESTARTS) {
          this.gaveUp = true;
          this.failure = `${why} ${this.deaths} times; recording procfs only`;
          return;
        }
        this.failure = `${why}; procfs goes on, restarting bpftrace (${this.deaths} of ${MAX_RESTARTS})`;
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          if (!this.closed) this.start();
        }, RESTART_DELAY_MS);
        this.restartTimer.unref();
      },
    );
  }

  /**
   * What bpftrace is doing, for a status line: compiling and attaching its probes, running, waiting to be started again
   * after it died (`restarting`), or given up (it never attached, or died more than MAX_RESTARTS times); `why` is its
   * last end.
   */
  get state(): { readonly phase: 'attaching' | 'running' | 'restarting' | 'failed'; readonly why?: string } {
    const why = this.lastEnd === undefined ? {} : { why: this.lastEnd };
    if (this.gaveUp) return { phase: 'failed', ...why };
    if (this.runEnded || this.restartTimer !== undefined) return { phase: 'restarting', ...why };
    return { phase: this.started ? 'running' : 'attaching', ...why };
  }

  /** Called once, when bpftrace's probes are first attached (its compile and attach take seconds). */
  onAttached(listener: () => void): void {
    if (this.started) listener();
    else this.attached = listener;
  }

  complete(snapshot: Snapshot): Snapshot {
    // Socket bytes cover a whole interval from the second tick after the probes attached, until bpftrace fails.
    const running = this.started && this.failure === undefined;
    this.coveredTicks = running ? this.coveredTicks + 1 : 0;
    const done = this.ingest.complete(snapshot, this.coveredTicks >= 2);
    // The errors pane tells "none failed" from "not counted": with the probe on through the interval, it was counted.
    const counted = this.coveredTicks >= 2 && this.options.errors !== false;
    return counted && done.syscallErrors === undefined ? { ...done, syscallErrors: [] } : done;
  }

  gap(): string | undefined {
    return this.failure ?? describeBpfStats(this.stats);
  }

  /** Stops bpftrace and waits for it to end. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.run?.stop();
    await this.run?.done.catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.run?.stop();
  }
}

/** Whether the bpf source can run here; re-exported so commands need one import. */
export { bpfAvailability };
