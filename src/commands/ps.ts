/**
 * `bubble ps <container>`: one cgroup-aware snapshot of a container's processes, like `ps aux --sort` but per
 * container (the cadvisor-companion use: enrich an alert with the top processes).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { bpfAvailability, BpfTickSource } from '../collectors/bpf-ingest.js';
import { fileAccess, socketAccess } from '../collectors/descriptors.js';
import { FdCollector } from '../collectors/fds.js';
import { DockerWatcher } from '../collectors/docker.js';
import { count, formatBytes, formatPercent, formatRate, formatTable, type Column } from '../format.js';
import { shownPath, type FileAccess, type SocketAccess } from '../model/access.js';
import { matchContainer } from '../model/match.js';
import type { ProcessView, Snapshot } from '../model/snapshot.js';
import { containerErrorLines, type ErrorLine } from '../model/syscall-errors.js';
import { netBytesPerSec } from '../model/view.js';
import { sortProcesses, type ProcessSort } from '../model/sort.js';
import { containerRecord, processRecord, type JsonRecord } from '../records.js';
import { liveSnapshot, type OneShotOptions as LiveOptions } from '../monitor/one-shot.js';
import { BubbleError } from '../errors/bubble-error.js';
import { reportGaps, type Output } from './output.js';

export interface PsOptions {
  readonly container: string;
  readonly sort: ProcessSort;
  readonly limit?: number;
  readonly intervalMs: number;
  readonly json: boolean;
  /** Also list the processes' open files (`--files`) and sockets (`--net`). */
  readonly files?: boolean;
  readonly net?: boolean;
  /** Also list the failed syscalls of the interval per process, syscall and errno (`--errors`; needs bpftrace). */
  readonly errors?: boolean;
  /** The bpftrace binary for `--errors`. @default from PATH */
  readonly bpftraceBin?: string;
  readonly live?: Omit<LiveOptions, 'intervalMs'>;
}

/** A file or socket with the process that holds it (the JSON records are these objects as they are). */
type FileLine = { readonly pid: number } & FileAccess;
type NetLine = { readonly pid: number } & SocketAccess;

const FILE_COLUMNS: readonly Column<FileLine>[] = [
  { header: 'PID', align: 'right', value: (f) => String(f.pid) },
  { header: 'FD', align: 'right', value: (f) => String(f.fd ?? '-') },
  { header: 'MODE', align: 'left', value: (f) => f.mode },
  { header: 'PATH', align: 'left', value: (f) => shownPath(f) },
];

const NET_COLUMNS: readonly Column<NetLine>[] = [
  { header: 'PID', align: 'right', value: (n) => String(n.pid) },
  { header: 'FD', align: 'right', value: (n) => String(n.fd ?? '-') },
  { header: 'PROTO', align: 'left', value: (n) => n.protocol },
  { header: 'STATE', align: 'left', value: (n) => n.state },
  { header: 'LOCAL', align: 'left', value: (n) => n.local },
  { header: 'REMOTE', align: 'left', value: (n) => n.remote },
];

const ERROR_COLUMNS: readonly Column<ErrorLine>[] = [
  { header: 'PID', align: 'right', value: (e) => (e.pid === undefined ? `${e.processes}x` : String(e.pid)) },
  { header: 'COUNT', align: 'right', value: (e) => String(e.count) },
  { header: 'PER_S', align: 'right', value: (e) => e.perSecond.toFixed(1) },
  { header: 'SYSCALL', align: 'left', value: (e) => e.syscall },
  { header: 'ERRNO', align: 'left', value: (e) => e.errno },
  { header: 'COMMAND', align: 'left', value: (e) => e.comm },
];

/** An error line as `ps --json` writes it (docs/fields.md). */
const errorRecord = (e: ErrorLine): JsonRecord => ({
  pid: e.pid ?? null,
  processes: e.processes,
  comm: e.comm,
  syscall: e.syscall,
  errno: e.errno,
  count: e.count,
  per_second: Math.round(e.perSecond * 1000) / 1000,
});

/** How long `--errors` waits for bpftrace to compile and attach its probes. */
const ATTACH_TIMEOUT_MS = 60_000;

/** bpftrace running with its syscall-error probe, attached; or why it cannot run. */
async function attachedBpf(bin: string | undefined): Promise<BpfTickSource> {
  const can = bpfAvailability(bin === undefined ? {} : { bin });
  if (!can.ok) throw new BubbleError(`--errors: ${can.why}`);
  // Only the errors are shown: the openat probes would slow every syscall on the host while ps waits.
  const source = new BpfTickSource({ intervalMs: 100, bin: can.bin, errors: true, files: false });
  const deadline = Date.now() + ATTACH_TIMEOUT_MS;
  while (!source.started) {
    // gap() says why when it ended before attaching.
    const why = source.gap() ?? (Date.now() > deadline ? `bpftrace did not attach within ${ATTACH_TIMEOUT_MS / 1000} s` : undefined);
    if (why !== undefined) {
      await source.stop();
      throw new BubbleError(`--errors: ${why}`);
    }
    await sleep(100);
  }
  return source;
}

function descriptorLines(processes: readonly ProcessView[]): { files: FileLine[]; net: NetLine[]; denied: number } {
  const byKey = new FdCollector().collect(processes.map((p) => ({ key: p.key, pid: p.pid })));
  const files: FileLine[] = [];
  const net: NetLine[] = [];
  let denied = 0;
  for (const p of processes) {
    const fds = byKey.get(p.key);
    if (fds === undefined) continue;
    if (fds.denied === true) denied++;
    for (const f of fds.files) files.push({ pid: p.pid, ...fileAccess(f) });
    for (const s of fds.sockets) net.push({ pid: p.pid, ...socketAccess(s) });
  }
  return { files, net, denied };
}

