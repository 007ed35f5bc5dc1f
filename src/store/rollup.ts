/**
 * The in-memory tier rollup: turns a stream of Snapshots into second, minute, hour and day series rows. Pure: no
 * I/O and no clock of its own; time is each snapshot's `timeMs`.
 *
 * What goes in. Each snapshot's `interval` deltas (exact integer deltas of CPU ns, read/write bytes, net rx/tx bytes
 * over (previous sample, snapshot.timeMs]) are added to the second bucket holding `snapshot.timeMs`
 * (bucketStart('second', ...)), for every container in `snapshot.containers` and every process in
 * `snapshot.processes` that is not a kernel thread. A missing delta counts as 0 in the sums, but a container's net
 * columns stay undefined until it has shown a net counter (a container in the host's network namespace has none).
 * Per sample, memory is the container's `memoryBytes` (skipped when unknown) or the process's `rssBytes`; the count
 * column is the container's `pids` or the process's `threads`. `snapshot.exited` is not read: an exited entity has
 * an empty interval, and its open buckets close with time like everyone else's.
 *
 * Hierarchy (the issue: "coarser buckets are rolled up from the finer ones as each bucket closes, in memory"). All
 * entities share one open bucket per tier. When a snapshot's time falls in a later second, every open second bucket
 * closes: it is emitted as a second-tier row and folded into the same entity's open minute bucket; a closing minute
 * folds into the hour, an hour into the day. Folding adds sums (cpu, bytes, samples), takes the max of maxima, and
 * keeps the average's sum and count so coarser averages are weighted by samples, not by buckets; rows carry the
 * average rounded to an integer. Nothing is re-read, so CPU time and bytes are conserved across tiers.
 *
 * Exactness. Sums are JS numbers, exact while a bucket's sum stays at or under Number.MAX_SAFE_INTEGER (2^53):
 * for CPU that is 104 core-days per bucket, so an hour is exact up to 2501 busy cores and a day up to 104 cores busy
 * around the clock. Past that (a day of a container holding more than 104 cores) the day's cpuNs is a float sum of
 * 24 exact hours, off by at most 24 half-ulps (under 200 ns for 1000 cores, relative 1e-15); the row type is
 * `number`, so exactness there would need bigint rows end to end. Bytes reach the limit at 9 PB per bucket.
 *
 * Change-only second rows. A process's second row is left out when its bucket has cpuNs, readBytes and writeBytes
 * all 0 and its rssMax, rssAvg and threadsMax equal those of the last second row emitted for it: an idle process
 * writes nothing and a reader carries the last values forward. The left-out bucket is still folded into the minute.
 * A process's first bucket is always emitted; container second rows always are. Minute, hour and day rows are
 * emitted for every entity with at least one sample in the bucket.
 *
 * Clock steps. A snapshot older than the open second bucket is folded into the open second bucket: closed buckets are
 * never reopened, so no row is emitted twice; after a large step back, everything lands in that one bucket until the
 * clock catches up. A step forward closes every bucket it passes (empty buckets emit nothing).
 *
 * Forgetting. When the coarsest produced tier (the day, by default) closes, entities not in that snapshot are dropped
 * with their change-only state, so a long recorder holds only what it saw in the current day.
 *
 * flush() closes every open bucket (shutdown) and empties the rollup. Adding snapshots of already flushed buckets
 * afterwards would emit those buckets again.
 */
import type { ContainerView, ProcessView, Snapshot } from '../model/snapshot.js';
import type { ContainerRow, ProcessRow, SeriesRows } from './rows.js';
import { bucketStart, TIERS, type Tier } from './tiers.js';

export interface RollupOptions {
  /** Tiers to produce. @default all four */
  readonly tiers?: readonly Tier[];
}

/** One entity's open bucket in one tier. Reset and reused when the bucket closes. */
class Acc {
  samples = 0;
  cpuNs = 0;
  readBytes = 0;
  writeBytes = 0;
  netRxBytes = 0;
  netTxBytes = 0;
  netRxKnown = false;
  netTxKnown = false;
  /** Sum and count of the samples whose memory was known, for a sample-weighted average. */
  memSum = 0;
  memCount = 0;
  memMax = 0;
  /** pids (containers) or threads (processes); -1 while unknown. */
  countMax = -1;

