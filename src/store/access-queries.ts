/**
 * Reading file and network access: what a process had open at a moment (replay panes), and the export rows.
 * Process keys from the store's snapshots are `pid:start_time`.
 */
import type { Database } from 'better-sqlite3';
import type { FileRow, NetRow } from '../tui/source.js';
import { aliveDuringSql } from './sessions.js';
import { statement } from './statements.js';

/**
 * Intervals that cover `atMs` give the panes of a past moment: a minute of slack (an open interval's last_seen is
 * refreshed once a minute), but only while the process itself is shown alive then (the store's one alive rule), so
 * nothing is carried past its exit, its session's end or a gap between sessions.
 */
const COVER_SLACK_MS = 60_000;
const COVERS = `a.process_id = @id AND a.first_seen <= @at + 999 AND a.last_seen >= @at - ${COVER_SLACK_MS} AND ${aliveDuringSql('p')}`;
const coverParams = (id: number, atMs: number): Record<string, number> => ({ id, at: atMs, from: atMs, to: atMs + 1000 });

function processRowId(db: Database, processKey: string): number | undefined {
  const [pid, start] = processKey.split(':').map(Number);
  if (!Number.isInteger(pid) || !Number.isInteger(start)) return undefined;
  const row = statement(db, 'SELECT id FROM processes WHERE pid = ? AND start_time = ?').get(pid, start) as { id: number } | undefined;
  return row?.id;
}

export function filesFromStore(db: Database, processKey: string, atMs: number): FileRow[] {
  const id = processRowId(db, processKey);
  if (id === undefined) return [];
  const rows = statement(
      db,
      `SELECT a.path, a.mode, a.deleted, a.bytes_in, a.bytes_out FROM file_access a JOIN processes p ON p.id = a.process_id
        WHERE ${COVERS} ORDER BY a.path`,
    )
    .all(coverParams(id, atMs)) as { path: string; mode: string; deleted: number; bytes_in: number | null; bytes_out: number | null }[];
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
      `SELECT a.protocol, a.local, a.remote, a.state, a.bytes_in, a.bytes_out FROM net_access a JOIN processes p ON p.id = a.process_id
        WHERE ${COVERS} ORDER BY a.protocol, a.local, a.remote`,
    )
    .all(coverParams(id, atMs)) as { protocol: string; local: string; remote: string; state: string; bytes_in: number | null; bytes_out: number | null }[];
  return rows.map((r) => ({
    protocol: r.protocol,
    local: r.local,
    remote: r.remote,
    state: r.state,
    ...(r.bytes_in !== null && { bytesIn: r.bytes_in }),
    ...(r.bytes_out !== null && { bytesOut: r.bytes_out }),
  }));
}
