/**
 * Records snapshots into the store: the rollup closes buckets in memory, the writer stores each tick in one
 * transaction, retention prunes a bounded slice per tick. A write that fails (full disk, a reader holding a lock
 * too long) keeps the tick in memory and retries it on the next tick, in order: sampling never stops.
 * Used by `bubble record`, and by `bubble top` when it can write the store. The caller holds the recorder lock.
 *
 * Sessions (src/store/sessions.ts): the first tick written opens this recorder's session, after recovering sessions
 * that never ended; every tick moves its last_tick; finish() folds the partial minute and ends it. A recorder that
 * records nothing writes nothing. Snapshots in the second of the previous session's last tick (a restart within a
 * second) are left out, so each second row belongs to one session.
 *
 * Clock steps: a snapshot timed outside [last recorded tick - 1 day, wall clock + 1 minute] is counted and skipped
 * (onSkippedTick), and retention's "now" is never ahead of the wall clock, so one bad timestamp deletes nothing.
 */
import type { ContainerKind } from '../model/identity.js';
import type { Snapshot } from '../model/snapshot.js';
import { pruneEntities, pruneStep } from './retention.js';
import { Rollup } from './rollup.js';
import type { SeriesRows } from './rows.js';
import { newestTick } from './sessions.js';
import { bucketStart, type Retention } from './tiers.js';
import { StoreWriter, type TickBookkeeping } from './writer.js';
import type { Store } from './database.js';

/** Ticks kept in memory while the store cannot be written (an hour at 1 s). */
const MAX_PENDING = 3600;
/** How long a Docker exit code is waited for after the container's cgroup is gone. */
const EXIT_CODE_WAIT_MS = 5 * 60_000;
/** Entities without rows are garbage-collected this often. */
const ENTITY_PRUNE_EVERY_MS = 10 * 60_000;
/**
 * Series retention runs a bounded step at most this often (eight min() queries each time), and every tick while a
 * backlog remains: the finest retention is an hour, ten seconds late is nothing.
 */
const SERIES_PRUNE_EVERY_MS = 10_000;
/** A snapshot this far behind the last recorded tick, or ahead of the wall clock, is a clock step: skipped. */
const MAX_STEP_BACK_MS = 86_400_000;
const MAX_AHEAD_MS = 60_000;

export interface RecorderEvents {
  /** A write failed; `pending` ticks are kept for retry. Called once per failure streak, not every tick. */
  onWriteError?(error: unknown, pending: number): void;
  /** Writes work again after a failure streak. */
  onRecovered?(written: number): void;
  /**
   * A snapshot's time is outside [last recorded tick - 1 day, wall clock + 1 minute] (a clock step or a bad source
   * timestamp): it was skipped; `skipped` counts them so far. Called for the first of each streak of skipped ticks.
   */
  onSkippedTick?(timeMs: number, skipped: number): void;
}

export interface ExitCodeSource {
  /** The runtime's exit code (Docker's, or slurmctld's for a job) and finish time for a container id, when known. */
  exitOf(id: string, kind: ContainerKind): { exitCode: number; finishedAtMs?: number; oomKilled?: boolean; name?: string } | undefined;
}

export class Recorder {
  private readonly rollup = new Rollup();
  private readonly writer: StoreWriter;
  private readonly pending: { snapshot: Snapshot; rows: SeriesRows; book: TickBookkeeping }[] = [];
  private failing = false;
  private dropped = 0;
  private skipped = 0;
  private skipping = false;
  /** Time of the newest snapshot recorded; undefined before the first. */
  private lastTickMs: number | undefined;
  /**
   * The second of the previous session's last tick (read at the first record()): snapshots in it are not recorded,
   * so no second row holds parts of two sessions. NaN once this session recorded or when there is none.
   */
  private busySecond: number | undefined;
  private lastEntityPrune = 0;
  private lastSeriesPrune = Number.NEGATIVE_INFINITY;
  private pruneBacklog = true;
  /** Docker containers that exited without an exit code yet: key -> {id, since}. */
  private readonly awaitingExitCode = new Map<string, { id: string; kind: ContainerKind; since: number }>();
  private readonly store: Store;
  private readonly retention: Retention;
  private readonly events: RecorderEvents;
  private readonly exitCodes: ExitCodeSource | undefined;
  ticks = 0;

  constructor(store: Store, retention: Retention, events: RecorderEvents = {}, exitCodes?: ExitCodeSource) {
    this.store = store;
    this.retention = retention;
    this.events = events;
    this.exitCodes = exitCodes;
    this.writer = new StoreWriter(store.db);
  }

