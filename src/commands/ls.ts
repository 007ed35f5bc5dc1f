/**
 * `bubble ls`: containers and jobs with their CPU, memory, network, block I/O, processes and threads. CPU% is over
 * the sampling interval; network and block I/O are totals since the container started (the headers say `total`; top shows rates).
 *
 * Order (table and JSON alike): running containers and jobs by CPU, then `host` (with --all), then exited containers,
 * most recent exit first. Exited ones are those recorded in the store (its exit time, or Docker saying it exited
 * while nothing recorded); --all adds every exited container Docker reports, recorded or not, like `docker ps -a`.
 */
import fs from 'node:fs';
import { DockerWatcher } from '../collectors/docker.js';
import { hostFacts } from '../collectors/host-facts.js';
import { formatBytes, formatPercent, formatTable, formatTime, type Column } from '../format.js';
import { cpuEfficiencyPercent } from '../model/efficiency.js';
import { containerKey } from '../model/identity.js';
import type { ContainerMeta } from '../model/sample.js';
import { openStore } from '../store/database.js';
import { listStoredContainers, type StoredContainer } from '../store/queries.js';
import type { ContainerView } from '../model/snapshot.js';
import { sortContainers } from '../model/sort.js';
import { containerRecord, hostRecord, storedContainerRecord } from '../records.js';
import { liveSnapshot, type OneShotOptions as LiveOptions } from '../monitor/one-shot.js';
import { reportGaps, type Output } from './output.js';

export interface LsOptions {
  /** Include the `host` pseudo-container and every exited container Docker reports. */
  readonly all: boolean;
  readonly json: boolean;
  readonly intervalMs: number;
  /** The store to add exited containers from: given with --db (must open), or the default path when it exists. */
  readonly store?: { readonly path: string; readonly explicit: boolean };
  readonly live?: Omit<LiveOptions, 'intervalMs'>;
}

/** How many exited containers the table shows (JSON has them all). */
const EXITED_SHOWN = 20;

/** Docker states of a container that ran and stopped ('created' never ran, 'removed' is gone). */
const EXITED_STATES = new Set(['exited', 'dead']);

const EXITED_COLUMNS: readonly Column<StoredContainer>[] = [
  { header: 'NAME', align: 'left', value: (c) => c.name },
  { header: 'KIND', align: 'left', value: (c) => c.kind },
  { header: 'ID', align: 'left', value: (c) => c.id.slice(0, 12) },
  { header: 'EXITED', align: 'left', value: (c) => (c.exitTimeMs === undefined ? '-' : formatTime(c.exitTimeMs)) },
  { header: 'CODE', align: 'right', value: (c) => (c.exitCode === undefined ? '-' : String(c.exitCode)) },
];

/** Recorded containers other than `host`; none when there is no store to read. */
function storedContainers(options: LsOptions): StoredContainer[] {
  const store = options.store;
  if (store === undefined || (!store.explicit && !fs.existsSync(store.path))) return [];
  const opened = openStore(store.path, { readonly: true });
  try {
    return listStoredContainers(opened.db);
  } finally {
    opened.close();
  }
}

/** A container Docker reports as exited, in the shape of a recorded one (no cgroup: nothing read it). */
function fromDocker(id: string, meta: ContainerMeta): StoredContainer {
  const exitTimeMs = meta.finishedAtMs;
  return {
    key: containerKey({ kind: 'docker', id }),
    kind: 'docker',
    id,
    name: meta.name ?? id.slice(0, 12),
    ...(meta.image !== undefined && { image: meta.image }),
    ...(meta.labels !== undefined && { labels: meta.labels }),
    cgroup: '',
    firstSeenMs: meta.startedAtMs ?? exitTimeMs ?? 0,
    lastSeenMs: exitTimeMs ?? meta.startedAtMs ?? 0,
    ...(exitTimeMs !== undefined && { exitTimeMs }),
    ...(meta.exitCode !== undefined && { exitCode: meta.exitCode }),
  };
}

/**
 * Exited containers not running now, newest exit first. Recorded ones with an exit time are listed; one Docker
 * reports as exited is listed when it was recorded (taking Docker's exit time and code when the store has none) or
 * with `all`.
 */
