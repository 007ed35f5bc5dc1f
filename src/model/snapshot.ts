/**
 * Snapshot: what one moment looks like, with rates. toSnapshot(sample, previous, last) is pure: it derives the
 * interval's deltas from two consecutive Samples and builds the views with the one view builder (view.ts), which
 * replay (store/history.ts) and the sysdig ingest use too, so every view shows the same figures for the same deltas.
 */
import type { AccessObservation } from './access.js';
import type { ContainerKind } from './identity.js';
import type { ContainerSample, Pressure, PressureLine, ProcessSample, Sample } from './sample.js';
import type { SyscallErrorCount } from './syscall-errors.js';
import { readSeconds } from './read-time.js';
import { containerView, optional, processView, type ContainerGauges } from './view.js';

/**
 * What happened in the interval between the two samples, as exact counter deltas (integers). Rates are these over
 * the interval; the store's tiers add them up, so CPU time and bytes are conserved from tick to year.
 * A field is absent when unknown (first sight of an old process, a counter reset, an unreadable source).
 */
export interface Interval {
  readonly cpuNs?: number;
  readonly readBytes?: number;
  readonly writeBytes?: number;
  readonly netRxBytes?: number;
  readonly netTxBytes?: number;
}

export interface ProcessView {
  readonly key: string;
  readonly pid: number;
  readonly nspid?: number;
  readonly ppid: number;
  readonly comm: string;
  readonly cmdline: string;
  readonly exe: string;
  readonly uid: number;
  readonly user: string;
  readonly state: string;
  readonly containerKey: string;
  /** Slurm: the step it runs in (`batch`, `extern`, `0`, ...); absent where steps are not known (replay, other kinds). */
  readonly step?: string;
  readonly kernelThread: boolean;
  readonly startTimeMs: number;
  /** 100 = one core busy over the interval; undefined on the first sight of a process older than the interval. */
  readonly cpuPercent?: number;
  readonly cpuNs: number;
  readonly rssBytes: number;
  readonly vsizeBytes: number;
  /** RSS over the container's memory limit, or over host memory when unlimited. */
  readonly memPercent: number;
  readonly threads: number;
  readonly readBytes?: number;
  readonly writeBytes?: number;
  readonly readBytesPerSec?: number;
  readonly writeBytesPerSec?: number;
  /** Socket bytes per second (inet and inet6), when a source measures them per process (bpftrace). */
  readonly netRxBytesPerSec?: number;
  readonly netTxBytesPerSec?: number;
  readonly interval: Interval;
  /** Set on processes that disappeared during the interval: when they were last missed. */
  readonly exitedAtMs?: number;
  /** How it exited, when a source saw it (bpftrace): its exit status, or 128 + the signal that killed it. */
  readonly exitCode?: number;
}

export interface PressureView {
  /** `some` avg10, percent of time stalled. */
  readonly cpu?: number;
  readonly memory?: number;
  readonly io?: number;
}

/** Cumulative PSI stall time of one resource, microseconds: `some` (a task waited) and `full` (all tasks did). */
export interface StallTotals {
  readonly someUs?: number;
  readonly fullUs?: number;
}

