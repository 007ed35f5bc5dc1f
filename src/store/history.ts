/**
 * The past, as Snapshots: replay and the TUI's scrubber ask "what did it look like in this bucket of this tier" and
 * get the same Snapshot type live mode shows, rebuilt from the series rows by the same view builder (model/view.ts).
 * Rates are the bucket's totals over the time it sampled (sampledMsSql: a minute bucket shows the minute's average
 * CPU%, a partial minute too); a process's over its container's. An entity is shown while alive by the store's one
 * rule (aliveDuringSql). A process's command is the one it had at the bucket's time (process_commands).
 *
 * Change-only second rows: a process with no second row in the bucket was idle; its memory and threads are carried
 * forward from its newest row at or before the bucket (the minute tier holds a row per live process per minute, so
 * the look-back is bounded).
 */
import type { Database } from 'better-sqlite3';
import type { ContainerKind } from '../model/identity.js';
import type { SeriesPoint } from '../model/series.js';
import type { ContainerView, ProcessView, Snapshot } from '../model/snapshot.js';
import { containerView, cpuPercentOf, processView, type ContainerGauges } from '../model/view.js';
import { commandJoinSql } from './commands.js';
import { parseLabels, type ContainerDbRow } from './queries.js';
import { aliveDuringSql } from './sessions.js';
import { bucketStart, sampledMsSql, TIER_ID, TIER_MS, type Tier } from './tiers.js';
import { statement } from './statements.js';
import { syscallErrorsAt } from './syscall-errors.js';

/** A container with its limits and its series row in the bucket (all null when it has none). */
interface ContainerRowDb extends ContainerDbRow {
  id: number;
  memory_limit: number | null;
  cpu_limit: number | null;
  cpu_source: string | null;
  cpu_ns: number | null;
  mem_avg: number | null;
  mem_max: number | null;
  read_bytes: number | null;
  write_bytes: number | null;
  net_rx_bytes: number | null;
  net_tx_bytes: number | null;
  pids_max: number | null;
  sampled_ms: number;
}

interface ProcessRowDb {
  id: number;
  container_key: string;
  pid: number;
  start_time: number;
  key: string | null;
  ppid: number;
  nspid: number | null;
  comm: string;
  exe: string;
  cmdline: string;
  uid: number;
  user: string;
  first_seen: number;
  last_seen: number;
  exit_time: number | null;
  cpu_ns: number | null;
  rss_avg: number | null;
  read_bytes: number | null;
  write_bytes: number | null;
  threads_max: number | null;
  net_rx_bytes: number | null;
  net_tx_bytes: number | null;
  sampled_ms: number;
  /** 1 when its container has a row in the bucket: a tick was recorded, so a process without one was idle. */
  container_sampled: number;
}

/** The command a process had at the bucket's end (commands.ts), or its row's. */
const COMMAND_AT_TO = 'coalesce(pc.comm, p.comm) AS comm, coalesce(pc.exe, p.exe) AS exe, coalesce(pc.cmdline, p.cmdline) AS cmdline';

export interface HistoryOptions {
  /** Only this container's processes (the container view); all containers are listed either way. */
  readonly containerKey?: string;
  /** For the header: host facts are not in the store. */
  readonly hostname?: string;
  readonly ncpu?: number;
  readonly memTotalBytes?: number;
}

/**
 * The Snapshot of the bucket of `tier` that holds `atMs`, or undefined when the store knows nothing of that time.
 * Processes are included for `options.containerKey` only, or for every container when it is undefined.
 */
