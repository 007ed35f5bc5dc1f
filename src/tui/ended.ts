/**
 * Containers that ended, as rows with no figures (their last figures would read as if they were now's): who they were
 * and how they ended. The live source keeps those that ended while it ran; replay reads them from the store.
 */
import type { ContainerView } from '../model/snapshot.js';
import type { StoredContainer } from '../store/queries.js';
import type { Ended } from './source.js';

/** A container that ended, as a row with no figures (they would be its last ones, shown as if now): who, how it ended. */
type Who = 'key' | 'kind' | 'id' | 'name' | 'cgroup' | 'image' | 'state' | 'exitCode' | 'exitedAtMs' | 'user' | 'steps';

export function endedView(c: Pick<ContainerView, Who>): ContainerView {
  return {
    key: c.key,
    kind: c.kind,
    id: c.id,
    name: c.name,
    cgroup: c.cgroup,
    ...(c.image !== undefined && { image: c.image }),
    ...(c.state !== undefined && { state: c.state }),
    ...(c.exitCode !== undefined && { exitCode: c.exitCode }),
    ...(c.exitedAtMs !== undefined && { exitedAtMs: c.exitedAtMs }),
    ...(c.user !== undefined && { user: c.user }),
    ...(c.steps !== undefined && { steps: c.steps }),
    cpuSource: 'processes',
    processCount: 0,
    pressure: {},
    interval: {},
  };
}

/** A stored container that exited, as exit in place shows it; its last recorded tick is the moment `r` goes to. */
export function endedFromStore(c: StoredContainer): Ended | undefined {
  if (c.exitTimeMs === undefined) return undefined;
  const view = endedView({
    key: c.key,
    kind: c.kind,
    id: c.id,
    name: c.name,
    cgroup: c.cgroup,
    ...(c.image !== undefined && { image: c.image }),
    state: 'exited',
    ...(c.exitCode !== undefined && { exitCode: c.exitCode }),
    exitedAtMs: c.exitTimeMs,
    ...(c.user !== undefined && { user: c.user }),
  });
  return { view, lastSeenMs: c.lastSeenMs };
}