export interface ContainerView {
  readonly key: string;
  readonly kind: ContainerKind;
  readonly id: string;
  readonly name: string;
  readonly cgroup: string;
  readonly image?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly state?: string;
  readonly exitCode?: number;
  /** When it started (Docker's StartedAt; a Slurm job's oldest process, its slurmstepd): what elapsed time counts from. */
  readonly startedAtMs?: number;
  /** Slurm: the job's partition. */
  readonly partition?: string;
  /** Pod UID (kubernetes) or pod id (podman). */
  readonly parent?: string;
  /** Slurm: steps seen, and the job's user. */
  readonly steps?: readonly string[];
  readonly user?: string;
  readonly cpuPercent?: number;
  /** Cumulative CPU time, nanoseconds. */
  readonly cpuNs?: number;
  /** Where the CPU figure came from: the cgroup's own counter, or the sum of its processes (controller not used). */
  readonly cpuSource: 'cgroup' | 'processes';
  readonly cpuLimitCores?: number;
  /** CPUs of its cpuset: a Slurm job's allocation, or another container's when fewer than the host's (--cpuset-cpus). */
  readonly cpusetCpus?: number;
  /** Share of CFS periods throttled in the interval, percent. */
  readonly throttledPercent?: number;
  readonly throttledNs?: number;
  /** Working set (usage - inactive file) when the memory controller is used, else the sum of process RSS. */
  readonly memoryBytes?: number;
  readonly memoryLimitBytes?: number;
  readonly memoryPercent?: number;
  readonly memoryPeakBytes?: number;
  readonly oomKills?: number;
  readonly netRxBytes?: number;
  readonly netTxBytes?: number;
  readonly netRxBytesPerSec?: number;
  readonly netTxBytesPerSec?: number;
  readonly blkReadBytes?: number;
  readonly blkWriteBytes?: number;
  readonly blkReadBytesPerSec?: number;
  readonly blkWriteBytesPerSec?: number;
  /** Tasks (threads), as docker stats counts them. */
  readonly pids?: number;
  readonly processCount: number;
  readonly pressure: PressureView;
  /** PSI totals (cgroup v2), for counters such as cAdvisor's container_pressure_*_seconds_total. */
  readonly stall?: { readonly cpu?: StallTotals; readonly memory?: StallTotals; readonly io?: StallTotals };
  readonly interval: Interval;
  /**
   * The time its CPU and block I/O deltas are over, ms: between the two reads of its cgroup (or of the processes'
   * counters when the figures are summed from them). The store sums it per bucket (sampled_ms).
   */
  readonly intervalMs?: number;
  readonly exitedAtMs?: number;
  /** Docker: its IP addresses on its networks, which name it at the other end of a socket (model/access.ts peerNames). */
  readonly addresses?: readonly string[];
}

export interface HostView {
  readonly hostname: string;
  readonly ncpu: number;
  readonly cpuPercent?: number;
  readonly memTotalBytes: number;
  readonly memUsedBytes: number;
}

export interface Snapshot {
  readonly timeMs: number;
  /** Wall time between the two samples; 0 for a first sample. */
  readonly intervalMs: number;
  readonly host: HostView;
  readonly containers: readonly ContainerView[];
  readonly processes: readonly ProcessView[];
  /** What disappeared since the previous sample. */
  readonly exited: { readonly containers: readonly ContainerView[]; readonly processes: readonly ProcessView[] };
  readonly gaps: readonly string[];
  /** Passed through from the sample: what processes touched this tick. */
  readonly access?: readonly AccessObservation[];
  /**
   * Per-process socket bytes were measured this tick (the bpftrace source): a process without `interval.netRxBytes`
   * sent and received nothing. Without it, per-process network is not measured.
   */
  readonly processNetMeasured?: boolean;
  /** Failed syscalls per process in the interval, when a source counts them (bpftrace's error probe, sysdig). */
  readonly syscallErrors?: readonly SyscallErrorCount[];
}

/** current - previous; undefined when either side is missing or the counter went backwards (reset). */
export function delta(current: number | undefined, previous: number | undefined): number | undefined {
  if (current === undefined || previous === undefined || current < previous) return undefined;
  return current - previous;
}

/** The defined fields of an Interval only, so absent stays absent. */
function interval(fields: { [K in keyof Interval]: number | undefined }): Interval {
  const out: { -readonly [K in keyof Interval]?: number } = {};
  for (const [k, v] of Object.entries(fields) as [keyof Interval, number | undefined][]) if (v !== undefined) out[k] = v;
  return out;
}

// Module-level pickers: a function literal per call would be an allocation per process per tick.
const PICK_CPU = (p: ProcessSample): number | undefined => p.cpuNs;
const PICK_READ = (p: ProcessSample): number | undefined => p.readBytes;
const PICK_WRITE = (p: ProcessSample): number | undefined => p.writeBytes;
const PICK_CHILD_CPU = (p: ProcessSample): number | undefined => p.childCpuNs;

