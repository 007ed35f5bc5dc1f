/**
 * The four history tiers. Each bucket of a tier starts at a multiple of its size in epoch milliseconds (UTC), so
 * buckets of a coarser tier are exact unions of buckets of the finer one.
 */
export const TIERS = ['second', 'minute', 'hour', 'day'] as const;
export type Tier = (typeof TIERS)[number];

/** Stored in the `tier` column: small integers keep the primary key short. */
export const TIER_ID: Readonly<Record<Tier, number>> = { second: 0, minute: 1, hour: 2, day: 3 };

export const TIER_MS: Readonly<Record<Tier, number>> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** How long each tier keeps its buckets, milliseconds. */
export type Retention = Readonly<Record<Tier, number>>;

export const DEFAULT_RETENTION: Retention = {
  second: 3_600_000, // 1 hour
  minute: 2 * 86_400_000, // 2 days
  hour: 30 * 86_400_000, // 30 days
  day: 365 * 86_400_000, // 1 year
};

/**
 * The milliseconds a bucket's rates (CPU%, bytes/s) are over, in SQL, for a `container_series` row `alias`: the time
 * its ticks sampled (sampled_ms), or the bucket length `@size` when that is unknown (rows from before sampled_ms, a
 * missing row) or 0 (only a first sample). One rule for history, the scrubber's series and export.
 */
export function sampledMsSql(alias: string): string {
  return `coalesce(nullif(${alias}.sampled_ms, 0), @size)`;
}

/** Start of the tier's bucket that holds `timeMs`. */
export function bucketStart(tier: Tier, timeMs: number): number {
  const size = TIER_MS[tier];
  return Math.floor(timeMs / size) * size;
}

export function tierFromId(id: number): Tier {
  const tier = TIERS[id];
  if (tier === undefined) throw new RangeError(`no tier with id ${id}`);
  return tier;
}
