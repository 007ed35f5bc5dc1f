/**
 * What the TUI shows comes from a Source: live (the sampler, recording into the store as it goes) or replay (the
 * store only). Both answer in Snapshots, so the views never know which one they show (design.md: "Live and replay
 * share the model").
 */
import type { FileAccess, SocketRow } from '../model/access.js';
import type { SeriesPoint } from '../model/series.js';
import type { ContainerView, Snapshot } from '../model/snapshot.js';
import type { Tier } from '../store/tiers.js';

export type { SeriesPoint } from '../model/series.js';

export type StatusLevel = 'ok' | 'warn' | 'off';

/** One item of the status line: "docker ok", "no root: I/O hidden", "store read-only", "sysdig off". */
export interface StatusItem {
  readonly name: string;
  readonly level: StatusLevel;
  readonly text: string;
}

/**
 * A container that ended while `top` watched it: who it was and how it ended (the runtime's exit code and time, when
 * it says), and the last moment it was seen running, which `r` goes back to.
 */
export interface Ended {
  readonly view: ContainerView;
  readonly lastSeenMs?: number;
}

export interface Source {
  readonly mode: 'live' | 'replay';
  /** Called when new data arrived (a live tick); returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /**
   * The state at `atMs` in `tier` (the bucket that holds it), or the newest state when `atMs` is undefined (live).
   * undefined when nothing is known there.
   */
  snapshotAt(atMs: number | undefined, tier: Tier): Snapshot | undefined;
  /** Sparkline points for one container (or the whole host when containerKey is undefined), oldest first. */
  series(tier: Tier, fromMs: number, toMs: number, containerKey?: string): readonly SeriesPoint[];
  /** The recorded time span, for the scrubber's bounds. */
  range(): { readonly firstMs: number; readonly lastMs: number } | undefined;
  /** Open files and sockets of one process at `atMs` (undefined = now). Empty when unknown. */
  filesOf(processKey: string, atMs: number | undefined): readonly FileAccess[];
  /** Its sockets, one row each with every fd that holds it (model/access.ts socketRows), peers named where known. */
  netOf(processKey: string, atMs: number | undefined): readonly SocketRow[];
  /** True when the process's descriptors could not be read (another user's process, without root): empty means hidden. */
  descriptorsHidden?(processKey: string, atMs: number | undefined): boolean;
  status(): readonly StatusItem[];
  /**
   * Containers that exited and are not running (ctop's `a`), newest exit first, with no figures: only who they were
   * and how they ended. Absent where the source cannot know (replay shows one container's past).
   */
  exited?(): readonly ContainerView[];
  /** The container of this key when it has ended (exit in place); undefined while it runs or when unknown. */
  endedOf?(containerKey: string): Ended | undefined;
  /** Host facts for the header. */
  host(): { readonly hostname: string; readonly ncpu: number; readonly memTotalBytes: number };
  /** Live refresh interval (ms); undefined in replay. */
  readonly intervalMs?: number;
  close(): void;
}