export function exitedContainers(
  stored: readonly StoredContainer[],
  docker: ReadonlyMap<string, ContainerMeta>,
  liveKeys: ReadonlySet<string>,
  all: boolean,
): StoredContainer[] {
  const exited = new Map<string, StoredContainer>();
  const recorded = new Map<string, StoredContainer>();
  for (const c of stored) {
    if (liveKeys.has(c.key)) continue;
    if (c.exitTimeMs !== undefined) exited.set(c.key, c);
    else recorded.set(c.key, c);
  }
  for (const [id, meta] of docker) {
    if (meta.state === undefined || !EXITED_STATES.has(meta.state)) continue;
    const key = containerKey({ kind: 'docker', id });
    if (liveKeys.has(key) || exited.has(key)) continue;
    const known = recorded.get(key);
    if (known === undefined && !all) continue;
    const reported = fromDocker(id, meta);
    exited.set(
      key,
      known === undefined
        ? reported
        : {
            ...known,
            ...(reported.exitTimeMs !== undefined && { exitTimeMs: reported.exitTimeMs }),
            ...(reported.exitCode !== undefined && { exitCode: reported.exitCode }),
          },
    );
  }
  const when = (c: StoredContainer): number => c.exitTimeMs ?? c.lastSeenMs;
  return [...exited.values()].sort((a, b) => when(b) - when(a) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

const pair = (a: number | undefined, b: number | undefined): string => (a === undefined && b === undefined ? '-' : `${formatBytes(a)}/${formatBytes(b)}`);

const COLUMNS: readonly Column<ContainerView>[] = [
  { header: 'NAME', align: 'left', value: (c) => c.name },
  { header: 'KIND', align: 'left', value: (c) => c.kind },
  { header: 'ID', align: 'left', value: (c) => (c.kind === 'host' ? '-' : c.id.slice(0, 12)) },
  { header: 'CPU%', align: 'right', value: (c) => formatPercent(c.cpuPercent) },
  { header: 'EFF%', align: 'right', value: (c) => formatPercent(cpuEfficiencyPercent(c.cpuPercent, c)) },
  { header: 'MEM', align: 'right', value: (c) => formatBytes(c.memoryBytes) },
  { header: 'LIMIT', align: 'right', value: (c) => formatBytes(c.memoryLimitBytes) },
  { header: 'NET total rx/tx', align: 'right', value: (c) => pair(c.netRxBytes, c.netTxBytes) },
  { header: 'BLK total r/w', align: 'right', value: (c) => pair(c.blkReadBytes, c.blkWriteBytes) },
  // Processes as the TUI counts them, and threads (the cgroup's tasks: docker stats' PIDS) where the pids controller counts them.
  { header: 'PROCS', align: 'right', value: (c) => String(c.processCount) },
  { header: 'THR', align: 'right', value: (c) => (c.pids === undefined ? '-' : String(c.pids)) },
];

export async function runLs(options: LsOptions, output: Output): Promise<void> {
  // Our own watcher, so its listing (exited containers too) is still there after the snapshot.
  const docker = options.live?.docker === false ? undefined : new DockerWatcher();
  const snapshot = await liveSnapshot({ ...options.live, intervalMs: options.intervalMs, docker: docker ?? false }).finally(() => docker?.stop());
  const containers = sortContainers(
    snapshot.containers.filter((c) => options.all || c.kind !== 'host'),
    'cpu',
  );
  const liveKeys = new Set(snapshot.containers.map((c) => c.key));
  const exited = exitedContainers(storedContainers(options), docker?.all() ?? new Map(), liveKeys, options.all);
  reportGaps(output, snapshot.gaps);
  if (options.json) {
    const containerRecords = [...containers.map(containerRecord), ...exited.map(storedContainerRecord)];
    output.out(JSON.stringify({ host: hostRecord(hostFacts()), containers: containerRecords }) + '\n');
    return;
  }
  if (containers.length === 0 && exited.length === 0) {
    output.err('bubble: no containers or jobs are running; `bubble ls --all` adds the host\n');
    return;
  }
  if (containers.length > 0) output.out(formatTable(containers, COLUMNS, output.columns));
  if (exited.length > 0) {
    const more = exited.length > EXITED_SHOWN ? ` (newest ${EXITED_SHOWN} of ${exited.length}; --json lists all)` : '';
    output.out(`${containers.length > 0 ? '\n' : ''}exited${more}:\n`);
    output.out(formatTable(exited.slice(0, EXITED_SHOWN), EXITED_COLUMNS, output.columns));
  }
}