/** How early a startTimeMs may read: btime's lost fraction of a second, plus one clock tick. */
const START_SLACK_MS = 1010;

function processDelta(
  proc: ProcessSample,
  prev: ProcessSample | undefined,
  previousTimeMs: number | undefined,
  pick: (p: ProcessSample) => number | undefined,
): number | undefined {
  const now = pick(proc);
  if (now === undefined) return undefined;
  if (prev !== undefined) {
    const before = pick(prev);
    return before === undefined || now < before ? undefined : now - before;
  }
  // Started during the interval: everything it did, it did since the previous sample. startTimeMs counts from btime,
  // which /proc/stat gives in whole seconds, so it reads up to a second early: without the slack most processes first
  // seen a moment after they started were taken for old ones and their first counts lost (and, once their parent
  // reaped them, subtracted from the parent's without ever having been added: see Reaped).
  if (previousTimeMs !== undefined && proc.startTimeMs + START_SLACK_MS >= previousTimeMs) return now;
  return undefined;
}

/**
 * What the children that disappeared in the interval had done when last seen: CPU (their own and their reaped
 * children's) and storage bytes. Reaping adds a child's whole CPU to its parent's cutime/cstime and its io to the
 * parent's io, so the parent's deltas hold what the child did while it was seen (already counted as the child's) plus
 * what it did after: subtracting this leaves the parent's own bytes and, summed over a container, counts each child's
 * work once. A child born and reaped between two samples was never seen: its work stays in the parent's figures.
 */
interface Reaped {
  cpuNs: number;
  readBytes: number;
  writeBytes: number;
}

/**
 * Processes of `previous` gone from `sample`, and what they had done by the key of their parent, when the parent is
 * in `sample` and its counters include its reaped children (childCpuNs is set: procfs). A parent started after the
 * child is a reused pid, not the parent.
 */
function goneProcesses(sample: Sample, previous: Sample | undefined): { gone: ProcessSample[]; reaped: Map<string, Reaped> | undefined } {
  const gone: ProcessSample[] = [];
  if (previous === undefined) return { gone, reaped: undefined };
  for (const proc of previous.processes.values()) if (!sample.processes.has(proc.key)) gone.push(proc);
  if (gone.length === 0) return { gone, reaped: undefined };
  const byPid = new Map<number, ProcessSample>();
  for (const p of sample.processes.values()) byPid.set(p.pid, p);
  // A gone process whose parent went too (sh -> timeout -> yes, all reaped in one interval) hands its counts up the
  // chain: they land in the nearest ancestor still alive, so they are taken off that one's delta.
  const previousByPid = new Map<number, ProcessSample>();
  for (const p of gone) previousByPid.set(p.pid, p);
  let reaped: Map<string, Reaped> | undefined;
  for (const child of gone) {
    let parent = byPid.get(child.ppid);
    let up = previousByPid.get(child.ppid);
    for (let hops = 0; parent === undefined && up !== undefined && hops < 32; hops++) {
      parent = byPid.get(up.ppid);
      up = previousByPid.get(up.ppid);
    }
    if (parent === undefined || parent.childCpuNs === undefined || parent.startTicks > child.startTicks) continue;
    reaped ??= new Map();
    const sum = reaped.get(parent.key) ?? { cpuNs: 0, readBytes: 0, writeBytes: 0 };
    sum.cpuNs += child.cpuNs + (child.childCpuNs ?? 0);
    sum.readBytes += child.readBytes ?? 0;
    sum.writeBytes += child.writeBytes ?? 0;
    reaped.set(parent.key, sum);
  }
  return { gone, reaped };
}

