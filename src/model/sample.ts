/**
 * A Sample is one tick of raw cumulative counters from every enabled source. It holds no rates: those are derived by
 * the pure toSnapshot(sample, previous). Optional fields are gaps (a source that could not be read), never zeros.
 */
import type { AccessObservation } from './access.js';
import type { Identity } from './identity.js';

/** Per-process counters, keyed by pid + start time so a reused pid is a new process. */
export interface ProcessSample {
  /** `${pid}:${startTicks}`. */
  readonly key: string;
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22). */
  readonly startTicks: number;
  /** Start time, epoch milliseconds. */
  readonly startTimeMs: number;
  readonly ppid: number;
  readonly comm: string;
  /** Arguments joined by spaces; empty for kernel threads and zombies. */
  readonly cmdline: string;
  /** Target of /proc/PID/exe, ` (deleted)` kept; empty when unreadable. */
  readonly exe: string;
  readonly uid: number;
  readonly user: string;
  /** One letter: R S D Z T t X I ... */
  readonly state: string;
  /** utime + stime of all threads, nanoseconds. */
  readonly cpuNs: number;
  /**
   * cutime + cstime (stat fields 16-17), nanoseconds: the whole CPU time of the children it reaped, theirs included.
   * Set by the procfs collector only: where it is set, readBytes/writeBytes also include the reaped children's bytes
   * (the kernel adds them to the parent's io), which toSnapshot takes out again (see reapedByParent there).
   */
  readonly childCpuNs?: number;
  readonly rssBytes: number;
  readonly vsizeBytes: number;
  readonly threads: number;
  /** Storage-layer bytes from /proc/PID/io; undefined when io is not readable (needs root or same user). */
  readonly readBytes?: number;
  readonly writeBytes?: number;
  /** All read/write-family bytes (sockets, pipes, cache). */
  readonly rchar?: number;
  readonly wchar?: number;
  /** PID inside the innermost pid namespace (last NSpid field). */
  readonly nspid?: number;
  /** The key of the container this process belongs to (containerKey()). */
  readonly containerKey: string;
  /** Slurm: the step whose cgroup holds it (`batch`, `extern`, `0`, ...). */
  readonly step?: string;
  readonly kernelThread: boolean;
}

export interface PressureLine {
  readonly avg10: number;
  readonly avg60: number;
  readonly avg300: number;
  /** Cumulative stall time, microseconds. */
  readonly totalUs: number;
}

export interface Pressure {
  readonly some?: PressureLine;
  readonly full?: PressureLine;
}

/** What cgroupfs says about one container cgroup. Every field is optional: v1/v2 and enabled controllers differ. */
export interface CgroupCounters {
  /** Total CPU time, nanoseconds (v1 cpuacct.usage; v2 cpu.stat usage_usec x 1000). */
  readonly cpuUsageNs?: number;
  readonly cpuUserNs?: number;
  readonly cpuSystemNs?: number;
  readonly cpuPeriods?: number;
  readonly cpuThrottledPeriods?: number;
  /** Time throttled, nanoseconds. */
  readonly cpuThrottledNs?: number;
  /** CPU limit in cores (quota / period); undefined when unlimited. */
  readonly cpuLimitCores?: number;
  /** CPUs in its cpuset (v1 cpuset.cpus, v2 cpuset.cpus.effective). */
  readonly cpusetCpus?: number;
  readonly memoryUsageBytes?: number;
  /** usage - inactive_file, clamped at 0. */
  readonly memoryWorkingSetBytes?: number;
  /** undefined when unlimited. */
  readonly memoryLimitBytes?: number;
  readonly memoryPeakBytes?: number;
  readonly oomKills?: number;
  readonly ioReadBytes?: number;
  readonly ioWriteBytes?: number;
  /** Tasks (threads) in the cgroup. */
  readonly pids?: number;
  readonly pidsLimit?: number;
  readonly cpuPressure?: Pressure;
  readonly memoryPressure?: Pressure;
  readonly ioPressure?: Pressure;
}

