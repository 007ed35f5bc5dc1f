/** `bubble ls`: containers and jobs with their CPU, memory, network, block I/O and pids. */
import { formatBytes, formatPercent, formatTable, type Column } from '../format.js';
import type { ContainerView } from '../model/snapshot.js';
import { sortContainers } from '../model/sort.js';
import { containerRecord } from '../records.js';
import { liveSnapshot, type LiveOptions } from './live.js';
import { reportGaps, type Output } from './output.js';

export interface LsOptions {
  /** Include the `host` pseudo-container. */
  readonly all: boolean;
  readonly json: boolean;
  readonly intervalMs: number;
  readonly live?: Omit<LiveOptions, 'intervalMs'>;
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
  reportGaps(output, snapshot.gaps);
  if (options.json) {
    output.out(JSON.stringify(containers.map(containerRecord)) + '\n');
    return;
  }
  if (containers.length === 0) {
    output.err('bubble: no containers or jobs are running; `bubble ls --all` adds the host\n');
    return;
  }
  output.out(formatTable(containers, COLUMNS, output.columns));
}