export function snapshotFromStore(db: Database, tier: Tier, atMs: number, options: HistoryOptions = {}): Snapshot | undefined {
  const size = TIER_MS[tier];
  const from = bucketStart(tier, atMs);
  const to = from + size;
  const params = { tier: TIER_ID[tier], from, to, size };

  const containerRows = statement(
    db,
    `SELECT c.id, c.key, c.kind, c.cid, c.name, c.image, c.labels, c.cgroup, c.parent, c.user, c.memory_limit, c.cpu_limit, c.cpu_source, c.first_seen, c.last_seen,
              c.exit_time, c.exit_code, s.cpu_ns, s.mem_avg, s.mem_max, s.read_bytes, s.write_bytes, s.net_rx_bytes,
              s.net_tx_bytes, s.pids_max, ${sampledMsSql('s')} AS sampled_ms
         FROM containers c
         LEFT JOIN container_series s ON s.tier = @tier AND s.bucket = @from AND s.container_id = c.id
        WHERE s.container_id IS NOT NULL OR (${aliveDuringSql('c')})`,
  ).all(params) as ContainerRowDb[];
  if (containerRows.length === 0) return undefined;

  const processRows = processesAt(db, params, options.containerKey);
  // Exited before this moment: listed in `exited` only. A second bucket is what live showed at its tick, and live lists
  // a process that tick found gone in `exited`; a coarser bucket still lists what exited within it, with its exit.
  // One that has a row in the bucket was seen alive at a tick of it (several ticks a second): listed, with its exit.
  const goneBy = (exitTime: number | null, hasRow: boolean): boolean => exitTime !== null && exitTime < (tier === 'second' && !hasRow ? to : from);
  const processCounts = new Map<string, number>();
  for (const p of processRows) {
    if (!goneBy(p.exit_time, p.cpu_ns !== null)) processCounts.set(p.container_key, (processCounts.get(p.container_key) ?? 0) + 1);
  }

  const memTotal = options.memTotalBytes ?? 0;
  const containerLimits = new Map<string, number>();
  const containers: ContainerView[] = [];
  const exitedContainers: ContainerView[] = [];
  for (const r of containerRows) {
    const labels = parseLabels(r.labels);
    const exitedBy = r.exit_time !== null && r.exit_time < to;
    const gauges: ContainerGauges = {
      cpuSource: r.cpu_source === 'processes' ? 'processes' : 'cgroup',
      ...(r.cpu_limit !== null && { cpuLimitCores: r.cpu_limit }),
      ...(r.mem_avg !== null && { memoryBytes: r.mem_avg }),
      ...(r.memory_limit !== null && { memoryLimitBytes: r.memory_limit }),
      ...(r.mem_max !== null && { memoryPeakBytes: r.mem_max }),
      ...(r.pids_max !== null && { pids: r.pids_max }),
      processCount: processCounts.get(r.key) ?? 0,
      // Pressure is not stored.
      pressure: {},
    };
    const interval = {
      ...(r.cpu_ns !== null && { cpuNs: r.cpu_ns }),
      ...(r.read_bytes !== null && { readBytes: r.read_bytes }),
      ...(r.write_bytes !== null && { writeBytes: r.write_bytes }),
      ...(r.net_rx_bytes !== null && { netRxBytes: r.net_rx_bytes }),
      ...(r.net_tx_bytes !== null && { netTxBytes: r.net_tx_bytes }),
    };
    const meta = {
      name: r.name,
      ...(r.image !== null && { image: r.image }),
      ...(labels !== undefined && { labels }),
      ...(exitedBy && { state: 'exited' }),
      ...(exitedBy && r.exit_code !== null && { exitCode: r.exit_code }),
      ...(r.user !== null && { jobUser: r.user }),
    };
    const identity = { kind: r.kind as ContainerKind, id: r.cid, name: r.name, cgroup: r.cgroup, ...(r.parent !== null && { parent: r.parent }) };
    // Over the seconds the bucket sampled (sampledMsSql).
    const seconds = r.sampled_ms / 1000;
    if (r.memory_limit !== null) containerLimits.set(r.key, r.memory_limit);
    const view = containerView(identity, r.key, meta, gauges, interval, seconds, memTotal, exitedBy ? r.exit_time! : undefined);
    (goneBy(r.exit_time, r.cpu_ns !== null) ? exitedContainers : containers).push(view);
  }

  const processes: ProcessView[] = [];
  const exitedProcesses: ProcessView[] = [];
  // A bucket whose rows carry per-process network bytes was measured (the bpftrace source): a process without a row
  // in it (idle, change-only) had none.
  const netMeasured = processRows.some((p) => p.net_rx_bytes !== null);
  for (const p of processRows) {
    const exited = p.exit_time !== null && p.exit_time < to;
    const facts = {
      key: p.key ?? `${p.pid}:${p.start_time}`,
      pid: p.pid,
      ...(p.nspid !== null && { nspid: p.nspid }),
      ppid: p.ppid,
      comm: p.comm,
      cmdline: p.cmdline,
      exe: p.exe,
      uid: p.uid,
      user: p.user,
      state: exited ? 'X' : '-',
      containerKey: p.container_key,
      kernelThread: false,
      startTimeMs: p.start_time,
      // Cumulative CPU time and virtual size are not stored.
      cpuNs: 0,
      rssBytes: p.rss_avg ?? 0,
      vsizeBytes: 0,
      threads: p.threads_max ?? 0,
    };
    // No row of its own: idle (0) when its container was sampled in the bucket; in a gap of the recording (no tick in
    // the bucket, the container's figures are unknown too) nothing is known: no 0.0 beside the container's "no data".
    const net = p.net_rx_bytes !== null || (netMeasured && p.cpu_ns === null);
    const interval =
      p.cpu_ns === null && p.container_sampled === 0
        ? {}
        : {
            cpuNs: p.cpu_ns ?? 0,
            readBytes: p.read_bytes ?? 0,
            writeBytes: p.write_bytes ?? 0,
            ...(net && { netRxBytes: p.net_rx_bytes ?? 0, netTxBytes: p.net_tx_bytes ?? 0 }),
          };
    // Over the time its own CPU deltas were over (its container's on rows from before that was stored).
    const seconds = p.sampled_ms / 1000;
    const base = containerLimits.get(p.container_key) ?? memTotal;
    const view = processView(facts, interval, seconds, base, exited ? p.exit_time! : undefined);
    (goneBy(p.exit_time, p.cpu_ns !== null) ? exitedProcesses : processes).push(view);
  }

  const errors = syscallErrorsAt(db, tier, from, options.containerKey);
  return {
    timeMs: from,
    intervalMs: size,
    host: {
      hostname: options.hostname ?? '',
      ncpu: options.ncpu ?? 0,
      memTotalBytes: memTotal,
      memUsedBytes: containers.reduce((a, c) => a + (c.memoryBytes ?? 0), 0),
      cpuPercent: containers.reduce((a, c) => a + (c.cpuPercent ?? 0), 0),
    },
    containers,
    processes,
    exited: { containers: exitedContainers, processes: exitedProcesses },
    gaps: [],
    ...(errors.length > 0 && { syscallErrors: errors }),
    ...(netMeasured && { processNetMeasured: true }),
  };
}

