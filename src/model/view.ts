/**
 * The one view builder: every ProcessView and ContainerView (live toSnapshot, replay from the store, sysdig's own
 * intervals) is built here from what its source knows: identity and meta, gauges (memory, threads, pids, cumulative
 * counters), the interval's exact deltas and the interval's length in seconds. Rates are computed here and nowhere
 * else, so live and replay show the same figures for the same inputs.
 */
import type { Identity } from './identity.js';
import type { ContainerMeta } from './sample.js';
import type { ContainerView, Interval, PressureView, ProcessView } from './snapshot.js';

/** An interval's delta per second; undefined without a delta or without an interval. */
export function perSecond(delta: number | undefined, seconds: number): number | undefined {
  return delta === undefined || seconds <= 0 ? undefined : delta / seconds;
}

/** CPU time over an interval in percent, 100 = one core busy; undefined without a delta or an interval. */
export function cpuPercentOf(cpuNs: number | undefined, seconds: number): number | undefined {
  return cpuNs === undefined || seconds <= 0 ? undefined : (cpuNs / 1e9 / seconds) * 100;
}

/**
 * What a process is and holds at the end of the interval (a ProcessSample is one; replay and sysdig build their own):
 * the view's own fields, without what the builder derives (rates, the interval, memory percent, the exit time).
 * cpuNs is cumulative (0 when the source cannot know it, as in replay).
 */
export type ProcessFacts = Pick<
  ProcessView,
  | 'key'
  | 'pid'
  | 'nspid'
  | 'ppid'
  | 'comm'
  | 'cmdline'
  | 'exe'
  | 'uid'
  | 'user'
  | 'state'
  | 'containerKey'
  | 'step'
  | 'kernelThread'
  | 'startTimeMs'
  | 'cpuNs'
  | 'rssBytes'
  | 'vsizeBytes'
  | 'threads'
  | 'readBytes'
  | 'writeBytes'
>;

/**
 * A process's view. `interval` holds the deltas known for the interval (it becomes the view's interval as is);
 * `memoryBase` is the container's memory limit, or the host's memory when unlimited.
 */
export function processView(p: ProcessFacts, interval: Interval, seconds: number, memoryBase: number, exitedAtMs?: number): ProcessView {
  // Built field by field, without spread temporaries: this runs for every process of the host every tick.
  const view: { -readonly [K in keyof ProcessView]: ProcessView[K] } = {
    key: p.key,
    pid: p.pid,
    ppid: p.ppid,
    comm: p.comm,
    cmdline: p.cmdline,
    exe: p.exe,
    uid: p.uid,
    user: p.user,
    state: p.state,
    containerKey: p.containerKey,
    kernelThread: p.kernelThread,
    startTimeMs: p.startTimeMs,
    cpuNs: p.cpuNs,
    rssBytes: p.rssBytes,
    vsizeBytes: p.vsizeBytes,
    memPercent: memoryBase > 0 ? (p.rssBytes / memoryBase) * 100 : 0,
    threads: p.threads,
    interval,
  };
  if (p.nspid !== undefined) view.nspid = p.nspid;
  if (p.step !== undefined) view.step = p.step;
  if (p.readBytes !== undefined) view.readBytes = p.readBytes;
  if (p.writeBytes !== undefined) view.writeBytes = p.writeBytes;
  const cpu = cpuPercentOf(interval.cpuNs, seconds);
  if (cpu !== undefined) view.cpuPercent = cpu;
  const read = perSecond(interval.readBytes, seconds);
  if (read !== undefined) view.readBytesPerSec = read;
  const write = perSecond(interval.writeBytes, seconds);
  if (write !== undefined) view.writeBytesPerSec = write;
  setNetRates(view, interval, seconds);
  if (exitedAtMs !== undefined) view.exitedAtMs = exitedAtMs;
  return view;
}

/** Socket byte rates from the interval's per-process network bytes; absent when no source measured them. */
function setNetRates(view: { netRxBytesPerSec?: number; netTxBytesPerSec?: number }, interval: Interval, seconds: number): void {
  const rx = perSecond(interval.netRxBytes, seconds);
  if (rx !== undefined) view.netRxBytesPerSec = rx;
  const tx = perSecond(interval.netTxBytes, seconds);
  if (tx !== undefined) view.netTxBytesPerSec = tx;
}

/** Socket bytes per second sent and received together (the NET/s column); undefined when not measured. */
export function netBytesPerSec(p: Pick<ProcessView, 'netRxBytesPerSec' | 'netTxBytesPerSec'>): number | undefined {
  return p.netRxBytesPerSec === undefined && p.netTxBytesPerSec === undefined ? undefined : (p.netRxBytesPerSec ?? 0) + (p.netTxBytesPerSec ?? 0);
}

/**
 * `p` with the socket bytes a source measured per process (bpftrace) over the interval: `interval` replaces its
 * interval, and its network rates are over `seconds` (0: none). Its other rates stay those the view was built with.
 */
export function withProcessNet(p: ProcessView, interval: Interval, seconds: number): ProcessView {
  const { netRxBytesPerSec: _rx, netTxBytesPerSec: _tx, ...rest } = p;
  const view: { -readonly [K in keyof ProcessView]: ProcessView[K] } = { ...rest, interval };
  setNetRates(view, interval, seconds);
  return view;
}

