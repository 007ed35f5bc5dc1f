/**
 * Recording sessions: the bookkeeping that lets minute, hour and day buckets hold every session that touched them.
 * A session is one Recorder run that recorded at least one tick (the `sessions` table, schema migration 2). Its
 * minute, hour and day rows are merged as its minutes close, and `folded_through` says up to where; a session that
 * never ended (kill -9, SIGHUP, a closed terminal) is recovered by the next recorder before its first tick: its
 * second rows from `folded_through` to its `last_tick` are folded into the coarse tiers the same way, and what it held
 * alive gets `last_seen` = its last tick. Callers hold the recorder lock and run these inside the tick's transaction.
 */
import type Database from 'better-sqlite3';
import { MERGE_CONTAINER_SERIES, MERGE_PROCESS_SERIES, MERGE_SYSCALL_ERRORS } from './merge.js';
import { statement } from './statements.js';
import { TIER_ID, TIER_MS, type Tier } from './tiers.js';

const COARSE: readonly Tier[] = ['minute', 'hour', 'day'];

interface OpenSession {
  id: number;
  started: number;
  last_tick: number;
  folded_through: number;
}

/** Folds the second rows in [from, through] into the tier's buckets, merging into rows already there. */
function fold(db: Database.Database, tier: Tier, from: number, through: number): void {
  const params = { tier: TIER_ID[tier], size: TIER_MS[tier], from, through };
  statement(
    db,
    `INSERT INTO container_series (tier, bucket, container_id, cpu_ns, mem_avg, mem_max, read_bytes, write_bytes,
                                   net_rx_bytes, net_tx_bytes, pids_max, samples, sampled_ms)
     SELECT @tier, bucket - bucket % @size AS b, container_id, sum(cpu_ns),
            CAST(round(sum(mem_avg * samples) * 1.0 / sum(CASE WHEN mem_avg IS NOT NULL THEN samples END)) AS INTEGER),
            max(mem_max), sum(read_bytes), sum(write_bytes), sum(net_rx_bytes), sum(net_tx_bytes), max(pids_max),
            sum(samples), sum(coalesce(sampled_ms, 0))
       FROM container_series
      WHERE tier = 0 AND bucket >= @from AND bucket <= @through
      GROUP BY b, container_id
     ON CONFLICT (tier, bucket, container_id) DO UPDATE SET
        ${MERGE_CONTAINER_SERIES}`,
  ).run(params);
  statement(
    db,
    `INSERT INTO process_series (tier, bucket, process_id, cpu_ns, rss_avg, rss_max, read_bytes, write_bytes, threads_max, samples,
                                 net_rx_bytes, net_tx_bytes, sampled_ms)
     SELECT @tier, bucket - bucket % @size AS b, process_id, sum(cpu_ns),
            CAST(round(sum(rss_avg * samples) * 1.0 / sum(samples)) AS INTEGER), max(rss_max), sum(read_bytes),
            sum(write_bytes), max(threads_max), sum(samples), sum(net_rx_bytes), sum(net_tx_bytes), sum(sampled_ms)
       FROM process_series
      WHERE tier = 0 AND bucket >= @from AND bucket <= @through
      GROUP BY b, process_id
     ON CONFLICT (tier, bucket, process_id) DO UPDATE SET
        ${MERGE_PROCESS_SERIES}`,
  ).run(params);
  statement(
    db,
    `INSERT INTO syscall_errors (tier, bucket, process_id, syscall, errno, count)
     SELECT @tier, bucket - bucket % @size AS b, process_id, syscall, errno, sum(count)
       FROM syscall_errors
      WHERE tier = 0 AND bucket >= @from AND bucket <= @through
      GROUP BY b, process_id, syscall, errno
     ON CONFLICT (tier, bucket, process_id, syscall, errno) DO UPDATE SET ${MERGE_SYSCALL_ERRORS}`,
  ).run(params);
}

/**
 * Recovers every session that has no `ended` (none of them runs: the caller holds the recorder lock). Returns how
 * many were recovered. Idle processes of a recovered minute have no row in it (they wrote no second rows).
 */
export function recoverSessions(db: Database.Database): number {
  const open = statement(db, 'SELECT id, started, last_tick, folded_through FROM sessions WHERE ended IS NULL ORDER BY started').all() as OpenSession[];
  for (const s of open) {
    for (const tier of COARSE) fold(db, tier, s.folded_through, s.last_tick);
    // Alive at its last tick (an exit it saw has an exit_time): its life in the store ends there, not a minute later.
    for (const table of ['processes', 'containers']) {
      statement(db, `UPDATE ${table} SET last_seen = @last WHERE exit_time IS NULL AND last_seen >= @started AND last_seen < @last`).run({
        started: s.started,
        last: s.last_tick,
      });
    }
    statement(db, 'UPDATE sessions SET folded_through = @last + 1, ended = @last WHERE id = @id').run({ id: s.id, last: s.last_tick });
  }
  return open.length;
}

/**
 * Opens a session whose first tick is at `timeMs`; returns its id. Its folded_through starts at that tick's second.
 * The Recorder never starts a session in the second of the previous session's last tick (recovery could not tell
 * the two sessions' parts of that second row apart).
 */
export function openSession(db: Database.Database, pid: number, timeMs: number): number {
  const second = Math.floor(timeMs / 1000) * 1000;
  return Number(
    statement(db, 'INSERT INTO sessions (pid, started, last_tick, folded_through) VALUES (?, ?, ?, ?)').run(pid, timeMs, timeMs, second).lastInsertRowid,
  );
}

/** The newest tick of any session, or undefined when none recorded (or the store predates sessions). */
export function newestTick(db: Database.Database): number | undefined {
  return (statement(db, 'SELECT max(last_tick) FROM sessions').pluck().get() as number | null) ?? undefined;
}

/**
 * The end of an entity's life as far as the store knows, in SQL, for `alias` (a `processes` or `containers` row):
 * its exit; else, while a session that has not ended holds it (seen at or after that session's start), that
 * session's last tick; else its last_seen, which a session's finish (or its recovery) sets to its last tick. A
 * session's end is not an entity's life: nothing is carried past the last tick that saw it.
 */
export function aliveUntilSql(alias: string): string {
  return `coalesce(${alias}.exit_time, (SELECT max(ss.last_tick) FROM sessions ss WHERE ss.ended IS NULL AND ss.started <= ${alias}.last_seen), ${alias}.last_seen)`;
}

/**
 * Shown as alive in [@from, @to): seen before @to, its life (aliveUntilSql) reaches @from, and a session was
 * recording then: between sessions nothing was seen, so nothing is carried across the gap (a process that exited
 * while nothing recorded does not reappear, and one that lived on shows again from the next session's ticks).
 * Times before the first session (a store recorded before sessions existed, or one without any) count as recorded.
 */
export function aliveDuringSql(alias: string): string {
  return `${alias}.first_seen < @to AND ${aliveUntilSql(alias)} >= @from AND ${RECORDING}`;
}

const RECORDING =
  '(EXISTS (SELECT 1 FROM sessions rs WHERE rs.started < @to AND rs.last_tick >= @from) OR @from < coalesce((SELECT min(started) FROM sessions), 9007199254740991))';
