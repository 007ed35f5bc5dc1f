/**
 * cadvisor-companion's API, drop-in: `GET /api/v1.0/<absolute container name>/processes?interval=&count=&sort=&limit=`
 * answers the JSON its README shows (a list of {timestamp, processes: [{status, stat, cmdline, relativecpuusage,
 * cgroup}]}, oldest first as its code appends them), so its Nagios plugin (top processes of a container by CPU or
 * memory) works unchanged.
 *
 * The history is the monitor's own snapshots (no second sampler), kept for HISTORY_SECONDS. `relativecpuusage` is, as
 * in cadvisor-companion, the process's share (percent) of the CPU its container's processes used over `interval`
 * seconds: a lone burner is near 100 however busy the host. `status` and `stat` are the process's /proc files read
 * at request time, with the fields bubble sampled at the entry's time (state, RSS, size, threads) put back in.
 */
import fs from 'node:fs';
import { matchContainer } from '../model/match.js';
import type { ContainerView, ProcessView, Snapshot } from '../model/snapshot.js';
import { HttpError } from './http.js';

/** How far back `interval * count` may reach. */
export const HISTORY_SECONDS = 60;

/**
 * What the history keeps of a snapshot: its processes and containers, all the companion API reads. Not the rest (the
 * tick's access observations, exits, gaps), which whole snapshots kept alive for a minute, into V8's old space.
 */
export type HistoryEntry = Pick<Snapshot, 'timeMs' | 'intervalMs' | 'containers' | 'processes'>;

/** The monitor's recent snapshots, oldest first, none older than HISTORY_SECONDS (plus one interval) behind the newest. */
export class SnapshotHistory {
  private readonly snapshots: HistoryEntry[] = [];
  private readonly keepMs: number;

  constructor(keepSeconds = HISTORY_SECONDS + 2) {
    this.keepMs = keepSeconds * 1000;
  }

  push(snapshot: Snapshot): void {
    const { timeMs, intervalMs, containers, processes } = snapshot;
    this.snapshots.push({ timeMs, intervalMs, containers, processes });
    while (this.snapshots.length > 1 && timeMs - this.snapshots[0]!.timeMs > this.keepMs) this.snapshots.shift();
  }

  get newest(): HistoryEntry | undefined {
    return this.snapshots.at(-1);
  }

  /** The newest snapshot taken at or before `ms` (a tick's worth of slack for timer jitter). */
  at(ms: number, slackMs = 0): HistoryEntry | undefined {
    for (let i = this.snapshots.length - 1; i >= 0; i--) if (this.snapshots[i]!.timeMs <= ms + slackMs) return this.snapshots[i];
    return undefined;
  }
}

export interface CompanionQuery {
  readonly intervalSeconds: number;
  readonly count: number;
  readonly sort?: 'cpu' | 'mem';
  readonly limit: number;
}

function positive(query: URLSearchParams, name: string, fallback: number, integer: boolean, max: number): number {
  const text = query.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value)) || value > max) {
    throw new HttpError(400, `${name}: "${text}" is not a ${integer ? 'whole ' : ''}number above 0 and at most ${max}`);
  }
  return value;
}

/** The README's parameters with its defaults (interval 1, count 1, limit 1); interval * count within the history. */
export function parseCompanionQuery(query: URLSearchParams): CompanionQuery {
  const intervalSeconds = positive(query, 'interval', 1, false, HISTORY_SECONDS);
  const count = positive(query, 'count', 1, true, HISTORY_SECONDS);
  if (intervalSeconds * count > HISTORY_SECONDS) throw new HttpError(400, `interval * count reaches back more than the ${HISTORY_SECONDS} s kept`);
  const sort = query.get('sort');
  if (sort !== null && sort !== 'cpu' && sort !== 'mem') throw new HttpError(400, `sort: "${sort}" is not cpu or mem`);
  const limit = positive(query, 'limit', 1, true, 10_000);
  return { intervalSeconds, count, ...(sort !== null && { sort }), limit };
}

/**
 * The container an absolute name means: its cgroup path, cadvisor-companion's Docker forms (`/docker/<id>`,
 * `/system.slice/docker-<id>.scope`, whichever cgroup driver this host uses), or what `bubble ps` takes (a name, an
 * id prefix, a Slurm job id). Throws HttpError 404 for none, 400 for several.
 */
