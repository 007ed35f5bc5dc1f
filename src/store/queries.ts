/**
 * Read-only queries on a store (schema in schema.ts) for `ls`, `export`, `replay` and `clean`. They only SELECT, so
 * they run on a connection opened while `record` writes the same file (WAL readers never block the writer).
 */
import type { Database } from 'better-sqlite3';
import type { ContainerKind } from '../model/identity.js';
import { TIER_ID, TIER_MS, TIERS, bucketStart, type Tier } from './tiers.js';
import { newestTick } from './sessions.js';
import { statement } from './statements.js';

export interface StoredContainer {
  /** containerKey(): `docker:<id>`, `slurm:<jobid>`, `host`. */
  readonly key: string;
  readonly kind: ContainerKind;
  /** Identity.id (the `cid` column). */
  readonly id: string;
  readonly name: string;
  readonly image?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly cgroup: string;
  readonly parent?: string;
  readonly user?: string;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly exitTimeMs?: number;
  readonly exitCode?: number;
}

/** A `containers` row as SELECTed by CONTAINER_COLUMNS (history.ts selects more on top). */
export interface ContainerDbRow {
  key: string;
  kind: string;
  cid: string;
  name: string;
  image: string | null;
  labels: string | null;
  cgroup: string;
  parent: string | null;
  user: string | null;
  first_seen: number;
  last_seen: number;
  exit_time: number | null;
  exit_code: number | null;
}

const CONTAINER_COLUMNS = 'key, kind, cid, name, image, labels, cgroup, parent, user, first_seen, last_seen, exit_time, exit_code';

/** Labels are a JSON object written by the recorder; anything else (a hand-edited file) reads as no labels. */
export function parseLabels(text: string | null): Record<string, string> | undefined {
  if (text === null) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') labels[k] = v;
    return labels;
  } catch {
    return undefined;
  }
}

function toStored(row: ContainerDbRow): StoredContainer {
  const labels = parseLabels(row.labels);
  return {
    key: row.key,
    // The recorder only writes ContainerKind values (containerKey() of an Identity).
    kind: row.kind as ContainerKind,
    id: row.cid,
    name: row.name,
    ...(row.image !== null && { image: row.image }),
    ...(labels !== undefined && { labels }),
    cgroup: row.cgroup,
    ...(row.parent !== null && { parent: row.parent }),
    ...(row.user !== null && { user: row.user }),
    firstSeenMs: row.first_seen,
    lastSeenMs: row.last_seen,
    ...(row.exit_time !== null && { exitTimeMs: row.exit_time }),
    ...(row.exit_code !== null && { exitCode: row.exit_code }),
  };
}

/**
 * Recorded containers, most recently seen first. The pseudo-container `host` is left out unless `includeHost`;
 * `exitedOnly` keeps those with an exit time (what `ls` adds to the live list).
 */
