/**
 * Reading file and network access: what a process had open at a moment (replay panes), and the export rows.
 * Process keys are those live and replay show (processes.key), or `pid:start_time` (epoch ms; rows written before
 * the key was stored).
 */
import type { Database } from 'better-sqlite3';
import type { FileRow, NetRow } from '../tui/source.js';
import { statement } from './statements.js';

/** Intervals that cover `atMs` give the panes of a past moment (a minute of slack: last_seen is refreshed per minute). */
const COVER_SLACK_MS = 60_000;

function processRowId(db: Database, processKey: string): number | undefined {
  const [pid, start] = processKey.split(':').map(Number);
  if (!Number.isInteger(pid) || !Number.isInteger(start)) return undefined;
  // Either form names one process: start ticks since boot and epoch milliseconds are far apart.
  const row = statement(db, 'SELECT id FROM processes WHERE pid = ? AND (key = ? OR start_time = ?)').get(pid, processKey, start) as
    | { id: number }
    | undefined;
  return row?.id;
}

export function filesFromStore(db: Database, processKey: string, atMs: number): FileRow[] {
  const id = processRowId(db, processKey);
  if (id === undefined) return [];
  const rows = statement(
      db,
      `SELECT path, mode, deleted, bytes_in, bytes_out FROM file_access
        WHERE process_id = ? AND first_seen <= ? AND last_seen >= ? ORDER BY path`,
    )
    .all(id, atMs + 999, atMs - COVER_SLACK_MS) as { path: string; mode: string; deleted: number; bytes_in: number | null; bytes_out: number | null }[];
  return rows.map((r) => ({
    path: r.path,
    mode: r.mode,
    deleted: r.deleted === 1,
    ...(r.bytes_in !== null && { bytesIn: r.bytes_in }),
    ...(r.bytes_out !== null && { bytesOut: r.bytes_out }),
  }));
}

export function netFromStore(db: Database, processKey: string, atMs: number): NetRow[] {
  const id = processRowId(db, processKey);
  if (id === undefined) return [];
  const rows = statement(
      db,
      `SELECT protocol, local, remote, state, bytes_in, bytes_out FROM net_access
        WHERE process_id = ? AND first_seen <= ? AND last_seen >= ? ORDER BY protocol, local, remote`,
    )
    .all(id, atMs + 999, atMs - COVER_SLACK_MS) as { protocol: string; local: string; remote: string; state: string; bytes_in: number | null; bytes_out: number | null }[];
  return rows.map((r) => ({
    protocol: r.protocol,
    local: r.local,
    remote: r.remote,
    state: r.state,
    ...(r.bytes_in !== null && { bytesIn: r.bytes_in }),
    ...(r.bytes_out !== null && { bytesOut: r.bytes_out }),
  }));
}
