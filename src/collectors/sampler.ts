/**
 * The one place that ticks: each call to sample() asks every enabled source for its part of one Sample of raw
 * cumulative counters. procfs gives processes; identity maps each process's cgroup to its container (once per
 * process); cgroupfs gives each container's counters; Docker and Slurm name them. Missing sources leave gaps and a
 * line in `gaps`, never an exception.
 */
import os from 'node:os';
import type { ContainerKind, Identity } from '../model/identity.js';
import { containerKey, HOST_IDENTITY } from '../model/identity.js';
import type { CgroupCounters, ContainerMeta, ContainerSample, ProcessSample, Sample } from '../model/sample.js';
import { CgroupReader, readCgroupMounts, type CgroupMounts, type ContainerCgroupPaths } from './cgroups.js';
import type { DockerWatcher } from './docker.js';
import { BubbleInstances } from './instances.js';
import { FdCollector, type ProcessFds } from './fds.js';
import { parseProcCgroup, resolveMembership } from './identity.js';
import type { AccessObservation } from '../model/access.js';
import { observationsFromFds } from './descriptors.js';
import { parseConmonArgs } from './podman.js';
import { ProcfsCollector, ProcReader, type ProcStatic } from './procfs.js';
import { mergeSlurmMeta, SLURM_ENV_KEYS, slurmFacts, slurmJobState, type SlurmFacts } from './slurm.js';
import { UserNames } from './users.js';

export interface SamplerOptions {
  /** Root of procfs. @default '/proc' */
  readonly procRoot?: string;
  /** Where the cgroup hierarchies are mounted; read from `${procRoot}/self/mountinfo` when omitted. */
  readonly cgroupMounts?: CgroupMounts;
  /** @default '/etc/passwd' */
  readonly passwdPath?: string;
  /** Docker metadata; containers show short ids without it. */
  readonly docker?: DockerWatcher;
  /** Wall clock in epoch ms, for tests. */
  readonly now?: () => number;
  /** Monotonic clock in ns, for tests (rates divide by its deltas). */
  readonly monoNs?: () => number;
  /** Read every process's open files and sockets each tick (the store's file and network access). @default false */
  readonly descriptors?: boolean;
  /**
   * A cheaper cadence for the descriptor pass: processes that ran since the last tick are read every tick, idle ones
   * (and each network namespace's socket tables) every N ticks. 1 reads everything every tick. @default 1
   */
  readonly descriptorsEvery?: number;
  /**
   * Where running bubbles register (instances.ts): with descriptors on, this sampler registers its own process there
   * when root, and the descriptor pass leaves every registered bubble out, as it leaves out its own process.
   */
  readonly instancesDir?: string;
}

/** One network namespace's cumulative counters as last read, and when (monotonic ns). */
interface NetRead {
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly monoNs: number;
}

interface Group {
  readonly processKeys: string[];
  readonly steps: Set<string>;
  /** The process that started first (lowest start time, then pid): the one most likely to outlive the tick. */
  oldest: ProcessSample | undefined;
}

interface Resolution {
  readonly identity: Identity;
  readonly paths: ContainerCgroupPaths;
}

/**
 * A job's start and state, kept in its metadata: it started with its oldest process (slurmstepd, placed in the job's
 * cgroup when the job starts), and its state follows its steps. The same object while neither moves.
 */
function withJobProgress(meta: ContainerMeta, group: Group): ContainerMeta {
  const oldest = group.oldest?.startTimeMs;
  const startedAtMs = oldest !== undefined && (meta.startedAtMs === undefined || oldest < meta.startedAtMs) ? oldest : meta.startedAtMs;
  const state = slurmJobState(group.steps);
  if (startedAtMs === meta.startedAtMs && state === meta.state) return meta;
  return { ...meta, state, ...(startedAtMs !== undefined && { startedAtMs }) };
}

interface KnownContainer {
  identity: Identity;
  paths: ContainerCgroupPaths;
  meta: ContainerMeta;
  lastSeenTick: number;
  /** The resolution whose paths were merged last. */
  merged?: Resolution;
}

