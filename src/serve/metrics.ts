/**
 * `GET /metrics`: one Snapshot as Prometheus text exposition (format 0.0.4). Pure: no I/O, no clock.
 *
 * Container metrics use cAdvisor's names and its `id` (cgroup path), `name` and `image` labels, so cAdvisor dashboards
 * and queries work unchanged; bubble adds `kind`, and for Slurm jobs `job_id` and `job_user`. Per process only the top
 * N of each container by CPU are exposed (labels: the container's, `pid` and `comm`; never the command line, which
 * leaks secrets), so the series count stays at most N per container.
 */
import type { ContainerView, ProcessView, Snapshot } from '../model/snapshot.js';

/** bubble's own health, exposed beside the containers. */
export interface ServeHealth {
  /** Wall time of the last tick (sample, rates, store write), seconds. */
  readonly tickSeconds?: number;
  readonly ticks: number;
  /** Ticks that did not happen on time (the previous one ran long, the machine was suspended). */
  readonly ticksMissed: number;
  readonly storeWriteErrors: number;
  /** Ticks the recorder gave up on while the store could not be written. */
  readonly storeDroppedTicks: number;
  readonly sysdigLinesSkipped: number;
}

export interface MetricsOptions {
  /** Processes per container, by CPU. @default 5 */
  readonly processesPerContainer?: number;
}

export const DEFAULT_PROCESS_METRICS = 5;

/**
 * A label value per the exposition format: backslash, double quote and newline escaped. Every other character is
 * allowed there; a carriage return or another control character from a container name is made visible (\\xNN
 * spelled out) rather than passed on, so the text stays one sample per line for any reader.
 */
export function escapeLabelValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\\"\n\u0000-\u001f\u007f]/g, (ch) => {
    if (ch === '\\') return '\\\\';
    if (ch === '"') return '\\"';
    if (ch === '\n') return '\\n';
    return `\\\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** A sample value: integers as they are, other numbers as JS prints them (which Prometheus parses), NaN/Inf spelled. */
function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

type Labels = readonly (readonly [string, string])[];

function labelText(labels: Labels): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

interface Family<T> {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly value: (item: T) => number | undefined;
}

const seconds = (ns: number | undefined): number | undefined => (ns === undefined ? undefined : ns / 1e9);
const secondsOfUs = (us: number | undefined): number | undefined => (us === undefined ? undefined : us / 1e6);

const CONTAINER_FAMILIES: readonly Family<ContainerView>[] = [
  { name: 'container_cpu_usage_seconds_total', type: 'counter', help: 'Cumulative CPU time consumed in seconds.', value: (c) => seconds(c.cpuNs) },
  {
    name: 'container_cpu_cfs_throttled_seconds_total',
    type: 'counter',
    help: 'Total time duration the container has been throttled.',
    value: (c) => seconds(c.throttledNs),
  },
  {
    name: 'container_memory_working_set_bytes',
    type: 'gauge',
    help: 'Current working set in bytes (usage minus inactive file).',
    value: (c) => c.memoryBytes,
  },
  {
    // cAdvisor says 0 for "no limit"; so does bubble, so `usage / limit` queries behave the same.
    name: 'container_spec_memory_limit_bytes',
    type: 'gauge',
    help: 'Memory limit for the container (0: none).',
    value: (c) => c.memoryLimitBytes ?? 0,
  },
  {
    name: 'container_network_receive_bytes_total',
    type: 'counter',
    help: 'Cumulative count of bytes received.',
    value: (c) => c.netRxBytes,
  },
  {
    name: 'container_network_transmit_bytes_total',
    type: 'counter',
    help: 'Cumulative count of bytes transmitted.',
    value: (c) => c.netTxBytes,
  },
  { name: 'container_fs_reads_bytes_total', type: 'counter', help: 'Cumulative count of bytes read.', value: (c) => c.blkReadBytes },
  { name: 'container_fs_writes_bytes_total', type: 'counter', help: 'Cumulative count of bytes written.', value: (c) => c.blkWriteBytes },
  { name: 'container_processes', type: 'gauge', help: 'Number of processes running inside the container.', value: (c) => c.processCount },
  { name: 'container_threads', type: 'gauge', help: 'Number of threads running inside the container.', value: (c) => c.pids },
  ...(['cpu', 'memory', 'io'] as const).flatMap((resource): Family<ContainerView>[] => [
    {
      name: `container_pressure_${resource}_waiting_seconds_total`,
      type: 'counter',
      help: `Total time duration tasks in the container have waited due to ${resource === 'io' ? 'IO' : resource === 'cpu' ? 'CPU' : 'memory'} congestion (PSI some).`,
      value: (c) => secondsOfUs(c.stall?.[resource]?.someUs),
    },
    {
      name: `container_pressure_${resource}_stalled_seconds_total`,
      type: 'counter',
      help: `Total time duration no tasks in the container could make progress due to ${resource === 'io' ? 'IO' : resource === 'cpu' ? 'CPU' : 'memory'} congestion (PSI full).`,
      value: (c) => secondsOfUs(c.stall?.[resource]?.fullUs),
    },
  ]),
  {
    name: 'bubble_container_cpu_limit_cores',
    type: 'gauge',
    help: 'CPU limit from the CFS quota, in cores (absent when none).',
    value: (c) => c.cpuLimitCores,
  },
  { name: 'container_oom_events_total', type: 'counter', help: 'Count of out of memory events observed for the container.', value: (c) => c.oomKills },
];

const PROCESS_FAMILIES: readonly Family<ProcessView>[] = [
  {
    name: 'bubble_process_cpu_usage_seconds_total',
    type: 'counter',
    help: 'Cumulative CPU time of a process (only the top processes of each container by CPU are exposed).',
    value: (p) => p.cpuNs / 1e9,
  },
  {
    name: 'bubble_process_resident_memory_bytes',
    type: 'gauge',
    help: 'Resident set size of a process (only the top processes of each container by CPU are exposed).',
    value: (p) => p.rssBytes,
  },
];

/** The labels of a container's series: cAdvisor's, then bubble's. */
export function containerLabels(c: ContainerView): Labels {
  const labels: [string, string][] = [
    ['id', c.cgroup],
    ['name', c.name],
    ['image', c.image ?? ''],
    ['kind', c.kind],
  ];
  if (c.kind === 'slurm') {
    labels.push(['job_id', c.id]);
    if (c.user !== undefined) labels.push(['job_user', c.user]);
  }
  return labels;
}

/** The top `n` processes of each container by CPU over the last interval (then by CPU time, then pid), by container key. */
export function topProcesses(snapshot: Snapshot, n: number): Map<string, ProcessView[]> {
  const byContainer = new Map<string, ProcessView[]>();
  if (n <= 0) return byContainer;
  for (const p of snapshot.processes) {
    if (p.kernelThread) continue;
    let list = byContainer.get(p.containerKey);
    if (list === undefined) byContainer.set(p.containerKey, (list = []));
    list.push(p);
  }
  for (const [key, list] of byContainer) {
    list.sort((a, b) => (b.cpuPercent ?? 0) - (a.cpuPercent ?? 0) || b.cpuNs - a.cpuNs || a.pid - b.pid);
    if (list.length > n) byContainer.set(key, list.slice(0, n));
  }
  return byContainer;
}

function writeFamily<T>(lines: string[], family: Family<T>, items: readonly (readonly [T, string])[]): void {
  const present: string[] = [];
  for (const [item, labels] of items) {
    const value = family.value(item);
    if (value !== undefined) present.push(`${family.name}${labels} ${formatValue(value)}`);
  }
  if (present.length === 0) return;
  lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`, ...present);
}

