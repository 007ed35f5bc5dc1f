/**
 * The live host as a Source for `bubble top`: the monitor's snapshots (it owns the tick, and the recorder when `top`
 * records), kept in a ring for the newest seconds, and the past read from the store the command hands in. The TUI
 * never opens, locks or writes the store itself. Without a store, the past is the ticks kept since launch.
 */
import os from 'node:os';
import type { ProcessFds } from '../collectors/fds.js';
import { fileAccess, socketAccess } from '../collectors/descriptors.js';
import { peerNames, socketRows, type FileAccess, type SocketRow } from '../model/access.js';
import { containerKey } from '../model/identity.js';
import type { ContainerMeta } from '../model/sample.js';
import type { ContainerView, Snapshot } from '../model/snapshot.js';
import { type Monitor, withoutAccess } from '../monitor/monitor.js';
import { runtimeExitCodes, type StoreStatus } from '../monitor/recording.js';
import type { SourceStatus } from '../monitor/sources.js';
import type { StoreReader } from '../store/reader.js';
import { bucketStart, TIER_MS, type Tier } from '../store/tiers.js';
import { endedView } from './ended.js';
import type { Ended, SeriesPoint, Source, StatusItem } from './source.js';

/**
 * Ticks kept in memory: the scrubber's second tier without a store, and the newest second with one. Kept without their
 * access observations (every open file and socket of the host, a new array each tick: ~40 MB over 900 ticks at 400
 * processes), which no view reads from a snapshot: the live panes ask the monitor, past ones the store.
 */
const RING = 900;

/** How often the live view re-reads the span the store covers (see range()). */
const STORED_RANGE_MS = 10_000;

export interface LiveStore {
  /** What history is read through; it changes when `top` hands the store over or takes it back. */
  readonly reader: StoreReader | undefined;
  status(): StoreStatus;
}

/** The sources beside procfs (src/monitor/sources.ts TickSources): how bpftrace and sysdig are doing. */
export interface LiveSources {
  status(): readonly SourceStatus[];
  /** Gaps their status already says. */
  saidGaps(): readonly string[];
}

export class LiveSource implements Source {
  readonly mode = 'live' as const;
  readonly intervalMs: number;
  private readonly monitor: Monitor;
  private readonly history: LiveStore | undefined;
  private readonly sources: LiveSources | undefined;
  private readonly listeners = new Set<() => void>();
  private readonly ring: Snapshot[] = [];
  private readonly unsubscribe: () => void;
  private lastReader: StoreReader | undefined;
  /** Containers and jobs that ended while this ran (any kind: Docker's listing knows only its own), oldest first. */
  private readonly ended = new Map<string, Ended & { readonly settled?: boolean }>();
  /** How an ended container exited, as the recorder learns it: Docker's exit code and time, a Slurm job's from scontrol. */
  private readonly exits: ReturnType<typeof runtimeExitCodes>;
  private storedRange: { atMs: number; range: { firstMs: number; lastMs: number } | undefined } | undefined;

  constructor(monitor: Monitor, history?: LiveStore, sources?: LiveSources) {
    this.monitor = monitor;
    this.intervalMs = monitor.intervalMs;
    this.history = history;
    this.exits = runtimeExitCodes(monitor.docker);
    this.sources = sources;
    if (monitor.last !== undefined) this.ring.push(withoutAccess(monitor.last)!);
    this.unsubscribe = monitor.onSnapshot((snapshot) => {
      this.remember(snapshot);
      this.ring.push(withoutAccess(snapshot)!);
      if (this.ring.length > RING) this.ring.shift();
      this.notify();
    });
    monitor.docker?.onChange(() => this.notify());
  }

