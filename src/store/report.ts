/**
 * What `bubble report` reads: one container's (or job's) whole recorded life, or the part in [since, until), from
 * the store, as one ContainerReport. Only SELECTs, so it runs while `record` writes the file. Totals and peaks come
 * from the finest tier that covers the range (sums are conserved across tiers); the sparklines bin those rows into
 * at most SPARK_POINTS points.
 */
import type { Database } from 'better-sqlite3';
import { BubbleError } from '../errors/bubble-error.js';
import { safeText } from '../format.js';
import { allocatedCores, cpuEfficiencyPercent } from '../model/efficiency.js';
import { finestTierCovering } from './queries.js';
import { aliveUntilSql } from './sessions.js';
import { hasColumn, statement } from './statements.js';
import { hasSyscallErrors } from './syscall-errors.js';
import { bucketStart, sampledMsSql, TIER_ID, TIER_MS, type Tier } from './tiers.js';

/** Points per sparkline: fits 80 columns with a label and a figure. */
export const SPARK_POINTS = 60;
/** Top processes, files and endpoints listed. */
export const TOP_N = 5;

export interface ReportProcess {
  readonly pid: number;
  readonly comm: string;
  readonly cmdline: string;
  readonly startMs: number;
  /** End of its life as far as the store knows (exit, or last sight). */
  readonly endMs: number;
  readonly exited: boolean;
  /** How it exited, where a kernel-event source saw it: its exit status, or 128 + the signal that killed it. */
  readonly exitCode?: number;
  readonly cpuNs: number;
  readonly rssMaxBytes?: number;
}

export interface ReportFile {
  readonly path: string;
  readonly opens: number;
  readonly bytes?: number;
}

export interface ReportEndpoint {
  readonly protocol: string;
  readonly remote: string;
  readonly opens: number;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
}

/** A syscall failing with one errno in the container, over the span. */
export interface ReportSyscallError {
  readonly syscall: string;
  readonly errno: string;
  readonly count: number;
  /** Processes it failed in, and the command whose processes it failed most in (a loop's 300 cats: cat). */
  readonly processes: number;
  readonly comm: string;
}

/** One resource over the lifetime: per point, the rate or level (cores, bytes, bytes/s). */
export interface Sparks {
  readonly cpuCores: readonly number[];
  readonly memBytes: readonly number[];
  readonly ioBytesPerSec: readonly number[];
  readonly netBytesPerSec: readonly number[];
}

export interface ContainerReport {
  readonly key: string;
  readonly kind: string;
  readonly id: string;
  readonly name: string;
  readonly image?: string;
  readonly user?: string;
  /** Slurm: every step seen. */
  readonly steps?: readonly string[];
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  readonly exitTimeMs?: number;
  readonly exitCode?: number;
  readonly running: boolean;
  /** The span reported: the life clipped to --since/--until. */
  readonly fromMs: number;
  readonly toMs: number;
  readonly tier: Tier;
  /** Time the recorder sampled within the span. */
  readonly sampledMs: number;
  readonly cpuNs: number;
  readonly avgCores?: number;
  readonly peakCores?: number;
  readonly cpuLimitCores?: number;
  readonly cpusetCpus?: number;
  /** What efficiency is against: the CPU limit, else a cpuset narrower than the host (model/efficiency.ts). */
  readonly cpuAllocatedCores?: number;
  readonly cpuEfficiencyPercent?: number;
  readonly memPeakBytes?: number;
  readonly memAvgBytes?: number;
  readonly memLimitBytes?: number;
  /** undefined when the store never read it (a store from before migration 4, or no memory controller). */
  readonly oomKills?: number;
  readonly readBytes: number;
  readonly writeBytes: number;
  readonly netRxBytes?: number;
  readonly netTxBytes?: number;
  readonly peakIoBytesPerSec?: number;
  readonly peakNetBytesPerSec?: number;
  readonly processCount: number;
  readonly topByCpu: readonly ReportProcess[];
  readonly topByMemory: readonly ReportProcess[];
  readonly filesWritten: readonly ReportFile[];
  readonly filesRead: readonly ReportFile[];
  /** Files whose opens a kernel-event source saw without the open's flags (bpftrace): neither read nor written known. */
  readonly filesOpened: readonly ReportFile[];
  readonly endpoints: readonly ReportEndpoint[];
  /** Top failed syscalls, where a source counted them (bpftrace's error probe, sysdig); undefined where none did. */
  readonly syscallErrors?: readonly ReportSyscallError[];
  readonly sparks: Sparks;
  /** What the recording missed, one sentence each. */
  readonly missing: readonly string[];
}

