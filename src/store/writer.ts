/**
 * Writes what one tick saw: new containers and processes, their exits, and the series rows the rollup closed, in
 * ONE transaction, so a kill -9 loses at most the tick in flight. Row ids of entities are cached in memory and only
 * trusted once their transaction committed: a failed tick (a full disk) leaves the caches as they were and the same
 * tick can be written again.
 */
import type Database from 'better-sqlite3';
import type { ContainerView, ProcessView, Snapshot } from '../model/snapshot.js';
import type { SeriesRows } from './rows.js';
import { AccessWriter } from './access.js';
import { MERGE_CONTAINER_SERIES, MERGE_PROCESS_SERIES, MERGE_SYSCALL_ERRORS } from './merge.js';
import { openSession, recoverSessions } from './sessions.js';
import { TIER_ID } from './tiers.js';

/** What a tick tells the session: how far the coarse tiers are merged, and whether this is its last write. */
export interface TickBookkeeping {
  /** Second buckets before this are in the minute, hour and day rows (Rollup.foldedThrough). */
  readonly foldedThrough: number;
  /** The session's final write (finish()): it is marked ended and what it holds alive gets last_seen = this tick. */
  readonly end?: boolean;
}

/** How often live entities get their last_seen refreshed: a reader can tell a live entity from a lost one. */
const LAST_SEEN_EVERY_MS = 60_000;
/** A day bucket closes at most a day after an exit in it. */
const RETIRED_KEEP_MS = 25 * 3_600_000;

interface ContainerState {
  readonly id: number;
  readonly signature: string;
}

function containerSignature(c: ContainerView): string {
  return JSON.stringify([
    c.name,
    c.image ?? null,
    c.labels ?? null,
    c.user ?? null,
    c.parent ?? null,
    c.memoryLimitBytes ?? null,
    c.cpuLimitCores ?? null,
    c.cpuSource,
    c.oomKills ?? null,
    c.cpusetCpus ?? null,
    c.steps ?? null,
    c.memoryPeakBytes ?? null,
    c.addresses ?? null,
  ]);
}

/** The container's addresses as stored: a JSON array, NULL when none are known. */
function addressesJson(c: ContainerView): string | null {
  return c.addresses === undefined || c.addresses.length === 0 ? null : JSON.stringify(c.addresses);
}

/** A recorded process: its row id and the command its row holds (the newest the writer wrote). */
interface ProcessState {
  readonly id: number;
  readonly firstSeen: number;
  readonly comm: string;
  readonly exe: string;
  readonly cmdline: string;
}

/** `pid:startTicks`: tells a process key from a container key ('host', 'docker:<id>', 'slurm:<jobid>'). */
const PROCESS_KEY = /^\d+:\d+$/;

/** SQLite's word for a row that points at a row someone else deleted (`bubble clean` while recording). */
const isForeignKeyFailure = (error: unknown): boolean => (error as { code?: unknown } | null)?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY';

const labelsJson = (c: ContainerView): string | null => (c.labels === undefined ? null : JSON.stringify(c.labels));
/** The highest peak read (the counter is cumulative; a tick that could not read it keeps the last). */
const PEAK = (value: string): string => `CASE WHEN ${value} IS NULL THEN memory_peak ELSE max(coalesce(memory_peak, 0), ${value}) END`;
const stepsJson = (c: ContainerView): string | null => (c.steps === undefined || c.steps.length === 0 ? null : JSON.stringify(c.steps));
/** A job's steps come and go: the row keeps every step it was seen with, sorted (SQLite's JSON1). */
const STEPS_UNION = (value: string): string =>
  `CASE WHEN ${value} IS NULL THEN steps ELSE (SELECT json_group_array(value) FROM (SELECT value FROM json_each(coalesce(steps, '[]'))
     UNION SELECT value FROM json_each(${value}) ORDER BY value)) END`;

