/**
 * A store opened for reading, asked the questions the screens ask: the state at a moment, sparkline series, the
 * recorded span, and what a process had open. Replay reads only through it; live reads the past through it too.
 */
import os from 'node:os';
import type { FileAccess, SocketAccess } from '../model/access.js';
import type { SeriesPoint } from '../model/series.js';
import type { Snapshot } from '../model/snapshot.js';
import { addressedContainers, filesFromStore, netFromStore, peersDuring } from './access-queries.js';
import type { Store } from './database.js';
import { seriesFromStore, snapshotFromStore } from './history.js';
import { containerBuckets, storedContainer, storedRange, type StoredContainer } from './queries.js';
import type { Tier } from './tiers.js';

export class StoreReader {
  readonly store: Store;
  private readonly hostFacts = { hostname: os.hostname(), ncpu: os.availableParallelism(), memTotalBytes: os.totalmem() };

  constructor(store: Store) {
    this.store = store;
  }

  snapshotAt(atMs: number, tier: Tier, containerKey?: string): Snapshot | undefined {
    return snapshotFromStore(this.store.db, tier, atMs, { ...this.hostFacts, ...(containerKey !== undefined && { containerKey }) });
  }

  series(tier: Tier, fromMs: number, toMs: number, containerKey?: string): SeriesPoint[] {
    return seriesFromStore(this.store.db, tier, fromMs, toMs, containerKey);
  }

  range(): { firstMs: number; lastMs: number } | undefined {
    return storedRange(this.store.db);
  }

  filesOf(processKey: string, atMs: number): FileAccess[] {
    return filesFromStore(this.store.db, processKey, atMs);
  }

  netOf(processKey: string, atMs: number): SocketAccess[] {
    return netFromStore(this.store.db, processKey, atMs);
  }

  /** The containers alive at `atMs` by address, to name the remote end of a past socket as live names it. */
  peersAt(atMs: number): Map<string, string> {
    return peersDuring(addressedContainers(this.store.db), atMs, atMs + 999);
  }

  /**
   * Who a container was and how it ended, as recorded; `lastSeenMs` is its last second with figures (the tick that saw
   * it gone, its last_seen, can fall in the next second, which holds none of its figures).
   */
  container(key: string): StoredContainer | undefined {
    const c = storedContainer(this.store.db, key);
    const seconds = c === undefined ? undefined : containerBuckets(this.store.db, key, 'second');
    if (c === undefined || seconds === undefined || seconds.newestMs >= c.lastSeenMs) return c;
    return { ...c, lastSeenMs: seconds.newestMs };
  }

  host(): { hostname: string; ncpu: number; memTotalBytes: number } {
    return this.hostFacts;
  }
}