interface ContainerRow {
  id: number;
  key: string;
  kind: string;
  cid: string;
  name: string;
  image: string | null;
  user: string | null;
  memory_limit: number | null;
  cpu_limit: number | null;
  oom_kills: number | null;
  /** The cgroup's own peak counter, the highest read. */
  memory_peak: number | null;
  cpuset_cpus: number | null;
  steps: string | null;
  first_seen: number;
  last_seen: number;
  exit_time: number | null;
  exit_code: number | null;
  alive_until: number;
  running: number;
}

interface SeriesRow {
  bucket: number;
  cpu_ns: number;
  mem_avg: number | null;
  mem_max: number | null;
  read_bytes: number;
  write_bytes: number;
  net_rx_bytes: number | null;
  net_tx_bytes: number | null;
  samples: number;
  sampled: number;
}

const present = <T>(value: T | null | undefined): value is T => value !== null && value !== undefined;
const maxOf = (values: readonly number[]): number | undefined => (values.length === 0 ? undefined : values.reduce((a, b) => Math.max(a, b)));

/** Groups consecutive rows into at most SPARK_POINTS bins over [from, to): rates over the sampled time, memory at its peak. */
function sparks(rows: readonly SeriesRow[], fromMs: number, toMs: number): Sparks {
  const span = Math.max(1, toMs - fromMs);
  const n = Math.max(1, Math.min(SPARK_POINTS, rows.length));
  const bins = Array.from({ length: n }, () => ({ cpu: 0, mem: 0, io: 0, net: 0, ms: 0 }));
  for (const r of rows) {
    const i = Math.min(n - 1, Math.max(0, Math.floor(((r.bucket - fromMs) / span) * n)));
    const b = bins[i]!;
    b.cpu += r.cpu_ns;
    b.mem = Math.max(b.mem, r.mem_max ?? 0);
    b.io += r.read_bytes + r.write_bytes;
    b.net += (r.net_rx_bytes ?? 0) + (r.net_tx_bytes ?? 0);
    b.ms += r.sampled;
  }
  const rate = (v: number, ms: number): number => (ms > 0 ? v / (ms / 1000) : 0);
  return {
    cpuCores: bins.map((b) => (b.ms > 0 ? b.cpu / (b.ms * 1e6) : 0)),
    memBytes: bins.map((b) => b.mem),
    ioBytesPerSec: bins.map((b) => rate(b.io, b.ms)),
    netBytesPerSec: bins.map((b) => rate(b.net, b.ms)),
  };
}

/**
 * The report of the container with row key `key` over [sinceMs, untilMs) (its whole life by default). Throws
 * BubbleError when the range holds no data of it, saying when it was recorded.
 */
