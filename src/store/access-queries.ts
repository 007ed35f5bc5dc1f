/**
 * Reading file and network access: what a process had open at a moment (replay panes), in the one shape the live
 * panes use (model/access.ts). Process keys are those live and replay show (processes.key), or `pid:start_time`
 * (epoch ms; rows written before the key was stored).
 */
import type { Database } from 'better-sqlite3';
import { endpointAddress, peerNames, shownEndpoint, type FileAccess, type SocketAccess } from '../model/access.js';
import { aliveDuringSql } from './sessions.js';
import { hasColumn, statement } from './statements.js';

/**
 * Intervals that cover `atMs` give the panes of a past moment, only while the process itself is shown alive then (the
 * store's one alive rule), so nothing is carried past its exit, its session's end or a gap between sessions: an ended
 * interval (closed) up to the second of its last sighting, as live showed it; one still open (or open when the
 * recorder stopped) with a minute of slack, since its last_seen is refreshed once a minute.
 */
const COVER_SLACK_MS = 60_000;
// A process recorded at a tick of the second is shown in it (as replay lists it, with its exit): one that lived 50 ms
// between two ticks exited before the tick that recorded it and its opens and connections (its first_seen is that
// tick, after its exit_time), so its life alone never reaches that second.
const COVERS = `a.process_id = @id AND a.first_seen <= @at + 999
  AND a.last_seen >= (CASE WHEN a.closed = 1 THEN @second ELSE @at - ${COVER_SLACK_MS} END)
  AND (${aliveDuringSql('p')} OR (p.first_seen >= @from AND p.first_seen < @to))`;
const coverParams = (id: number, atMs: number): Record<string, number> => ({
  id,
  at: atMs,
  second: atMs - (atMs % 1000),
  from: atMs,
  to: atMs + 1000,
});

function processRowId(db: Database, processKey: string): number | undefined {
  const [pid, start] = processKey.split(':').map(Number);
  if (!Number.isInteger(pid) || !Number.isInteger(start)) return undefined;
  // Either form names one process: start ticks since boot and epoch milliseconds are far apart.
  const row = statement(db, 'SELECT id FROM processes WHERE pid = ? AND (key = ? OR start_time = ?)').get(pid, processKey, start) as { id: number } | undefined;
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
    `SELECT a.fd, a.path, a.mode, a.deleted, a.bytes_in, a.bytes_out FROM file_access a JOIN processes p ON p.id = a.process_id
        WHERE ${COVERS} ORDER BY a.fd IS NULL, a.fd, a.path`,
  ).all(coverParams(id, atMs)) as ({ path: string; mode: string; deleted: number } & Known)[];
  return rows.map((r) => ({ ...known(r), path: r.path, mode: r.mode, deleted: r.deleted === 1 }));
}

export function netFromStore(db: Database, processKey: string, atMs: number): SocketAccess[] {
  const id = processRowId(db, processKey);
  if (id === undefined) return [];
  const rows = statement(
    db,
    `SELECT a.fd, a.protocol, a.local, a.remote, a.state, a.bytes_in, a.bytes_out FROM net_access a JOIN processes p ON p.id = a.process_id
        WHERE ${COVERS} ORDER BY a.fd IS NULL, a.fd, a.protocol, a.local, a.remote`,
  ).all(coverParams(id, atMs)) as ({ protocol: string; local: string; remote: string; state: string } & Known)[];
  return rows.map((r) => ({ ...known(r), protocol: r.protocol, local: r.local, remote: r.remote, state: r.state }));
}

/** A container whose addresses the store knows (migration 9), with its life: first sight to its exit or last sight. */
export interface AddressedContainer {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly fromMs: number;
  readonly toMs: number;
}

/** Every container the store knows addresses of; none in a store written before addresses were kept. */
export function addressedContainers(db: Database): AddressedContainer[] {
  if (!hasColumn(db, 'containers', 'addresses')) return [];
  const rows = statement(
    db,
    'SELECT name, addresses, first_seen, coalesce(exit_time, last_seen) AS until FROM containers WHERE addresses IS NOT NULL',
  ).all() as { name: string; addresses: string; first_seen: number; until: number }[];
  const out: AddressedContainer[] = [];
  for (const r of rows) {
    let addresses: unknown;
    try {
      addresses = JSON.parse(r.addresses);
    } catch {
      continue;
    }
    if (!Array.isArray(addresses)) continue;
    out.push({ name: r.name, addresses: addresses.filter((a): a is string => typeof a === 'string'), fromMs: r.first_seen, toMs: r.until });
  }
  return out;
}

/**
 * Who had which address over [fromMs, toMs] (peerNames: an address two containers claimed then names neither). A
 * container's last_seen is refreshed once a minute while it runs, so its life is taken to reach COVER_SLACK_MS on.
 */
export function peersDuring(containers: readonly AddressedContainer[], fromMs: number, toMs: number): Map<string, string> {
  return peerNames(containers.filter((c) => c.fromMs <= toMs && c.toMs + COVER_SLACK_MS >= fromMs));
}

/** The container alive over [fromMs, toMs] that had the remote address of `remote` (an endpoint), if one did. */
export function peerOf(byAddress: ReadonlyMap<string, readonly AddressedContainer[]>, remote: string, fromMs: number, toMs: number): string | undefined {
  const address = endpointAddress(shownEndpoint(remote));
  const candidates = byAddress.get(address);
  return candidates === undefined ? undefined : peersDuring(candidates, fromMs, toMs).get(address);
}

/** The containers by each of their addresses, for peerOf(). */
export function byAddress(containers: readonly AddressedContainer[]): Map<string, AddressedContainer[]> {
  const out = new Map<string, AddressedContainer[]>();
  for (const c of containers) for (const a of c.addresses) out.set(a, [...(out.get(a) ?? []), c]);
  return out;
}