  reset(): void {
    this.samples = 0;
    this.cpuNs = 0;
    this.readBytes = 0;
    this.writeBytes = 0;
    this.netRxBytes = 0;
    this.netTxBytes = 0;
    this.netRxKnown = false;
    this.netTxKnown = false;
    this.memSum = 0;
    this.memCount = 0;
    this.memMax = 0;
    this.countMax = -1;
  }

  foldInto(to: Acc): void {
    to.samples += this.samples;
    to.cpuNs += this.cpuNs;
    to.readBytes += this.readBytes;
    to.writeBytes += this.writeBytes;
    to.netRxBytes += this.netRxBytes;
    to.netTxBytes += this.netTxBytes;
    to.netRxKnown ||= this.netRxKnown;
    to.netTxKnown ||= this.netTxKnown;
    to.memSum += this.memSum;
    if (this.memCount > 0) to.memMax = to.memCount > 0 ? Math.max(to.memMax, this.memMax) : this.memMax;
    to.memCount += this.memCount;
    if (this.countMax > to.countMax) to.countMax = this.countMax;
  }

  memAvg(): number {
    return Math.round(this.memSum / this.memCount);
  }
}

interface Entity {
  readonly key: string;
  /** One open bucket per internal tier, finest first. */
  readonly accs: readonly Acc[];
  /** Second bucket of the last snapshot that held it. */
  lastSeen: number;
  // Change-only state (processes): the last second row emitted.
  emitted: boolean;
  lastRssAvg: number;
  lastRssMax: number;
  lastThreadsMax: number;
}

type Kind = 'container' | 'process';

export class Rollup {
  /** Which of TIERS[0..top] produce rows; finer unproduced tiers still feed the coarser ones. */
  readonly #emit: readonly boolean[];
  /** Index in TIERS of the coarsest tier produced: nothing coarser is accumulated. */
  readonly #top: number;
  readonly #containers = new Map<string, Entity>();
  readonly #processes = new Map<string, Entity>();
  /** Open bucket start per tier; NaN before the first snapshot. */
  readonly #open: number[];
  /** Per tier, the entities with samples in their open bucket: closing touches only those, not every known entity. */
  readonly #dirty: { containers: Entity[]; processes: Entity[] }[];

  constructor(options: RollupOptions = {}) {
    const wanted = options.tiers ?? TIERS;
    if (wanted.length === 0) throw new RangeError('Rollup needs at least one tier');
    for (const tier of wanted) if (!TIERS.includes(tier)) throw new RangeError(`unknown tier ${String(tier)}`);
    this.#top = Math.max(...wanted.map((t) => TIERS.indexOf(t)));
    this.#emit = TIERS.slice(0, this.#top + 1).map((t) => wanted.includes(t));
    this.#open = this.#emit.map(() => Number.NaN);
    this.#dirty = this.#emit.map(() => ({ containers: [], processes: [] }));
  }

