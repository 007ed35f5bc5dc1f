/**
 * The live host as a Source for `bubble top`: one sampler ticking at the refresh interval, Docker names kept current
 * by its event stream, and, when the store can be written and no other recorder holds it, every tick recorded, so
 * history starts at launch. The past (the scrubber) is read from the store; without a store, from the ticks kept in
 * memory since launch.
 */
import os from 'node:os';
import { DockerWatcher } from '../collectors/docker.js';
import { FdCollector, type ProcessFds } from '../collectors/fds.js';
import { formatEndpoint } from '../collectors/netstat.js';
import { Sampler } from '../collectors/sampler.js';
import { isBubbleError } from '../errors/bubble-error.js';
import type { Sample } from '../model/sample.js';
import { toSnapshot, type Snapshot } from '../model/snapshot.js';
import { openStore, type Store } from '../store/database.js';
import { acquireRecorderLock, readRecorderLock, type RecorderLock } from '../store/lock.js';
import { Recorder } from '../store/recorder.js';
import { bucketStart, DEFAULT_RETENTION, TIER_MS, type Retention, type Tier } from '../store/tiers.js';
import { StoreReader } from './replay-source.js';
import type { FileRow, NetRow, SeriesPoint, Source, StatusItem } from './source.js';

/** Ticks kept in memory: the scrubber's second tier without a store, and the newest second with one. */
const RING = 900;

/** How often the live view re-reads the span the store covers (see range()). */
const STORED_RANGE_MS = 10_000;

export interface LiveOptions {
  readonly intervalMs: number;
  /** The store to record into (and read the past from); undefined: memory only. */
  readonly dbPath?: string;
  /** Record into the store while running. @default true */
  readonly record?: boolean;
  readonly retention?: Retention;
  readonly docker?: boolean;
  /**
   * Wait for Docker's container list before the first sample (needed to match a container by name at launch).
   * Otherwise the first frame comes at once and names fill in when Docker answers. @default false
   */
  readonly waitForDocker?: boolean;
}

export class LiveSource implements Source {
  readonly mode = 'live' as const;
  readonly intervalMs: number;
  private readonly docker: DockerWatcher | undefined;
  private readonly sampler: Sampler;
  private readonly fds = new FdCollector();
  private readonly listeners = new Set<() => void>();
  private readonly ring: Snapshot[] = [];
  private previous: Sample | undefined;
  private timer: NodeJS.Timeout | undefined;
  private store: Store | undefined;
  private reader: StoreReader | undefined;
  private lock: RecorderLock | undefined;
  private recorder: Recorder | undefined;
  private storedRange: { atMs: number; range: { firstMs: number; lastMs: number } | undefined } | undefined;
  private storeStatus: StatusItem;
  private writeError: string | undefined;

  private constructor(options: LiveOptions, docker: DockerWatcher | undefined) {
    this.intervalMs = options.intervalMs;
    this.docker = docker;
    this.sampler = new Sampler(docker === undefined ? {} : { docker });
    this.storeStatus = { name: 'store', level: 'off', text: 'no store: history since launch only' };
    if (options.dbPath !== undefined) this.openStore(options);
  }

  /** Starts Docker's event stream and takes the first sample; ticks begin at once. */
  static async start(options: LiveOptions): Promise<LiveSource> {
    const docker = options.docker === false ? undefined : new DockerWatcher();
    if (options.waitForDocker === true) await docker?.start({ events: true, timeoutMs: 1500 });
    // Otherwise after the first frame: loading dockerode and listing containers must not delay it.
    else if (docker !== undefined) setImmediate(() => void docker.start({ events: true, timeoutMs: 1500 }));
    const source = new LiveSource(options, docker);
    source.tick();
    source.timer = setInterval(() => source.tick(), options.intervalMs);
    docker?.onChange(() => source.notify());
    return source;
  }

  private openStore(options: LiveOptions): void {
    const path = options.dbPath!;
    if (options.record !== false) {
      try {
        this.store = openStore(path);
        this.lock = acquireRecorderLock(this.store);
        this.recorder = new Recorder(this.store, options.retention ?? DEFAULT_RETENTION, {
          onWriteError: (error) => {
            this.writeError = error instanceof Error ? error.message.split('\n')[0] : String(error);
          },
          onRecovered: () => {
            this.writeError = undefined;
          },
        });
        this.reader = new StoreReader(this.store);
        this.storeStatus = { name: 'store', level: 'ok', text: `recording to ${path}` };
        return;
      } catch (error) {
        // Locked by `bubble record` (it records for us), or not writable (not root): read what is there.
        const holder = this.store === undefined ? undefined : safeHolder(this.store);
        this.store?.close();
        this.store = undefined;
        this.lock = undefined;
        const why = isBubbleError(error) ? error.message : String(error);
        try {
          this.store = openStore(path, { readonly: true });
          this.reader = new StoreReader(this.store);
          this.storeStatus =
            holder !== undefined
              ? { name: 'store', level: 'ok', text: `history from bubble record (pid ${holder})` }
              : { name: 'store', level: 'warn', text: `store read-only: ${why}` };
        } catch {
          this.storeStatus = { name: 'store', level: 'warn', text: `no store: ${why}` };
        }
        return;
      }
    }
    try {
      this.store = openStore(path, { readonly: true });
      this.reader = new StoreReader(this.store);
      this.storeStatus = { name: 'store', level: 'ok', text: `history from ${path}` };
    } catch (error) {
      this.storeStatus = { name: 'store', level: 'off', text: `no store: ${isBubbleError(error) ? error.message : String(error)}` };
    }
  }

