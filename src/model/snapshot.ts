/**
 * Snapshot: what one moment looks like, with rates. toSnapshot(sample, previous) is pure: live mode feeds it two
 * consecutive Samples, replay feeds it Samples rebuilt from the store, so every view shows the same figures.
 */
import type { AccessObservation } from './access.js';
import type { ContainerKind } from './identity.js';
import type { ContainerSample, PressureLine, ProcessSample, Sample } from './sample.js';

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
  readonly interval: Interval;
  /** Set on processes that disappeared during the interval: when they were last missed. */
  readonly exitedAtMs?: number;
}

export interface PressureView {
  /** `some` avg10, percent of time stalled. */
  readonly cpu?: number;
  readonly memory?: number;
  readonly io?: number;
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
  readonly interval: Interval;
  readonly exitedAtMs?: number;
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
}

/** current - previous; undefined when either side is missing or the counter went backwards (reset). */
export function delta(current: number | undefined, previous: number | undefined): number | undefined {
  if (current === undefined || previous === undefined || current < previous) return undefined;
  return current - previous;
}

/** An interval's delta per second; undefined without a delta or an interval. */
function perSecond(d: number | undefined, seconds: number): number | undefined {
  return d === undefined || seconds <= 0 ? undefined : d / seconds;
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
  // Started during the interval: everything it did, it did since the previous sample.
  if (previousTimeMs !== undefined && proc.startTimeMs >= previousTimeMs) return now;
  return undefined;
}

function processView(
  proc: ProcessSample,
  prev: ProcessSample | undefined,
  previous: Sample | undefined,
  seconds: number,
  memoryBase: number,
  exitedAtMs?: number,
): ProcessView {
  // Built field by field, without spread temporaries: this runs for every process of the host every tick.
  const prevTime = previous?.timeMs;
  const cpu = processDelta(proc, prev, prevTime, PICK_CPU);
  const read = processDelta(proc, prev, prevTime, PICK_READ);
  const write = processDelta(proc, prev, prevTime, PICK_WRITE);
  const span: { -readonly [K in keyof Interval]?: number } = {};
  const view: { -readonly [K in keyof ProcessView]: ProcessView[K] } = {
    key: proc.key,
    pid: proc.pid,
    ppid: proc.ppid,
    comm: proc.comm,
    cmdline: proc.cmdline,
    exe: proc.exe,
    uid: proc.uid,
    user: proc.user,
    state: proc.state,
    containerKey: proc.containerKey,
    kernelThread: proc.kernelThread,
    startTimeMs: proc.startTimeMs,
    cpuNs: proc.cpuNs,
    rssBytes: proc.rssBytes,
    vsizeBytes: proc.vsizeBytes,
    memPercent: memoryBase > 0 ? (proc.rssBytes / memoryBase) * 100 : 0,
    threads: proc.threads,
    interval: span,
  };
  if (proc.nspid !== undefined) view.nspid = proc.nspid;
  if (proc.readBytes !== undefined) view.readBytes = proc.readBytes;
  if (proc.writeBytes !== undefined) view.writeBytes = proc.writeBytes;
  if (seconds > 0) {
    if (cpu !== undefined) {
      view.cpuPercent = (cpu / 1e9 / seconds) * 100;
      span.cpuNs = cpu;
    }
    if (read !== undefined) {
      view.readBytesPerSec = read / seconds;
      span.readBytes = read;
    }
    if (write !== undefined) {
      view.writeBytesPerSec = write / seconds;
      span.writeBytes = write;
    }
  }
  if (exitedAtMs !== undefined) view.exitedAtMs = exitedAtMs;
  return view;
}

function pressureAvg10(line: PressureLine | undefined): number | undefined {
  return line?.avg10;
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

function sumProcesses(container: ContainerSample, sample: Sample, previous: Sample | undefined): ProcessTotals {
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
    const cpu = processDelta(proc, prev, previous?.timeMs, PICK_CPU);
    if (cpu !== undefined) totals.cpuDeltaNs += cpu;
    if (proc.readBytes !== undefined && proc.writeBytes !== undefined) {
      totals.ioKnown = true;
      totals.readBytes += proc.readBytes;
      totals.writeBytes += proc.writeBytes;
      totals.readDelta += processDelta(proc, prev, previous?.timeMs, PICK_READ) ?? 0;
      totals.writeDelta += processDelta(proc, prev, previous?.timeMs, PICK_WRITE) ?? 0;
    }
  }
  return totals;
}