export class StoreWriter {
  private readonly containers = new Map<string, ContainerState>();
  private readonly processes = new Map<string, ProcessState>();
  /**
   * Entities that exited, by key, kept until their last (day) bucket can have closed: the rollup emits their coarse
   * rows after the exit. Keys of containers ('docker:...') and processes ('pid:ticks') cannot collide.
   */
  private readonly retired = new Map<string, { readonly id: number; readonly at: number }>();
  private lastSeenWrittenMs = 0;
  /** The sessions row, opened by the first tick written (after recovering sessions that never ended). */
  private sessionId: number | undefined;
  private readonly updateSession: Database.Statement;

  private readonly upsertContainer: Database.Statement;
  private readonly updateContainerMeta: Database.Statement;
  private readonly insertProcess: Database.Statement;
  private readonly processExit: Database.Statement;
  private readonly processExitCode: Database.Statement;
  private readonly containerExit: Database.Statement;
  private readonly containerExitCode: Database.Statement;
  private readonly touchProcess: Database.Statement;
  private readonly touchContainer: Database.Statement;
  private readonly insertContainerRow: Database.Statement;
  private readonly insertProcessRow: Database.Statement;
  private readonly insertErrorRow: Database.Statement;
  private readonly tick: (snapshot: Snapshot, rows: SeriesRows, book: TickBookkeeping) => void;
  private readonly db: Database.Database;
  private readonly insertCommand: Database.Statement;
  private readonly keepFirstCommand: Database.Statement;
  private readonly updateCommand: Database.Statement;
  private readonly dataVersion: Database.Statement;
  private readonly cachedContainerKeys: Database.Statement;
  private readonly access: AccessWriter;
  /**
   * PRAGMA data_version when the caches were last checked: it changes when another connection commits (our own
   * commits leave it), so a commit between the check and our tick is still seen at the next check.
   */
  private seenVersion: number;