function scalar(lines: string[], name: string, type: 'counter' | 'gauge', help: string, value: number | undefined): void {
  if (value === undefined) return;
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${formatValue(value)}`);
}

/** The whole exposition text for one snapshot (undefined before the first tick: health only). */
export function metricsText(snapshot: Snapshot | undefined, health: ServeHealth, options: MetricsOptions = {}): string {
  const lines: string[] = [];
  if (snapshot !== undefined) {
    const containers = snapshot.containers.map((c) => [c, labelText(containerLabels(c))] as const);
    for (const family of CONTAINER_FAMILIES) writeFamily(lines, family, containers);

    const steps: (readonly [ContainerView, string])[] = [];
    for (const c of snapshot.containers) {
      for (const step of c.kind === 'slurm' ? (c.steps ?? []) : [])
        steps.push([
          c,
          labelText([
            ['id', c.cgroup],
            ['job_id', c.id],
            ['step', step],
          ]),
        ]);
    }
    writeFamily(lines, { name: 'bubble_slurm_job_step_info', type: 'gauge', help: 'A Slurm job step seen running (always 1).', value: () => 1 }, steps);

    const seen = snapshot.timeMs / 1000;
    writeFamily(lines, { name: 'container_last_seen', type: 'gauge', help: 'Last time a container was seen by the exporter.', value: () => seen }, containers);

    const top = topProcesses(snapshot, options.processesPerContainer ?? DEFAULT_PROCESS_METRICS);
    const processes: (readonly [ProcessView, string])[] = [];
    for (const c of snapshot.containers) {
      const base = containerLabels(c).filter(([k]) => k === 'id' || k === 'name');
      for (const p of top.get(c.key) ?? []) processes.push([p, labelText([...base, ['pid', String(p.pid)], ['comm', p.comm]])]);
    }
    for (const family of PROCESS_FAMILIES) writeFamily(lines, family, processes);
  }
  scalar(lines, 'bubble_tick_duration_seconds', 'gauge', 'Wall time of the last tick: sampling, rates and the store write.', health.tickSeconds);
  scalar(lines, 'bubble_ticks_total', 'counter', 'Ticks taken since bubble serve started.', health.ticks);
  scalar(lines, 'bubble_ticks_missed_total', 'counter', 'Ticks that did not happen on time.', health.ticksMissed);
  scalar(
    lines,
    'bubble_store_write_errors_total',
    'counter',
    'Store write failures: each streak of failed ticks counts once (the recorder retries every tick).',
    health.storeWriteErrors,
  );
  scalar(lines, 'bubble_store_dropped_ticks_total', 'counter', 'Ticks dropped while the store could not be written.', health.storeDroppedTicks);
  scalar(lines, 'bubble_sysdig_lines_skipped_total', 'counter', 'sysdig bridge lines skipped as malformed.', health.sysdigLinesSkipped);
  return lines.join('\n') + '\n';
}