export function containerReport(db: Database, key: string, range: { sinceMs?: number; untilMs?: number } = {}): ContainerReport {
  // A store written before migration 4 opens read-only without its columns.
  const newer = hasColumn(db, 'containers', 'oom_kills');
  const added = newer ? 'c.oom_kills, c.cpuset_cpus, c.steps, c.memory_peak' : 'NULL AS oom_kills, NULL AS cpuset_cpus, NULL AS steps, NULL AS memory_peak';
  const c = statement(
    db,
    `SELECT c.id, c.key, c.kind, c.cid, c.name, c.image, c.user, c.memory_limit, c.cpu_limit, ${added},
            c.first_seen, c.last_seen, c.exit_time, c.exit_code, ${aliveUntilSql('c')} AS alive_until,
            (c.exit_time IS NULL AND EXISTS (SELECT 1 FROM sessions ss WHERE ss.ended IS NULL AND ss.started <= c.last_seen)) AS running
       FROM containers c WHERE c.key = ?`,
  ).get(key) as ContainerRow | undefined;
  if (c === undefined) throw new BubbleError(`no container "${safeText(key)}" in the store`);
  const life = { from: c.first_seen, to: Math.max(c.alive_until, c.first_seen) + 1 };
  const fromMs = Math.max(life.from, range.sinceMs ?? -Infinity);
  const toMs = Math.min(life.to, range.untilMs ?? Infinity);
  const tier = finestTierCovering(db, fromMs);
  const size = TIER_MS[tier];
  const rows = statement(
    db,
    `SELECT s.bucket, s.cpu_ns, s.mem_avg, s.mem_max, s.read_bytes, s.write_bytes, s.net_rx_bytes, s.net_tx_bytes, s.samples,
            ${sampledMsSql('s')} AS sampled
       FROM container_series s WHERE s.tier = @tier AND s.container_id = @id AND s.bucket >= @from AND s.bucket < @to
      ORDER BY s.bucket`,
  ).all({ tier: TIER_ID[tier], size, id: c.id, from: bucketStart(tier, fromMs), to: toMs }) as SeriesRow[];
  const name = safeText(c.name);
  if (fromMs >= toMs || rows.length === 0) {
    const when = `recorded ${new Date(life.from).toISOString()} to ${new Date(life.to - 1).toISOString()}`;
    throw new BubbleError(fromMs >= toMs ? `${name} did not live in the range asked (${when})` : `no recorded data of ${name} in the range asked (${when})`);
  }

  const sampledMs = rows.reduce((a, r) => a + r.sampled, 0);
  const cpuNs = rows.reduce((a, r) => a + r.cpu_ns, 0);
  const memSamples = rows.filter((r) => r.mem_avg !== null).reduce((a, r) => a + r.samples, 0);
  const memAvg = memSamples > 0 ? rows.reduce((a, r) => a + (r.mem_avg ?? 0) * (r.mem_avg === null ? 0 : r.samples), 0) / memSamples : undefined;
  const netRows = rows.filter((r) => r.net_rx_bytes !== null || r.net_tx_bytes !== null);
  const avgCores = sampledMs > 0 ? cpuNs / (sampledMs * 1e6) : undefined;
  const cpuLimitCores = c.cpu_limit ?? undefined;
  const allocation = { ...(cpuLimitCores !== undefined && { cpuLimitCores }), ...(present(c.cpuset_cpus) && { cpusetCpus: c.cpuset_cpus }) };
  const cpuAllocatedCores = allocatedCores(allocation);
  const efficiency = avgCores === undefined ? undefined : cpuEfficiencyPercent(avgCores * 100, allocation);
  const perSec = (bytes: number, ms: number): number => bytes / (ms / 1000);

  const processes = processesOf(db, c.id, tier, fromMs, toMs);
  const missing: string[] = [];
  const steps = parseSteps(c.steps);
  const span = toMs - fromMs;
  // The newest bucket of a running container is still open (not written yet): one bucket of slack.
  if (sampledMs < (span - size) * 0.9) {
    missing.push(`${Math.round((sampledMs / span) * 100)}% of the span is sampled (no recorder ran the rest)`);
  }
  const oldestStart = processes.oldestStartMs;
  if (range.sinceMs === undefined && oldestStart !== undefined && oldestStart < c.first_seen - 2000) {
    missing.push(`its start: recording began ${Math.round((c.first_seen - oldestStart) / 1000)} s after its oldest process started`);
  }
  if (c.exit_time === null && c.running === 0 && range.untilMs === undefined) {
    missing.push('its end: the recorder stopped while it still ran');
  }
  return {
    key: c.key,
    kind: c.kind,
    id: c.cid,
    name: c.name,
    ...(present(c.image) && { image: c.image }),
    ...(present(c.user) && { user: c.user }),
    ...(steps !== undefined && { steps }),
    firstSeenMs: c.first_seen,
    lastSeenMs: c.alive_until,
    ...(present(c.exit_time) && { exitTimeMs: c.exit_time }),
    ...(present(c.exit_code) && { exitCode: c.exit_code }),
    running: c.running === 1,
    fromMs,
    toMs,
    tier,
    sampledMs,
    cpuNs,
    ...(avgCores !== undefined && { avgCores }),
    ...(rows.some((r) => r.sampled > 0) && { peakCores: maxOf(rows.filter((r) => r.sampled > 0).map((r) => r.cpu_ns / (r.sampled * 1e6))) }),
    ...(cpuLimitCores !== undefined && { cpuLimitCores }),
    ...(present(c.cpuset_cpus) && { cpusetCpus: c.cpuset_cpus }),
    ...(cpuAllocatedCores !== undefined && { cpuAllocatedCores }),
    ...(efficiency !== undefined && { cpuEfficiencyPercent: efficiency }),
    // The sampled maxima, or the cgroup's own peak counter when higher (an OOM kill's climb is faster than a tick).
    ...((rows.some((r) => r.mem_max !== null) || present(c.memory_peak)) && {
      memPeakBytes: maxOf([...rows.map((r) => r.mem_max).filter(present), ...(present(c.memory_peak) ? [c.memory_peak] : [])]),
    }),
    ...(memAvg !== undefined && { memAvgBytes: memAvg }),
    ...(present(c.memory_limit) && { memLimitBytes: c.memory_limit }),
    ...(present(c.oom_kills) && { oomKills: c.oom_kills }),
    readBytes: rows.reduce((a, r) => a + r.read_bytes, 0),
    writeBytes: rows.reduce((a, r) => a + r.write_bytes, 0),
    ...(netRows.length > 0 && {
      netRxBytes: netRows.reduce((a, r) => a + (r.net_rx_bytes ?? 0), 0),
      netTxBytes: netRows.reduce((a, r) => a + (r.net_tx_bytes ?? 0), 0),
    }),
    ...(sampledMs > 0 && {
      peakIoBytesPerSec: maxOf(rows.filter((r) => r.sampled > 0).map((r) => perSec(r.read_bytes + r.write_bytes, r.sampled))),
    }),
    ...(netRows.length > 0 && {
      peakNetBytesPerSec: maxOf(netRows.filter((r) => r.sampled > 0).map((r) => perSec((r.net_rx_bytes ?? 0) + (r.net_tx_bytes ?? 0), r.sampled))),
    }),
    processCount: processes.count,
    topByCpu: processes.byCpu,
    topByMemory: processes.byMemory,
    ...filesOf(db, c.id, fromMs, toMs),
    endpoints: endpointsOf(db, c.id, fromMs, toMs),
    ...syscallErrorsOf(db, c.id, tier, fromMs, toMs),
    sparks: sparks(rows, fromMs, toMs),
    missing,
  };
}