/**
 * Processes alive in the bucket with their row in it, or (change-only: they were idle) their memory and threads
 * carried forward from their newest row of this tier or of the minute tier (which has a row per live process per
 * minute) in the two minutes up to the bucket; CPU and I/O are then 0. The carried values come from two range scans
 * on the (tier, bucket) key, not from a lookup per idle process.
 */
function processesAt(db: Database, params: { tier: number; from: number; to: number; size: number }, containerKey: string | undefined): ProcessRowDb[] {
  const containerFilter = containerKey === undefined ? '' : 'AND c.key = @key';
  const rows = statement(
    db,
    `SELECT p.id, c.key AS container_key, p.pid, p.start_time, p.key, p.ppid, p.nspid, ${COMMAND_AT_TO}, p.uid, p.user,
              p.first_seen, p.last_seen, p.exit_time, s.cpu_ns, s.rss_avg, s.read_bytes, s.write_bytes, s.threads_max,
              s.net_rx_bytes, s.net_tx_bytes,
              coalesce(nullif(s.sampled_ms, 0), ${sampledMsSql('cs')}) AS sampled_ms, cs.container_id IS NOT NULL AS container_sampled
         FROM processes p
         JOIN containers c ON c.id = p.container_id
         LEFT JOIN process_series s ON s.tier = @tier AND s.bucket = @from AND s.process_id = p.id
         LEFT JOIN container_series cs ON cs.tier = @tier AND cs.bucket = @from AND cs.container_id = p.container_id
         ${commandJoinSql('p.id', '@to')}
        WHERE (s.process_id IS NOT NULL OR (${aliveDuringSql('p')})) ${containerFilter}`,
  ).all({ ...params, ...(containerKey !== undefined && { key: containerKey }) }) as ProcessRowDb[];
  if (!rows.some((r) => r.rss_avg === null)) return rows;

  // By process: the end of the row carried, and its figures.
  const carried = new Map<number, { bucket: number; rss: number; threads: number }>();
  const newest = statement(
    db,
    `SELECT process_id, max(bucket) AS bucket, rss_avg, threads_max FROM process_series
      WHERE tier = ? AND bucket > ? AND bucket <= ? GROUP BY process_id`,
  );
  const lo = params.from - 2 * TIER_MS.minute;
  for (const tier of new Set([params.tier, TIER_ID.minute])) {
    // A row holds what was known by its bucket's end: a coarser row that ends after this moment (the open minute,
    // written at a session's end) averages what came later, so it is not what the process had here.
    const own = tier === params.tier;
    const size = own ? params.size : TIER_MS.minute;
    const upTo = own ? params.from : params.from - TIER_MS.minute;
    for (const r of newest.all(tier, lo, upTo) as { process_id: number; bucket: number; rss_avg: number; threads_max: number }[]) {
      const seen = carried.get(r.process_id);
      // The latest end wins; on a tie the finer row (read first) stays.
      const end = r.bucket + size;
      if (seen === undefined || end > seen.bucket) carried.set(r.process_id, { bucket: end, rss: r.rss_avg, threads: r.threads_max });
    }
  }
  for (const row of rows) {
    if (row.rss_avg !== null) continue;
    const c = carried.get(row.id);
    if (c === undefined) continue;
    row.rss_avg = c.rss;
    row.threads_max = c.threads;
  }
  return rows;
}