/** The process's deltas over the interval (none without an interval), then the one view builder. */
function liveProcessView(
  proc: ProcessSample,
  prev: ProcessSample | undefined,
  previous: Sample | undefined,
  seconds: number,
  memoryBase: number,
  exitedAtMs?: number,
  reaped?: Reaped,
): ProcessView {
  const span: { -readonly [K in keyof Interval]?: number } = {};
  if (seconds > 0) {
    const prevTime = previous?.timeMs;
    const cpu = processDelta(proc, prev, prevTime, PICK_CPU);
    if (cpu !== undefined) span.cpuNs = cpu;
    // Its own bytes: not those of the children it reaped (a child reaped in the very pass that read the parent shows
    // in the parent's io one tick late: the difference is clamped at 0 here and the container's sum stays exact).
    const read = processDelta(proc, prev, prevTime, PICK_READ);
    if (read !== undefined) span.readBytes = Math.max(0, read - (reaped?.readBytes ?? 0));
    const write = processDelta(proc, prev, prevTime, PICK_WRITE);
    if (write !== undefined) span.writeBytes = Math.max(0, write - (reaped?.writeBytes ?? 0));
  }
  return processView(proc, span, seconds, memoryBase, exitedAtMs);
}

function pressureAvg10(line: PressureLine | undefined): number | undefined {
  return line?.avg10;
}

function stallTotals(pressure: Pressure | undefined): StallTotals | undefined {
  if (pressure?.some === undefined && pressure?.full === undefined) return undefined;
  return { ...optional('someUs', pressure.some?.totalUs), ...optional('fullUs', pressure.full?.totalUs) };
}

interface ProcessTotals {
  cpuDeltaNs: number;
  cpuNs: number;
  rssBytes: number;
  threads: number;
  readBytes: number;
  writeBytes: number;
  readDelta: number;
  writeDelta: number;
  ioKnown: boolean;
  count: number;
}

/**
 * Gauges and deltas summed over a container's processes. The CPU delta counts what processes that came and went did
 * (job CPU without cpuacct): each process's utime+stime delta plus its cutime+cstime delta (the children it reaped),
 * minus what those children had when last seen (counted as theirs then). The bytes likewise (see Reaped).
 */
function sumProcesses(
  container: ContainerSample,
  sample: Sample,
  previous: Sample | undefined,
  reaped: ReadonlyMap<string, Reaped> | undefined,
): ProcessTotals {
  const totals: ProcessTotals = {
    cpuDeltaNs: 0,
    cpuNs: 0,
    rssBytes: 0,
    threads: 0,
    readBytes: 0,
    writeBytes: 0,
    readDelta: 0,
    writeDelta: 0,
    ioKnown: false,
    count: 0,
  };
  for (const key of container.processKeys) {
    const proc = sample.processes.get(key);
    if (proc === undefined) continue;
    const prev = previous?.processes.get(key);
    totals.count++;
    totals.cpuNs += proc.cpuNs;
    totals.rssBytes += proc.rssBytes;
    totals.threads += proc.threads;
    const children = reaped?.get(key);
    const cpu = processDelta(proc, prev, previous?.timeMs, PICK_CPU);
    if (cpu !== undefined) {
      totals.cpuDeltaNs += cpu + (processDelta(proc, prev, previous?.timeMs, PICK_CHILD_CPU) ?? 0) - (children?.cpuNs ?? 0);
    }
    if (proc.readBytes !== undefined && proc.writeBytes !== undefined) {
      totals.ioKnown = true;
      totals.readBytes += proc.readBytes;
      totals.writeBytes += proc.writeBytes;
      const read = processDelta(proc, prev, previous?.timeMs, PICK_READ);
      if (read !== undefined) totals.readDelta += read - (children?.readBytes ?? 0);
      const write = processDelta(proc, prev, previous?.timeMs, PICK_WRITE);
      if (write !== undefined) totals.writeDelta += write - (children?.writeBytes ?? 0);
    }
  }
  // Unclamped per process so a child reaped mid-pass evens out over two ticks; a sum is never negative.
  totals.cpuDeltaNs = Math.max(0, totals.cpuDeltaNs);
  totals.readDelta = Math.max(0, totals.readDelta);
  totals.writeDelta = Math.max(0, totals.writeDelta);
  return totals;
}

