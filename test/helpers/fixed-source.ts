/**
 * A Source for the pure UI: Snapshots built by the real toSnapshot() from hand-made Samples (two per moment, so every
 * rate is what the spec says), answered from memory. Tests and the TUI benchmark drive the App with it; the live and
 * replay sources have their own tests against the real collectors and store.
 */
import { containerKey, HOST_IDENTITY, type ContainerKind, type Identity } from '../../src/model/identity.js';
import type { CgroupCounters, ContainerMeta, ContainerSample, HostSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot, type Snapshot } from '../../src/model/snapshot.js';
import { bucketStart, TIER_MS, type Tier } from '../../src/store/tiers.js';
import { socketRows, type FileAccess, type PeerNames, type SocketAccess, type SocketRow } from '../../src/model/access.js';
import type { SeriesPoint, Source, StatusItem } from '../../src/tui/source.js';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
/** 2026-11-21 21:23:04 UTC: every fixture moment is counted from here. */
export const T0 = Date.UTC(2026, 10, 21, 21, 23, 4);

export interface ProcSpec {
  readonly pid: number;
  readonly ppid?: number;
  readonly comm?: string;
  readonly cmdline?: string;
  readonly user?: string;
  /** Key of the container (containerKey()): `docker:<id>`, `slurm:4242`, `host`. */
  readonly container: string;
  readonly cpuPercent?: number;
  readonly rssBytes?: number;
  readonly readPerSec?: number;
  readonly writePerSec?: number;
  readonly threads?: number;
  readonly nspid?: number;
  readonly kernelThread?: boolean;
  /** Slurm: the step whose cgroup holds it. */
  readonly step?: string;
}

export interface ContainerSpec {
  readonly kind: ContainerKind;
  readonly id: string;
  /** The name the path gives (docker: short id); `meta.name` is Docker's. */
  readonly name?: string;
  readonly meta?: ContainerMeta;
  /** Undefined: the cpu controller is not used and CPU is the sum of the processes. */
  readonly cpuPercent?: number;
  readonly memoryBytes?: number;
  readonly memoryLimitBytes?: number;
  readonly memoryPeakBytes?: number;
  readonly cpuLimitCores?: number;
  readonly throttledPercent?: number;
  readonly oomKills?: number;
  readonly netRxPerSec?: number;
  readonly netTxPerSec?: number;
  readonly blkReadPerSec?: number;
  readonly blkWritePerSec?: number;
  readonly pids?: number;
  readonly pressure?: { readonly cpu?: number; readonly memory?: number; readonly io?: number };
  readonly steps?: readonly string[];
}

export interface World {
  readonly hostname?: string;
  readonly ncpu?: number;
  readonly memTotalBytes?: number;
  /** Host CPU busy, 100 = one core. */
  readonly hostCpuPercent?: number;
  readonly containers: readonly ContainerSpec[];
  readonly processes: readonly ProcSpec[];
}

export function identityOf(c: ContainerSpec): Identity {
  if (c.kind === 'host') return HOST_IDENTITY;
  return { kind: c.kind, id: c.id, name: c.name ?? c.id.slice(0, 12), cgroup: `/${c.kind}/${c.id}` };
}

export function keyOf(c: ContainerSpec): string {
  return containerKey(identityOf(c));
}

function pressure(avg10: number | undefined): CgroupCounters['cpuPressure'] {
  return avg10 === undefined ? undefined : { some: { avg10, avg60: avg10, avg300: avg10, totalUs: 0 } };
}

