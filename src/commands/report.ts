/**
 * `bubble report <container|job>`: what a container or Slurm job did over its recorded life, in one page of plain
 * text that fits 80 columns, or one JSON object (fields in docs/fields.md). Read from the store (store/report.ts).
 */
import { UsageError } from '../errors/usage-error.js';
import { formatBytes, formatDuration, formatTime, safeText, truncate } from '../format.js';
import { matchContainer } from '../model/match.js';
import type { JsonRecord } from '../records.js';
import { openStore } from '../store/database.js';
import { findStoredContainers } from '../store/queries.js';
import { containerReport, type ContainerReport, type ReportProcess } from '../store/report.js';
import type { Output } from './output.js';

export interface ReportOptions {
  readonly container: string;
  readonly dbPath: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
  readonly json: boolean;
}

/** The page is this wide at most. */
export const REPORT_WIDTH = 80;

export function runReport(options: ReportOptions, output: Output): void {
  if (options.sinceMs !== undefined && options.untilMs !== undefined && options.sinceMs >= options.untilMs) {
    throw new UsageError(`--since (${new Date(options.sinceMs).toISOString()}) is not before --until (${new Date(options.untilMs).toISOString()})`);
  }
  const store = openStore(options.dbPath, { readonly: true });
  try {
    const match = matchContainer(options.container, findStoredContainers(store.db), { seen: 'recorded', where: `in the store ${safeText(store.path)}` });
    const report = containerReport(store.db, match.key, {
      ...(options.sinceMs !== undefined && { sinceMs: options.sinceMs }),
      ...(options.untilMs !== undefined && { untilMs: options.untilMs }),
    });
    output.out(options.json ? JSON.stringify(reportRecord(report)) + '\n' : reportText(report));
  } finally {
    store.close();
  }
}

const round = (value: number | undefined, digits = 2): number | null =>
  value === undefined || !Number.isFinite(value) ? null : Math.round(value * 10 ** digits) / 10 ** digits;
const int = (value: number | undefined): number | null => (value === undefined ? null : Math.round(value));
const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

function processJson(p: ReportProcess): JsonRecord {
  return {
    pid: p.pid,
    comm: p.comm,
    cmdline: p.cmdline,
    start_time: iso(p.startMs),
    end_time: iso(p.endMs),
    exited: p.exited,
    exit_code: p.exitCode ?? null,
    lifetime_seconds: round((p.endMs - p.startMs) / 1000, 3),
    cpu_seconds: round(p.cpuNs / 1e9, 3),
    rss_max_bytes: int(p.rssMaxBytes),
  };
}

/** The `--json` object: stable snake_case names (docs/fields.md); a figure not recorded is null. */
export function reportRecord(r: ContainerReport): JsonRecord {
  return {
    key: r.key,
    kind: r.kind,
    id: r.id,
    name: r.name,
    image: r.image ?? null,
    user: r.user ?? null,
    steps: r.steps === undefined ? null : [...r.steps],
    first_seen: iso(r.firstSeenMs),
    last_seen: iso(r.lastSeenMs),
    exit_time: iso(r.exitTimeMs),
    exit_code: r.exitCode ?? null,
    running: r.running,
    since: iso(r.fromMs),
    until: iso(r.toMs),
    tier: r.tier,
    sampled_seconds: round(r.sampledMs / 1000, 3),
    cpu_seconds: round(r.cpuNs / 1e9, 3),
    cpu_avg_cores: round(r.avgCores, 3),
    cpu_peak_cores: round(r.peakCores, 3),
    cpu_limit_cores: round(r.cpuLimitCores),
    cpuset_cpus: r.cpusetCpus ?? null,
    cpu_allocated_cores: round(r.cpuAllocatedCores),
    cpu_efficiency_percent: round(r.cpuEfficiencyPercent, 1),
    memory_peak_bytes: int(r.memPeakBytes),
    memory_avg_bytes: int(r.memAvgBytes),
    memory_limit_bytes: int(r.memLimitBytes),
    oom_kills: int(r.oomKills),
    read_bytes: r.readBytes,
    write_bytes: r.writeBytes,
    net_rx_bytes: int(r.netRxBytes),
    net_tx_bytes: int(r.netTxBytes),
    io_peak_bytes_per_sec: round(r.peakIoBytesPerSec, 0),
    net_peak_bytes_per_sec: round(r.peakNetBytesPerSec, 0),
    process_count: r.processCount,
    top_cpu: r.topByCpu.map(processJson),
    top_memory: r.topByMemory.map(processJson),
    files_written: r.filesWritten.map((f) => ({ path: f.path, opens: f.opens, bytes: f.bytes ?? null })),
    files_read: r.filesRead.map((f) => ({ path: f.path, opens: f.opens, bytes: f.bytes ?? null })),
    files_opened: r.filesOpened.map((f) => ({ path: f.path, opens: f.opens, bytes: f.bytes ?? null })),
    endpoints: r.endpoints.map((e) => ({ protocol: e.protocol, remote: e.remote, opens: e.opens, bytes_in: e.bytesIn ?? null, bytes_out: e.bytesOut ?? null })),
    syscall_errors:
      r.syscallErrors === undefined
        ? null
        : r.syscallErrors.map((e) => ({ syscall: e.syscall, errno: e.errno, count: e.count, processes: e.processes, comm: e.comm })),
    sparklines: {
      cpu_cores: r.sparks.cpuCores.map((v) => round(v, 3)),
      memory_bytes: r.sparks.memBytes.map((v) => Math.round(v)),
      io_bytes_per_sec: r.sparks.ioBytesPerSec.map((v) => Math.round(v)),
      net_bytes_per_sec: r.sparks.netBytesPerSec.map((v) => Math.round(v)),
    },
    missing: [...r.missing],
  };
}

