/** `bubble ls`: containers and jobs with their CPU, memory, network, block I/O and pids. */
import fs from 'node:fs';
import { hostFacts } from '../collectors/host-facts.js';
import { formatBytes, formatPercent, formatTable, formatTime, type Column } from '../format.js';
import { openStore } from '../store/database.js';
import { listStoredContainers, type StoredContainer } from '../store/queries.js';
import type { ContainerView } from '../model/snapshot.js';
import { sortContainers } from '../model/sort.js';
import { containerRecord, hostRecord, storedContainerRecord } from '../records.js';
import { liveSnapshot, type LiveOptions } from './live.js';
import { reportGaps, type Output } from './output.js';

export interface LsOptions {
  /** Include the `host` pseudo-container. */
  readonly all: boolean;
  readonly json: boolean;
  readonly intervalMs: number;
  /** The store to add exited containers from: given with --db (must open), or the default path when it exists. */
  readonly store?: { readonly path: string; readonly explicit: boolean };
  readonly live?: Omit<LiveOptions, 'intervalMs'>;
}

/** How many exited containers the table shows (JSON has them all). */
const EXITED_SHOWN = 20;

const EXITED_COLUMNS: readonly Column<StoredContainer>[] = [
  { header: 'NAME', align: 'left', value: (c) => c.name },
  { header: 'KIND', align: 'left', value: (c) => c.kind },
  { header: 'ID', align: 'left', value: (c) => c.id.slice(0, 12) },
  { header: 'EXITED', align: 'left', value: (c) => (c.exitTimeMs === undefined ? '-' : formatTime(c.exitTimeMs)) },
  { header: 'CODE', align: 'right', value: (c) => (c.exitCode === undefined ? '-' : String(c.exitCode)) },
];

/** Exited containers recorded in the store and not running now. */
function exitedFromStore(options: LsOptions, liveKeys: ReadonlySet<string>): StoredContainer[] {
  const store = options.store;
  if (store === undefined || (!store.explicit && !fs.existsSync(store.path))) return [];
  const opened = openStore(store.path, { readonly: true });
  try {
    return listStoredContainers(opened.db, { exitedOnly: true }).filter((c) => !liveKeys.has(c.key));
  } finally {
    opened.close();
  }
}

const pair = (a: number | undefined, b: number | undefined): string =>
  a === undefined && b === undefined ? '-' : `${formatBytes(a)}/${formatBytes(b)}`;

const COLUMNS: readonly Column<ContainerView>[] = [
  { header: 'NAME', align: 'left', value: (c) => c.name },
  { header: 'KIND', align: 'left', value: (c) => c.kind },
  { header: 'ID', align: 'left', value: (c) => (c.kind === 'host' ? '-' : c.id.slice(0, 12)) },
  { header: 'CPU%', align: 'right', value: (c) => formatPercent(c.cpuPercent) },
  { header: 'MEM', align: 'right', value: (c) => formatBytes(c.memoryBytes) },
  { header: 'LIMIT', align: 'right', value: (c) => formatBytes(c.memoryLimitBytes) },
  { header: 'NET rx/tx', align: 'right', value: (c) => pair(c.netRxBytes, c.netTxBytes) },
  { header: 'BLK r/w', align: 'right', value: (c) => pair(c.blkReadBytes, c.blkWriteBytes) },
  { header: 'PIDS', align: 'right', value: (c) => (c.pids === undefined ? '-' : String(c.pids)) },
];

export async function runLs(options: LsOptions, output: Output): Promise<void> {
  const snapshot = await liveSnapshot({ ...options.live, intervalMs: options.intervalMs });
  const containers = sortContainers(
    snapshot.containers.filter((c) => options.all || c.kind !== 'host'),
    'cpu',
  );
  const exited = exitedFromStore(options, new Set(snapshot.containers.map((c) => c.key)));
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
    output.out(`${containers.length > 0 ? '\n' : ''}exited, from ${options.store!.path}${more}:\n`);
    output.out(formatTable(exited.slice(0, EXITED_SHOWN), EXITED_COLUMNS, output.columns));
  }
}