  /** Folds the snapshot into the tiers and writes what closed. Never throws for a write failure. */
  record(snapshot: Snapshot): void {
    const wall = Date.now();
    const time = snapshot.timeMs;
    if (time > wall + MAX_AHEAD_MS || (this.lastTickMs !== undefined && time < this.lastTickMs - MAX_STEP_BACK_MS)) {
      this.skipped++;
      if (!this.skipping) this.events.onSkippedTick?.(time, this.skipped);
      this.skipping = true;
      return;
    }
    this.skipping = false;
    if (this.busySecond === undefined) {
      let previous: number | undefined;
      try {
        previous = newestTick(this.store.db);
      } catch {
        previous = undefined; // unreadable now: the first write reports it
      }
      this.busySecond = previous === undefined ? Number.NaN : bucketStart('second', previous);
    }
    if (bucketStart('second', time) === this.busySecond) return;
    this.busySecond = Number.NaN;
    this.ticks++;
    this.lastTickMs = Math.max(this.lastTickMs ?? time, time);
    const rows = this.rollup.add(snapshot);
    for (const c of snapshot.exited.containers) {
      if ((c.kind === 'docker' || c.kind === 'slurm') && c.exitCode === undefined) this.awaitingExitCode.set(c.key, { id: c.id, kind: c.kind, since: time });
    }
    this.enqueue(snapshot, rows, { foldedThrough: this.rollup.foldedThrough });
    this.flushPending();
    if (!this.failing) {
      this.writeExitCodes(time);
      // Retention never runs ahead of the wall clock: a clock step cannot expire the store.
      this.prune(Math.min(time, wall));
    }
  }

  /**
   * Closes every open bucket and writes it (shutdown): the partial minute goes to the minute, hour and day rows, what
   * is alive gets last_seen = the last tick, and the session is marked ended. Throws if the store still cannot be
   * written. Writes nothing when nothing was recorded.
   */
  finish(last: Snapshot | undefined): void {
    const rows = this.rollup.flush();
    if (this.ticks > 0) {
      // Only the closed buckets: the last tick's entities, exits and access were written with it already.
      const at = this.lastTickMs!;
      const bare: Snapshot = {
        timeMs: at,
        intervalMs: 0,
        host: last?.host ?? { hostname: '', ncpu: 0, memTotalBytes: 0, memUsedBytes: 0 },
        containers: [],
        processes: [],
        exited: { containers: [], processes: [] },
        gaps: [],
      };
      this.enqueue(bare, rows, { foldedThrough: Math.floor(at / 1000) * 1000 + 1000, end: true });
    }
    this.flushPending();
    if (this.pending.length > 0) throw new Error(`${this.pending.length} ticks could not be written`);
    this.writer.flushAccess();
  }

  get pendingTicks(): number {
    return this.pending.length;
  }

  get droppedTicks(): number {
    return this.dropped;
  }

  /** Snapshots skipped for a time outside [last tick - 1 day, wall clock + 1 minute]. */
  get skippedTicks(): number {
    return this.skipped;
  }

  private enqueue(snapshot: Snapshot, rows: SeriesRows, book: TickBookkeeping): void {
    this.pending.push({ snapshot, rows, book });
    if (this.pending.length > MAX_PENDING) {
      // Oldest first: the series rows of what is dropped are lost, the entities are written with the next tick.
      this.pending.shift();
      this.dropped++;
    }
  }

  private flushPending(): void {
    let written = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      try {
        this.writer.writeTick(next.snapshot, next.rows, next.book);
      } catch (error) {
        if (!this.failing) this.events.onWriteError?.(error, this.pending.length);
        this.failing = true;
        return;
      }
      this.pending.shift();
      written++;
    }
    if (this.failing) {
      this.failing = false;
      this.events.onRecovered?.(written);
    }
  }

  private writeExitCodes(now: number): void {
    if (this.exitCodes === undefined) return;
    for (const [key, { id, kind, since }] of this.awaitingExitCode) {
      const exit = this.exitCodes.exitOf(id, kind);
      if (exit !== undefined) {
        try {
          this.writer.noteContainerExit(key, exit.exitCode, exit.finishedAtMs, exit.oomKilled === true, exit.name);
        } catch {
          continue; // retried next tick
        }
        this.awaitingExitCode.delete(key);
      } else if (now - since > EXIT_CODE_WAIT_MS) {
        this.awaitingExitCode.delete(key);
      }
    }
  }

  private prune(now: number): void {
    try {
      if (this.pruneBacklog || now - this.lastSeriesPrune >= SERIES_PRUNE_EVERY_MS) {
        this.pruneBacklog = !pruneStep(this.store.db, now, this.retention).done;
        this.lastSeriesPrune = now;
      }
      if (now - this.lastEntityPrune >= ENTITY_PRUNE_EVERY_MS) {
        pruneEntities(this.store.db, now, this.retention);
        this.lastEntityPrune = now;
      }
    } catch {
      // Retention is housekeeping: a busy or full store retries on a later tick.
    }
  }
}
