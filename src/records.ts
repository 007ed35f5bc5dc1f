/**
 * Stable, snake_case records for `--json` output (ps, ls, and later export). The field list is documented in
 * docs/fields.md: change both together. Times are ISO 8601 UTC strings; absent figures are null, never 0.
 */
import type { HostFacts } from './collectors/host-facts.js';
import { cpuEfficiencyPercent } from './model/efficiency.js';
import type { ContainerView, ProcessView } from './model/snapshot.js';
import type { StoredContainer } from './store/queries.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonRecord = { [key: string]: JsonValue };

const round = (value: number | undefined, digits = 2): number | null =>
  value === undefined || !Number.isFinite(value) ? null : Math.round(value * 10 ** digits) / 10 ** digits;
const int = (value: number | undefined): number | null => (value === undefined ? null : Math.round(value));
const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function processRecord(p: ProcessView): JsonRecord {
  return {
    pid: p.pid,
    nspid: p.nspid ?? null,
    ppid: p.ppid,
    uid: p.uid,
    user: p.user,
    comm: p.comm,
    cmdline: p.cmdline,
    exe: p.exe,
    state: p.state,
    start_time: iso(p.startTimeMs),
    cpu_percent: round(p.cpuPercent),
    cpu_seconds: round(p.cpuNs / 1e9, 3),
    mem_percent: round(p.memPercent),
    rss_bytes: p.rssBytes,
    vsize_bytes: p.vsizeBytes,
    threads: p.threads,
    read_bytes: int(p.readBytes),
    write_bytes: int(p.writeBytes),
    read_bytes_per_sec: round(p.readBytesPerSec, 0),
    write_bytes_per_sec: round(p.writeBytesPerSec, 0),
    net_rx_bytes_per_sec: round(p.netRxBytesPerSec, 0),
    net_tx_bytes_per_sec: round(p.netTxBytesPerSec, 0),
    container: p.containerKey,
    step: p.step ?? null,
    exit_time: iso(p.exitedAtMs),
  };
}

export function containerRecord(c: ContainerView): JsonRecord {
  return {
    key: c.key,
    kind: c.kind,
    id: c.id,
    name: c.name,
    image: c.image ?? null,
    state: c.state ?? null,
    exit_code: c.exitCode ?? null,
    cgroup: c.cgroup,
    parent: c.parent ?? null,
    user: c.user ?? null,
    steps: c.steps === undefined ? null : [...c.steps],
    labels: c.labels === undefined ? null : { ...c.labels },
    cpu_percent: round(c.cpuPercent),
    cpu_seconds: round(c.cpuNs === undefined ? undefined : c.cpuNs / 1e9, 3),
    cpu_source: c.cpuSource,
    cpu_limit_cores: round(c.cpuLimitCores),
    cpuset_cpus: c.cpusetCpus ?? null,
    cpu_efficiency_percent: round(cpuEfficiencyPercent(c.cpuPercent, c)),
    throttled_percent: round(c.throttledPercent),
    throttled_seconds: round(c.throttledNs === undefined ? undefined : c.throttledNs / 1e9, 3),
    memory_bytes: int(c.memoryBytes),
    memory_limit_bytes: int(c.memoryLimitBytes),
    memory_percent: round(c.memoryPercent),
    memory_peak_bytes: int(c.memoryPeakBytes),
    oom_kills: int(c.oomKills),
    net_rx_bytes: int(c.netRxBytes),
    net_tx_bytes: int(c.netTxBytes),
    net_rx_bytes_per_sec: round(c.netRxBytesPerSec, 0),
    net_tx_bytes_per_sec: round(c.netTxBytesPerSec, 0),
    blk_read_bytes: int(c.blkReadBytes),
    blk_write_bytes: int(c.blkWriteBytes),
    blk_read_bytes_per_sec: round(c.blkReadBytesPerSec, 0),
    blk_write_bytes_per_sec: round(c.blkWriteBytesPerSec, 0),
    pids: int(c.pids),
    processes: c.processCount,
    cpu_pressure: round(c.pressure.cpu),
    memory_pressure: round(c.pressure.memory),
    io_pressure: round(c.pressure.io),
    exit_time: iso(c.exitedAtMs),
  };
}

/** A container known only from the store (it exited): the same field names, live figures null. */
export function storedContainerRecord(c: StoredContainer): JsonRecord {
  return {
    key: c.key,
    kind: c.kind,
    id: c.id,
    name: c.name,
    image: c.image ?? null,
    state: 'exited',
    exit_code: c.exitCode ?? null,
    // '' for a container Docker reports as exited that nothing recorded: no cgroup was read.
    cgroup: c.cgroup === '' ? null : c.cgroup,
    parent: c.parent ?? null,
    user: c.user ?? null,
    steps: null,
    labels: c.labels === undefined ? null : { ...c.labels },
    first_seen: iso(c.firstSeenMs),
    last_seen: iso(c.lastSeenMs),
    exit_time: iso(c.exitTimeMs),
  };
}

/** The host bubble runs on: static facts, read once (`ls --json`'s `host`). */
export function hostRecord(h: HostFacts): JsonRecord {
  return {
    hostname: h.hostname,
    cpu_model: h.cpuModel ?? null,
    os_name: h.osName ?? null,
    os_version: h.osVersion ?? null,
    kernel: h.kernel,
    arch: h.arch,
    container: h.container ?? null,
    vm: h.vm ?? null,
  };
}