/** Docker's (or another runtime's) word on a container, kept current by the event stream. */
export interface ContainerMeta {
  readonly name?: string;
  readonly image?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** running, exited, paused, ... */
  readonly state?: string;
  readonly startedAtMs?: number;
  readonly finishedAtMs?: number;
  readonly exitCode?: number;
  /** Docker: the kernel OOM-killed a process of the container in its last run (State.OOMKilled, or an `oom` event). */
  readonly oomKilled?: boolean;
  /** Docker: the container's IP addresses on its networks (NetworkSettings), to name it at the other end of a socket. */
  readonly addresses?: readonly string[];
  /** Slurm: job name and user from the task environment. */
  readonly jobName?: string;
  readonly jobUser?: string;
  /** Slurm: whether the job has a memory request (SLURM_MEM_PER_NODE/CPU/GPU in a task's environment). */
  readonly memoryRequested?: boolean;
  /** Slurm: the job's partition (SLURM_JOB_PARTITION) and the CPUs it was given on this node (SLURM_CPUS_ON_NODE). */
  readonly partition?: string;
  readonly cpusOnNode?: number;
}

export interface ContainerSample {
  readonly key: string;
  readonly identity: Identity;
  readonly meta: ContainerMeta;
  readonly cgroup: CgroupCounters;
  /** Cumulative bytes over the container's network namespace (loopback excluded); undefined when it shares the host's. */
  readonly netRxBytes?: number;
  readonly netTxBytes?: number;
  /**
   * Monotonic time (ns, the clock of Sample.monoNs) when `cgroup` was read: rates of cgroup counters divide by the
   * difference of this between two samples (readSeconds() in model/read-time.ts), not by the samples' start times.
   */
  readonly cgroupMonoNs?: number;
  /**
   * Monotonic time (ns) when the network namespace's counters were read. Equal in two samples when this tick could not
   * read the namespace and repeats the last read: the delta is 0 and the bytes show in the next interval.
   */
  readonly netMonoNs?: number;
  /** Keys of the processes in this container this tick. */
  readonly processKeys: readonly string[];
  /** Slurm: the steps seen this tick (`batch`, `0`, ...). */
  readonly steps?: readonly string[];
}

export interface HostSample {
  readonly hostname: string;
  readonly ncpu: number;
  /** Sum of the first 8 fields of the `cpu` line of /proc/stat (guest time is already in user), clock ticks. */
  readonly cpuTotalTicks: number;
  /** idle + iowait, clock ticks. */
  readonly cpuIdleTicks: number;
  readonly memTotalBytes: number;
  readonly memAvailableBytes: number;
  readonly bootTimeMs: number;
}

export interface Sample {
  /** Wall clock, epoch milliseconds. */
  readonly timeMs: number;
  /** Monotonic clock, nanoseconds as a float (process.hrtime.bigint), at the start of the tick. */
  readonly monoNs: number;
  /** Monotonic time (ns) when /proc/stat and /proc/meminfo (`host`) were read; rates of host counters use it. */
  readonly hostMonoNs?: number;
  /**
   * Monotonic time (ns) of the middle of the procfs pass that read `processes` (each process's stat and io are read
   * in pid order within it); per-process rates use it.
   */
  readonly processesMonoNs?: number;
  readonly host: HostSample;
  readonly processes: ReadonlyMap<string, ProcessSample>;
  /**
   * Keys of processes whose sample is unchanged since the previous tick of the same sampler (not scheduled, or nothing
   * moved): every delta of theirs is 0 and a view built from the previous sample holds. Absent on a first tick.
   */
  readonly unchanged?: ReadonlySet<string>;
  readonly containers: ReadonlyMap<string, ContainerSample>;
  /** What could not be read this tick and how to get it, one line each (no root, no Docker socket...). */
  readonly gaps: readonly string[];
  /** Files and endpoints processes touched this tick (when descriptors are collected, or from sysdig). */
  readonly access?: readonly AccessObservation[];
}