/** What a container holds at the end of the interval: gauges and cumulative counters, each absent when unknown. */
export interface ContainerGauges {
  /** Where CPU comes from: the cgroup's own counter, or the sum of its processes (controller not used). */
  readonly cpuSource: 'cgroup' | 'processes';
  readonly cpuNs?: number;
  readonly cpuLimitCores?: number;
  /** CPUs of its cpuset when that is its allocation (a Slurm job's, or narrower than the host). */
  readonly cpusetCpus?: number;
  /** Share of CFS periods throttled in the interval (a ratio of two deltas, not a rate). */
  readonly throttledPercent?: number;
  readonly throttledNs?: number;
  readonly memoryBytes?: number;
  /** The limit as the view shows it: undefined when unlimited (or not below the host's memory). */
  readonly memoryLimitBytes?: number;
  readonly memoryPeakBytes?: number;
  readonly oomKills?: number;
  readonly netRxBytes?: number;
  readonly netTxBytes?: number;
  readonly blkReadBytes?: number;
  readonly blkWriteBytes?: number;
  readonly pids?: number;
  readonly processCount: number;
  readonly pressure: PressureView;
  readonly steps?: readonly string[];
  /** PSI totals (cgroup v2), passed through. */
  readonly stall?: ContainerView['stall'];
}

/**
 * The seconds a container's deltas are over: one figure, or apart for the network namespace when its counters were
 * read at another moment than the cgroup's (each counter group's delta over the time between its two reads).
 */
export type ContainerSeconds = number | { readonly counters: number; readonly net: number };

/**
 * A container's view; memory percent is over its limit, or over `hostMemoryBytes` when unlimited. `seconds`: CPU
 * and block I/O deltas are over `counters`, network deltas over `net`.
 */
export function containerView(
  identity: Pick<Identity, 'kind' | 'id' | 'name' | 'parent' | 'cgroup'>,
  key: string,
  meta: ContainerMeta,
  gauges: ContainerGauges,
  interval: Interval,
  seconds: ContainerSeconds,
  hostMemoryBytes: number,
  exitedAtMs?: number,
): ContainerView {
  const counterSeconds = typeof seconds === 'number' ? seconds : seconds.counters;
  const netSeconds = typeof seconds === 'number' ? seconds : seconds.net;
  const name = meta.name ?? identity.name;
  const cpuPercent = cpuPercentOf(interval.cpuNs, counterSeconds);
  const base = gauges.memoryLimitBytes ?? hostMemoryBytes;
  const memoryPercent = gauges.memoryBytes === undefined || base <= 0 ? undefined : (gauges.memoryBytes / base) * 100;
  const g = gauges;
  return {
    key,
    kind: identity.kind,
    id: identity.id,
    name: identity.kind === 'slurm' && meta.jobName !== undefined ? `${identity.name} ${meta.jobName}` : name,
    cgroup: identity.cgroup,
    ...(meta.image !== undefined && { image: meta.image }),
    ...(meta.labels !== undefined && { labels: meta.labels }),
    ...(meta.state !== undefined && { state: meta.state }),
    ...(meta.exitCode !== undefined && { exitCode: meta.exitCode }),
    ...(meta.startedAtMs !== undefined && { startedAtMs: meta.startedAtMs }),
    ...(meta.partition !== undefined && { partition: meta.partition }),
    ...(identity.parent !== undefined && { parent: identity.parent }),
    ...(g.steps !== undefined && g.steps.length > 0 && { steps: g.steps }),
    ...(meta.jobUser !== undefined && { user: meta.jobUser }),
    ...(meta.addresses !== undefined && { addresses: meta.addresses }),
    ...(cpuPercent !== undefined && { cpuPercent }),
    ...(g.cpuNs !== undefined && { cpuNs: g.cpuNs }),
    cpuSource: g.cpuSource,
    ...(g.cpuLimitCores !== undefined && { cpuLimitCores: g.cpuLimitCores }),
    ...(g.cpusetCpus !== undefined && { cpusetCpus: g.cpusetCpus }),
    ...(g.throttledPercent !== undefined && { throttledPercent: g.throttledPercent }),
    ...(g.throttledNs !== undefined && { throttledNs: g.throttledNs }),
    ...(g.memoryBytes !== undefined && { memoryBytes: g.memoryBytes }),
    ...(g.memoryLimitBytes !== undefined && { memoryLimitBytes: g.memoryLimitBytes }),
    ...(memoryPercent !== undefined && { memoryPercent }),
    ...(g.memoryPeakBytes !== undefined && { memoryPeakBytes: g.memoryPeakBytes }),
    ...(g.oomKills !== undefined && { oomKills: g.oomKills }),
    ...(g.netRxBytes !== undefined && { netRxBytes: g.netRxBytes }),
    ...(g.netTxBytes !== undefined && { netTxBytes: g.netTxBytes }),
    ...optional('netRxBytesPerSec', perSecond(interval.netRxBytes, netSeconds)),
    ...optional('netTxBytesPerSec', perSecond(interval.netTxBytes, netSeconds)),
    ...(g.blkReadBytes !== undefined && { blkReadBytes: g.blkReadBytes }),
    ...(g.blkWriteBytes !== undefined && { blkWriteBytes: g.blkWriteBytes }),
    ...optional('blkReadBytesPerSec', perSecond(interval.readBytes, counterSeconds)),
    ...optional('blkWriteBytesPerSec', perSecond(interval.writeBytes, counterSeconds)),
    ...(g.pids !== undefined && { pids: g.pids }),
    processCount: g.processCount,
    pressure: g.pressure,
    ...(g.stall !== undefined && { stall: g.stall }),
    interval,
    ...(counterSeconds > 0 && { intervalMs: counterSeconds * 1000 }),
    ...(exitedAtMs !== undefined && { exitedAtMs }),
  };
}

/** `{key: value}` when value is defined, `{}` otherwise: keeps optional fields absent rather than undefined. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}