function containerView(
  container: ContainerSample,
  sample: Sample,
  previous: Sample | undefined,
  seconds: number,
  exitedAtMs?: number,
): ContainerView {
  const prev = previous?.containers.get(container.key);
  const cg = container.cgroup;
  const pcg = prev?.cgroup;
  const totals = sumProcesses(container, sample, previous);
  const hostMemory = sample.host.memTotalBytes;

  const cpuFromCgroup = cg.cpuUsageNs !== undefined;
  const known = previous !== undefined && seconds > 0;
  // A container none of whose processes existed at the previous sample started in the interval: its cgroup
  // counters began at zero, so all of them belong to this interval.
  const isNew = known && prev === undefined && container.processKeys.every((k) => !previous!.processes.has(k));
  const base = (counter: number | undefined): number | undefined => (isNew && counter !== undefined ? 0 : undefined);
  const cpuDelta = !known ? undefined : cpuFromCgroup ? delta(cg.cpuUsageNs, pcg?.cpuUsageNs ?? base(cg.cpuUsageNs)) : totals.cpuDeltaNs;
  const cpuPercent = cpuDelta === undefined ? undefined : (cpuDelta / 1e9 / seconds) * 100;

  const periods = delta(cg.cpuPeriods, pcg?.cpuPeriods);
  const throttled = delta(cg.cpuThrottledPeriods, pcg?.cpuThrottledPeriods);
  const throttledPercent = periods !== undefined && throttled !== undefined && periods > 0 ? (throttled / periods) * 100 : undefined;

  const blkFromCgroup = cg.ioReadBytes !== undefined && cg.ioWriteBytes !== undefined;
  const readDelta = !known ? undefined : blkFromCgroup ? delta(cg.ioReadBytes, pcg?.ioReadBytes ?? base(cg.ioReadBytes)) : totals.ioKnown ? totals.readDelta : undefined;
  const writeDelta = !known ? undefined : blkFromCgroup ? delta(cg.ioWriteBytes, pcg?.ioWriteBytes ?? base(cg.ioWriteBytes)) : totals.ioKnown ? totals.writeDelta : undefined;
  const rxDelta = known ? delta(container.netRxBytes, prev?.netRxBytes) : undefined;
  const txDelta = known ? delta(container.netTxBytes, prev?.netTxBytes) : undefined;

  const memoryBytes = cg.memoryWorkingSetBytes ?? cg.memoryUsageBytes ?? (totals.count > 0 ? totals.rssBytes : undefined);
  const limit = cg.memoryLimitBytes !== undefined && cg.memoryLimitBytes < hostMemory ? cg.memoryLimitBytes : undefined;
  const memoryPercent = memoryBytes === undefined ? undefined : (memoryBytes / (limit ?? hostMemory)) * 100;

  const meta = container.meta;
  const identity = container.identity;
  const name = meta.name ?? identity.name;
  return {
    key: container.key,
    kind: identity.kind,
    id: identity.id,
    name: identity.kind === 'slurm' && meta.jobName !== undefined ? `${identity.name} ${meta.jobName}` : name,
    cgroup: identity.cgroup,
    ...(meta.image !== undefined && { image: meta.image }),
    ...(meta.labels !== undefined && { labels: meta.labels }),
    ...(meta.state !== undefined && { state: meta.state }),
    ...(meta.exitCode !== undefined && { exitCode: meta.exitCode }),
    ...(identity.parent !== undefined && { parent: identity.parent }),
    ...(container.steps !== undefined && container.steps.length > 0 && { steps: container.steps }),
    ...(meta.jobUser !== undefined && { user: meta.jobUser }),
    ...(cpuPercent !== undefined && { cpuPercent }),
    cpuNs: cg.cpuUsageNs ?? totals.cpuNs,
    cpuSource: cpuFromCgroup ? 'cgroup' : 'processes',
    ...(cg.cpuLimitCores !== undefined && { cpuLimitCores: cg.cpuLimitCores }),
    // A Slurm job's cpuset is its allocation even when it holds every CPU; another container's only when narrowed.
    ...(cg.cpusetCpus !== undefined && (identity.kind === 'slurm' || cg.cpusetCpus < sample.host.ncpu) && { cpusetCpus: cg.cpusetCpus }),
    ...(throttledPercent !== undefined && { throttledPercent }),
    ...(cg.cpuThrottledNs !== undefined && { throttledNs: cg.cpuThrottledNs }),
    ...(memoryBytes !== undefined && { memoryBytes }),
    ...(limit !== undefined && { memoryLimitBytes: limit }),
    ...(memoryPercent !== undefined && { memoryPercent }),
    ...(cg.memoryPeakBytes !== undefined && { memoryPeakBytes: cg.memoryPeakBytes }),
    ...(cg.oomKills !== undefined && { oomKills: cg.oomKills }),
    ...(container.netRxBytes !== undefined && { netRxBytes: container.netRxBytes }),
    ...(container.netTxBytes !== undefined && { netTxBytes: container.netTxBytes }),
    ...optional('netRxBytesPerSec', perSecond(rxDelta, seconds)),
    ...optional('netTxBytesPerSec', perSecond(txDelta, seconds)),
    ...(blkFromCgroup
      ? { blkReadBytes: cg.ioReadBytes, blkWriteBytes: cg.ioWriteBytes }
      : totals.ioKnown
        ? { blkReadBytes: totals.readBytes, blkWriteBytes: totals.writeBytes }
        : {}),
    ...optional('blkReadBytesPerSec', perSecond(readDelta, seconds)),
    ...optional('blkWriteBytesPerSec', perSecond(writeDelta, seconds)),
    ...optional('pids', cg.pids ?? (totals.count > 0 ? totals.threads : undefined)),
    processCount: totals.count,
    pressure: {
      ...optional('cpu', pressureAvg10(cg.cpuPressure?.some)),
      ...optional('memory', pressureAvg10(cg.memoryPressure?.some)),
      ...optional('io', pressureAvg10(cg.ioPressure?.some)),
    },
    interval: interval({ cpuNs: cpuDelta, readBytes: readDelta, writeBytes: writeDelta, netRxBytes: rxDelta, netTxBytes: txDelta }),
    ...(exitedAtMs !== undefined && { exitedAtMs }),
  };
}