/** The steps column: a JSON array of strings written by the writer; anything else reads as none. */
function parseSteps(text: string | null): string[] | undefined {
  if (text === null) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string') : undefined;
  } catch {
    return undefined;
  }
}

interface ProcessRow {
  pid: number;
  comm: string;
  cmdline: string;
  start_time: number;
  end: number;
  exited: number;
  exit_code: number | null;
  cpu_ns: number | null;
  rss_max: number | null;
}

function processesOf(
  db: Database,
  containerId: number,
  tier: Tier,
  fromMs: number,
  toMs: number,
): { count: number; byCpu: ReportProcess[]; byMemory: ReportProcess[]; oldestStartMs?: number } {
  // Every process whose life overlaps the span, short-lived ones a kernel-event source saw included (no series rows).
  const params = { tier: TIER_ID[tier], id: containerId, from: fromMs, to: toMs, bucketFrom: bucketStart(tier, fromMs) };
  // A store from before migration 4 has no exit codes.
  const code = hasColumn(db, 'processes', 'exit_code') ? 'p.exit_code' : 'NULL AS exit_code';
  const lives = statement(
    db,
    `SELECT p.id, p.pid, p.comm, p.cmdline, p.start_time, ${aliveUntilSql('p')} AS end, p.exit_time IS NOT NULL AS exited, ${code}
       FROM processes p
      WHERE p.container_id = @id AND p.first_seen < @to AND ${aliveUntilSql('p')} >= @from`,
  ).all(params) as (Omit<ProcessRow, 'cpu_ns' | 'rss_max'> & { id: number })[];
  // One pass over the range's rows (the key is tier, bucket, process), not one range scan per process.
  const usage = new Map<number, { cpu_ns: number; rss_max: number }>();
  for (const u of statement(
    db,
    `SELECT s.process_id AS id, sum(s.cpu_ns) AS cpu_ns, max(s.rss_max) AS rss_max FROM process_series s
      WHERE s.tier = @tier AND s.bucket >= @bucketFrom AND s.bucket < @to AND s.process_id IN (SELECT id FROM processes WHERE container_id = @id)
      GROUP BY s.process_id`,
  ).all(params) as { id: number; cpu_ns: number; rss_max: number }[]) {
    usage.set(u.id, u);
  }
  const all: ProcessRow[] = lives.map((p) => ({ ...p, cpu_ns: usage.get(p.id)?.cpu_ns ?? null, rss_max: usage.get(p.id)?.rss_max ?? null }));
  const toProcess = (r: ProcessRow): ReportProcess => ({
    pid: r.pid,
    comm: r.comm,
    cmdline: r.cmdline,
    startMs: r.start_time,
    endMs: Math.max(r.end, r.start_time),
    exited: r.exited === 1,
    ...(r.exit_code !== null && { exitCode: r.exit_code }),
    cpuNs: r.cpu_ns ?? 0,
    ...(r.rss_max !== null && { rssMaxBytes: r.rss_max }),
  });
  const byCpu = all.filter((r) => (r.cpu_ns ?? 0) > 0).sort((a, b) => (b.cpu_ns ?? 0) - (a.cpu_ns ?? 0) || a.start_time - b.start_time);
  const byMemory = all.filter((r) => r.rss_max !== null).sort((a, b) => (b.rss_max ?? 0) - (a.rss_max ?? 0) || a.start_time - b.start_time);
  const oldest = all.length === 0 ? undefined : Math.min(...all.map((r) => r.start_time));
  return {
    count: all.length,
    byCpu: byCpu.slice(0, TOP_N).map(toProcess),
    byMemory: byMemory.slice(0, TOP_N).map(toProcess),
    ...(oldest !== undefined && { oldestStartMs: oldest }),
  };
}