/** One sparkline point per bucket of `tier` in [fromMs, toMs): CPU% and memory of a container, or of all of them. */
export function seriesFromStore(db: Database, tier: Tier, fromMs: number, toMs: number, containerKey?: string): SeriesPoint[] {
  const rows = statement(
    db,
    // Each container's CPU over its own sampled time, summed: CPU% adds up across containers like live.
    `SELECT s.bucket, sum(s.cpu_ns * 1.0 / ${sampledMsSql('s')}) AS cpu, sum(coalesce(s.mem_avg, 0)) AS mem
         FROM container_series s ${containerKey === undefined ? '' : 'JOIN containers c ON c.id = s.container_id AND c.key = @key'}
        WHERE s.tier = @tier AND s.bucket >= @from AND s.bucket < @to
        GROUP BY s.bucket ORDER BY s.bucket`,
  ).all({ tier: TIER_ID[tier], size: TIER_MS[tier], from: bucketStart(tier, fromMs), to: toMs, ...(containerKey !== undefined && { key: containerKey }) }) as {
    bucket: number;
    cpu: number;
    mem: number;
  }[];
  // cpu is ns per sampled ms: the CPU% of that over one millisecond.
  return rows.map((r) => ({ timeMs: r.bucket, cpuPercent: cpuPercentOf(r.cpu, 0.001) ?? 0, memoryBytes: r.mem }));
}
