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
 * Hierarchy. Only the second and the minute are accumulated in memory; all entities share one open bucket of each.
 * When a snapshot's time falls in a later second, every open second bucket closes: it is emitted as a second-tier row
 * and folded into the same entity's open minute bucket. When a minute closes, its accumulator is emitted three times:
 * as the minute row and as a part of the hour and of the day that hold it (same figures, the coarser bucket's start).
 * The writer merges those parts into the stored hour and day rows (ON CONFLICT, src/store/merge.ts), in the same
 * transaction as the minute, so no hour or day lives only in memory and buckets touched by several sessions add up.
 * Folding adds sums (cpu, bytes, samples, sampled time), takes the max of maxima, and keeps the average's sum and
 * count so the minute's average is weighted by samples; rows carry the average rounded to an integer (the store
 * weights coarser averages by samples). Nothing is re-read, so CPU time and bytes are conserved across tiers.
 *
 * Sampled time. A container's `sampledMs` is the sum of the intervals of the snapshots that gave it a delta
 * (`snapshot.intervalMs`, 0 for a first sample): rates are over the time that was sampled, so a partial minute (a
 * session that started or ended in it) does not read low.
 *
 * Exactness. Sums are JS numbers, exact while a minute's sum stays at or under Number.MAX_SAFE_INTEGER (2^53 ns is
 * 104 core-days, far beyond a minute); hour and day sums are added by SQLite in 64-bit integers.
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
 * Forgetting. When the coarsest accumulated tier (the minute, by default) closes, entities not in that snapshot are
 * dropped with their change-only state, so a long recorder holds only what it saw in the current minute.
 *
 * Syscall errors. A snapshot's `syscallErrors` counts are added per (process, syscall, errno) to the open second
 * and fold into the minute, hour and day like the sums above: a second row is emitted only for a pair that failed in
 * that second (a count is never 0), and the counts of every tier add up to the same total.
 *
 * flush() closes the open second and minute (shutdown: the partial minute goes to the minute, hour and day rows) and
 * empties the rollup. Adding snapshots of already flushed buckets afterwards emits parts of those buckets again,
 * which the writer merges.
 */
import type { ContainerView, ProcessView, Snapshot } from '../model/snapshot.js';
import type { ContainerRow, ProcessRow, SeriesRows, SyscallErrorRow } from './rows.js';
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
  /** Containers: the tick intervals folded in. */
  sampledMs = 0;

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
    this.sampledMs = 0;
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
    to.sampledMs += this.sampledMs;
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

/** Index in TIERS of the coarsest tier kept in memory (the minute): coarser ones are parts merged by the writer. */
const COARSEST_ACCUMULATED = 1;

export class Rollup {
  /** Which of TIERS[0..top] produce rows; finer unproduced tiers still feed the coarser ones. */
  readonly #emit: readonly boolean[];
  /** Index in TIERS of the coarsest tier produced. */
  readonly #top: number;
  /** Index in TIERS of the coarsest tier accumulated: min(top, minute). */
  readonly #acc: number;
  readonly #containers = new Map<string, Entity>();
  readonly #processes = new Map<string, Entity>();
  /** Open bucket start per tier; NaN before the first snapshot. */
  readonly #open: number[];
  /** Per tier, the entities with samples in their open bucket: closing touches only those, not every known entity. */
  readonly #dirty: { containers: Entity[]; processes: Entity[] }[];
  /** Per accumulated tier, failed syscalls in the open bucket: `process\0syscall\0errno` -> count. */
  readonly #errors: Map<string, number>[];

  constructor(options: RollupOptions = {}) {
    const wanted = options.tiers ?? TIERS;
    if (wanted.length === 0) throw new RangeError('Rollup needs at least one tier');
    for (const tier of wanted) if (!TIERS.includes(tier)) throw new RangeError(`unknown tier ${String(tier)}`);
    this.#top = Math.max(...wanted.map((t) => TIERS.indexOf(t)));
    this.#acc = Math.min(this.#top, COARSEST_ACCUMULATED);
    this.#emit = TIERS.slice(0, this.#top + 1).map((t) => wanted.includes(t));
    this.#open = TIERS.slice(0, this.#acc + 1).map(() => Number.NaN);
    this.#dirty = this.#open.map(() => ({ containers: [], processes: [] }));
    this.#errors = this.#open.map(() => new Map());
  }

  /**
   * Every second bucket before this time has been emitted into the minute, hour and day rows (the start of the open
   * minute); NaN before the first snapshot and after flush().
   */
  get foldedThrough(): number {
    return this.#open[this.#acc] ?? Number.NaN;
  }