/** The container's deltas and gauges from two samples, then the one view builder. */
function liveContainerView(
  container: ContainerSample,
  sample: Sample,
  previous: Sample | undefined,
  seconds: number,
  exitedAtMs?: number,
  reaped?: ReadonlyMap<string, Reaped>,
): ContainerView {
  const prev = previous?.containers.get(container.key);
  const cg = container.cgroup;
  const pcg = prev?.cgroup;
  const totals = sumProcesses(container, sample, previous, reaped);
  const hostMemory = sample.host.memTotalBytes;

  const cpuFromCgroup = cg.cpuUsageNs !== undefined;
  const known = previous !== undefined && seconds > 0;
  // Each counter group over the time between its own two reads (read-time.ts): the cgroup's figures over the cgroup
  // reads, figures summed from processes over the processes' (`seconds`), the network over the namespace's reads. A
  // namespace read reused from the last tick (every process of it left) has a zero delta: over the cgroup's time.
  const cgroupSeconds =
    previous === undefined || !cpuFromCgroup ? seconds : readSeconds(container.cgroupMonoNs, prev?.cgroupMonoNs, sample.monoNs, previous.monoNs);
  const netRead = previous === undefined ? seconds : readSeconds(container.netMonoNs, prev?.netMonoNs, sample.monoNs, previous.monoNs);
  const containerSeconds = { counters: cgroupSeconds, net: netRead > 0 ? netRead : cgroupSeconds };
  // A container none of whose processes existed at the previous sample started in the interval: its cgroup
  // counters began at zero, so all of them belong to this interval.
  const isNew = known && prev === undefined && container.processKeys.every((k) => !previous!.processes.has(k));
  const base = (counter: number | undefined): number | undefined => (isNew && counter !== undefined ? 0 : undefined);
  const cpuDelta = !known ? undefined : cpuFromCgroup ? delta(cg.cpuUsageNs, pcg?.cpuUsageNs ?? base(cg.cpuUsageNs)) : totals.cpuDeltaNs;

  const periods = delta(cg.cpuPeriods, pcg?.cpuPeriods);
  const throttled = delta(cg.cpuThrottledPeriods, pcg?.cpuThrottledPeriods);
  const throttledPercent = periods !== undefined && throttled !== undefined && periods > 0 ? (throttled / periods) * 100 : undefined;

  const blkFromCgroup = cg.ioReadBytes !== undefined && cg.ioWriteBytes !== undefined;
  const readDelta = !known
    ? undefined
    : blkFromCgroup
      ? delta(cg.ioReadBytes, pcg?.ioReadBytes ?? base(cg.ioReadBytes))
      : totals.ioKnown
        ? totals.readDelta
        : undefined;
  const writeDelta = !known
    ? undefined
    : blkFromCgroup
      ? delta(cg.ioWriteBytes, pcg?.ioWriteBytes ?? base(cg.ioWriteBytes))
      : totals.ioKnown
        ? totals.writeDelta
        : undefined;
  const rxDelta = known ? delta(container.netRxBytes, prev?.netRxBytes) : undefined;
  const txDelta = known ? delta(container.netTxBytes, prev?.netTxBytes) : undefined;

  const memoryBytes = cg.memoryWorkingSetBytes ?? cg.memoryUsageBytes ?? (totals.count > 0 ? totals.rssBytes : undefined);
  const limit = shownMemoryLimit(container, hostMemory);

  const gauges: ContainerGauges = {
    cpuSource: cpuFromCgroup ? 'cgroup' : 'processes',
    cpuNs: cg.cpuUsageNs ?? totals.cpuNs,
    ...optional('cpuLimitCores', cg.cpuLimitCores),
    // A Slurm job's cpuset is its allocation even when it holds every CPU (SLURM_CPUS_ON_NODE where the cpuset is not
    // read); another container's only when narrowed.
    ...(container.identity.kind === 'slurm'
      ? optional('cpusetCpus', cg.cpusetCpus ?? container.meta.cpusOnNode)
      : cg.cpusetCpus !== undefined && cg.cpusetCpus < sample.host.ncpu && { cpusetCpus: cg.cpusetCpus }),
    ...optional('throttledPercent', throttledPercent),
    ...optional('throttledNs', cg.cpuThrottledNs),
    ...optional('memoryBytes', memoryBytes),
    ...optional('memoryLimitBytes', limit),
    ...optional('memoryPeakBytes', cg.memoryPeakBytes),
    ...optional('oomKills', cg.oomKills),
    ...optional('netRxBytes', container.netRxBytes),
    ...optional('netTxBytes', container.netTxBytes),
    ...(blkFromCgroup
      ? { blkReadBytes: cg.ioReadBytes, blkWriteBytes: cg.ioWriteBytes }
      : totals.ioKnown
        ? { blkReadBytes: totals.readBytes, blkWriteBytes: totals.writeBytes }
        : {}),
    ...optional('pids', cg.pids ?? (totals.count > 0 ? totals.threads : undefined)),
    processCount: totals.count,
    pressure: {
      ...optional('cpu', pressureAvg10(cg.cpuPressure?.some)),
      ...optional('memory', pressureAvg10(cg.memoryPressure?.some)),
      ...optional('io', pressureAvg10(cg.ioPressure?.some)),
    },
    ...(container.steps !== undefined && { steps: container.steps }),
    ...stall(cg.cpuPressure, cg.memoryPressure, cg.ioPressure),
  };
  const span = interval({ cpuNs: cpuDelta, readBytes: readDelta, writeBytes: writeDelta, netRxBytes: rxDelta, netTxBytes: txDelta });
  return containerView(container.identity, container.key, container.meta, gauges, span, containerSeconds, hostMemory, exitedAtMs);
}