  /** The reader of the store's current connection. */
  private get reader(): StoreReader | undefined {
    const reader = this.history?.reader;
    if (reader !== this.lastReader) {
      this.lastReader = reader;
      this.storedRange = undefined;
    }
    return reader;
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshotAt(atMs: number | undefined, tier: Tier): Snapshot | undefined {
    if (atMs === undefined) return this.ring.at(-1);
    if (tier === 'second') {
      const bucket = bucketStart('second', atMs);
      // The ring knows the newest seconds best (the store gets a second's row when the next one starts).
      for (let i = this.ring.length - 1; i >= 0; i--) {
        const s = this.ring[i]!;
        if (s.timeMs < bucket) break;
        if (bucketStart('second', s.timeMs) === bucket) return s;
      }
    }
    return this.reader?.snapshotAt(atMs, tier) ?? (tier === 'second' ? undefined : this.ringAggregate(atMs, tier));
  }

  /** Without a store, a coarser bucket is shown as its newest tick (the sparkline has the averages). */
  private ringAggregate(atMs: number, tier: Tier): Snapshot | undefined {
    const start = bucketStart(tier, atMs);
    const end = start + TIER_MS[tier];
    for (let i = this.ring.length - 1; i >= 0; i--) {
      const s = this.ring[i]!;
      if (s.timeMs >= start && s.timeMs < end) return s;
    }
    return undefined;
  }

  series(tier: Tier, fromMs: number, toMs: number, containerKey?: string): readonly SeriesPoint[] {
    const points = new Map<number, SeriesPoint>();
    for (const p of this.reader?.series(tier, fromMs, toMs, containerKey) ?? []) points.set(p.timeMs, p);
    // Buckets the store does not have yet (the open one), averaged from the ticks in memory.
    const sums = new Map<number, { cpu: number; mem: number; n: number }>();
    for (const s of this.ring) {
      if (s.timeMs < fromMs || s.timeMs >= toMs) continue;
      const bucket = bucketStart(tier, s.timeMs);
      if (points.has(bucket)) continue;
      const containers = containerKey === undefined ? s.containers : s.containers.filter((c) => c.key === containerKey);
      const sum = sums.get(bucket) ?? { cpu: 0, mem: 0, n: 0 };
      for (const c of containers) {
        sum.cpu += c.cpuPercent ?? 0;
        sum.mem += c.memoryBytes ?? 0;
      }
      sum.n++;
      sums.set(bucket, sum);
    }
    for (const [bucket, sum] of sums) points.set(bucket, { timeMs: bucket, cpuPercent: sum.cpu / sum.n, memoryBytes: sum.mem / sum.n });
    return [...points.values()].sort((a, b) => a.timeMs - b.timeMs);
  }

  range(): { firstMs: number; lastMs: number } | undefined {
    // Asked on every tick; the store's span only moves at its ends (retention, the newest tick, which the ring holds
    // anyway), so it is read again at most every STORED_RANGE_MS.
    const now = Date.now();
    if (this.reader !== undefined && (this.storedRange === undefined || now - this.storedRange.atMs >= STORED_RANGE_MS)) {
      this.storedRange = { atMs: now, range: this.reader.range() };
    }
    const stored = this.storedRange?.range;
    const first = this.ring[0]?.timeMs;
    const last = this.ring.at(-1)?.timeMs;
    if (first === undefined || last === undefined) return stored;
    return { firstMs: Math.min(stored?.firstMs ?? first, first), lastMs: Math.max(stored?.lastMs ?? last, last + 1) };
  }

  filesOf(processKey: string, atMs: number | undefined): readonly FileAccess[] {
    if (atMs !== undefined) return this.reader?.filesOf(processKey, atMs) ?? [];
    const fds = this.liveFds(processKey);
    return (fds?.files ?? []).map(fileAccess);
  }

  netOf(processKey: string, atMs: number | undefined): readonly SocketRow[] {
    const reader = this.reader;
    if (atMs !== undefined) return reader === undefined ? [] : socketRows(reader.netOf(processKey, atMs), reader.peersAt(atMs));
    const sockets = this.liveFds(processKey)?.sockets ?? [];
    // Live, the inode says which fds hold one socket; the peers are the containers running now.
    return socketRows(
      sockets.map(socketAccess),
      peerNames(this.monitor.docker?.all().values() ?? []),
      sockets.map((s) => s.inode),
    );
  }

  descriptorsHidden(processKey: string, atMs: number | undefined): boolean {
    return atMs === undefined && this.liveFds(processKey)?.denied === true;
  }

  /** Descriptors of the last tick's descriptor pass: the same read the store records, not a second one. */
  private liveFds(processKey: string): ProcessFds | undefined {
    return this.monitor.descriptorsOf(processKey);
  }

  status(): readonly StatusItem[] {
    const items: StatusItem[] = [];
    const isRoot = process.getuid?.() === 0;
    items.push(
      isRoot ? { name: 'root', level: 'ok', text: 'root' } : { name: 'root', level: 'warn', text: "not root: other users' I/O and files hidden (sudo)" },
    );
    const docker = this.monitor.docker;
    if (docker === undefined) items.push({ name: 'docker', level: 'off', text: 'docker off' });
    else if (docker.status.ok) items.push({ name: 'docker', level: 'ok', text: 'docker ok' });
    else items.push({ name: 'docker', level: 'warn', text: docker.status.message ?? 'no docker' });
    items.push({ name: 'store', ...(this.history?.status() ?? { level: 'off', text: 'no store: history since launch only' }) });
    // bpf and sysdig: on, off and why (not root, not installed), or what went wrong (bpftrace died, restarting).
    items.push(...(this.sources?.status() ?? [{ name: 'sysdig', level: 'off', text: 'sysdig off' }]));
    const said = new Set(this.sources?.saidGaps());
    // What else the sampler could not read this tick (not root, Docker and the sources are said above already).
    for (const gap of this.ring.at(-1)?.gaps ?? []) {
      if (gap.startsWith('not root') || gap === docker?.status.message || said.has(gap)) continue;
      items.push({ name: 'gap', level: 'warn', text: gap });
    }
    return items;
  }

  /** Keeps who ended in this tick, bounded: the newest ENDED_KEPT. */
  private remember(snapshot: Snapshot): void {
    // Called before the snapshot joins the ring: the ring's newest is the last tick that saw them running.
    const lastSeenMs = this.ring.at(-1)?.timeMs;
    for (const c of snapshot.exited.containers) {
      if (c.kind === 'host') continue;
      this.ended.delete(c.key);
      const view = endedView({ ...c, state: 'exited', ...(c.exitedAtMs !== undefined && { exitedAtMs: c.exitedAtMs }) });
      this.ended.set(c.key, { view, ...(lastSeenMs !== undefined && { lastSeenMs }) });
      if (this.ended.size > ENDED_KEPT) this.ended.delete(this.ended.keys().next().value!);
    }
  }

  exited(): readonly ContainerView[] {
    const running = new Set(this.ring.at(-1)?.containers.map((c) => c.key));
    const out = new Map<string, ContainerView>();
    // With the runtime's exit code and time once it told them (a Slurm job's code comes from scontrol only).
    for (const key of this.ended.keys()) if (!running.has(key)) out.set(key, this.endedOf(key)!.view);
    // Docker's word on its own containers wins: it knows the exit code and those that ended before launch.
    for (const [id, meta] of this.monitor.docker?.all() ?? []) {
      if (meta.state !== 'exited' && meta.state !== 'dead') continue;
      const view = exitedView(id, meta);
      if (!running.has(view.key)) out.set(view.key, view);
    }
    return [...out.values()].sort((a, b) => (b.exitedAtMs ?? 0) - (a.exitedAtMs ?? 0) || a.name.localeCompare(b.name));
  }

  endedOf(containerKey: string): Ended | undefined {
    if (this.ring.at(-1)?.containers.some((c) => c.key === containerKey)) return undefined;
    const ended = this.ended.get(containerKey);
    if (ended === undefined) return this.exitedBefore(containerKey);
    if (ended.settled === true) return ended;
    // Asked until the runtime answers (Docker's die event may come a tick after the cgroup went; scontrol answers in
    // the background), then kept: the exit time is the runtime's, not the tick that missed the container.
    const exit = this.exits.exitOf(ended.view.id, ended.view.kind);
    if (exit === undefined) return ended;
    const view: ContainerView = { ...ended.view, exitCode: exit.exitCode, ...(exit.finishedAtMs !== undefined && { exitedAtMs: exit.finishedAtMs }) };
    const known = { ...ended, view, settled: true };
    this.ended.set(containerKey, known);
    return known;
  }

  /** A Docker container that exited before this ran (opened from `a`'s list): Docker's word; its last tick, if recorded. */
  private exitedBefore(containerKey: string): Ended | undefined {
    const id = containerKey.startsWith('docker:') ? containerKey.slice('docker:'.length) : undefined;
    const meta = id === undefined ? undefined : this.monitor.docker?.get(id);
    if (id === undefined || meta === undefined || (meta.state !== 'exited' && meta.state !== 'dead')) return undefined;
    const lastSeenMs = this.reader?.container(containerKey)?.lastSeenMs;
    return { view: exitedView(id, meta), ...(lastSeenMs !== undefined && { lastSeenMs }) };
  }

  host(): { hostname: string; ncpu: number; memTotalBytes: number } {
    const last = this.ring.at(-1);
    return {
      hostname: last?.host.hostname ?? os.hostname(),
      ncpu: last?.host.ncpu ?? os.availableParallelism(),
      memTotalBytes: last?.host.memTotalBytes ?? os.totalmem(),
    };
  }

  /** Stops listening; the command that made the monitor and the store closes them. */
  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }
}

/** Exited containers kept from the session (Docker's listing is not counted: Docker keeps those itself). */
const ENDED_KEPT = 100;

/** A container Docker lists as exited. */
function exitedView(id: string, meta: ContainerMeta): ContainerView {
  return endedView({
    key: containerKey({ kind: 'docker', id }),
    kind: 'docker',
    id,
    name: meta.name ?? id.slice(0, 12),
    cgroup: '',
    ...(meta.image !== undefined && { image: meta.image }),
    ...(meta.state !== undefined && { state: meta.state }),
    ...(meta.exitCode !== undefined && { exitCode: meta.exitCode }),
    ...(meta.finishedAtMs !== undefined && { exitedAtMs: meta.finishedAtMs }),
  });
}