  constructor(db: Database.Database) {
    this.db = db;
    this.upsertContainer = db.prepare(`
      INSERT INTO containers (key, kind, cid, name, image, labels, cgroup, parent, user, memory_limit, cpu_limit, cpu_source, oom_kills, cpuset_cpus, steps,
                              memory_peak, addresses, first_seen, last_seen)
      VALUES (@key, @kind, @cid, @name, @image, @labels, @cgroup, @parent, @user, @memoryLimit, @cpuLimit, @cpuSource, @oomKills, @cpusetCpus, @steps, @memoryPeak,
              @addresses, @time, @time)
      ON CONFLICT (key) DO UPDATE SET
        name = excluded.name, image = coalesce(excluded.image, image), labels = coalesce(excluded.labels, labels),
        cgroup = excluded.cgroup, parent = coalesce(excluded.parent, parent), user = coalesce(excluded.user, user),
        memory_limit = coalesce(excluded.memory_limit, memory_limit), cpu_limit = coalesce(excluded.cpu_limit, cpu_limit), cpu_source = excluded.cpu_source,
        oom_kills = coalesce(excluded.oom_kills, oom_kills), cpuset_cpus = coalesce(excluded.cpuset_cpus, cpuset_cpus),
        steps = ${STEPS_UNION('excluded.steps')}, memory_peak = ${PEAK('excluded.memory_peak')}, addresses = coalesce(excluded.addresses, addresses),
        last_seen = excluded.last_seen, exit_time = NULL, exit_code = NULL
      RETURNING id`);
    this.updateContainerMeta = db.prepare(
      `UPDATE containers SET name = @name, image = @image, labels = @labels, user = @user, parent = @parent,
              memory_limit = coalesce(@memoryLimit, memory_limit), cpu_limit = coalesce(@cpuLimit, cpu_limit), cpu_source = @cpuSource, oom_kills = coalesce(@oomKills, oom_kills),
              cpuset_cpus = coalesce(@cpusetCpus, cpuset_cpus), steps = ${STEPS_UNION('@steps')}, memory_peak = ${PEAK('@memoryPeak')},
              addresses = coalesce(@addresses, addresses), last_seen = @time
        WHERE id = @id`,
    );
    this.insertProcess = db.prepare(`
      INSERT INTO processes (container_id, pid, start_time, key, ppid, parent_id, nspid, comm, exe, cmdline, uid, user, first_seen, last_seen)
      VALUES (@container, @pid, @start, @key, @ppid, @parent, @nspid, @comm, @exe, @cmdline, @uid, @user, @time, @time)
      ON CONFLICT (pid, start_time) DO UPDATE SET last_seen = excluded.last_seen, exit_time = NULL, key = coalesce(key, excluded.key)
      RETURNING id, first_seen, comm, exe, cmdline`);
    // A changed command: the one first written keeps its place in the history (once: the row may exist from an
    // earlier session), the new one starts now, and the process's row holds the newest.
    this.keepFirstCommand = db.prepare(
      `INSERT OR IGNORE INTO process_commands (process_id, since, comm, exe, cmdline) VALUES (@id, @since, @comm, @exe, @cmdline)`,
    );
    this.insertCommand = db.prepare(
      `INSERT OR REPLACE INTO process_commands (process_id, since, comm, exe, cmdline) VALUES (@id, @since, @comm, @exe, @cmdline)`,
    );
    this.updateCommand = db.prepare(`UPDATE processes SET comm = @comm, exe = @exe, cmdline = @cmdline WHERE id = @id`);
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.cachedContainerKeys = db.prepare(`SELECT id, key FROM containers WHERE id IN (SELECT value FROM json_each(?))`);
    this.processExit = db.prepare(`UPDATE processes SET exit_time = @time, last_seen = @time, exit_code = @code WHERE id = @id`);
    this.processExitCode = db.prepare(`UPDATE processes SET exit_code = @code WHERE id = @id`);
    this.containerExit = db.prepare(`UPDATE containers SET exit_time = @time, last_seen = @time, exit_code = coalesce(@code, exit_code) WHERE id = @id`);
    this.containerExitCode = db.prepare(
      `UPDATE containers SET exit_code = @code, exit_time = coalesce(exit_time, @time),
              oom_kills = CASE WHEN @oom THEN max(coalesce(oom_kills, 0), 1) ELSE oom_kills END,
              name = coalesce(@name, name) WHERE key = @key`,
    );
    this.touchProcess = db.prepare(`UPDATE processes SET last_seen = ? WHERE id = ?`);
    this.touchContainer = db.prepare(`UPDATE containers SET last_seen = ? WHERE id = ?`);
    // Minute parts of an hour or a day, and a bucket touched by several sessions, merge (src/store/merge.ts).
    this.insertContainerRow = db.prepare(`
      INSERT INTO container_series (tier, bucket, container_id, cpu_ns, mem_avg, mem_max, read_bytes, write_bytes,
                                    net_rx_bytes, net_tx_bytes, pids_max, samples, sampled_ms)
      VALUES (@tier, @bucket, @id, @cpu, @memAvg, @memMax, @read, @write, @rx, @tx, @pids, @samples, @sampledMs)
      ON CONFLICT (tier, bucket, container_id) DO UPDATE SET
        ${MERGE_CONTAINER_SERIES}`);
    this.insertProcessRow = db.prepare(`
      INSERT INTO process_series (tier, bucket, process_id, cpu_ns, rss_avg, rss_max, read_bytes, write_bytes, threads_max, samples,
                                  net_rx_bytes, net_tx_bytes, sampled_ms)
      VALUES (@tier, @bucket, @id, @cpu, @rssAvg, @rssMax, @read, @write, @threads, @samples, @rx, @tx, @sampledMs)
      ON CONFLICT (tier, bucket, process_id) DO UPDATE SET
        ${MERGE_PROCESS_SERIES}`);
    this.insertErrorRow = db.prepare(`
      INSERT INTO syscall_errors (tier, bucket, process_id, syscall, errno, count) VALUES (@tier, @bucket, @id, @syscall, @errno, @count)
      ON CONFLICT (tier, bucket, process_id, syscall, errno) DO UPDATE SET ${MERGE_SYSCALL_ERRORS}`);
    // max(): folded_through never goes below the session's first second; the rollup's open minute can start earlier,
    // and those seconds belong to earlier sessions, which folded them themselves.
    this.updateSession = db.prepare(
      `UPDATE sessions SET last_tick = max(last_tick, @time), folded_through = max(folded_through, @folded), ended = @ended WHERE id = @id`,
    );
    this.access = new AccessWriter(db);
    this.tick = db.transaction((snapshot: Snapshot, rows: SeriesRows, book: TickBookkeeping) => this.writeInTransaction(snapshot, rows, book));
    this.seenVersion = this.dataVersion.get() as number;
  }