/** Raw counters at `seconds` after a base, growing at the spec's rates: toSnapshot() gives the rates back. */
function sampleOf(world: World, timeMs: number, seconds: number): Sample {
  const ncpu = world.ncpu ?? 2;
  const memTotal = world.memTotalBytes ?? 8 * GiB;
  const ticksPerSec = 100 * ncpu;
  const busy = (world.hostCpuPercent ?? 50) / 100 / ncpu;
  const host: HostSample = {
    hostname: world.hostname ?? 'vm',
    ncpu,
    cpuTotalTicks: 1e6 + seconds * ticksPerSec,
    cpuIdleTicks: 5e5 + seconds * ticksPerSec * (1 - busy),
    memTotalBytes: memTotal,
    memAvailableBytes: memTotal / 2,
    bootTimeMs: T0 - 86_400_000,
  };
  const processes = new Map<string, ProcessSample>();
  for (const p of world.processes) {
    const key = `${p.pid}:1000`;
    processes.set(key, {
      key,
      pid: p.pid,
      startTicks: 1000,
      startTimeMs: T0 - 3_600_000,
      ppid: p.ppid ?? 1,
      comm: p.comm ?? `proc${p.pid}`,
      cmdline: p.cmdline ?? `${p.comm ?? `proc${p.pid}`} --serve`,
      exe: `/usr/bin/${p.comm ?? 'proc'}`,
      uid: 0,
      user: p.user ?? 'root',
      state: 'S',
      cpuNs: 1e10 + ((p.cpuPercent ?? 0) / 100) * seconds * 1e9,
      rssBytes: p.rssBytes ?? 10 * MiB,
      vsizeBytes: 100 * MiB,
      threads: p.threads ?? 1,
      readBytes: 1e6 + (p.readPerSec ?? 0) * seconds,
      writeBytes: 1e6 + (p.writePerSec ?? 0) * seconds,
      ...(p.nspid !== undefined && { nspid: p.nspid }),
      ...(p.step !== undefined && { step: p.step }),
      containerKey: p.container,
      kernelThread: p.kernelThread ?? false,
    });
  }
  const containers = new Map<string, ContainerSample>();
  for (const c of world.containers) {
    const key = keyOf(c);
    const cgroup: CgroupCounters = {
      ...(c.cpuPercent !== undefined && { cpuUsageNs: 1e12 + (c.cpuPercent / 100) * seconds * 1e9 }),
      ...(c.throttledPercent !== undefined && {
        cpuPeriods: 1e4 + seconds * 10,
        cpuThrottledPeriods: 1e3 + seconds * 10 * (c.throttledPercent / 100),
      }),
      ...(c.cpuLimitCores !== undefined && { cpuLimitCores: c.cpuLimitCores }),
      ...(c.memoryBytes !== undefined && { memoryWorkingSetBytes: c.memoryBytes, memoryUsageBytes: c.memoryBytes }),
      ...(c.memoryLimitBytes !== undefined && { memoryLimitBytes: c.memoryLimitBytes }),
      ...(c.memoryPeakBytes !== undefined && { memoryPeakBytes: c.memoryPeakBytes }),
      ...(c.oomKills !== undefined && { oomKills: c.oomKills }),
      ...((c.blkReadPerSec !== undefined || c.blkWritePerSec !== undefined) && {
        ioReadBytes: 1e6 + (c.blkReadPerSec ?? 0) * seconds,
        ioWriteBytes: 1e6 + (c.blkWritePerSec ?? 0) * seconds,
      }),
      ...(c.pids !== undefined && { pids: c.pids }),
      ...(c.pressure?.cpu !== undefined && { cpuPressure: pressure(c.pressure.cpu) }),
      ...(c.pressure?.memory !== undefined && { memoryPressure: pressure(c.pressure.memory) }),
      ...(c.pressure?.io !== undefined && { ioPressure: pressure(c.pressure.io) }),
    };
    containers.set(key, {
      key,
      identity: identityOf(c),
      meta: c.meta ?? {},
      cgroup,
      ...((c.netRxPerSec !== undefined || c.netTxPerSec !== undefined) && {
        netRxBytes: 1e6 + (c.netRxPerSec ?? 0) * seconds,
        netTxBytes: 1e6 + (c.netTxPerSec ?? 0) * seconds,
      }),
      processKeys: world.processes.filter((p) => p.container === key).map((p) => `${p.pid}:1000`),
      ...(c.steps !== undefined && { steps: c.steps }),
    });
  }
  return { timeMs, monoNs: seconds * 1e9, host, processes, containers, gaps: [] };
}

/** The moment `timeMs` of a world, with rates over the `intervalMs` before it. */
export function snapshotOf(world: World, timeMs: number = T0, intervalMs = 1000): Snapshot {
  const seconds = 1000;
  return toSnapshot(sampleOf(world, timeMs, seconds + intervalMs / 1000), sampleOf(world, timeMs - intervalMs, seconds));
}

/** `count` moments `stepMs` apart ending at `lastMs`; `world(i)` describes moment i (0 = oldest). */
export function timeline(count: number, world: (i: number) => World, lastMs: number = T0, stepMs = 1000): Snapshot[] {
  const out: Snapshot[] = [];
  for (let i = 0; i < count; i++) out.push(snapshotOf(world(i), lastMs - (count - 1 - i) * stepMs, stepMs));
  return out;
}

export interface FixedSourceOptions {
  readonly snapshots: readonly Snapshot[];
  /** @default 'live' */
  readonly mode?: 'live' | 'replay';
  /** @default 1000 in live mode */
  readonly intervalMs?: number;
  readonly files?: Readonly<Record<string, readonly FileAccess[]>>;
  readonly net?: Readonly<Record<string, readonly SocketAccess[]>>;
  /** Containers by address, as the live source names peers from Docker. */
  readonly peers?: PeerNames;
  readonly status?: readonly StatusItem[];
}