  private tick(): void {
    this.ticks++;
    const sample = this.sampler.sample();
    const snapshot = toSnapshot(sample, this.previous);
    this.previous = sample;
    this.ring.push(snapshot);
    if (this.ring.length > RING) this.ring.shift();
    this.recorder?.record(snapshot);
    this.notify();
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

  filesOf(processKey: string, atMs: number | undefined): readonly FileRow[] {
    if (atMs !== undefined) return this.reader?.filesOf(processKey, atMs) ?? [];
    const fds = this.liveFds(processKey);
    return (fds?.files ?? []).map((f) => ({ path: f.path, mode: `${f.mode}${f.append ? 'a' : ''}`, deleted: f.deleted, fd: f.fd }));
  }

  netOf(processKey: string, atMs: number | undefined): readonly NetRow[] {
    if (atMs !== undefined) return this.reader?.netOf(processKey, atMs) ?? [];
    const fds = this.liveFds(processKey);
    return (fds?.sockets ?? []).map((s) =>
      s.protocol === 'unix'
        ? { protocol: 'unix', local: s.path, remote: '', state: s.state }
        : { protocol: s.protocol, local: formatEndpoint(s.localAddress, s.localPort), remote: formatEndpoint(s.remoteAddress, s.remotePort), state: s.state },
    );
  }

  /**
   * Only the selected process's descriptors are read (collect what is visible), once per tick: the files pane and
   * the network pane of a frame share the one read.
   */
  private liveFds(processKey: string): ProcessFds | undefined {
    const cached = this.fdsCache;
    if (cached !== undefined && cached.key === processKey && cached.tick === this.ticks) return cached.fds;
    const pid = Number(processKey.split(':')[0]);
    if (!Number.isInteger(pid)) return undefined;
    const fds = this.fds.collect([{ key: processKey, pid }]).get(processKey);
    this.fdsCache = { key: processKey, tick: this.ticks, fds };
    return fds;
  }

  private fdsCache: { key: string; tick: number; fds: ProcessFds | undefined } | undefined;
  private ticks = 0;

  status(): readonly StatusItem[] {
    const items: StatusItem[] = [];
    const isRoot = process.getuid?.() === 0;
    items.push(isRoot ? { name: 'root', level: 'ok', text: 'root' } : { name: 'root', level: 'warn', text: 'not root: other users\' I/O and files hidden (sudo)' });
    if (this.docker === undefined) items.push({ name: 'docker', level: 'off', text: 'docker off' });
    else if (this.docker.status.ok) items.push({ name: 'docker', level: 'ok', text: 'docker ok' });
    else items.push({ name: 'docker', level: 'warn', text: this.docker.status.message ?? 'no docker' });
    items.push(this.writeError === undefined ? this.storeStatus : { name: 'store', level: 'warn', text: `store: ${this.writeError}; retrying` });
    items.push({ name: 'sysdig', level: 'off', text: 'sysdig off' });
    // What else the sampler could not read this tick (not root and Docker are said above already).
    for (const gap of this.ring.at(-1)?.gaps ?? []) {
      if (gap.startsWith('not root') || gap === this.docker?.status.message) continue;
      items.push({ name: 'gap', level: 'warn', text: gap });
    }
    return items;
  }

  host(): { hostname: string; ncpu: number; memTotalBytes: number } {
    const last = this.ring.at(-1);
    return {
      hostname: last?.host.hostname ?? os.hostname(),
      ncpu: last?.host.ncpu ?? os.availableParallelism(),
      memTotalBytes: last?.host.memTotalBytes ?? os.totalmem(),
    };
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.listeners.clear();
    try {
      this.recorder?.finish(this.ring.at(-1));
    } catch {
      // The store could not take the last buckets: nothing more to do on the way out.
    }
    this.lock?.release();
    this.store?.close();
    this.sampler.close();
    this.docker?.stop();
  }
}

function safeHolder(store: Store): number | undefined {
  try {
    return readRecorderLock(store)?.pid;
  } catch {
    return undefined;
  }
}