  /**
   * Writes one tick in one transaction. Throws what SQLite throws (SQLITE_FULL, SQLITE_BUSY...): nothing of the
   * tick is then stored and the writer can be given the same tick again.
   */
  writeTick(snapshot: Snapshot, rows: SeriesRows, book: TickBookkeeping): void {
    this.checkForeignChanges();
    try {
      this.attempt(snapshot, rows, book);
    } catch (error) {
      // A row our caches point at was deleted under us (a `bubble clean` between our version check and the tick):
      // forget every cached id and write the tick again, recording its entities afresh.
      if (!isForeignKeyFailure(error)) throw error;
      this.forget();
      this.attempt(snapshot, rows, book);
    }
  }

  /**
   * Another connection committed since our last tick (`bubble clean`; nothing else writes while we hold the lock):
   * when a cached container row is gone or is another container's now, the cached ids are stale. Checking the
   * containers is enough: clean removes containers with all their processes.
   */
  private checkForeignChanges(): void {
    const version = this.dataVersion.get() as number;
    if (version === this.seenVersion) return;
    this.seenVersion = version;
    const cached = new Map<number, string>();
    for (const [key, { id }] of this.containers) cached.set(id, key);
    for (const [key, { id }] of this.retired) if (!PROCESS_KEY.test(key)) cached.set(id, key);
    if (cached.size === 0) return;
    const rows = this.cachedContainerKeys.all(JSON.stringify([...cached.keys()])) as { id: number; key: string }[];
    const found = new Map(rows.map((r) => [r.id, r.key]));
    for (const [id, key] of cached) {
      if (found.get(id) !== key) {
        this.forget();
        return;
      }
    }
  }

  /** Drops every cached row id: the next tick finds or inserts its containers and processes again. */
  private forget(): void {
    this.containers.clear();
    this.processes.clear();
    this.retired.clear();
    this.access.forget();
    this.lastSeenWrittenMs = 0;
  }

  private attempt(snapshot: Snapshot, rows: SeriesRows, book: TickBookkeeping): void {
    const lastSeenBefore = this.lastSeenWrittenMs;
    const sessionBefore = this.sessionId;
    const undo: (() => void)[] = [];
    this.undo = undo;
    try {
      this.tick(snapshot, rows, book);
    } catch (error) {
      // Ids handed out inside the rolled-back transaction do not exist: undo what the tick did to the caches.
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      this.lastSeenWrittenMs = lastSeenBefore;
      this.sessionId = sessionBefore;
      throw error;
    } finally {
      this.undo = undefined;
    }
  }

  /** Cache changes of the tick in flight, undone if its transaction fails (cheaper than copying every cache). */
  private undo: (() => void)[] | undefined;

  private remember<V>(map: Map<string, V>, key: string): void {
    if (this.undo === undefined) return;
    const had = map.has(key);
    const old = map.get(key);
    this.undo.push(had ? () => map.set(key, old as V) : () => map.delete(key));
  }

  private setCached<V>(map: Map<string, V>, key: string, value: V): void {
    this.remember(map, key);
    map.set(key, value);
  }

  private deleteCached<V>(map: Map<string, V>, key: string): void {
    this.remember(map, key);
    map.delete(key);
  }

  /**
   * Docker's exit code, which can arrive after the container's cgroup (and so its exit time) is gone; `oomKilled`
   * (Docker's State.OOMKilled) counts one OOM kill when no tick saw the cgroup's counter before it went.
   */
  noteContainerExit(key: string, exitCode: number, finishedAtMs: number | undefined, oomKilled = false, name?: string): void {
    this.containerExitCode.run({ key, code: exitCode, time: finishedAtMs ?? null, oom: oomKilled ? 1 : 0, name: name ?? null });
  }