interface FileRow {
  path: string;
  opens: number;
  bytes: number | null;
}

/**
 * Files by bytes moved where a source counted them (sysdig), else by how often they were opened. Devices, /proc and
 * /sys are left out (/dev/null tops every list and says nothing); files in /dev/shm are real data and stay.
 */
const NOT_DATA = "(a.path LIKE '/dev/%' AND a.path NOT LIKE '/dev/shm/%') OR a.path LIKE '/proc/%' OR a.path LIKE '/sys/%'";

function filesOf(
  db: Database,
  containerId: number,
  fromMs: number,
  toMs: number,
): { filesWritten: ReportFile[]; filesRead: ReportFile[]; filesOpened: ReportFile[] } {
  const query = (modeLike: string, bytes: string): ReportFile[] =>
    (
      statement(
        db,
        `SELECT a.path, sum(a.opens) AS opens, sum(a.${bytes}) AS bytes
           FROM file_access a JOIN processes p ON p.id = a.process_id
          WHERE p.container_id = @id AND a.first_seen < @to AND a.last_seen >= @from AND a.mode LIKE '${modeLike}' AND NOT (${NOT_DATA})
          GROUP BY a.path ORDER BY coalesce(sum(a.${bytes}), -1) DESC, sum(a.opens) DESC, a.path LIMIT ${TOP_N}`,
      ).all({ id: containerId, from: fromMs, to: toMs }) as FileRow[]
    ).map((r) => ({ path: r.path, opens: r.opens, ...(r.bytes !== null && { bytes: r.bytes }) }));
  // Written: w or a in the mode (w, rw, wa, rwa); read: r in it.
  const written = [...query('%w%', 'bytes_out'), ...query('%a%', 'bytes_out')];
  const seen = new Set<string>();
  const filesWritten = written.filter((f) => !seen.has(f.path) && seen.add(f.path)).slice(0, TOP_N);
  // bpftrace sees a short-lived process's opens, not their flags: such a file is neither read nor written for sure,
  // and without this list the files of processes too short for a tick would not show at all.
  return { filesWritten, filesRead: query('%r%', 'bytes_in'), filesOpened: query('', 'bytes_in') };
}

