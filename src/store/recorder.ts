/**
 * Records snapshots into the store: the rollup closes buckets in memory, the writer stores each tick in one
 * transaction, retention prunes a bounded slice per tick. A write that fails (full disk, a reader holding a lock
 * too long) keeps the tick in memory and retries it on the next tick, in order: sampling never stops.
 * Used by `bubble record`, and by `bubble top` when it can write the store.
 */
import type { Snapshot } from '../model/snapshot.js';
import { pruneEntities, pruneStep } from './retention.js';
import { Rollup } from './rollup.js';
import type { SeriesRows } from './rows.js';
import type { Retention } from './tiers.js';
import { StoreWriter } from './writer.js';
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

export interface RecorderEvents {
  /** A write failed; `pending` ticks are kept for retry. Called once per failure streak, not every tick. */
  onWriteError?(error: unknown, pending: number): void;
  /** Writes work again after a failure streak. */
  onRecovered?(written: number): void;
}

export interface ExitCodeSource {
  /** Docker's exit code and finish time for a container id, when known. */
  exitOf(id: string): { exitCode: number; finishedAtMs?: number } | undefined;
}

export class Recorder {
  private readonly rollup = new Rollup();
  private readonly writer: StoreWriter;
  private readonly pending: { snapshot: Snapshot; rows: SeriesRows }[] = [];
  private failing = false;
  private dropped = 0;
  private lastEntityPrune = 0;
  private lastSeriesPrune = Number.NEGATIVE_INFINITY;
  private pruneBacklog = true;
  /** Docker containers that exited without an exit code yet: key -> {id, since}. */
  private readonly awaitingExitCode = new Map<string, { id: string; since: number }>();
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
    this.ticks++;
    const rows = this.rollup.add(snapshot);
    for (const c of snapshot.exited.containers) {
      if (c.kind === 'docker' && c.exitCode === undefined) this.awaitingExitCode.set(c.key, { id: c.id, since: snapshot.timeMs });
    }
    this.enqueue(snapshot, rows);
    this.flushPending();
    if (!this.failing) {
      this.writeExitCodes(snapshot.timeMs);
      this.prune(snapshot.timeMs);
    }
  }

  /** Closes every open bucket and writes it (shutdown). Throws if the store still cannot be written. */
  finish(last: Snapshot | undefined): void {
    const rows = this.rollup.flush();
    if (last !== undefined) {
      // Only the closed buckets: the last tick's entities, exits and access were written with it already.
      const { access: _written, ...bare } = last;
      this.enqueue({ ...bare, exited: { containers: [], processes: [] }, processes: [], containers: [] }, rows);
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

  private enqueue(snapshot: Snapshot, rows: SeriesRows): void {
    this.pending.push({ snapshot, rows });
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
        this.writer.writeTick(next.snapshot, next.rows);
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
    for (const [key, { id, since }] of this.awaitingExitCode) {
      const exit = this.exitCodes.exitOf(id);
      if (exit !== undefined) {
        try {
          this.writer.noteContainerExit(key, exit.exitCode, exit.finishedAtMs);
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
