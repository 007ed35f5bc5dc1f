/**
 * Reads of syscall_errors (migration 8) that replay's snapshots and the report share. A store written before the
 * table existed, opened read-only, has none: readers then have nothing to show, not an error.
 */
import type { Database } from 'better-sqlite3';
import type { SyscallErrorCount } from '../model/syscall-errors.js';
import { statement } from './statements.js';
import { TIER_ID, type Tier } from './tiers.js';

/** Whether the store has the table (a read-only store from before migration 8 does not). */
export function hasSyscallErrors(db: Database): boolean {
  return statement(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'syscall_errors'").get() !== undefined;
}

/** The failed syscalls of one bucket, keyed as replay keys its processes; only `containerKey`'s when given. */
export function syscallErrorsAt(db: Database, tier: Tier, bucket: number, containerKey?: string): SyscallErrorCount[] {
  if (!hasSyscallErrors(db)) return [];
  const rows = statement(
    db,
    `SELECT coalesce(p.key, p.pid || ':' || p.start_time) AS processKey, s.syscall, s.errno, s.count
       FROM syscall_errors s JOIN processes p ON p.id = s.process_id JOIN containers c ON c.id = p.container_id
      WHERE s.tier = @tier AND s.bucket = @bucket AND (@key IS NULL OR c.key = @key)`,
  ).all({ tier: TIER_ID[tier], bucket, key: containerKey ?? null }) as SyscallErrorCount[];
  return rows;
}