interface EndpointRow {
  protocol: string;
  remote: string;
  opens: number;
  bytes_in: number | null;
  bytes_out: number | null;
}

/** Remote ends of its connections: listening sockets (no remote) and unix sockets left out. */
function endpointsOf(db: Database, containerId: number, fromMs: number, toMs: number): ReportEndpoint[] {
  const rows = statement(
    db,
    `SELECT a.protocol, a.remote, sum(a.opens) AS opens, sum(a.bytes_in) AS bytes_in, sum(a.bytes_out) AS bytes_out
       FROM net_access a JOIN processes p ON p.id = a.process_id
      WHERE p.container_id = @id AND a.first_seen < @to AND a.last_seen >= @from AND a.protocol <> 'unix' AND a.state <> 'LISTEN'
        AND a.remote NOT IN ('', '*', '*:*', '0.0.0.0:0', '[::]:0', '[::]:*', '0.0.0.0:*')
      GROUP BY a.protocol, a.remote
      ORDER BY coalesce(sum(a.bytes_in), 0) + coalesce(sum(a.bytes_out), 0) DESC, sum(a.opens) DESC, a.remote LIMIT ${TOP_N}`,
  ).all({ id: containerId, from: fromMs, to: toMs }) as EndpointRow[];
  return rows.map((r) => ({
    protocol: r.protocol,
    remote: r.remote,
    opens: r.opens,
    ...(r.bytes_in !== null && { bytesIn: r.bytes_in }),
    ...(r.bytes_out !== null && { bytesOut: r.bytes_out }),
  }));
}

interface SyscallErrorRow {
  syscall: string;
  errno: string;
  count: number;
  processes: number;
  comm: string;
}

/**
 * The TOP_N syscall/errno pairs that failed most in the container's processes over the span, from the report's tier;
 * nothing when no row of the container is in the span (no source counted them, or none failed).
 */
function syscallErrorsOf(db: Database, containerId: number, tier: Tier, fromMs: number, toMs: number): { syscallErrors?: ReportSyscallError[] } {
  if (!hasSyscallErrors(db)) return {};
  const rows = statement(
    db,
    `WITH e AS (
       SELECT s.syscall, s.errno, s.process_id, sum(s.count) AS count FROM syscall_errors s
        WHERE s.tier = @tier AND s.bucket >= @from AND s.bucket < @to AND s.process_id IN (SELECT id FROM processes WHERE container_id = @id)
        GROUP BY s.syscall, s.errno, s.process_id)
     SELECT e.syscall, e.errno, sum(e.count) AS count, count(*) AS processes,
            (SELECT p.comm FROM e e2 JOIN processes p ON p.id = e2.process_id WHERE e2.syscall = e.syscall AND e2.errno = e.errno
              GROUP BY p.comm ORDER BY sum(e2.count) DESC, count(*) DESC, p.comm LIMIT 1) AS comm
       FROM e GROUP BY e.syscall, e.errno ORDER BY sum(e.count) DESC, e.syscall, e.errno LIMIT ${TOP_N}`,
  ).all({ tier: TIER_ID[tier], id: containerId, from: bucketStart(tier, fromMs), to: toMs }) as SyscallErrorRow[];
  return rows.length === 0 ? {} : { syscallErrors: rows.map((r) => ({ ...r })) };
}
