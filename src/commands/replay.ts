/**
 * `bubble replay <container> [--at TIME]`: the same screens as `top`, read-only from the store, for a container or
 * job that may have exited. Opens at its last recorded moment, or at --at.
 */
import { BubbleError } from '../errors/bubble-error.js';
import { safeText } from '../format.js';
import { matchContainer } from '../model/match.js';
import { openStore } from '../store/database.js';
import { containerBuckets, findStoredContainers } from '../store/queries.js';
import { bucketStart, TIERS, type Tier } from '../store/tiers.js';
import { StoreReader } from '../store/reader.js';
import { ReplaySource } from '../tui/replay-source.js';
import { runTui } from '../tui/run.js';

export interface ReplayOptions {
  readonly container: string;
  readonly dbPath: string;
  readonly atMs?: number;
  readonly tier?: Tier;
}

interface Start {
  readonly key: string;
  readonly atMs: number;
  readonly tier: Tier;
}

/** The container's key, and where to open: --at in the finest tier that has it, else its last recorded bucket. */
function findStart(dbPath: string, options: ReplayOptions): Start {
  const store = openStore(dbPath, { readonly: true });
  try {
    const container = matchContainer(options.container, findStoredContainers(store.db));
    const tiers = options.tier === undefined ? TIERS : [options.tier];
    for (const tier of tiers) {
      const buckets = containerBuckets(store.db, container.key, tier);
      if (buckets === undefined) continue;
      const { oldestMs: oldest, newestMs: newest } = buckets;
      // The end: its exit when recorded (it can fall a tick after its last bucket), else its last bucket.
      const end = container.exitTimeMs === undefined ? newest : Math.max(newest, bucketStart(tier, container.exitTimeMs));
      if (options.atMs === undefined) return { key: container.key, atMs: end, tier };
      if (options.atMs >= oldest && options.atMs <= newest + 86_400_000) return { key: container.key, atMs: Math.min(options.atMs, newest), tier };
    }
    const name = safeText(container.name);
    const path = safeText(store.path);
    throw new BubbleError(
      options.atMs === undefined
        ? `${name} has no recorded history in ${path}`
        : `${name} has no history at ${new Date(options.atMs).toISOString()} in ${path}; try bubble export --container ${name} to see what is there`,
    );
  } finally {
    store.close();
  }
}

export async function runReplay(options: ReplayOptions): Promise<void> {
  if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
    throw new BubbleError('bubble replay needs a terminal; use bubble export for plain output');
  }
  const start = findStart(options.dbPath, options);
  const store = openStore(options.dbPath, { readonly: true });
  const source = new ReplaySource(new StoreReader(store));
  try {
    await runTui(source, { command: 'replay', container: start.key, atMs: start.atMs, tier: start.tier });
  } finally {
    source.close();
    store.close();
  }
}
