/**
 * The store as a Source: `bubble replay` shows what was recorded, read-only, with the same screens as live.
 */
import os from 'node:os';
import type { Snapshot } from '../model/snapshot.js';
import { openStore, type Store } from '../store/database.js';
import { seriesFromStore, snapshotFromStore } from '../store/history.js';
import { storedRange } from '../store/queries.js';
import { filesFromStore, netFromStore } from '../store/access-queries.js';
import type { Tier } from '../store/tiers.js';
import type { FileRow, NetRow, SeriesPoint, Source, StatusItem } from './source.js';

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

  filesOf(processKey: string, atMs: number): FileRow[] {
    return filesFromStore(this.store.db, processKey, atMs);
  }

  netOf(processKey: string, atMs: number): NetRow[] {
    return netFromStore(this.store.db, processKey, atMs);
  }

  host(): { hostname: string; ncpu: number; memTotalBytes: number } {
    return this.hostFacts;
  }
}

export class ReplaySource implements Source {
  readonly mode = 'replay' as const;
  private readonly reader: StoreReader;

  constructor(dbPath: string) {
    this.reader = new StoreReader(openStore(dbPath, { readonly: true }));
  }

  subscribe(): () => void {
    return () => {};
  }

  snapshotAt(atMs: number | undefined, tier: Tier): Snapshot | undefined {
    const at = atMs ?? this.latest(tier);
    return at === undefined ? undefined : this.reader.snapshotAt(at, tier);
  }

  /** The last recorded moment of a tier (replay opens there). */
  latest(tier: Tier): number | undefined {
    const range = this.reader.range();
    if (range === undefined) return undefined;
    const points = this.reader.series(tier, range.firstMs, range.lastMs);
    return points.at(-1)?.timeMs;
  }

  series(tier: Tier, fromMs: number, toMs: number, containerKey?: string): readonly SeriesPoint[] {
    return this.reader.series(tier, fromMs, toMs, containerKey);
  }

  range(): { firstMs: number; lastMs: number } | undefined {
    return this.reader.range();
  }

  filesOf(processKey: string, atMs: number | undefined): readonly FileRow[] {
    return atMs === undefined ? [] : this.reader.filesOf(processKey, atMs);
  }

  netOf(processKey: string, atMs: number | undefined): readonly NetRow[] {
    return atMs === undefined ? [] : this.reader.netOf(processKey, atMs);
  }

  status(): readonly StatusItem[] {
    return [{ name: 'replay', level: 'ok', text: `replay of ${this.reader.store.path} (read-only)` }];
  }

  host(): { hostname: string; ncpu: number; memTotalBytes: number } {
    return this.reader.host();
  }

  close(): void {
    this.reader.store.close();
  }
}