  private containerId(c: ContainerView, time: number): number {
    const known = this.containers.get(c.key);
    const signature = containerSignature(c);
    if (known !== undefined) {
      if (known.signature !== signature) {
        this.updateContainerMeta.run({
          id: known.id,
          name: c.name,
          image: c.image ?? null,
          labels: labelsJson(c),
          user: c.user ?? null,
          parent: c.parent ?? null,
          memoryLimit: c.memoryLimitBytes ?? null,
          cpuLimit: c.cpuLimitCores ?? null,
          cpuSource: c.cpuSource,
          oomKills: c.oomKills ?? null,
          cpusetCpus: c.cpusetCpus ?? null,
          steps: stepsJson(c),
          memoryPeak: c.memoryPeakBytes ?? null,
          addresses: addressesJson(c),
          time,
        });
        this.setCached(this.containers, c.key, { id: known.id, signature });
      }
      return known.id;
    }
    const row = this.upsertContainer.get({
      key: c.key,
      kind: c.kind,
      cid: c.id,
      name: c.name,
      image: c.image ?? null,
      labels: labelsJson(c),
      cgroup: c.cgroup,
      parent: c.parent ?? null,
      user: c.user ?? null,
      memoryLimit: c.memoryLimitBytes ?? null,
      cpuLimit: c.cpuLimitCores ?? null,
      cpuSource: c.cpuSource,
      oomKills: c.oomKills ?? null,
      cpusetCpus: c.cpusetCpus ?? null,
      steps: stepsJson(c),
      memoryPeak: c.memoryPeakBytes ?? null,
      addresses: addressesJson(c),
      time,
    }) as { id: number };
    this.setCached(this.containers, c.key, { id: row.id, signature });
    return row.id;
  }

  private processId(p: ProcessView, containerId: number, parentId: number | undefined, time: number): ProcessState {
    const row = this.insertProcess.get({
      container: containerId,
      pid: p.pid,
      start: Math.round(p.startTimeMs),
      key: p.key,
      ppid: p.ppid,
      parent: parentId ?? null,
      nspid: p.nspid ?? null,
      comm: p.comm,
      exe: p.exe,
      cmdline: p.cmdline,
      uid: p.uid,
      user: p.user,
      time,
    }) as { id: number; first_seen: number; comm: string; exe: string; cmdline: string };
    const state: ProcessState = { id: row.id, firstSeen: row.first_seen, comm: row.comm, exe: row.exe, cmdline: row.cmdline };
    this.setCached(this.processes, p.key, state);
    return state;
  }

  /** The process exec'd (or its row, from an earlier session, holds an older command): its command from now on. */
  private commandChanged(p: ProcessView, known: ProcessState, time: number): void {
    this.keepFirstCommand.run({ id: known.id, since: known.firstSeen, comm: known.comm, exe: known.exe, cmdline: known.cmdline });
    const command = { id: known.id, comm: p.comm, exe: p.exe, cmdline: p.cmdline };
    this.insertCommand.run({ ...command, since: Math.max(time, known.firstSeen + 1) });
    this.updateCommand.run(command);
    this.setCached(this.processes, p.key, { ...known, comm: p.comm, exe: p.exe, cmdline: p.cmdline });
  }

