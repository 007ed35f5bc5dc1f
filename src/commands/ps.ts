/**
 * `bubble ps <container>`: one cgroup-aware snapshot of a container's processes, like `ps aux --sort` but per
 * container (the cadvisor-companion use: enrich an alert with the top processes).
 */
import { formatBytes, formatPercent, formatRate, formatTable, type Column } from '../format.js';
import { matchContainer } from '../model/match.js';
import type { ProcessView } from '../model/snapshot.js';
import { sortProcesses, type ProcessSort } from '../model/sort.js';
import { containerRecord, processRecord } from '../records.js';
import { liveSnapshot, type LiveOptions } from './live.js';
import { reportGaps, type Output } from './output.js';

export interface PsOptions {
  readonly container: string;
  readonly sort: ProcessSort;
  readonly limit?: number;
  readonly intervalMs: number;
  readonly json: boolean;
  readonly live?: Omit<LiveOptions, 'intervalMs'>;
}

const COLUMNS: readonly Column<ProcessView>[] = [
  { header: 'PID', align: 'right', value: (p) => String(p.pid) },
  { header: 'CPID', align: 'right', value: (p) => (p.nspid === undefined || p.nspid === p.pid ? '-' : String(p.nspid)) },
  { header: 'PPID', align: 'right', value: (p) => String(p.ppid) },
  { header: 'USER', align: 'left', value: (p) => p.user.slice(0, 10) },
  { header: 'CPU%', align: 'right', value: (p) => formatPercent(p.cpuPercent) },
  { header: 'MEM%', align: 'right', value: (p) => formatPercent(p.memPercent) },
  { header: 'RSS', align: 'right', value: (p) => formatBytes(p.rssBytes) },
  { header: 'READ/s', align: 'right', value: (p) => formatRate(p.readBytesPerSec) },
  { header: 'WRITE/s', align: 'right', value: (p) => formatRate(p.writeBytesPerSec) },
  { header: 'THR', align: 'right', value: (p) => String(p.threads) },
  { header: 'S', align: 'left', value: (p) => p.state },
  { header: 'COMMAND', align: 'left', value: (p) => p.cmdline || `[${p.comm}]` },
];

export async function runPs(options: PsOptions, output: Output): Promise<void> {
  const snapshot = await liveSnapshot({ ...options.live, intervalMs: options.intervalMs });
  const container = matchContainer(options.container, snapshot.containers);
  const mine = snapshot.processes.filter((p) => p.containerKey === container.key && (!p.kernelThread || container.kind !== 'host'));
  const sorted = sortProcesses(mine, options.sort);
  const shown = options.limit === undefined ? sorted : sorted.slice(0, options.limit);
  reportGaps(output, snapshot.gaps);
  if (options.json) {
    output.out(
      JSON.stringify({
        timestamp: new Date(snapshot.timeMs).toISOString(),
        interval_ms: Math.round(snapshot.intervalMs),
        container: containerRecord(container),
        processes: shown.map(processRecord),
      }) + '\n',
    );
    return;
  }
  const limit = container.memoryLimitBytes === undefined ? '' : ` / ${formatBytes(container.memoryLimitBytes)}`;
  output.out(
    `${container.name} (${container.kind}${container.kind === 'host' ? '' : ` ${container.id.slice(0, 12)}`})  ` +
      `cpu ${formatPercent(container.cpuPercent)}%  mem ${formatBytes(container.memoryBytes)}${limit}  ` +
      `processes ${container.processCount}  pids ${container.pids ?? '-'}\n`,
  );
  output.out(formatTable(shown, COLUMNS, output.columns));
}