/** Share of the host's memory at or above which a Slurm job's limit with no known request is the node's, not the job's. */
const NODE_MEMORY_SHARE = 0.9;

/**
 * The memory limit a container shows: none when unlimited or not below the host's memory. A Slurm job without a
 * memory request gets the node's memory (RealMemory, a bit under MemTotal) as its cgroup limit: no limit either, as
 * for a Docker container without one. Its task environment says whether it asked (meta.memoryRequested); where no
 * environment was readable, a limit near the host's memory is taken for the node's.
 */
function shownMemoryLimit(container: ContainerSample, hostMemory: number): number | undefined {
  const limit = container.cgroup.memoryLimitBytes;
  if (limit === undefined || limit >= hostMemory) return undefined;
  if (container.identity.kind !== 'slurm') return limit;
  const requested = container.meta.memoryRequested;
  if (requested === false || (requested === undefined && limit >= NODE_MEMORY_SHARE * hostMemory)) return undefined;
  return limit;
}

/** `{stall}` when any resource has PSI totals (cgroup v2), `{}` otherwise. */
function stall(cpu: Pressure | undefined, memory: Pressure | undefined, io: Pressure | undefined): Pick<ContainerView, 'stall'> {
  const totals = { ...optional('cpu', stallTotals(cpu)), ...optional('memory', stallTotals(memory)), ...optional('io', stallTotals(io)) };
  return Object.keys(totals).length === 0 ? {} : { stall: totals };
}

/**
 * Derives rates from two samples. `previous` may be undefined (first sample: no rates yet). Pure: no I/O, no clock,
 * no state between calls. `last` is the Snapshot built for `previous`: a process in `sample.unchanged` (its sample
 * did not change since `previous`, so every delta is zero) keeps last's view when its memory base is the same, which
 * spares a view per idle process per tick. Containers and processes in `previous` but not in `sample` are reported
 * in `exited` with the sample's time.
 */