/** `{key: value}` when value is defined, `{}` otherwise: keeps optional fields absent rather than undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/** Views of samples that did not change between two ticks (see toSnapshot); weak, so they go with their samples. */
const idleViews = new WeakMap<ProcessSample, { base: number; view: ProcessView }>();

/**
 * Derives rates from two samples. `previous` may be undefined (first sample: no rates yet). Pure: no I/O, no clock.
 * Containers and processes in `previous` but not in `sample` are reported in `exited` with the sample's time.
 */
export function toSnapshot(sample: Sample, previous?: Sample): Snapshot {
  const seconds = previous === undefined ? 0 : Math.max(0, (sample.monoNs - previous.monoNs) / 1e9);
  const hostMemory = sample.host.memTotalBytes;

  const limits = new Map<string, number>();
  const containers: ContainerView[] = [];
  for (const container of sample.containers.values()) {
    const view = containerView(container, sample, previous, seconds);
    containers.push(view);
    if (view.memoryLimitBytes !== undefined) limits.set(view.key, view.memoryLimitBytes);
  }

  const processes: ProcessView[] = [];
  for (const proc of sample.processes.values()) {
    const base = limits.get(proc.containerKey) ?? hostMemory;
    const prev = previous?.processes.get(proc.key);
    if (prev === proc && seconds > 0) {
      // The collector handed out the same sample (the process was not scheduled): every delta is zero, so the view
      // depends on nothing but the sample and the memory base. Views are read-only: sharing one is safe.
      const cached = idleViews.get(proc);
      if (cached !== undefined && cached.base === base) {
        processes.push(cached.view);
        continue;
      }
      const view = processView(proc, prev, previous, seconds, base);
      idleViews.set(proc, { base, view });
      processes.push(view);
      continue;
    }
    processes.push(processView(proc, prev, previous, seconds, base));
  }

  const exitedProcesses: ProcessView[] = [];
  const exitedContainers: ContainerView[] = [];
  if (previous !== undefined) {
    for (const proc of previous.processes.values()) {
      if (sample.processes.has(proc.key)) continue;
      const base = limits.get(proc.containerKey) ?? hostMemory;
      exitedProcesses.push(processView(proc, proc, previous, 0, base, sample.timeMs));
    }
    for (const container of previous.containers.values()) {
      if (sample.containers.has(container.key)) continue;
      exitedContainers.push(containerView(container, previous, undefined, 0, sample.timeMs));
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
