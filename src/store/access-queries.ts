/**
 * Reading file and network access: what a process had open at a moment (replay panes), in the one shape the live
 * panes use (model/access.ts). Process keys from the store's snapshots are `pid:start_time`.
 */
import type { Database } from 'better-sqlite3';
import type { FileAccess, SocketAccess } from '../model/access.js';
import { statement } from './statements.js';

/** Intervals that cover `atMs` give the panes of a past moment (a minute of slack: last_seen is refreshed per minute). */
const COVER_SLACK_MS = 60_000;

function processRowId(db: Database, processKey: string): number | undefined {
  const [pid, start] = processKey.split(':').map(Number);
  if (!Number.isInteger(pid) || !Number.isInteger(start)) return undefined;
  const row = statement(db, 'SELECT id FROM processes WHERE pid = ? AND start_time = ?').get(pid, start) as { id: number } | undefined;
  return row?.id;
}

interface Known {
  fd: number | null;
  bytes_in: number | null;
  bytes_out: number | null;
}

/** The optional fields, present only when the store knows them. */
function known(r: Known): { fd?: number; bytesIn?: number; bytesOut?: number } {
  return {
    ...(r.fd !== null && { fd: r.fd }),
    ...(r.bytes_in !== null && { bytesIn: r.bytes_in }),
    ...(r.bytes_out !== null && { bytesOut: r.bytes_out }),
  };
}

/** Ordered as the live pane lists them: by descriptor (rows without one last, by path). */
export function filesFromStore(db: Database, processKey: string, atMs: number): FileAccess[] {
  const id = processRowId(db, processKey);
  if (id === undefined) return [];
  const rows = statement(
      db,
      `SELECT fd, path, mode, deleted, bytes_in, bytes_out FROM file_access
        WHERE process_id = ? AND first_seen <= ? AND last_seen >= ? ORDER BY fd IS NULL, fd, path`,
    )
    .all(id, atMs + 999, atMs - COVER_SLACK_MS) as ({ path: string; mode: string; deleted: number } & Known)[];
  return rows.map((r) => ({ ...known(r), path: r.path, mode: r.mode, deleted: r.deleted === 1 }));
}

export function netFromStore(db: Database, processKey: string, atMs: number): SocketAccess[] {
  const id = processRowId(db, processKey);
  if (id === undefined) return [];
  const rows = statement(
      db,
      `SELECT fd, protocol, local, remote, state, bytes_in, bytes_out FROM net_access
        WHERE process_id = ? AND first_seen <= ? AND last_seen >= ? ORDER BY fd IS NULL, fd, protocol, local, remote`,
    )
    .all(id, atMs + 999, atMs - COVER_SLACK_MS) as ({ protocol: string; local: string; remote: string; state: string } & Known)[];
  return rows.map((r) => ({ ...known(r), protocol: r.protocol, local: r.local, remote: r.remote, state: r.state }));
}
