/**
 * The store as a Source: `bubble replay` shows what was recorded, read-only, with the same screens as live.
 */
import { socketRows, type FileAccess, type SocketRow } from '../model/access.js';
import type { Snapshot } from '../model/snapshot.js';
import type { StoreReader } from '../store/reader.js';
import type { Tier } from '../store/tiers.js';
import { endedFromStore } from './ended.js';
import type { Ended, SeriesPoint, Source, StatusItem } from './source.js';

export class ReplaySource implements Source {
  readonly mode = 'replay' as const;
  private readonly reader: StoreReader;

  /** The command opens the store (read-only) and closes it; the TUI only reads. */
  constructor(reader: StoreReader) {
    this.reader = reader;
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

  filesOf(processKey: string, atMs: number | undefined): readonly FileAccess[] {
    return atMs === undefined ? [] : this.reader.filesOf(processKey, atMs);
  }

  netOf(processKey: string, atMs: number | undefined): readonly SocketRow[] {
    return atMs === undefined ? [] : socketRows(this.reader.netOf(processKey, atMs), this.reader.peersAt(atMs));
  }

  status(): readonly StatusItem[] {
    return [{ name: 'replay', level: 'ok', text: `replay of ${this.reader.store.path} (read-only)` }];
  }

  endedOf(containerKey: string): Ended | undefined {
    const stored = this.reader.container(containerKey);
    return stored === undefined ? undefined : endedFromStore(stored);
  }

  host(): { hostname: string; ncpu: number; memTotalBytes: number } {
    return this.reader.host();
  }

  close(): void {}
}