const EMPTY_PATHS: ContainerCgroupPaths = { v1: {} };
const RUNTIME_KINDS: ReadonlySet<ContainerKind> = new Set(['docker']);

function mergePaths(a: ContainerCgroupPaths, b: ContainerCgroupPaths): ContainerCgroupPaths {
  const v2 = a.v2 ?? b.v2;
  let v1 = a.v1;
  for (const [controller, path] of Object.entries(b.v1)) {
    if (v1[controller] === undefined) v1 = { ...v1, [controller]: path };
  }
  return v1 === a.v1 && v2 === a.v2 ? a : { ...(v2 !== undefined && { v2 }), v1 };
}

/** Strips per-process parts (step, task) so an identity names the container as a whole. */
function containerIdentity(identity: Identity): Identity {
  if (identity.step === undefined && identity.task === undefined) return identity;
  const { step: _step, task: _task, ...rest } = identity;
  return rest;
}

export class Sampler {
  readonly reader: ProcReader;
  readonly cgroups: CgroupReader;
  readonly mounts: CgroupMounts;
  private readonly procfs: ProcfsCollector;
  private readonly users: UserNames;
  private readonly docker: DockerWatcher | undefined;
  private readonly now: () => number;
  private readonly monoNow: () => number;
  private readonly hostname = os.hostname();
  private readonly isRoot = process.getuid?.() === 0;
  /** cgroup file text -> resolution; many processes share one text. */
  private readonly resolutions = new Map<string, Resolution>();
  private readonly resolutionByInfo = new WeakMap<ProcStatic, Resolution>();
  private readonly slurmFactsOf = new WeakMap<ProcStatic, SlurmFacts>();
  private readonly rekeyed = new WeakMap<ProcessSample, ProcessSample>();
  private readonly containers = new Map<string, KnownContainer>();
  /** Podman container id -> name, from conmon's argv. */
  private readonly podmanNames = new Map<string, string>();
  /** SLUID job directory -> numeric job id, learned from task environments and slurmstepd proctitles. */
  private readonly sluidJobs = new Map<string, string>();
  private hostNetNs: string | undefined;
  /** Network namespace (`net:[inode]`) of the processes net/dev was read through, by process key; pruned each tick. */
  private readonly netnsOfProcess = new Map<string, string>();
  /** The namespace each container's counters came from last, and each namespace's last read. */
  private readonly netnsOfContainer = new Map<string, string>();
  private readonly netReads = new Map<string, NetRead>();
  /** The samples handed out last tick, to tell which are unchanged (the same object) this tick. */
  private lastProcesses: ReadonlyMap<string, ProcessSample> | undefined;
  private readonly fds: FdCollector | undefined;
  private readonly descriptorsEvery: number;
  private readonly accessCache = new Map<string, { tick: number; fds: ProcessFds; observations: AccessObservation[] }>();
  private previousProcesses: ReadonlyMap<string, ProcessSample> | undefined;
  private readonly instances: BubbleInstances | undefined;
  private tick = 0;

  constructor(options: SamplerOptions = {}) {
    this.reader = new ProcReader({ root: options.procRoot ?? '/proc' });
    this.mounts = options.cgroupMounts ?? readCgroupMounts(options.procRoot ?? '/proc');
    this.users = new UserNames(options.passwdPath ?? '/etc/passwd');
    this.docker = options.docker;
    this.now = options.now ?? Date.now;
    this.monoNow = options.monoNs ?? (() => Number(process.hrtime.bigint()));
    this.procfs = new ProcfsCollector({
      reader: this.reader,
      users: this.users,
      envKeys: SLURM_ENV_KEYS,
      classify: (info) => this.classify(info),
      // Which processes were not scheduled since the last tick: their stat is not read again, and the descriptor pass
      // knows their tables are unchanged.
      schedstat: true,
    });
    this.cgroups = new CgroupReader(this.mounts);
    // With a cadence N > 1, socket tables (a read costs the kernel a walk of its whole TCP hash, ~1 ms on this host)
    // are re-read every Nth pass too; a new socket is always looked up at once, only states of known ones lag.
    this.descriptorsEvery = Math.max(1, Math.floor(options.descriptorsEvery ?? 1));
    this.fds = options.descriptors === true ? new FdCollector({ root: options.procRoot ?? '/proc', socketTablesEvery: this.descriptorsEvery }) : undefined;
    if (this.fds !== undefined && options.instancesDir !== undefined) {
      this.instances = new BubbleInstances(options.instancesDir);
      // Only root registers: only root can write a directory the others trust.
      const self = this.isRoot ? this.reader.readStat(process.pid) : undefined;
      if (self !== undefined) this.instances.register(process.pid, self.startTicks, (pid, ticks) => this.reader.readStat(pid)?.startTicks === ticks);
    }
  }