  private writeInTransaction(snapshot: Snapshot, rows: SeriesRows, book: TickBookkeeping): void {
    const time = snapshot.timeMs;
    if (this.sessionId === undefined) {
      // The first tick: fold what crashed sessions left unfolded before this session adds to the same buckets.
      recoverSessions(this.db);
      this.sessionId = openSession(this.db, process.pid, time);
    }
    const containerIds = new Map<string, number>();
    for (const c of snapshot.containers) containerIds.set(c.key, this.containerId(c, time));

    // Parents are looked up by pid among this tick's processes; only new processes need it.
    let byPid: Map<number, string> | undefined;
    for (const p of snapshot.processes) {
      if (p.kernelThread) continue;
      let known = this.processes.get(p.key);
      if (known === undefined) {
        const containerId = containerIds.get(p.containerKey);
        if (containerId === undefined) continue;
        byPid ??= new Map(snapshot.processes.map((q) => [q.pid, q.key]));
        const parentKey = byPid.get(p.ppid);
        const parentId = parentKey === undefined ? undefined : this.processes.get(parentKey)?.id;
        known = this.processId(p, containerId, parentId, time);
      }
      if (known.comm !== p.comm || known.exe !== p.exe || known.cmdline !== p.cmdline) this.commandChanged(p, known, time);
    }

    for (const p of snapshot.exited.processes) {
      const id = this.processes.get(p.key)?.id;
      if (id === undefined) {
        // Reported again with the exit code a source learnt a tick later (bpftrace after procfs): the code only.
        const retired = p.exitCode === undefined ? undefined : this.retired.get(p.key);
        if (retired !== undefined) this.processExitCode.run({ id: retired.id, code: p.exitCode });
        continue;
      }
      this.processExit.run({ id, time: p.exitedAtMs ?? time, code: p.exitCode ?? null });
      this.deleteCached(this.processes, p.key);
      this.setCached(this.retired, p.key, { id, at: time });
    }
    for (const c of snapshot.exited.containers) {
      const state = this.containers.get(c.key);
      if (state === undefined || c.kind === 'host') continue;
      this.containerExit.run({ id: state.id, time: c.exitedAtMs ?? time, code: c.exitCode ?? null });
      this.deleteCached(this.containers, c.key);
      this.setCached(this.retired, c.key, { id: state.id, at: time });
    }

    if (book.end === true || time - this.lastSeenWrittenMs >= LAST_SEEN_EVERY_MS) {
      for (const { id } of this.processes.values()) this.touchProcess.run(time, id);
      for (const { id } of this.containers.values()) this.touchContainer.run(time, id);
      this.lastSeenWrittenMs = time;
      for (const [key, { at }] of this.retired) if (time - at > RETIRED_KEEP_MS) this.deleteCached(this.retired, key);
    }

    if (snapshot.access !== undefined) {
      const procfsPass = snapshot.access.some((o) => o.source === 'procfs') || snapshot.processes.length > 0;
      this.access.write(time, snapshot.access, procfsPass, (key) => this.processes.get(key)?.id ?? this.retired.get(key)?.id, this.undo);
    }
    this.writeRows(rows);
    const folded = Number.isNaN(book.foldedThrough) ? time : book.foldedThrough;
    this.updateSession.run({ id: this.sessionId, time, folded, ended: book.end === true ? time : null });
  }

  /** Writes the figures of still-open access intervals (shutdown). */
  flushAccess(): void {
    this.access.flush();
  }

  /** Rows of entities that exited since (their coarse buckets close later) find their ids among the retired. */
  private writeRows(rows: SeriesRows): void {
    for (const r of rows.containers) {
      const id = this.containers.get(r.containerKey)?.id ?? this.retired.get(r.containerKey)?.id;
      if (id === undefined) continue;
      this.insertContainerRow.run({
        tier: TIER_ID[r.tier],
        bucket: r.bucket,
        id,
        cpu: Math.round(r.cpuNs),
        memAvg: r.memAvg === undefined ? null : Math.round(r.memAvg),
        memMax: r.memMax ?? null,
        read: r.readBytes,
        write: r.writeBytes,
        rx: r.netRxBytes ?? null,
        tx: r.netTxBytes ?? null,
        pids: r.pidsMax ?? null,
        samples: r.samples,
        sampledMs: r.sampledMs,
      });
    }
    for (const r of rows.processes) {
      const id = this.processes.get(r.processKey)?.id ?? this.retired.get(r.processKey)?.id;
      if (id === undefined) continue;
      this.insertProcessRow.run({
        tier: TIER_ID[r.tier],
        bucket: r.bucket,
        id,
        cpu: Math.round(r.cpuNs),
        rssAvg: Math.round(r.rssAvg),
        rssMax: r.rssMax,
        read: r.readBytes,
        write: r.writeBytes,
        threads: r.threadsMax,
        samples: r.samples,
        rx: r.netRxBytes ?? null,
        tx: r.netTxBytes ?? null,
        sampledMs: r.sampledMs,
      });
    }
    for (const r of rows.errors ?? []) {
      const id = this.processes.get(r.processKey)?.id ?? this.retired.get(r.processKey)?.id;
      if (id === undefined) continue;
      this.insertErrorRow.run({ tier: TIER_ID[r.tier], bucket: r.bucket, id, syscall: r.syscall, errno: r.errno, count: r.count });
    }
  }
}