const BARS = '▁▂▃▄▅▆▇█';

/** One character per point, scaled to `top` (the largest point when not given); blank for a zero point. */
export function sparkline(points: readonly number[], top?: number): string {
  const max = top ?? Math.max(0, ...points);
  return points.map((v) => (v <= 0 || max <= 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.max(0, Math.ceil((v / max) * BARS.length) - 1))]!)).join('');
}

/** Words into lines of at most `width` columns (a word longer than that is cut by the final truncate). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

const cores = (n: number | undefined): string => (n === undefined ? '-' : n.toFixed(2));
const seconds = (ns: number): string => (ns >= 60e9 ? formatDuration(ns / 1e9) : `${(ns / 1e9).toFixed(1)}s`);

/** The plain-text page: every line at most REPORT_WIDTH columns, everything a container controls escaped. */
export function reportText(r: ContainerReport): string {
  const lines: string[] = [];
  const what = r.kind === 'slurm' ? `Slurm job ${r.id}` : r.kind === 'host' ? 'the host' : `${r.kind} ${r.id.slice(0, 12)}`;
  lines.push(
    `${safeText(r.name)} (${what})${r.image !== undefined ? `, image ${safeText(r.image)}` : ''}${r.user !== undefined ? `, user ${safeText(r.user)}` : ''}`,
  );
  if (r.steps !== undefined && r.steps.length > 0) lines.push(...wrap(`Steps: ${r.steps.map(safeText).join(', ')}.`, REPORT_WIDTH));
  const end = r.running ? 'still running' : r.exitTimeMs !== undefined ? `exited ${formatTime(r.exitTimeMs)}` : `last seen ${formatTime(r.lastSeenMs)}`;
  const code = r.exitCode !== undefined ? ` with code ${r.exitCode}` : '';
  lines.push(`Seen ${formatTime(r.firstSeenMs)}, ${end}${code}.`);
  if (r.oomKills !== undefined && r.oomKills > 0) lines.push(`The kernel OOM-killed ${r.oomKills === 1 ? 'a process' : `${r.oomKills} processes`} in it.`);
  lines.push(`Reported: ${formatTime(r.fromMs)} to ${formatTime(r.toMs)} (${formatDuration((r.toMs - r.fromMs) / 1000)}), ${r.tier} buckets.`);
  for (const m of r.missing) lines.push(...wrap(`Not recorded: ${m}.`, REPORT_WIDTH));
  lines.push('');

  const limit = r.cpuAllocatedCores !== undefined ? ` of ${r.cpuAllocatedCores.toFixed(2)} allowed` : '';
  lines.push(`CPU      ${seconds(r.cpuNs)} in all; ${cores(r.avgCores)} cores on average, ${cores(r.peakCores)} at peak${limit}`);
  if (r.cpuEfficiencyPercent !== undefined) lines.push(`         efficiency ${r.cpuEfficiencyPercent.toFixed(1)}% of the allocation`);
  // A Slurm job's limit is its request (the view keeps only a limit Slurm set for one); without one it has none.
  const memLimit =
    r.memLimitBytes !== undefined
      ? ` of ${formatBytes(r.memLimitBytes)}${r.kind === 'slurm' ? ' requested' : ''}`
      : r.kind === 'slurm'
        ? ' (no memory request)'
        : '';
  const memPct = r.memLimitBytes !== undefined && r.memPeakBytes !== undefined ? ` (${((r.memPeakBytes / r.memLimitBytes) * 100).toFixed(0)}% at peak)` : '';
  lines.push(
    `Memory   peak ${formatBytes(r.memPeakBytes)}${memLimit}${memPct}, average ${formatBytes(r.memAvgBytes)}${r.oomKills !== undefined ? `; OOM kills ${r.oomKills}` : ''}`,
  );
  lines.push(`Disk     read ${formatBytes(r.readBytes)}, wrote ${formatBytes(r.writeBytes)}; peak ${formatBytes(r.peakIoBytesPerSec)}/s`);
  lines.push(
    r.netRxBytes === undefined
      ? 'Network  not recorded'
      : `Network  received ${formatBytes(r.netRxBytes)}, sent ${formatBytes(r.netTxBytes)}; peak ${formatBytes(r.peakNetBytesPerSec)}/s`,
  );
  lines.push('');
  const spark = (label: string, points: readonly number[], top: string): void => {
    lines.push(`${label.padEnd(7)}|${sparkline(points)}| ${top}`);
  };
  spark('cpu', r.sparks.cpuCores, `${cores(Math.max(0, ...r.sparks.cpuCores))} cores`);
  spark('memory', r.sparks.memBytes, formatBytes(Math.max(0, ...r.sparks.memBytes)));
  spark('disk', r.sparks.ioBytesPerSec, `${formatBytes(Math.max(0, ...r.sparks.ioBytesPerSec))}/s`);
  if (r.netRxBytes !== undefined) spark('network', r.sparks.netBytesPerSec, `${formatBytes(Math.max(0, ...r.sparks.netBytesPerSec))}/s`);
  lines.push('');

  lines.push(`${r.processCount} process${r.processCount === 1 ? '' : 'es'} ran.`);
  const table = (title: string, list: readonly ReportProcess[]): void => {
    if (list.length === 0) return;
    lines.push(`${title}:`, '      PID      CPU   RSS PEAK  LIFETIME EXIT  COMMAND');
    for (const p of list) {
      // EXIT: its code where a kernel-event source saw it exit; `-` while it runs or when no source told.
      const exit = p.exitCode === undefined ? '-' : String(p.exitCode);
      const head = `  ${String(p.pid).padStart(7)} ${seconds(p.cpuNs).padStart(8)} ${formatBytes(p.rssMaxBytes).padStart(10)} ${formatDuration((p.endMs - p.startMs) / 1000).padStart(9)} ${exit.padStart(4)}  `;
      lines.push(head + truncate(safeText(p.cmdline === '' ? `[${p.comm}]` : p.cmdline), REPORT_WIDTH - head.length));
    }
  };
  table('Top by CPU time', r.topByCpu);
  table('Top by memory peak', r.topByMemory);

  const files = (title: string, list: ContainerReport['filesWritten']): void => {
    if (list.length === 0) return;
    lines.push('', `${title}:`);
    for (const f of list) {
      const tail = ` ${f.opens} open${f.opens === 1 ? '' : 's'}${f.bytes !== undefined ? `, ${formatBytes(f.bytes)}` : ''}`;
      lines.push(`  ${truncate(safeText(f.path), REPORT_WIDTH - 2 - tail.length - 1)} ${tail.trimStart()}`);
    }
  };
  files('Files written', r.filesWritten);
  files('Files read', r.filesRead);
  files('Files opened by short-lived processes (read or write not recorded)', r.filesOpened);
  if (r.endpoints.length > 0) {
    lines.push('', 'Remote endpoints:');
    for (const e of r.endpoints) {
      const bytes = e.bytesIn !== undefined || e.bytesOut !== undefined ? `, in ${formatBytes(e.bytesIn)} out ${formatBytes(e.bytesOut)}` : '';
      lines.push(truncate(`  ${e.protocol} ${safeText(e.remote)}, ${e.opens} connection${e.opens === 1 ? '' : 's'}${bytes}`, REPORT_WIDTH));
    }
  }
  if (r.syscallErrors !== undefined) {
    lines.push('', 'Failed syscalls:', '      COUNT  SYSCALL           ERRNO            PROCESSES  COMMAND');
    for (const e of r.syscallErrors) {
      const head = `  ${String(e.count).padStart(9)}  ${safeText(e.syscall).padEnd(16)}  ${safeText(e.errno).padEnd(15)}  ${String(e.processes).padStart(9)}  `;
      lines.push(head + truncate(safeText(e.comm), REPORT_WIDTH - head.length));
    }
  }
  return lines.map((l) => truncate(l, REPORT_WIDTH)).join('\n') + '\n';
}