  private resolve(cgroupText: string): Resolution {
    let resolution = this.resolutions.get(cgroupText);
    if (resolution === undefined) {
      const { identity, paths } = resolveMembership(parseProcCgroup(cgroupText));
      resolution = identity.kind === 'host' ? { identity: HOST_IDENTITY, paths: EMPTY_PATHS } : { identity, paths };
      // Bounded: cgroup texts of exited containers must not pile up in a long-running recorder.
      if (this.resolutions.size > 4096) this.resolutions.clear();
      this.resolutions.set(cgroupText, resolution);
    }
    return resolution;
  }

  /** resolve() per process, remembered with its static info (which lives as long as the process does not exec). */
  private resolutionOf(info: ProcStatic): Resolution {
    let resolution = this.resolutionByInfo.get(info);
    if (resolution === undefined) {
      resolution = this.resolve(info.cgroupText);
      this.resolutionByInfo.set(info, resolution);
    }
    return resolution;
  }

  /** learnSlurm() once per process static info: comm, cmdline and environment do not change without an exec. */
  private factsOf(identity: Identity, proc: ProcessSample, info: ProcStatic): SlurmFacts {
    let facts = this.slurmFactsOf.get(info);
    if (facts === undefined) {
      facts = this.learnSlurm(identity, proc, info);
      this.slurmFactsOf.set(info, facts);
    }
    return facts;
  }

  private classify(info: ProcStatic): string {
    return containerKey(this.resolutionOf(info).identity);
  }

  /** A Slurm job seen through a SLUID directory is keyed by its numeric id once a process tells it. */
  private slurmKey(identity: Identity): string {
    if (identity.kind !== 'slurm' || identity.sluid === undefined) return containerKey(identity);
    const jobId = this.sluidJobs.get(identity.sluid);
    return jobId === undefined ? containerKey(identity) : `slurm:${jobId}`;
  }

  /** Open files and sockets of a process as of the last descriptor pass (descriptors on); undefined otherwise. */
  descriptorsOf(processKey: string): ProcessFds | undefined {
    return this.accessCache.get(processKey)?.fds;
  }