/** The line in place of an empty list: none open, or hidden from us (the warning on stderr says how many). */
function noneOpen(what: string, denied: number): string {
  return denied > 0 ? `no ${what} readable (${count(denied, 'process', 'processes')} hidden by permissions)` : `no ${what} open`;
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
  // Per-process socket bytes need the bpftrace source, which ps does not start: '-' says not measured.
  { header: 'NET/s', align: 'right', value: (p) => formatRate(netBytesPerSec(p)) },
  { header: 'THR', align: 'right', value: (p) => String(p.threads) },
  { header: 'S', align: 'left', value: (p) => p.state },
  { header: 'COMMAND', align: 'left', value: (p) => p.cmdline || `[${p.comm}]` },
];

/** A Slurm job's processes also say their step, before the command. */
const SLURM_COLUMNS: readonly Column<ProcessView>[] = [
  ...COLUMNS.slice(0, -1),
  { header: 'STEP', align: 'left', value: (p) => p.step ?? '-' },
  COLUMNS[COLUMNS.length - 1]!,
];

/**
 * Why a name may not match: Docker gives container names, and without its socket (not root, not in the docker group)
 * there are none, only ids. Undefined when Docker answered or was not asked.
 */
export function namesMissing(docker: DockerWatcher | undefined): string | undefined {
  if (docker === undefined || docker.status.ok) return undefined;
  // What Docker said is reported on its own line already (the snapshot's gaps).
  return 'container names need the Docker socket (root or the docker group): give the id or its first 12 characters (bubble ls lists them), or run with sudo';
}

export async function runPs(options: PsOptions, output: Output): Promise<void> {
  // bpftrace first: when it cannot run, nothing else was started.
  const bpf = options.errors === true ? await attachedBpf(options.bpftraceBin) : undefined;
  // Our own watcher, so its status says after the snapshot whether names could be known.
  const given = options.live?.docker;
  const docker = given instanceof DockerWatcher ? given : given === false ? undefined : new DockerWatcher();
  let snapshot: Snapshot;
  try {
    snapshot = await liveSnapshot({ ...options.live, intervalMs: options.intervalMs, docker: docker ?? false, ...(bpf !== undefined && { sources: [bpf] }) });
  } finally {
    if (docker !== given) docker?.stop();
    await bpf?.stop();
  }
  // What could not be read (Docker's socket, other users' I/O) comes first: it may be why the name does not match.
  reportGaps(output, snapshot.gaps);
  const missing = namesMissing(docker);
  const container = matchContainer(options.container, snapshot.containers, missing === undefined ? {} : { missing });
  // Processes that lived between the two ticks (bpftrace's, with --errors) are in the errors list, not the table.
  const mine = snapshot.processes.filter(
    (p) => p.containerKey === container.key && (!p.kernelThread || container.kind !== 'host') && (bpf === undefined || p.exitedAtMs === undefined),
  );
  const sorted = sortProcesses(mine, options.sort);
  const shown = options.limit === undefined ? sorted : sorted.slice(0, options.limit);
  const hidden = sorted.length - shown.length;
  const descriptors = options.files === true || options.net === true ? descriptorLines(shown) : undefined;
  // As root a denial is a kernel-protected process (a sandbox's init): nothing sudo would change.
  if (descriptors !== undefined && descriptors.denied > 0 && process.getuid?.() !== 0) {
    output.err(`bubble: open files of ${descriptors.denied} processes are unreadable; run with sudo for the full picture\n`);
  }
  if (options.json) {
    output.out(
      JSON.stringify({
        timestamp: new Date(snapshot.timeMs).toISOString(),
        interval_ms: Math.round(snapshot.intervalMs),
        container: containerRecord(container),
        processes: shown.map(processRecord),
        ...(options.files === true && { files: descriptors!.files }),
        ...(options.net === true && { network: descriptors!.net }),
        ...(options.errors === true && { errors: containerErrorLines(snapshot, container.key).map(errorRecord) }),
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
  output.out(formatTable(shown, container.kind === 'slurm' ? SLURM_COLUMNS : COLUMNS, output.columns));
  if (hidden > 0) output.out(`(${count(hidden, 'more process', 'more processes')} not shown: --limit ${options.limit})\n`);
  // The lists are of the shown processes: with --limit, say so, as the lines above do.
  const of = hidden > 0 ? ` of the ${count(shown.length, 'process', 'processes')} shown` : '';
  if (options.files === true) {
    const files = descriptors!.files;
    output.out(`\nfiles (${files.length}${of}):\n`);
    output.out(files.length === 0 ? `${noneOpen('open files', descriptors!.denied)}\n` : formatTable(files, FILE_COLUMNS, output.columns));
  }
  if (options.net === true) {
    const net = descriptors!.net;
    output.out(`\nnetwork (${net.length}${of}):\n`);
    output.out(net.length === 0 ? `${noneOpen('sockets', descriptors!.denied)}\n` : formatTable(net, NET_COLUMNS, output.columns));
  }
  if (options.errors === true) {
    const errors = containerErrorLines(snapshot, container.key);
    const total = errors.reduce((a, e) => a + e.count, 0);
    output.out(`\nsyscall errors (${total} in ${(snapshot.intervalMs / 1000).toFixed(1)} s, processes that exited meanwhile included):\n`);
    output.out(errors.length === 0 ? 'no failed syscalls\n' : formatTable(errors, ERROR_COLUMNS, output.columns));
  }
}