  /** Entities held in memory (containers, processes): for tests and diagnostics. */
  get tracked(): { readonly containers: number; readonly processes: number } {
    return { containers: this.#containers.size, processes: this.#processes.size };
  }

  /** Folds one snapshot in; returns the rows of every bucket that closed because this snapshot's time is past it. */
  add(snapshot: Snapshot): SeriesRows {
    const containers: ContainerRow[] = [];
    const processes: ProcessRow[] = [];
    const errors: SyscallErrorRow[] = [];
    let time = snapshot.timeMs;
    const openSecond = this.#open[0] ?? Number.NaN;
    let topClosed = false;
    if (Number.isNaN(openSecond)) {
      for (let i = 0; i <= this.#acc; i++) this.#open[i] = bucketStart(TIERS[i] as Tier, time);
    } else {
      // A step back lands in the open bucket: closed buckets are never reopened.
      if (time < openSecond) time = openSecond;
      topClosed = this.#advance(time, containers, processes, errors);
    }

    const second = this.#open[0] as number;
    // Whole milliseconds per tick (intervals come from a monotonic clock in fractions), so every tier adds the same.
    const intervalMs = Math.max(0, Math.round(snapshot.intervalMs));
    for (const view of snapshot.containers) this.#addContainer(view, second, intervalMs);
    const net = snapshot.processNetMeasured === true;
    for (const view of snapshot.processes) if (!view.kernelThread) this.#addProcess(view, second, net, intervalMs);
    if (snapshot.syscallErrors !== undefined) {
      const open = this.#errors[0] as Map<string, number>;
      for (const e of snapshot.syscallErrors) {
        if (!(e.count > 0)) continue;
        const key = `${e.processKey}\u0000${e.syscall}\u0000${e.errno}`;
        open.set(key, (open.get(key) ?? 0) + e.count);
      }
    }

    if (topClosed) {
      this.#forget(this.#containers, second);
      this.#forget(this.#processes, second);
    }
    return errors.length === 0 ? { containers, processes } : { containers, processes, errors };
  }

  /** Closes every open bucket (shutdown) and returns their rows. After flush the rollup is empty. */
  flush(): SeriesRows {
    const containers: ContainerRow[] = [];
    const processes: ProcessRow[] = [];
    const errors: SyscallErrorRow[] = [];
    if (!Number.isNaN(this.#open[0] ?? Number.NaN)) {
      for (let i = 0; i <= this.#acc; i++) this.#close(i, containers, processes, errors);
    }
    this.#containers.clear();
    this.#processes.clear();
    for (const m of this.#errors) m.clear();
    this.#open.fill(Number.NaN);
    return errors.length === 0 ? { containers, processes } : { containers, processes, errors };
  }

  /** Closes, finest first, every tier whose open bucket is before `time`. True when the coarsest one closed. */
  #advance(time: number, containers: ContainerRow[], processes: ProcessRow[], errors: SyscallErrorRow[]): boolean {
    for (let i = 0; i <= this.#acc; i++) {
      const start = bucketStart(TIERS[i] as Tier, time);
      // Buckets nest, so when this tier's bucket is unchanged no coarser one changed either.
      if (start === this.#open[i]) return false;
      this.#close(i, containers, processes, errors);
      this.#open[i] = start;
    }
    return true;
  }

  #close(tier: number, containers: ContainerRow[], processes: ProcessRow[], errors: SyscallErrorRow[]): void {
    const dirty = this.#dirty[tier] as { containers: Entity[]; processes: Entity[] };
    const bucket = this.#open[tier] as number;
    this.#closeAll(dirty.containers, 'container', tier, bucket, containers, processes);
    this.#closeAll(dirty.processes, 'process', tier, bucket, containers, processes);
    this.#closeErrors(tier, bucket, errors);
  }

  /** The tier's failed-syscall counts as rows (and as parts of the coarser tiers), folded into the next tier. */
  #closeErrors(tier: number, bucket: number, errors: SyscallErrorRow[]): void {
    const open = this.#errors[tier] as Map<string, number>;
    if (open.size === 0) return;
    const tiers = this.#emit.flatMap((on, i) => (on && (i === tier || (tier === this.#acc && i > tier)) ? [TIERS[i] as Tier] : []));
    const up = tier < this.#acc ? this.#errors[tier + 1] : undefined;
    for (const [key, count] of open) {
      const [processKey, syscall, errno] = key.split('\u0000') as [string, string, string];
      for (const t of tiers) errors.push({ tier: t, bucket: bucketStart(t, bucket), processKey, syscall, errno, count });
      up?.set(key, (up.get(key) ?? 0) + count);
    }
    open.clear();
  }

  #closeAll(list: Entity[], kind: Kind, tier: number, bucket: number, containers: ContainerRow[], processes: ProcessRow[]): void {
    const emit = this.#emit[tier] === true;
    const coarser = tier < this.#acc ? (this.#dirty[tier + 1] as { containers: Entity[]; processes: Entity[] }) : undefined;
    // The coarsest accumulated bucket is also each coarser produced tier's part: the writer merges the parts.
    const parts = tier === this.#acc ? this.#emit.flatMap((on, i) => (on && i > tier ? [TIERS[i] as Tier] : [])) : [];
    for (const entity of list) {
      const acc = entity.accs[tier] as Acc;
      if (emit) {
        if (kind === 'container') containers.push(containerRow(TIERS[tier] as Tier, bucket, entity.key, acc));
        else if (tier !== 0 || changed(entity, acc)) processes.push(processRow(TIERS[tier] as Tier, bucket, entity, acc));
      }
      for (const part of parts) {
        if (kind === 'container') containers.push(containerRow(part, bucketStart(part, bucket), entity.key, acc));
        else processes.push(processRow(part, bucketStart(part, bucket), entity, acc));
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
        accs: this.#open.map(() => new Acc()),
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

  #addContainer(view: ContainerView, second: number, intervalMs: number): void {
    const acc = this.#entity(this.#containers, view.key, 'container', second);
    const d = view.interval;
    acc.samples++;
    // Only an interval that gave the container figures was sampled (not its first sight).
    // Over the time its own counters were read apart (view.intervalMs), as live divided by.
    if (d.cpuNs !== undefined || d.readBytes !== undefined || d.netRxBytes !== undefined)
      acc.sampledMs += view.intervalMs === undefined ? intervalMs : Math.round(view.intervalMs);
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
  #addProcess(view: ProcessView, second: number, net: boolean, intervalMs: number): void {
    const acc = this.#entity(this.#processes, view.key, 'process', second);
    const d = view.interval;
    acc.samples++;
    if (d.cpuNs !== undefined) acc.sampledMs += intervalMs;
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
    sampledMs: acc.sampledMs,
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
    sampledMs: acc.sampledMs,
  };
}