  /**
   * Reads one tick. Never throws for a vanished process or an unreadable source. `descriptors: false` leaves out this
   * tick's descriptor pass (when descriptors are on): `top`'s two launch ticks, which only need names and CPU; the
   * pass is most of a cold tick's cost (every fd of every process read for the first time).
   */
  sample(options: { readonly descriptors?: boolean } = {}): Sample {
    this.tick++;
    const timeMs = this.now();
    const monoNs = this.monoNow();
    const hostCounters = this.reader.readHost();
    const hostMonoNs = this.monoNow();
    const tick = this.procfs.collect(hostCounters.bootTimeMs);
    // Each process is read somewhere in the pass: its middle is the best single time for all of them.
    const processesMonoNs = (hostMonoNs + this.monoNow()) / 2;

    // Group processes by container; learn Slurm facts from the environment read once per process.
    const groups = new Map<string, Group>();
    // procfs's map, with re-keyed (Slurm) samples put in place: setting an existing key keeps the order.
    const processes = tick.processes;
    for (const proc of tick.processes.values()) {
      const info = tick.statics.get(proc.key);
      const resolution = info === undefined ? undefined : this.resolutionOf(info);
      let sample = proc;
      let key = proc.containerKey;
      const facts = resolution?.identity.kind === 'slurm' && info !== undefined ? this.factsOf(resolution.identity, proc, info) : undefined;
      if (facts !== undefined && resolution !== undefined) {
        key = this.slurmKey(resolution.identity);
        const step = resolution.identity.step;
        if (key !== proc.containerKey || step !== undefined) {
          // procfs hands out the same sample while a process sleeps: so does this, re-keyed (and given its step) once.
          const known = this.rekeyed.get(proc);
          sample =
            known !== undefined && known.containerKey === key && known.step === step
              ? known
              : { ...proc, containerKey: key, ...(step !== undefined && { step }) };
          this.rekeyed.set(proc, sample);
        }
      }
      if (sample !== proc) processes.set(proc.key, sample);
      if (proc.comm === 'conmon') this.learnConmon(proc.cmdline);
      let group = groups.get(key);
      if (group === undefined) {
        group = { processKeys: [], steps: new Set(), oldest: undefined };
        groups.set(key, group);
      }
      group.processKeys.push(proc.key);
      const oldest = group.oldest;
      if (oldest === undefined || proc.startTicks < oldest.startTicks || (proc.startTicks === oldest.startTicks && proc.pid < oldest.pid)) {
        group.oldest = proc;
      }
      if (resolution === undefined || key === 'host') continue;
      if (resolution.identity.step !== undefined) group.steps.add(resolution.identity.step);
      const known = this.noteContainer(key, resolution);
      if (facts !== undefined) known.meta = mergeSlurmMeta(known.meta, facts);
    }
    if (!groups.has('host')) groups.set('host', { processKeys: [], steps: new Set(), oldest: undefined });

    const containers = new Map<string, ContainerSample>();
    for (const [key, group] of groups) {
      const known = key === 'host' ? undefined : this.containers.get(key);
      if (known?.identity.kind === 'slurm') known.meta = withJobProgress(known.meta, group);
      const identity = known?.identity ?? HOST_IDENTITY;
      const cgroupMonoNs = known === undefined ? undefined : this.monoNow();
      const cgroup: CgroupCounters = known === undefined ? {} : this.cgroups.read(known.paths);
      const net = key === 'host' ? undefined : this.readNet(key, group, processes);
      containers.set(key, {
        key,
        identity,
        meta: this.meta(identity, known),
        cgroup,
        ...(cgroupMonoNs !== undefined && { cgroupMonoNs }),
        ...(net !== undefined && { netRxBytes: net.rxBytes, netTxBytes: net.txBytes, netMonoNs: net.monoNs }),
        processKeys: group.processKeys,
        ...(group.steps.size > 0 && { steps: [...group.steps].sort() }),
      });
    }
    // Forget containers not seen for a while (their cgroup paths and metadata).
    for (const [key, known] of this.containers) {
      if (this.tick - known.lastSeenTick <= 60) continue;
      this.containers.delete(key);
      this.cgroups.forget(known.paths);
      this.netnsOfContainer.delete(key);
    }
    for (const key of this.netnsOfProcess.keys()) if (!processes.has(key)) this.netnsOfProcess.delete(key);
    if (this.netReads.size > this.netnsOfContainer.size) {
      const used = new Set(this.netnsOfContainer.values());
      for (const ns of this.netReads.keys()) if (!used.has(ns)) this.netReads.delete(ns);
    }

    // The same object as last tick: procfs hands out the last sample of a process that did not move.
    const last = this.lastProcesses;
    const unchanged = new Set<string>();
    if (last !== undefined) for (const [key, p] of processes) if (last.get(key) === p) unchanged.add(key);
    this.lastProcesses = processes;

    return {
      timeMs,
      monoNs,
      hostMonoNs,
      processesMonoNs,
      host: { hostname: this.hostname, ...hostCounters },
      processes,
      ...(last !== undefined && { unchanged }),
      containers,
      gaps: this.gaps(tick.ioDenied, tick.staticDenied),
      ...(this.fds !== undefined && options.descriptors !== false && { access: this.readAccess(processes, tick.idle) }),
    };
  }