export function toSnapshot(sample: Sample, previous?: Sample, last?: Snapshot): Snapshot {
  // Processes' counters over the time between the two process passes (a first tick is slower than the next).
  const seconds = previous === undefined ? 0 : readSeconds(sample.processesMonoNs, previous.processesMonoNs, sample.monoNs, previous.monoNs);
  const hostMemory = sample.host.memTotalBytes;

  const { gone, reaped } = goneProcesses(sample, previous);

  const limits = new Map<string, number>();
  const containers: ContainerView[] = [];
  for (const container of sample.containers.values()) {
    const view = liveContainerView(container, sample, previous, seconds, undefined, reaped);
    containers.push(view);
    if (view.memoryLimitBytes !== undefined) limits.set(view.key, view.memoryLimitBytes);
  }

  const unchanged = previous !== undefined && seconds > 0 && last !== undefined && last.timeMs === previous.timeMs ? sample.unchanged : undefined;
  const lastViews = unchanged !== undefined && unchanged.size > 0 ? viewsByKey(last!) : undefined;
  const lastLimits = lastViews === undefined ? undefined : limitsOf(last!);
  const processes: ProcessView[] = [];
  for (const proc of sample.processes.values()) {
    const base = limits.get(proc.containerKey) ?? hostMemory;
    const children = reaped?.get(proc.key);
    if (lastViews !== undefined && children === undefined && unchanged!.has(proc.key)) {
      // Not changed since `previous`: every delta is zero, so the view depends on nothing but the sample and the
      // memory base. Views are read-only: sharing one is safe. Its interval must say zero, not unknown.
      const reused = lastViews.get(proc.key);
      if (reused !== undefined && (lastLimits!.get(proc.containerKey) ?? last!.host.memTotalBytes) === base && isIdle(reused)) {
        processes.push(reused);
        continue;
      }
    }
    processes.push(liveProcessView(proc, previous?.processes.get(proc.key), previous, seconds, base, undefined, children));
  }

  const exitedProcesses: ProcessView[] = [];
  const exitedContainers: ContainerView[] = [];
  if (previous !== undefined) {
    for (const proc of gone) {
      const base = limits.get(proc.containerKey) ?? hostMemory;
      exitedProcesses.push(liveProcessView(proc, proc, previous, 0, base, sample.timeMs));
    }
    for (const container of previous.containers.values()) {
      if (sample.containers.has(container.key)) continue;
      exitedContainers.push(liveContainerView(container, previous, undefined, 0, sample.timeMs));
    }
  }

  const prevHost = previous?.host;
  const totalDelta = prevHost === undefined ? 0 : sample.host.cpuTotalTicks - prevHost.cpuTotalTicks;
  const idleDelta = prevHost === undefined ? 0 : sample.host.cpuIdleTicks - prevHost.cpuIdleTicks;
  const hostCpu = totalDelta > 0 ? ((totalDelta - idleDelta) / totalDelta) * 100 * sample.host.ncpu : undefined;

  return {
    timeMs: sample.timeMs,
    intervalMs: seconds * 1000,
    host: {
      hostname: sample.host.hostname,
      ncpu: sample.host.ncpu,
      ...optional('cpuPercent', hostCpu),
      memTotalBytes: hostMemory,
      memUsedBytes: Math.max(0, hostMemory - sample.host.memAvailableBytes),
    },
    containers,
    processes,
    exited: { containers: exitedContainers, processes: exitedProcesses },
    gaps: sample.gaps,
    ...(sample.access !== undefined && { access: sample.access }),
  };
}

function viewsByKey(snapshot: Snapshot): Map<string, ProcessView> {
  const map = new Map<string, ProcessView>();
  for (const p of snapshot.processes) map.set(p.key, p);
  return map;
}

function limitsOf(snapshot: Snapshot): Map<string, number> {
  const map = new Map<string, number>();
  for (const c of snapshot.containers) if (c.memoryLimitBytes !== undefined) map.set(c.key, c.memoryLimitBytes);
  return map;
}

/** A view whose interval is known and all zero: what an unchanged process shows over any interval. */
function isIdle(view: ProcessView): boolean {
  const d = view.interval;
  return d.cpuNs === 0 && (view.readBytes === undefined || d.readBytes === 0) && (view.writeBytes === undefined || d.writeBytes === 0);
}
