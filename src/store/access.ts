/**
 * File and network access as intervals per process. An interval opens when (process, file, mode) or (process,
 * endpoint, state) is first observed and stays open while it keeps being observed; it closes when a procfs tick no
 * longer sees it (or, for sysdig-only sightings, after a quiet spell). Open intervals live in memory: a tick inserts
 * new rows and closes ended ones; still-open rows get their last_seen, opens and bytes refreshed once a minute, so the
 * cost per tick grows with what changes, not with everything that is open. A tick whose transaction fails undoes
 * its opened and closed intervals (through the caller's undo list); counters it added to intervals still open stay
 * added, so opens and bytes may read high after a failed tick (a full disk), never low.
 */
import type Database from 'better-sqlite3';
import { accessKey, isEventSource, type AccessObservation } from '../model/access.js';

/** Refresh of still-open intervals, and how long a sysdig-only sighting keeps its interval open. */
const REFRESH_EVERY_MS = 60_000;
const SYSDIG_QUIET_MS = 5_000;

interface OpenInterval {
  readonly rowId: number;
  readonly table: 'file_access' | 'net_access';
  lastSeen: number;
  opens: number;
  bytesIn: number | undefined;
  bytesOut: number | undefined;
  source: string;
  /** Seen by the procfs pass of the current tick. */
  seenByProcfs: boolean;
  dirty: boolean;
}

const add = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0));

export class AccessWriter {
  private readonly open = new Map<string, OpenInterval>();
  private lastRefresh = 0;
  private readonly insertFile: Database.Statement;
  private readonly insertNet: Database.Statement;
  private readonly updates: Record<OpenInterval['table'], Database.Statement>;

  constructor(db: Database.Database) {
    this.insertFile = db.prepare(
      `INSERT INTO file_access (process_id, fd, path, mode, deleted, first_seen, last_seen, opens, bytes_in, bytes_out, source)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertNet = db.prepare(
      `INSERT INTO net_access (process_id, fd, protocol, local, remote, state, first_seen, last_seen, opens, bytes_in, bytes_out, source)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const update = (table: string): Database.Statement =>
      db.prepare(`UPDATE ${table} SET last_seen = ?, opens = ?, bytes_in = ?, bytes_out = ?, source = ?, closed = ? WHERE id = ?`);
    this.updates = { file_access: update('file_access'), net_access: update('net_access') };
  }

  /**
   * Records one tick's observations (inside the caller's transaction). `procfsPass` says whether procfs looked at
   * descriptors this tick: only then does "not seen" mean "closed". `processId` maps a process key to its row id
   * (undefined: the process is not recorded, its observations are dropped).
   */
  write(
    timeMs: number,
    observations: readonly AccessObservation[],
    procfsPass: boolean,
    processId: (key: string) => number | undefined,
    undo?: (() => void)[],
  ): void {
    for (const interval of this.open.values()) interval.seenByProcfs = false;
    for (const o of observations) {
      const key = accessKey(o);
      const interval = this.open.get(key);
      if (interval !== undefined) {
        // procfs sees the same descriptor every tick: count an open once, when the descriptor is new.
        if (isEventSource(o.source)) interval.opens += o.opens;
        interval.lastSeen = timeMs;
        interval.bytesIn = add(interval.bytesIn, o.bytesIn);
        interval.bytesOut = add(interval.bytesOut, o.bytesOut);
        if (interval.source !== o.source && interval.source !== 'both') interval.source = 'both';
        if (o.source === 'procfs') interval.seenByProcfs = true;
        interval.dirty = true;
        continue;
      }
      const pid = processId(o.processKey);
      if (pid === undefined) continue;
      const rowId =
        o.kind === 'file'
          ? this.insertFile.run(pid, o.fd ?? null, o.path, o.mode, o.deleted ? 1 : 0, timeMs, timeMs, o.opens, o.bytesIn ?? null, o.bytesOut ?? null, o.source)
              .lastInsertRowid
          : this.insertNet.run(
              pid,
              o.fd ?? null,
              o.protocol,
              o.local,
              o.remote,
              o.state,
              timeMs,
              timeMs,
              o.opens,
              o.bytesIn ?? null,
              o.bytesOut ?? null,
              o.source,
            ).lastInsertRowid;
      undo?.push(() => this.open.delete(key));
      this.open.set(key, {
        rowId: Number(rowId),
        table: o.kind === 'file' ? 'file_access' : 'net_access',
        lastSeen: timeMs,
        opens: o.opens,
        bytesIn: o.bytesIn,
        bytesOut: o.bytesOut,
        source: o.source,
        seenByProcfs: o.source === 'procfs',
        dirty: false,
      });
    }
    const refresh = timeMs - this.lastRefresh >= REFRESH_EVERY_MS;
    for (const [key, interval] of this.open) {
      const closed = !isEventSource(interval.source) ? procfsPass && !interval.seenByProcfs : timeMs - interval.lastSeen > SYSDIG_QUIET_MS;
      if (closed || (refresh && interval.dirty)) {
        this.store(interval, closed);
        interval.dirty = false;
      }
      if (closed) {
        this.open.delete(key);
        undo?.push(() => this.open.set(key, interval));
      }
    }
    if (refresh) this.lastRefresh = timeMs;
  }

  /** Writes every open interval's current figures (shutdown); they stay open in memory. */
  flush(): void {
    for (const interval of this.open.values()) {
      if (!interval.dirty) continue;
      this.store(interval, false);
      interval.dirty = false;
    }
  }

  private store(interval: OpenInterval, closed: boolean): void {
    const { lastSeen, opens, bytesIn, bytesOut, source, rowId } = interval;
    this.updates[interval.table].run(lastSeen, opens, bytesIn ?? null, bytesOut ?? null, source, closed ? 1 : 0, rowId);
  }

  /**
   * Forgets every open interval after rows were deleted under the writer (`bubble clean`): those still stored are
   * closed with their figures; whatever is still observed opens a new interval on the next tick.
   */
  forget(): void {
    // Whatever is still observed opens a new row on the next tick: these end here.
    for (const interval of this.open.values()) this.store(interval, true);
    this.open.clear();
  }
}