  /** Entities held in memory (containers, processes): for tests and diagnostics. */
  get tracked(): { readonly containers: number; readonly processes: number } {
    return { containers: this.#containers.size, processes: this.#processes.size };
  }

  /** Folds one snapshot in; returns the rows of every bucket that closed because this snapshot's time is past it. */
  add(snapshot: Snapshot): SeriesRows {
    const containers: ContainerRow[] = [];
    const processes: ProcessRow[] = [];
    let time = snapshot.timeMs;
    const openSecond = this.#open[0] ?? Number.NaN;
    let topClosed = false;
    if (Number.isNaN(openSecond)) {
      for (let i = 0; i <= this.#top; i++) this.#open[i] = bucketStart(TIERS[i] as Tier, time);
    } else {
      // A step back lands in the open bucket: closed buckets are never reopened.
      if (time < openSecond) time = openSecond;
      topClosed = this.#advance(time, containers, processes);
    }

    const second = this.#open[0] as number;
    for (const view of snapshot.containers) this.#addContainer(view, second);
    const net = snapshot.processNetMeasured === true;
    for (const view of snapshot.processes) if (!view.kernelThread) this.#addProcess(view, second, net);

    if (topClosed) {
      this.#forget(this.#containers, second);
      this.#forget(this.#processes, second);
    }
    return { containers, processes };
  }

  /** Closes every open bucket (shutdown) and returns their rows. After flush the rollup is empty. */
  flush(): SeriesRows {
    const containers: ContainerRow[] = [];
    const processes: ProcessRow[] = [];
    if (!Number.isNaN(this.#open[0] ?? Number.NaN)) {
      for (let i = 0; i <= this.#top; i++) this.#close(i, containers, processes);
    }
    this.#containers.clear();
    this.#processes.clear();
    this.#open.fill(Number.NaN);
    return { containers, processes };
  }

  /** Closes, finest first, every tier whose open bucket is before `time`. True when the coarsest one closed. */
  #advance(time: number, containers: ContainerRow[], processes: ProcessRow[]): boolean {
    for (let i = 0; i <= this.#top; i++) {
      const start = bucketStart(TIERS[i] as Tier, time);
      // Buckets nest, so when this tier's bucket is unchanged no coarser one changed either.
      if (start === this.#open[i]) return false;
      this.#close(i, containers, processes);
      this.#open[i] = start;
    }
    return true;
  }

  #close(tier: number, containers: ContainerRow[], processes: ProcessRow[]): void {
    const dirty = this.#dirty[tier] as { containers: Entity[]; processes: Entity[] };
    const bucket = this.#open[tier] as number;
    this.#closeAll(dirty.containers, 'container', tier, bucket, containers, processes);
    this.#closeAll(dirty.processes, 'process', tier, bucket, containers, processes);
  }

  #closeAll(
    list: Entity[],
    kind: Kind,
    tier: number,
    bucket: number,
    containers: ContainerRow[],
    processes: ProcessRow[],
  ): void {
    const emit = this.#emit[tier] === true;
    const coarser = tier < this.#top ? (this.#dirty[tier + 1] as { containers: Entity[]; processes: Entity[] }) : undefined;
    for (const entity of list) {
      const acc = entity.accs[tier] as Acc;
      if (emit) {
        if (kind === 'container') containers.push(containerRow(TIERS[tier] as Tier, bucket, entity.key, acc));
        else if (tier !== 0 || changed(entity, acc)) processes.push(processRow(TIERS[tier] as Tier, bucket, entity, acc));
      }
      if (coarser !== undefined) {
        const up = entity.accs[tier + 1] as Acc;
        if (up.samples === 0) (kind === 'container' ? coarser.containers : coarser.processes).push(entity);
        acc.foldInto(up);
      }
      acc.reset();
    }
    list.length = 0;
  }

  #entity(map: Map<string, Entity>, key: string, kind: Kind, second: number): Acc {
    let entity = map.get(key);
    if (entity === undefined) {
      entity = {
        key,
        accs: this.#emit.map(() => new Acc()),
        lastSeen: second,
        emitted: false,
        lastRssAvg: 0,
        lastRssMax: 0,
        lastThreadsMax: 0,
      };
      map.set(key, entity);
    }
    entity.lastSeen = second;
    const acc = entity.accs[0] as Acc;
    if (acc.samples === 0) {
      const dirty = this.#dirty[0] as { containers: Entity[]; processes: Entity[] };
      (kind === 'container' ? dirty.containers : dirty.processes).push(entity);
    }
    return acc;
  }

  #addContainer(view: ContainerView, second: number): void {
    const acc = this.#entity(this.#containers, view.key, 'container', second);
    const d = view.interval;
    acc.samples++;
    acc.cpuNs += d.cpuNs ?? 0;
    acc.readBytes += d.readBytes ?? 0;
    acc.writeBytes += d.writeBytes ?? 0;
    acc.netRxBytes += d.netRxBytes ?? 0;
    acc.netTxBytes += d.netTxBytes ?? 0;
    // The cumulative counter shows the container has net even on its first sample, which has no delta yet.
    if (view.netRxBytes !== undefined || d.netRxBytes !== undefined) acc.netRxKnown = true;
    if (view.netTxBytes !== undefined || d.netTxBytes !== undefined) acc.netTxKnown = true;
    if (view.memoryBytes !== undefined) addMemory(acc, view.memoryBytes);
    if (view.pids !== undefined && view.pids > acc.countMax) acc.countMax = view.pids;
  }