  private noteContainer(key: string, resolution: Resolution): KnownContainer {
    const known = this.containers.get(key);
    if (known !== undefined) {
      known.lastSeenTick = this.tick;
      // Most processes of a container share one resolution: merge each distinct one once.
      if (known.merged !== resolution) {
        known.paths = mergePaths(known.paths, resolution.paths);
        known.merged = resolution;
      }
      return known;
    }
    let identity = containerIdentity(resolution.identity);
    if (identity.kind === 'slurm' && key !== containerKey(identity)) {
      // A SLUID directory whose numeric job id is known: name the job by its id, keep the SLUID.
      const jobId = key.slice('slurm:'.length);
      identity = { ...identity, id: jobId, name: `job ${jobId}` };
    }
    const added: KnownContainer = { identity, paths: resolution.paths, meta: {}, lastSeenTick: this.tick };
    this.containers.set(key, added);
    return added;
  }

  private learnConmon(cmdline: string): void {
    const args = parseConmonArgs(cmdline);
    if (args === undefined || this.podmanNames.get(args.id) === args.name) return;
    if (this.podmanNames.size > 4096) this.podmanNames.clear();
    this.podmanNames.set(args.id, args.name);
  }

  /** Reads what a process says of its Slurm job and learns SLUID -> job id. */
  private learnSlurm(identity: Identity, proc: ProcessSample, info: ProcStatic): SlurmFacts {
    const facts = slurmFacts(proc.comm, proc.cmdline, info.env);
    if (identity.sluid !== undefined && facts.jobId !== undefined && !this.sluidJobs.has(identity.sluid)) {
      // Bounded like podmanNames: a node runs jobs for months; a SLUID forgotten is learnt again from its next task.
      if (this.sluidJobs.size > 4096) this.sluidJobs.clear();
      this.sluidJobs.set(identity.sluid, facts.jobId);
      // What was filed under the SLUID key moves to the job id key.
      this.containers.delete(containerKey(identity));
    }
    return facts;
  }

  private meta(identity: Identity, known: KnownContainer | undefined): ContainerMeta {
    if (RUNTIME_KINDS.has(identity.kind) && this.docker !== undefined) {
      return this.docker.get(identity.id) ?? {};
    }
    if (identity.kind === 'podman') {
      const name = this.podmanNames.get(identity.id);
      return name === undefined ? {} : { name };
    }
    if (identity.kind === 'slurm' && known !== undefined) {
      if (known.meta.jobUser === undefined && identity.uid !== undefined) {
        return { ...known.meta, jobUser: this.users.name(identity.uid) };
      }
      return known.meta;
    }
    return known?.meta ?? {};
  }

  /**
   * Cumulative rx/tx of the container's network namespace and when they were read; undefined when it is the host's
   * (or never could be read). Read through the container's oldest process, which is the most likely to live through
   * the read; when it left meanwhile, through the next oldest, and so on. When every process left before the read
   * (a container of short-lived processes), the namespace's last read stands in: its bytes are not lost, they show in
   * the next interval, whose read time spans both.
   */
  private readNet(key: string, group: Group, processes: ReadonlyMap<string, ProcessSample>): NetRead | undefined {
    this.hostNetNs ??= this.reader.readNetNs(1) ?? this.reader.readNetNs(process.pid);
    const oldest = group.oldest;
    const read = oldest === undefined ? undefined : this.readNetThrough(key, oldest);
    if (read !== undefined) return read === 'host' ? undefined : read;
    const others: ProcessSample[] = [];
    for (const k of group.processKeys) {
      const p = processes.get(k);
      if (p !== undefined && p !== oldest) others.push(p);
    }
    others.sort((a, b) => a.startTicks - b.startTicks || a.pid - b.pid);
    for (const p of others) {
      const next = this.readNetThrough(key, p);
      if (next !== undefined) return next === 'host' ? undefined : next;
    }
    const ns = this.netnsOfContainer.get(key);
    return ns === undefined ? undefined : this.netReads.get(ns);
  }