/** A Source over a fixed list of Snapshots (oldest first); push() adds one and notifies like a live tick. */
export class FixedSource implements Source {
  readonly mode: 'live' | 'replay';
  readonly intervalMs?: number;
  private readonly snapshots: Snapshot[];
  private readonly listeners = new Set<() => void>();
  private readonly files: Readonly<Record<string, readonly FileAccess[]>>;
  private readonly net: Readonly<Record<string, readonly SocketAccess[]>>;
  private readonly peers: PeerNames;
  statusItems: readonly StatusItem[];
  /** What the views asked for, for tests: [process key, atMs]. */
  readonly filesCalls: [string, number | undefined][] = [];
  readonly seriesCalls: [Tier, number, number, string | undefined][] = [];
  closed = false;

  constructor(options: FixedSourceOptions) {
    this.snapshots = [...options.snapshots];
    this.mode = options.mode ?? 'live';
    const interval = options.intervalMs ?? (this.mode === 'live' ? 1000 : undefined);
    if (interval !== undefined) this.intervalMs = interval;
    this.files = options.files ?? {};
    this.net = options.net ?? {};
    this.peers = options.peers ?? new Map();
    this.statusItems = options.status ?? [];
  }

  push(snapshot: Snapshot): void {
    this.snapshots.push(snapshot);
    for (const l of [...this.listeners]) l();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** The newest snapshot inside the tier bucket that holds atMs (the newest of all when atMs is undefined). */
  snapshotAt(atMs: number | undefined, tier: Tier): Snapshot | undefined {
    if (atMs === undefined) return this.snapshots.at(-1);
    const start = bucketStart(tier, atMs);
    const end = start + TIER_MS[tier];
    let found: Snapshot | undefined;
    for (const s of this.snapshots) if (s.timeMs >= start && s.timeMs < end) found = s;
    return found;
  }

  series(tier: Tier, fromMs: number, toMs: number, containerKey?: string): readonly SeriesPoint[] {
    this.seriesCalls.push([tier, fromMs, toMs, containerKey]);
    const buckets = new Map<number, { cpu: number; mem: number; n: number }>();
    for (const s of this.snapshots) {
      const b = bucketStart(tier, s.timeMs);
      if (b < bucketStart(tier, fromMs) || b >= toMs) continue;
      let cpu: number | undefined;
      let mem: number | undefined;
      if (containerKey === undefined) {
        cpu = s.host.cpuPercent;
        mem = s.host.memUsedBytes;
      } else {
        const c = s.containers.find((x) => x.key === containerKey);
        if (c === undefined) continue;
        cpu = c.cpuPercent;
        mem = c.memoryBytes;
      }
      const acc = buckets.get(b) ?? { cpu: 0, mem: 0, n: 0 };
      acc.cpu += cpu ?? 0;
      acc.mem += mem ?? 0;
      acc.n++;
      buckets.set(b, acc);
    }
    return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([timeMs, a]) => ({ timeMs, cpuPercent: a.cpu / a.n, memoryBytes: a.mem / a.n }));
  }

  /** Like the real sources: lastMs is exclusive, one past the newest recorded moment. */
  range(): { firstMs: number; lastMs: number } | undefined {
    const first = this.snapshots[0];
    const last = this.snapshots.at(-1);
    return first === undefined || last === undefined ? undefined : { firstMs: first.timeMs, lastMs: last.timeMs + 1 };
  }

  filesOf(processKey: string, atMs: number | undefined): readonly FileAccess[] {
    this.filesCalls.push([processKey, atMs]);
    return this.files[processKey] ?? [];
  }

  netOf(processKey: string, _atMs: number | undefined): readonly SocketRow[] {
    return socketRows(this.net[processKey] ?? [], this.peers);
  }

  status(): readonly StatusItem[] {
    return this.statusItems;
  }

  host(): { hostname: string; ncpu: number; memTotalBytes: number } {
    const s = this.snapshots.at(-1);
    return { hostname: s?.host.hostname ?? 'vm', ncpu: s?.host.ncpu ?? 2, memTotalBytes: s?.host.memTotalBytes ?? 8 * GiB };
  }

  close(): void {
    this.closed = true;
  }
}

/** A docker container spec with a 64-hex id made from a digit. */
export function dockerSpec(digit: string, name: string, over: Partial<ContainerSpec> = {}): ContainerSpec {
  return { kind: 'docker', id: digit.repeat(64), meta: { name, image: 'nginx:1.27', state: 'running' }, ...over };
}

export const HOST_SPEC: ContainerSpec = { kind: 'host', id: 'host' };
