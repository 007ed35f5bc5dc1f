/**
 * A source that completes each tick's Snapshot (sysdig's events, bpftrace's): the monitor calls it after the view of
 * the procfs sample is built. It lives in the model because sources in collectors/ implement it and the monitor,
 * a layer above, calls it.
 */
import type { Snapshot } from './snapshot.js';

export interface TickSource {
  /** Returns the snapshot completed with what the source saw in the tick's interval. */
  complete(snapshot: Snapshot): Snapshot;
  /** Why the source is not contributing right now (it ended, it failed); undefined while it works. */
  gap(): string | undefined;
  close(): void;
}