  /** One attempt: undefined when the process is gone (or its files unreadable), 'host' for the host's namespace. */
  private readNetThrough(key: string, proc: ProcessSample): NetRead | 'host' | undefined {
    let ns = this.netnsOfProcess.get(proc.key);
    if (ns === undefined) {
      ns = this.reader.readNetNs(proc.pid);
      if (ns === undefined) return undefined;
      this.netnsOfProcess.set(proc.key, ns);
    }
    if (ns === this.hostNetNs) return 'host';
    const counters = this.reader.readNetDev(proc.pid);
    if (counters === undefined) return undefined;
    const read: NetRead = { rxBytes: counters.rxBytes, txBytes: counters.txBytes, monoNs: this.monoNow() };
    this.netnsOfContainer.set(key, ns);
    this.netReads.set(ns, read);
    return read;
  }

  private gaps(ioDenied: number, staticDenied: number): string[] {
    const gaps: string[] = [];
    // As root a denial is the kernel protecting one process (e.g. a sandbox's init): nothing the user can do.
    if (!this.isRoot && (ioDenied > 0 || staticDenied > 0)) {
      gaps.push(
        `not root: I/O bytes${staticDenied > 0 ? ', executables and environments' : ''} of ${Math.max(ioDenied, staticDenied)} processes are unreadable; run with sudo for the full picture`,
      );
    }
    if (this.docker !== undefined && !this.docker.status.ok && this.docker.status.message !== undefined) {
      gaps.push(this.docker.status.message);
    }
    return gaps;
  }

  /**
   * Open files and sockets as access observations. Every tick by default. With a cadence N > 1 (descriptorsEvery),
   * a process that used no CPU and did no read or write since the last tick keeps its last observations for up to
   * N ticks: it ran no open() or close(), only what others do to it (an unlink, a peer closing) shows up late.
   * bubble's own process is left out: its descriptors are its /proc reads; so are the other bubbles registered in
   * `instancesDir` (instances.ts).
   */
  private readAccess(processes: ReadonlyMap<string, ProcessSample>, idleKeys: ReadonlySet<string>): AccessObservation[] {
    const wanted: { key: string; pid: number; idle?: boolean }[] = [];
    const access: AccessObservation[] = [];
    const previous = this.previousProcesses;
    const bubbles = this.instances?.current();
    for (const p of processes.values()) {
      if (p.kernelThread || p.pid === process.pid || bubbles?.has(p.key) === true) continue;
      const cached = this.accessCache.get(p.key);
      if (this.descriptorsEvery > 1 && cached !== undefined && this.tick - cached.tick < this.descriptorsEvery) {
        // The cheaper cadence: a process that did not run (or no CPU tick and no byte moved, when schedstat is not
        // there) keeps what it was last seen with, paths and socket states included, for up to N ticks.
        const before = previous?.get(p.key);
        const idle = idleKeys.has(p.key) || (before !== undefined && before.cpuNs === p.cpuNs && before.rchar === p.rchar && before.wchar === p.wchar);
        if (idle) {
          for (const o of cached.observations) access.push(o);
          continue;
        }
      }
      // procfs tells for single-threaded processes; the collector asks each thread of the others itself (fds.ts).
      if (idleKeys.has(p.key) || p.threads <= 1) wanted.push({ key: p.key, pid: p.pid, idle: idleKeys.has(p.key) });
      else wanted.push({ key: p.key, pid: p.pid });
    }
    for (const [key, fds] of this.fds!.collect(wanted, processes)) {
      // The collector hands back last tick's object when nothing changed: so are the observations built from it.
      const cached = this.accessCache.get(key);
      const observations = cached !== undefined && cached.fds === fds ? cached.observations : observationsFromFds(key, fds);
      if (cached !== undefined && cached.fds === fds) cached.tick = this.tick;
      else this.accessCache.set(key, { tick: this.tick, fds, observations });
      for (const o of observations) access.push(o);
    }
    for (const key of this.accessCache.keys()) if (!processes.has(key)) this.accessCache.delete(key);
    this.previousProcesses = processes;
    return access;
  }

  /** Releases the /proc file descriptors held between ticks. */
  close(): void {
    this.instances?.unregister();
    this.procfs.close();
    this.cgroups.close();
  }
}