  /** `net`: per-process network was measured this tick, so a process without bytes had none (not unknown). */
  #addProcess(view: ProcessView, second: number, net: boolean): void {
    const acc = this.#entity(this.#processes, view.key, 'process', second);
    const d = view.interval;
    acc.samples++;
    acc.cpuNs += d.cpuNs ?? 0;
    acc.readBytes += d.readBytes ?? 0;
    acc.writeBytes += d.writeBytes ?? 0;
    // Only a source that measures per-process network (bpftrace) sets these; otherwise the row says not measured.
    acc.netRxBytes += d.netRxBytes ?? 0;
    acc.netTxBytes += d.netTxBytes ?? 0;
    if (net || d.netRxBytes !== undefined) acc.netRxKnown = true;
    if (net || d.netTxBytes !== undefined) acc.netTxKnown = true;
    addMemory(acc, view.rssBytes);
    if (view.threads > acc.countMax) acc.countMax = view.threads;
  }

  /** After the coarsest tier closed, every bucket is empty: drop whoever this snapshot did not hold. */
  #forget(map: Map<string, Entity>, second: number): void {
    for (const [key, entity] of map) if (entity.lastSeen !== second) map.delete(key);
  }
}

function addMemory(acc: Acc, bytes: number): void {
  acc.memMax = acc.memCount > 0 ? Math.max(acc.memMax, bytes) : bytes;
  acc.memSum += bytes;
  acc.memCount++;
}

/** Change-only rule for a process's second bucket; records the row as emitted when it is. */
function changed(entity: Entity, acc: Acc): boolean {
  const rssAvg = acc.memAvg();
  const threadsMax = Math.max(acc.countMax, 0);
  const idle =
    entity.emitted &&
    acc.cpuNs === 0 &&
    acc.readBytes === 0 &&
    acc.writeBytes === 0 &&
    acc.netRxBytes === 0 &&
    acc.netTxBytes === 0 &&
    rssAvg === entity.lastRssAvg &&
    acc.memMax === entity.lastRssMax &&
    threadsMax === entity.lastThreadsMax;
  if (idle) return false;
  entity.emitted = true;
  entity.lastRssAvg = rssAvg;
  entity.lastRssMax = acc.memMax;
  entity.lastThreadsMax = threadsMax;
  return true;
}

function containerRow(tier: Tier, bucket: number, containerKey: string, acc: Acc): ContainerRow {
  const row: { -readonly [K in keyof ContainerRow]: ContainerRow[K] } = {
    tier,
    bucket,
    containerKey,
    cpuNs: acc.cpuNs,
    readBytes: acc.readBytes,
    writeBytes: acc.writeBytes,
    samples: acc.samples,
  };
  if (acc.memCount > 0) {
    row.memAvg = acc.memAvg();
    row.memMax = acc.memMax;
  }
  if (acc.netRxKnown) row.netRxBytes = acc.netRxBytes;
  if (acc.netTxKnown) row.netTxBytes = acc.netTxBytes;
  if (acc.countMax >= 0) row.pidsMax = acc.countMax;
  return row;
}

function processRow(tier: Tier, bucket: number, entity: Entity, acc: Acc): ProcessRow {
  return {
    tier,
    bucket,
    processKey: entity.key,
    cpuNs: acc.cpuNs,
    rssAvg: acc.memAvg(),
    rssMax: acc.memMax,
    readBytes: acc.readBytes,
    writeBytes: acc.writeBytes,
    ...(acc.netRxKnown && { netRxBytes: acc.netRxBytes }),
    ...(acc.netTxKnown && { netTxBytes: acc.netTxBytes }),
    threadsMax: Math.max(acc.countMax, 0),
    samples: acc.samples,
  };
}