export function listStoredContainers(db: Database, opts: { includeHost?: boolean; exitedOnly?: boolean } = {}): StoredContainer[] {
  const where: string[] = [];
  if (opts.includeHost !== true) where.push("kind <> 'host'");
  if (opts.exitedOnly === true) where.push('exit_time IS NOT NULL');
  const sql = `SELECT ${CONTAINER_COLUMNS} FROM containers` + (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') + ' ORDER BY last_seen DESC, key';
  return (statement(db, sql).all() as ContainerDbRow[]).map(toStored);
}

/** The recorded container of this key, if any. */
export function storedContainer(db: Database, key: string): StoredContainer | undefined {
  const row = statement(db, `SELECT ${CONTAINER_COLUMNS} FROM containers WHERE key = ?`).get(key) as ContainerDbRow | undefined;
  return row === undefined ? undefined : toStored(row);
}

/** Every recorded container, `host` included, for matchContainer() (`--container X`, `replay X`, `clean`). */
export function findStoredContainers(db: Database): StoredContainer[] {
  return listStoredContainers(db, { includeHost: true });
}

/** The oldest and newest bucket start of one container in one tier; undefined when it has none there. */
export function containerBuckets(db: Database, key: string, tier: Tier): { oldestMs: number; newestMs: number } | undefined {
  const row = statement(
    db,
    `SELECT min(s.bucket) AS lo, max(s.bucket) AS hi FROM container_series s JOIN containers c ON c.id = s.container_id
        WHERE c.key = ? AND s.tier = ?`,
  ).get(key, TIER_ID[tier]) as MinMax;
  return row.lo === null || row.hi === null ? undefined : { oldestMs: row.lo, newestMs: row.hi };
}

interface MinMax {
  lo: number | null;
  hi: number | null;
}

// Separate MIN and MAX subqueries on (tier = ?) so each is one seek on the primary key (tier, bucket, ...).
const RANGE_SQL = (table: string): string =>
  `SELECT (SELECT MIN(bucket) FROM ${table} WHERE tier = @tier) AS lo,
          (SELECT MAX(bucket) FROM ${table} WHERE tier = @tier) AS hi`;

/**
 * The span the series cover: `firstMs` is the start of the oldest bucket in any tier, `lastMs` just after the newest
 * recorded tick (exclusive), so a `--since firstMs --until lastMs` export takes everything and a step back from it
 * lands in the bucket before now. A coarse bucket's end is not a recorded time (a day bucket ends at the next
 * midnight). A store without sessions (written before them) ends at the end of its newest second or minute bucket.
 * undefined when no series row exists yet.
 */
export function storedRange(db: Database): { firstMs: number; lastMs: number } | undefined {
  let firstMs = Infinity;
  let newestBucketEnd = -Infinity;
  for (const table of ['container_series', 'process_series']) {
    const stmt = statement(db, RANGE_SQL(table));
    for (const tier of TIERS) {
      const { lo, hi } = stmt.get({ tier: TIER_ID[tier] }) as MinMax;
      if (lo !== null) firstMs = Math.min(firstMs, lo);
      if (hi !== null && (tier === 'second' || tier === 'minute')) newestBucketEnd = Math.max(newestBucketEnd, hi + TIER_MS[tier]);
    }
  }
  if (!Number.isFinite(firstMs)) return undefined;
  const tick = newestTick(db);
  const lastMs = tick !== undefined ? tick + 1 : Number.isFinite(newestBucketEnd) ? newestBucketEnd : firstMs + 1;
  return { firstMs, lastMs: Math.max(lastMs, firstMs + 1) };
}

/** Start of each tier's oldest container_series bucket; undefined for a tier with no rows. */
function oldestBuckets(db: Database): Map<Tier, number> {
  const stmt = statement(db, 'SELECT MIN(bucket) AS lo FROM container_series WHERE tier = ?');
  const oldest = new Map<Tier, number>();
  for (const tier of TIERS) {
    const { lo } = stmt.get(TIER_ID[tier]) as { lo: number | null };
    if (lo !== null) oldest.set(tier, lo);
  }
  return oldest;
}

/**
 * The tier an export or replay from `sinceMs` should read by default: the finest one that covers the range.
 *
 * A tier covers `sinceMs` when its oldest stored bucket starts at or before it. When none reaches that far back
 * (recording started later, or `sinceMs` is -Infinity for "everything"), the finest tier that holds everything the
 * coarser tiers hold is chosen: no coarser tier has a bucket older than its first one. That keeps a store recorded for
 * 30 minutes on the second tier (its hour and day buckets have not closed yet) while a month-old store whose second
 * tier only keeps the last hour falls back to the tier that still has the whole month. The coarsest tier if no tier
 * has rows. Coverage is read from the data, not from retention settings: those belong to the recorder, and a store
 * keeps whatever its last recorder left.
 */
export function finestTierCovering(db: Database, sinceMs: number): Tier {
  const oldest = oldestBuckets(db);
  for (const [i, tier] of TIERS.entries()) {
    const first = oldest.get(tier);
    if (first === undefined) continue;
    if (first <= sinceMs) return tier;
    const complete = TIERS.slice(i + 1).every((coarser) => {
      const theirs = oldest.get(coarser);
      return theirs === undefined || theirs >= bucketStart(coarser, first);
    });
    if (complete) return tier;
  }
  return TIERS[TIERS.length - 1]!;
}