export function findContainer(name: string, containers: readonly ContainerView[]): ContainerView {
  const docker = /^\/docker\/([0-9a-f]{12,64})$/.exec(name) ?? /^\/system\.slice\/docker-([0-9a-f]{12,64})\.scope$/.exec(name);
  const candidates = docker === null ? [name, name.replace(/^\//, '')] : [name, docker[1]!];
  let ambiguous: string | undefined;
  for (const candidate of candidates) {
    try {
      return matchContainer(candidate, containers);
    } catch (error) {
      if (error instanceof Error && / is ambiguous/.test(error.message)) ambiguous ??= error.message;
    }
  }
  if (ambiguous !== undefined) throw new HttpError(400, ambiguous);
  throw new HttpError(404, 'no such container or job is running');
}

type Json = string | number | readonly number[];

const STATUS_NUMBERS = ['Tgid', 'Ngid', 'Pid', 'PPid', 'TracerPid', 'FDSize', 'Threads', 'Seccomp'];
const STATUS_KB = /^(Vm|Rss|Huge)/;
const STATUS_HEX = ['SigPnd', 'ShdPnd', 'SigBlk', 'SigIgn', 'SigCgt', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'];

const hex = (text: string): number => Number(BigInt(`0x${text.trim() || '0'}`));
/** `ffffffff,00000003` -> the 32-bit words as numbers, as cadvisor-companion gives them. */
const hexWords = (text: string): number[] =>
  text
    .trim()
    .split(',')
    .map((w) => parseInt(w, 16) || 0);

/** /proc/<pid>/status with cadvisor-companion's (goprocinfo's) field names and types. */
export function parseStatus(text: string): Record<string, Json> {
  const out: Record<string, Json> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === 'Name' || key === 'State') out[key] = value;
    else if (STATUS_NUMBERS.includes(key)) out[key] = Number(value);
    else if (key === 'Uid' || key === 'Gid') {
      const [real, effective, saved, filesystem] = value.split(/\s+/).map(Number);
      const id = key === 'Uid' ? 'Uid' : 'Gid';
      Object.assign(out, { [`Real${id}`]: real, [`Effective${id}`]: effective, [`SavedSet${id}`]: saved, [`Filesystem${id}`]: filesystem });
    } else if (key === 'Groups') out['Groups'] = value === '' ? [] : value.split(/\s+/).map(Number);
    else if (STATUS_KB.test(key)) out[key] = Number(value.replace(/\s*kB$/, ''));
    else if (key === 'SigQ') {
      const [length, limit] = value.split('/').map(Number);
      out['SigQLength'] = length ?? 0;
      out['SigQLimit'] = limit ?? 0;
    } else if (STATUS_HEX.includes(key)) out[key] = hex(value);
    else if (key === 'Cpus_allowed') out['CpusAllowed'] = hexWords(value);
    else if (key === 'Mems_allowed') out['MemsAllowed'] = hexWords(value);
    else if (key === 'voluntary_ctxt_switches') out['VoluntaryCtxtSwitches'] = Number(value);
    else if (key === 'nonvoluntary_ctxt_switches') out['NonvoluntaryCtxtSwitches'] = Number(value);
  }
  return out;
}

const STAT_FIELDS = [
  'state',
  'ppid',
  'pgrp',
  'session',
  'tty_nr',
  'tpgid',
  'flags',
  'minflt',
  'cminflt',
  'majflt',
  'cmajflt',
  'utime',
  'stime',
  'cutime',
  'cstime',
  'priority',
  'nice',
  'num_threads',
  'itrealvalue',
  'starttime',
  'vsize',
  'rss',
  'rsslim',
  'startcode',
  'endcode',
  'startstack',
  'kstkesp',
  'kstkeip',
  'signal',
  'blocked',
  'sigignore',
  'sigcatch',
  'wchan',
  'nswap',
  'cnswap',
  'exit_signal',
  'processor',
  'rt_priority',
  'policy',
  'delayacct_blkio_ticks',
  'guest_time',
  'cguest_time',
] as const;

/** /proc/<pid>/stat with cadvisor-companion's field names: comm keeps its parentheses, like the README's "(python)". */
export function parseStat(text: string): Record<string, Json> {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const out: Record<string, Json> = { pid: Number(text.slice(0, open).trim()), comm: text.slice(open, close + 1) };
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  STAT_FIELDS.forEach((name, i) => {
    const value = rest[i];
    if (value !== undefined) out[name] = name === 'state' ? value : Number(value);
  });
  return out;
}

const PAGE = 4096;
const STATE_NAMES: Readonly<Record<string, string>> = {
  R: 'R (running)',
  S: 'S (sleeping)',
  D: 'D (disk sleep)',
  Z: 'Z (zombie)',
  T: 'T (stopped)',
  t: 't (tracing stop)',
  X: 'X (dead)',
  I: 'I (idle)',
};

/** status and stat for one process: its /proc files when it still runs, then what bubble sampled at the entry's time. */
function procFiles(p: ProcessView, cache: Map<number, { status: Record<string, Json>; stat: Record<string, Json> } | null>, procRoot: string) {
  let files = cache.get(p.pid);
  if (files === undefined) {
    try {
      const stat = parseStat(fs.readFileSync(`${procRoot}/${p.pid}/stat`, 'utf8'));
      const status = parseStatus(fs.readFileSync(`${procRoot}/${p.pid}/status`, 'utf8'));
      files = { stat, status };
    } catch {
      files = null; // it exited
    }
    cache.set(p.pid, files);
  }
  const status: Record<string, Json> = { ...(files?.status ?? {}), Name: p.comm, State: STATE_NAMES[p.state] ?? p.state, Pid: p.pid, PPid: p.ppid };
  status['Tgid'] ??= p.pid;
  status['Threads'] = p.threads;
  status['VmRSS'] = Math.round(p.rssBytes / 1024);
  status['VmSize'] = Math.round(p.vsizeBytes / 1024);
  const stat: Record<string, Json> = {
    ...(files?.stat ?? {}),
    pid: p.pid,
    comm: `(${p.comm})`,
    state: p.state,
    ppid: p.ppid,
    num_threads: p.threads,
    vsize: p.vsizeBytes,
    rss: Math.round(p.rssBytes / PAGE),
  };
  return { status, stat };
}

/**
 * CPU each process used between `before` and `at`, ns: from its own counter, all of it for one started in between;
 * undefined when unknown (no snapshot that old, a counter that went back).
 */
function cpuDelta(p: ProcessView, before: HistoryEntry | undefined, earlier: ReadonlyMap<string, ProcessView>): number | undefined {
  if (before === undefined) return p.interval.cpuNs;
  const base = earlier.get(p.key)?.cpuNs ?? (p.startTimeMs >= before.timeMs ? 0 : undefined);
  return base === undefined || p.cpuNs < base ? undefined : p.cpuNs - base;
}

export interface CompanionEntry {
  readonly timestamp: string;
  readonly processes: readonly {
    readonly status: Record<string, Json>;
    readonly stat: Record<string, Json>;
    readonly cmdline: string;
    readonly relativecpuusage: number;
    readonly cgroup: string;
  }[];
}

/** The answer for one container name: `count` entries `interval` seconds apart, the newest last. */
export function companionProcesses(history: SnapshotHistory, name: string, query: CompanionQuery, procRoot = '/proc'): CompanionEntry[] {
  const newest = history.newest;
  if (newest === undefined) throw new HttpError(503, 'no tick taken yet; ask again in a second');
  const container = findContainer(name, newest.containers);
  const stepMs = query.intervalSeconds * 1000;
  // Ticks land a few ms off their multiples: a quarter of a tick's slack finds the one meant.
  const slack = Math.max(newest.intervalMs, 1) / 4;
  const cache = new Map<number, { status: Record<string, Json>; stat: Record<string, Json> } | null>();
  const entries: CompanionEntry[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < query.count; i++) {
    const at = history.at(newest.timeMs - i * stepMs, slack);
    if (at === undefined || seen.has(at.timeMs)) break;
    seen.add(at.timeMs);
    const before = history.at(at.timeMs - stepMs, slack);
    const earlier = new Map((before?.processes ?? []).filter((p) => p.containerKey === container.key).map((p) => [p.key, p]));
    const rows = at.processes
      .filter((p) => p.containerKey === container.key && !p.kernelThread)
      .map((p) => ({ p, ns: cpuDelta(p, before !== undefined && before.timeMs < at.timeMs ? before : undefined, earlier) ?? 0 }));
    // cadvisor-companion's "relative" CPU: the process's share of what the container's processes used in the interval.
    const total = rows.reduce((sum, r) => sum + r.ns, 0);
    let shown = rows.map((r) => ({ p: r.p, cpu: total > 0 ? (r.ns / total) * 100 : 0 }));
    if (query.sort === 'cpu') shown.sort((a, b) => b.cpu - a.cpu || a.p.pid - b.p.pid);
    else if (query.sort === 'mem') shown.sort((a, b) => b.p.rssBytes - a.p.rssBytes || a.p.pid - b.p.pid);
    else shown.sort((a, b) => a.p.pid - b.p.pid);
    if (query.sort !== undefined) shown = shown.slice(0, query.limit);
    entries.push({
      timestamp: new Date(at.timeMs).toISOString(),
      processes: shown.map(({ p, cpu }) => ({
        ...procFiles(p, cache, procRoot),
        cmdline: p.cmdline,
        relativecpuusage: Math.round(cpu * 100) / 100,
        cgroup: container.cgroup,
      })),
    });
  }
  // Oldest first, as cadvisor-companion lists them.
  entries.reverse();
  return entries;
}
