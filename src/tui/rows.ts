/**
 * Every line of the screen as a plain string, built by pure functions: a view is then a handful of <Text> nodes
 * (few Yoga nodes, fast frames), and tests can check a line without Ink. Units come from src/format.ts; anything a
 * container controls (names, command lines, paths, users, addresses) goes through safeText() here, before any Text.
 */
import {
  displayWidth,
  fitColumns,
  formatBytes,
  formatCpuTime,
  formatDuration,
  formatPercent,
  formatRate,
  formatStart,
  formatTime,
  safeText,
  truncate,
  type Align,
} from '../format.js';
import { CONTAINER_COLUMNS, PROCESS_COLUMNS, type ContainerColumn, type ProcessColumn } from '../model/columns.js';
import { cpuEfficiencyPercent } from '../model/efficiency.js';
import type { ContainerView } from '../model/snapshot.js';
import { netBytesPerSec } from '../model/view.js';
import type { ContainerSort, ProcessSort } from '../model/sort.js';
import { bucketStart, type Tier } from '../store/tiers.js';
import { FILTER_KEYMAP, KEYMAP, keyLabel, MENU_KEYMAP, type Binding } from './keymap.js';
import { shownPath, type FileAccess, type SocketRow } from '../model/access.js';
import type { ErrorLine } from '../model/syscall-errors.js';
import type { Ended, StatusItem, StatusLevel } from './source.js';
import type { ProcessRow } from './tree.js';

/** What a cell may need besides its row: the moment shown (uptime, start times), and containers' start times. */
export interface CellContext {
  readonly nowMs: number;
  /** A container's start when its runtime does not say (Slurm, replay): its oldest process's. */
  readonly startOf?: (c: ContainerView) => number | undefined;
}

/**
 * A column of a list. As the terminal narrows, columns go by priority (the highest number first; 0 never goes) until
 * the line fits with the flex column at its `width`; `wide` columns (the extras of a wide terminal) go first, as soon
 * as the flex column would get less than its `room`. The flex column takes what the others leave.
 */
interface Col<R> {
  readonly header: string;
  /** Its width; the flex column's least width. */
  readonly width: number;
  readonly align: Align;
  readonly priority: number;
  readonly value: (row: R, ctx: CellContext) => string;
  /** The column that names the row and takes the rest of the line. */
  readonly flex?: true;
  /** The flex column's width before `wide` columns take any of it. */
  readonly room?: number;
  readonly wide?: true;
  /** The sort order this column shows (its header gets ▼). */
  readonly sort?: string;
  /** Shown only in a Slurm job's view (elsewhere it would be a column of dashes). */
  readonly slurm?: true;
}

/** The columns of a line `total` wide, in the order given, and their widths: a marker column, then one space between. */
export interface FittedColumns<R> {
  readonly cols: readonly Col<R>[];
  readonly widths: readonly number[];
}

function fitTable<R>(table: Readonly<Record<string, Col<R>>>, names: readonly string[], total: number): FittedColumns<R> {
  const cols = names.map((n) => table[n]!);
  const flex = cols.find((c) => c.flex === true);
  const needed = (cs: readonly Col<R>[]): number => {
    const flexWidth = flex === undefined ? 0 : cs.some((c) => c.wide === true) ? (flex.room ?? flex.width) : flex.width;
    return 1 + cs.reduce((sum, c) => sum + (c === flex ? flexWidth : c.width), 0) + cs.length - 1;
  };
  // The least important goes first; among equals the rightmost.
  const dropOrder = cols.filter((c) => c.priority > 0).sort((a, b) => b.priority - a.priority || cols.indexOf(b) - cols.indexOf(a));
  let kept = cols;
  for (const c of dropOrder) {
    if (needed(kept) <= total) break;
    kept = kept.filter((k) => k !== c);
  }
  const fixed = kept.reduce((sum, c) => sum + (c === flex ? 0 : c.width), 0);
  const rest = Math.max(flex?.width ?? 0, total - 1 - fixed - (kept.length - 1));
  return { cols: kept, widths: kept.map((c) => (c === flex ? rest : c.width)) };
}

/** Fitting once per width and column list, not once per line. */
function memoFit<R>(table: Readonly<Record<string, Col<R>>>): (names: readonly string[], total: number) => FittedColumns<R> {
  let last: { names: readonly string[]; total: number; fitted: FittedColumns<R> } | undefined;
  return (names, total) => {
    if (last?.names !== names || last.total !== total) last = { names, total, fitted: fitTable(table, names, total) };
    return last.fitted;
  };
}

function renderLine<R>(marker: string, cells: readonly string[], fitted: FittedColumns<R>, total: number): string {
  return truncate(marker + cells.map((v, i) => fitColumns(v, fitted.widths[i]!, fitted.cols[i]!.align)).join(' '), total).trimEnd();
}

/** ▼ in the sort's own direction (highest first; names A-Z), ▲ inverted (`I`). */
function sortMark(reverse: boolean): string {
  return reverse ? '▲' : '▼';
}

function headerOf<R>(fitted: FittedColumns<R>, total: number, sort: string, reverse: boolean, extra: (c: Col<R>) => string = () => ''): string {
  // A sort without a column on screen (processes by read + write; a column the width dropped) is named on the flex column.
  const shown = fitted.cols.some((c) => c.sort === sort);
  return renderLine(
    ' ',
    fitted.cols.map(
      (c) => c.header + (c.sort === sort ? sortMark(reverse) : '') + extra(c) + (!shown && c.flex === true ? ` ${sortMark(reverse)}${sort}` : ''),
    ),
    fitted,
    total,
  );
}

function pair(a: number | undefined, b: number | undefined, format: (n: number | undefined) => string): string {
  return a === undefined && b === undefined ? '-' : `${format(a)}/${format(b)}`;
}

/** An exited container (listed with `a`) says so where its kind would be: `exit 137`. */
function exitLabel(c: ContainerView): string {
  return c.exitCode === undefined ? (c.state ?? 'exited') : `exit ${c.exitCode}`;
}

function uptime(c: ContainerView, ctx: CellContext): string {
  if (c.exitedAtMs !== undefined) return '-';
  const start = c.startedAtMs ?? ctx.startOf?.(c);
  return start === undefined || start > ctx.nowMs ? '-' : formatDuration((ctx.nowMs - start) / 1000);
}

/** The containers list's columns, by their config names (src/model/columns.ts); rates say `/s`. */
const CONTAINER_TABLE: Readonly<Record<ContainerColumn, Col<ContainerView>>> = {
  name: { header: 'NAME', width: 12, room: 32, flex: true, priority: 0, align: 'left', value: (c) => safeText(c.name), sort: 'name' },
  kind: { header: 'KIND', width: 10, priority: 8, align: 'left', value: (c) => (c.state === 'exited' || c.state === 'dead' ? exitLabel(c) : c.kind) },
  cpu: { header: 'CPU%', width: 6, priority: 1, align: 'right', value: (c) => formatPercent(c.cpuPercent), sort: 'cpu' },
  // CPU efficiency against the CPU limit (a Slurm job's too); '-' for an unlimited container.
  eff: { header: 'EFF%', width: 5, priority: 10, wide: true, align: 'right', value: (c) => formatPercent(cpuEfficiencyPercent(c.cpuPercent, c)) },
  mem: { header: 'MEM', width: 6, priority: 2, align: 'right', value: (c) => formatBytes(c.memoryBytes), sort: 'mem' },
  limit: { header: 'LIMIT', width: 6, priority: 5, align: 'right', value: (c) => formatBytes(c.memoryLimitBytes) },
  net: {
    header: 'NET/s rx/tx',
    // Room for its sort mark too.
    width: 12,
    priority: 6,
    align: 'right',
    value: (c) => pair(c.netRxBytesPerSec, c.netTxBytesPerSec, formatRate),
    sort: 'net',
  },
  blk: {
    header: 'BLK/s r/w',
    width: 11,
    priority: 7,
    align: 'right',
    value: (c) => pair(c.blkReadBytesPerSec, c.blkWriteBytesPerSec, formatRate),
    sort: 'io',
  },
  // Processes, as the container view counts them (its info line adds the threads).
  procs: { header: 'PROCS', width: 6, priority: 3, align: 'right', value: (c) => String(c.processCount), sort: 'pids' },
  // Threads: the cgroup's tasks (docker stats' PIDS), where the pids controller counts them.
  threads: { header: 'THR', width: 5, priority: 9, wide: true, align: 'right', value: (c) => (c.pids === undefined ? '-' : String(c.pids)) },
  uptime: { header: 'UPTIME', width: 6, priority: 11, wide: true, align: 'right', value: uptime },
  // Docker's state, a Slurm job's when known.
  status: { header: 'STATUS', width: 10, priority: 12, wide: true, align: 'left', value: (c) => safeText(c.state ?? '-') },
  image: { header: 'IMAGE', width: 24, priority: 13, wide: true, align: 'left', value: (c) => safeText(c.image ?? '-') },
};

/** The sort of each sortable column, left to right: what `<` and `>` step through. */
export const CONTAINER_SORT_COLUMNS = CONTAINER_COLUMNS.flatMap((n) => {
  const sort = CONTAINER_TABLE[n].sort;
  return sort === undefined ? [] : [sort as ContainerSort];
});

const fitContainers = memoFit(CONTAINER_TABLE);

/** Which columns the containers list draws at `width`, from `names` (the config file's, or all in their order). */
export function containerColumns(width: number, names: readonly ContainerColumn[] = CONTAINER_COLUMNS): FittedColumns<ContainerView> {
  return fitContainers(names, width);
}

export function containerHeader(width: number, sort: ContainerSort, reverse = false, names?: readonly ContainerColumn[]): string {
  return headerOf(containerColumns(width, names), width, sort, reverse);
}

const NO_CONTEXT: CellContext = { nowMs: 0 };

export function containerLine(c: ContainerView, width: number, selected: boolean, ctx: CellContext = NO_CONTEXT, names?: readonly ContainerColumn[]): string {
  const fitted = containerColumns(width, names);
  return renderLine(
    selected ? '>' : ' ',
    fitted.cols.map((col) => col.value(c, ctx)),
    fitted,
    width,
  );
}

/** The tree's indent and fold marker in front of a command: `▾ `, `▸[+12] `, or spaces for a leaf. */
function treePrefix(row: ProcessRow, commandWidth: number): string {
  const step = commandWidth >= 40 ? 2 : 1;
  const indent = ' '.repeat(Math.min(row.depth * step, Math.floor(commandWidth / 3)));
  if (!row.hasChildren) return indent + '  ';
  return indent + (row.collapsed ? `▸[+${row.hidden}] ` : '▾ ');
}

function command(p: ProcessRow['process']): string {
  return safeText(p.cmdline !== '' ? p.cmdline : `[${p.comm}]`);
}

/** The process list's columns, by their config names (src/model/columns.ts). */
const PROCESS_TABLE: Readonly<Record<ProcessColumn, Col<ProcessRow>>> = {
  pid: { header: 'PID', width: 7, priority: 0, align: 'right', value: (r) => String(r.process.pid), sort: 'pid' },
  nspid: { header: 'NSPID', width: 5, priority: 7, align: 'right', value: (r) => (r.process.nspid === undefined ? '-' : String(r.process.nspid)) },
  user: { header: 'USER', width: 7, priority: 3, align: 'left', value: (r) => safeText(r.process.user) },
  state: { header: 'S', width: 1, priority: 10, wide: true, align: 'left', value: (r) => safeText(r.process.state) },
  // Slurm: the step whose cgroup holds the process (step_batch -> batch, step_0 -> 0, step_extern -> extern).
  step: { header: 'STEP', width: 6, priority: 8, slurm: true, align: 'left', value: (r) => (r.process.step === undefined ? '-' : safeText(r.process.step)) },
  cpu: { header: 'CPU%', width: 6, priority: 1, align: 'right', value: (r) => formatPercent(r.process.cpuPercent), sort: 'cpu' },
  mem: { header: 'MEM%', width: 5, priority: 11, wide: true, align: 'right', value: (r) => formatPercent(r.process.memPercent) },
  rss: { header: 'RSS', width: 5, priority: 2, align: 'right', value: (r) => formatBytes(r.process.rssBytes), sort: 'mem' },
  virt: { header: 'VIRT', width: 5, priority: 13, wide: true, align: 'right', value: (r) => formatBytes(r.process.vsizeBytes) },
  read: { header: 'RD/s', width: 5, priority: 5, align: 'right', value: (r) => formatRate(r.process.readBytesPerSec), sort: 'read' },
  write: { header: 'WR/s', width: 5, priority: 4, align: 'right', value: (r) => formatRate(r.process.writeBytesPerSec), sort: 'write' },
  // Bytes/s sent + received (the bpftrace source); `-` where nothing measured it.
  net: { header: 'NET/s', width: 5, priority: 9, align: 'right', value: (r) => formatRate(netBytesPerSec(r.process)) },
  threads: { header: 'THR', width: 4, priority: 6, align: 'right', value: (r) => String(r.process.threads) },
  start: { header: 'START', width: 5, priority: 14, wide: true, align: 'right', value: (r, ctx) => formatStart(r.process.startTimeMs, ctx.nowMs) },
  time: { header: 'TIME+', width: 8, priority: 12, wide: true, align: 'right', value: (r) => formatCpuTime(r.process.cpuNs), sort: 'time' },
  command: { header: 'COMMAND', width: 16, room: 40, flex: true, priority: 0, align: 'left', value: (r) => command(r.process), sort: 'command' },
};

/** The sort of each sortable process column, left to right: what `<` and `>` step through. */
export const PROCESS_SORT_COLUMNS = PROCESS_COLUMNS.flatMap((n) => {
  const sort = PROCESS_TABLE[n].sort;
  return sort === undefined ? [] : [sort as ProcessSort];
});

const fitProcesses = memoFit(PROCESS_TABLE);

/** Which columns the process list draws at `width`, from `names` (the config file's, or all in their order). */
export function processColumns(width: number, names: readonly ProcessColumn[] = PROCESS_COLUMNS, slurm = false): FittedColumns<ProcessRow> {
  return fitProcesses(slurm ? names : withoutSlurm(names), width);
}

const nonSlurm = new WeakMap<readonly ProcessColumn[], readonly ProcessColumn[]>();

/** `names` without the columns only a Slurm job's view has (STEP), the same array each time (the fit is memoised on it). */
function withoutSlurm(names: readonly ProcessColumn[]): readonly ProcessColumn[] {
  let kept = nonSlurm.get(names);
  if (kept === undefined) {
    kept = names.filter((n) => PROCESS_TABLE[n].slurm !== true);
    nonSlurm.set(names, kept);
  }
  return kept;
}

/** `slurm`: a Slurm job's view, with its STEP column. */
export function processHeader(width: number, sort: ProcessSort, tree: boolean, reverse = false, names?: readonly ProcessColumn[], slurm = false): string {
  return headerOf(processColumns(width, names, slurm), width, sort, reverse, (c) => (c.flex === true ? (tree ? ' (tree)' : ' (flat)') : ''));
}

export function processLine(
  row: ProcessRow,
  width: number,
  selected: boolean,
  tree: boolean,
  ctx: CellContext = NO_CONTEXT,
  names?: readonly ProcessColumn[],
  slurm = false,
): string {
  const fitted = processColumns(width, names, slurm);
  const cells = fitted.cols.map((col) => {
    const text = col.value(row, ctx);
    return tree && col.flex === true ? treePrefix(row, fitted.widths[fitted.cols.indexOf(col)]!) + text : text;
  });
  return renderLine(selected ? '>' : ' ', cells, fitted, width);
}

/** A pane line: marker, then text cut to the pane's width. */
function paneLine(text: string, width: number, selected: boolean): string {
  return truncate((selected ? '>' : ' ') + text, width).trimEnd();
}

/** The panes' FD column: wide enough for fd 255 and for two folded fds (`0,1`), so paths and protocols line up. */
const FD_WIDTH = 3;

/**
 * The FD cell: the descriptor, `-` where the source did not know it (sysdig's per-file sums), the fds holding one
 * socket (`0,1`), or the first and how many more (`3+2`) when they do not fit.
 */
export function fdCell(fds: readonly number[]): string {
  if (fds.length === 0) return '-'.padStart(FD_WIDTH);
  const all = fds.join(',');
  return (all.length <= FD_WIDTH ? all : `${fds[0]}+${fds.length - 1}`).padStart(FD_WIDTH);
}

export function fileLine(f: FileAccess, width: number, selected: boolean): string {
  const bytes = f.bytesIn === undefined && f.bytesOut === undefined ? '' : `  ${pair(f.bytesIn, f.bytesOut, formatBytes)}`;
  return paneLine(`${fdCell(f.fd === undefined ? [] : [f.fd])} ${f.mode.padEnd(3)} ${safeText(shownPath(f))}${bytes}`, width, selected);
}

/** ss's short names for the long socket states, so an address keeps the room. */
const SHORT_STATE: Readonly<Record<string, string>> = {
  ESTABLISHED: 'ESTAB',
  UNCONNECTED: 'UNCONN',
  CONNECTED: 'CONN',
  CONNECTING: 'SYN',
  DISCONNECTING: 'FIN',
  SYN_SENT: 'SYN-S',
  SYN_RECV: 'SYN-R',
  FIN_WAIT1: 'FIN-W1',
  FIN_WAIT2: 'FIN-W2',
  TIME_WAIT: 'TIME-W',
  CLOSE_WAIT: 'CLOSE-W',
  LAST_ACK: 'LAST-A',
};

/** The end of a text that fits `width` columns, `…` in front when cut (a local endpoint keeps its port). */
function keepEnd(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  const chars = [...text];
  let out = '';
  for (let i = chars.length - 1; i >= 0 && displayWidth(chars[i] + out) <= width - 1; i--) out = chars[i] + out;
  return `…${out}`;
}

/** Below this many columns a local end says nothing (`…:80` at best): it is left out and the remote keeps the room. */
const MIN_LOCAL = 6;

/**
 * ` 0,1 tcp6  ESTAB  …0.3:41234 → web-1:8080`: fds, protocol, state, then the ends. The remote end is what one
 * looks for, so on a narrow pane the local end is cut first (from the left: its port stays), then left out. A remote
 * address another container on this host has is shown by that container's name.
 */
export function netLine(n: SocketRow, width: number, selected: boolean): string {
  const state = safeText(SHORT_STATE[n.state] ?? n.state);
  const head = `${fdCell(n.fds)} ${safeText(n.protocol).padEnd(5)} ${state.padEnd(6)} `;
  const local = safeText(n.local);
  // Port 0 at the other end: a listener or an unconnected socket, which has no peer to show.
  if (n.remote === '' || n.remote.endsWith(':0')) return paneLine(head + local, width, selected);
  const remote = n.peer === undefined ? safeText(n.remote) : `${safeText(n.peer)}:${safeText(n.remote.slice(n.remote.lastIndexOf(':') + 1))}`;
  // The room after the marker and the head.
  const room = width - 1 - displayWidth(head);
  const localRoom = room - ' → '.length - displayWidth(remote);
  const ends = displayWidth(local) <= localRoom ? `${local} → ${remote}` : localRoom >= MIN_LOCAL ? `${keepEnd(local, localRoom)} → ${remote}` : `→ ${remote}`;
  return paneLine(head + ends, width, selected);
}

/** `  1234  41.2/s openat   ENOENT   88x cat`: a failed syscall's count and rate, then who (a pid, or how many exited). */
export function errorLine(e: ErrorLine, width: number, selected: boolean): string {
  const who = e.pid === undefined ? `${e.processes}x` : String(e.pid);
  const rate = `${e.perSecond >= 100 ? e.perSecond.toFixed(0) : e.perSecond.toFixed(1)}/s`;
  return paneLine(
    `${String(e.count).padStart(6)} ${rate.padStart(8)} ${safeText(e.syscall).padEnd(10)} ${safeText(e.errno).padEnd(9)} ${who.padStart(6)} ${safeText(e.comm)}`,
    width,
    selected,
  );
}

/** The title above a pane; `▸` marks the focused one. */
export function paneTitle(title: string, width: number, focused: boolean): string {
  return truncate(`${focused ? '▸' : ' '} ${title}`, width).trimEnd();
}

export interface HeaderFacts {
  readonly hostname: string;
  readonly ncpu: number;
  readonly memTotalBytes: number;
  readonly containers: number;
  /** `live 1s`, `at 2026-11-21 21:23:04`, `replay 2026-...`. */
  readonly when: string;
}

export function headerLine(h: HeaderFacts, width: number): string {
  const left =
    ` bubble  host ${truncate(safeText(h.hostname), 20)}  ${h.ncpu} cpu  ${formatBytes(h.memTotalBytes)}  ` +
    `${h.containers} container${h.containers === 1 ? '' : 's'}  ${h.when}`;
  const right = '? help';
  const used = displayWidth(left);
  if (used + 2 + right.length > width) return truncate(left, width);
  return left + ' '.repeat(width - used - right.length) + right;
}

/**
 * Container facts under the header of the container view: who it is on the first line, its limits, throttling, OOM
 * kills and pressure on the second. Parts go in order of importance; one that does not fit its line takes the room
 * left on the other, and the least important (image, id, peak) go first on a narrow terminal.
 */
/**
 * `notRoot`: this bubble cannot read other users' processes, so a Slurm job's name (only in its tasks' environment;
 * the cgroup path holds the job id and the user, not the name) may be missing: the line says why.
 */
export function containerInfo(
  c: ContainerView | undefined,
  key: string,
  atText: string,
  width: number,
  notRoot = false,
  more: { readonly ended?: Ended; readonly atMs?: number } = {},
): [string, string] {
  const ended = more.ended;
  // Ended: from the second of its last sighting on (a moment is its second's start, and an exit is recorded at the tick
  // that saw it gone, inside that second); before it (scrubbed back past its start) it is only not there yet.
  if (
    c === undefined &&
    ended !== undefined &&
    (more.atMs === undefined || ended.lastSeenMs === undefined || more.atMs >= bucketStart('second', ended.lastSeenMs))
  ) {
    return endedInfo(ended, width);
  }
  if (c === undefined) {
    // `docker:<64 hex>` reads better as the short id Docker prints, and the name better still where it is known.
    const long = /^([a-z]+):([0-9a-f]{64})$/.exec(key);
    const who = ended !== undefined ? `${ended.view.name}  ${ended.view.kind}` : long === null ? key : `${long[1]} ${long[2]!.slice(0, 12)}`;
    return [truncate(` ${safeText(who)}: not present ${atText}`, width), ''];
  }
  const p = c.pressure;
  const psi = [
    p.cpu === undefined ? undefined : `cpu ${formatPercent(p.cpu)}`,
    p.memory === undefined ? undefined : `mem ${formatPercent(p.memory)}`,
    p.io === undefined ? undefined : `io ${formatPercent(p.io)}`,
  ].filter((x) => x !== undefined);
  // Processes as the list's PROCS counts them; threads (the cgroup's tasks, docker stats' PIDS) where the pids
  // controller counts them.
  const count = `${c.processCount} process${c.processCount === 1 ? '' : 'es'}${c.pids === undefined ? '' : `, ${c.pids} thread${c.pids === 1 ? '' : 's'}`}`;
  // Neither CPU nor memory: no tick was recorded at this moment (a gap in the recording). Said once, in words; its
  // processes show `-`, not 0.0.
  const noData = c.cpuPercent === undefined && c.memoryBytes === undefined;
  // What the CPU figure is against: the limit, else the cpuset (a Slurm job's cores), as efficiency counts them.
  const allotted = c.cpuLimitCores !== undefined ? ` of ${c.cpuLimitCores.toFixed(1)} cores` : c.cpusetCpus !== undefined ? ` of ${c.cpusetCpus} cpus` : '';
  const eff = cpuEfficiencyPercent(c.cpuPercent, c);
  // seff's figure: a Slurm job's news next to its CPU; a container's (against its limit) where room is left.
  const efficiency = eff === undefined ? undefined : `efficiency ${formatPercent(eff)}%`;
  // Elapsed since it started (a Slurm job's elapsed time, a container's uptime), at the moment shown.
  const elapsed =
    c.startedAtMs === undefined || more.atMs === undefined || more.atMs < c.startedAtMs ? '' : ` ${formatDuration((more.atMs - c.startedAtMs) / 1000)}`;
  // [text, preferred line], most important first; undefined = unknown, left out.
  const parts: [string | undefined, 0 | 1][] = [
    [safeText(c.name), 0],
    [c.kind, 0],
    [notRoot && c.kind === 'slurm' && c.name === `job ${c.id}` ? "name hidden: it is in the job's environment (sudo)" : undefined, 0],
    [noData ? `no data ${atText} (not recorded)` : undefined, 1],
    [noData ? undefined : `cpu ${formatPercent(c.cpuPercent)}%${allotted}`, 1],
    [noData || c.kind !== 'slurm' ? undefined : efficiency, 1],
    [noData ? undefined : `mem ${formatBytes(c.memoryBytes)}${c.memoryLimitBytes === undefined ? '' : ` / ${formatBytes(c.memoryLimitBytes)}`}`, 1],
    [c.throttledPercent === undefined ? undefined : `throttled ${formatPercent(c.throttledPercent)}%`, 1],
    [c.oomKills === undefined ? undefined : `oom kills ${c.oomKills}`, 1],
    [count, 0],
    [c.steps === undefined || c.steps.length === 0 ? undefined : `steps ${c.steps.map(safeText).join(', ')}`, 0],
    [c.user === undefined ? undefined : `user ${safeText(c.user)}`, 0],
    [c.state === undefined ? undefined : safeText(c.state) + elapsed, 0],
    [c.partition === undefined ? undefined : `partition ${safeText(c.partition)}`, 0],
    [c.exitCode === undefined ? undefined : `exit ${c.exitCode}`, 0],
    [psi.length === 0 ? undefined : `pressure ${psi.join(' ')}`, 1],
    [c.image === undefined ? undefined : `image ${safeText(c.image)}`, 0],
    [c.kind === 'host' || c.kind === 'slurm' ? undefined : `id ${safeText(c.id.slice(0, 12))}`, 0],
    [c.memoryPeakBytes === undefined ? undefined : `peak ${formatBytes(c.memoryPeakBytes)}`, 1],
    [c.kind === 'slurm' ? undefined : efficiency, 1],
  ];
  const lines: [string, string] = ['', ''];
  const put = (line: 0 | 1, text: string): boolean => {
    const next = `${lines[line]}${lines[line] === '' ? ' ' : '  '}${text}`;
    if (displayWidth(next) > width) return false;
    lines[line] = next;
    return true;
  };
  for (const [i, [text, line]] of parts.entries()) {
    if (text === undefined) continue;
    // The name always shows (cut if it must).
    if (i === 0) {
      lines[0] = truncate(` ${text}`, width);
      continue;
    }
    if (!put(line, text)) put(line === 0 ? 1 : 0, text);
  }
  return lines;
}

/**
 * A container that ended while viewed (exit in place): its name, how and when it ended (the runtime's exit code and
 * time), and the key that shows its last second.
 */
function endedInfo(ended: Ended, width: number): [string, string] {
  const v = ended.view;
  const how = v.exitCode === undefined ? 'exited' : `exited with code ${v.exitCode}`;
  const when = v.exitedAtMs === undefined ? '' : ` at ${formatTime(v.exitedAtMs)}`;
  const key = keyLabel(KEYMAP.find((b) => b.command === 'time.lastSeen')!.keys[0]);
  const replay = ended.lastSeenMs === undefined ? '' : `${key}: its last second (${formatTime(ended.lastSeenMs).slice(11)})`;
  // The name gives way first, down to 12 columns: how it ended is the news. The time moves down when it does not fit.
  const tail = `  ${v.kind}  ${how}`;
  const name = truncate(safeText(v.name), Math.max(12, width - 1 - displayWidth(tail)));
  const first = ` ${name}${tail}`;
  if (displayWidth(first + when) <= width) return [first + when, truncate(replay === '' ? '' : ` ${replay}`, width)];
  return [truncate(first, width), truncate(` ${when.trim()}${replay === '' ? '' : `  ${replay}`}`, width).trimEnd()];
}

const BARS = '▁▂▃▄▅▆▇█';

/** One character per value, scaled to `max`; a bucket with nothing recorded is a space. */
export function sparkline(values: readonly (number | undefined)[], max: number): string {
  let out = '';
  for (const v of values) {
    if (v === undefined || !Number.isFinite(v)) out += ' ';
    else out += BARS[Math.min(7, Math.max(0, Math.round((v / (max > 0 ? max : 1)) * 7)))];
  }
  return out;
}

/** The right part of the scrubber: tier, the cursor's time between ◀ ▶, and live / paused / replay. */
export function scrubberRight(tier: Tier, time: string, label: string): string {
  // The label is padded so that pausing does not shift the sparklines.
  return `  ${tier} ◀ ${time} ▶ ${label.padEnd(6)}`;
}

/** What the sparklines are drawn against: the top of each scale. */
export interface SparkScale {
  /** CPU% at the top: 100 per core. */
  readonly cpuMax: number;
  readonly memMax: number;
  /** The memory scale is the container's limit, or the host's memory (the host, or a container without a limit). */
  readonly memOf: 'limit' | 'RAM';
}

/**
 * The CPU scale: the CPU limit where there is one (a full bar is the limit), else the peak shown rounded up to whole
 * cores (at least one), so the label moves in steps, not every tick.
 */
export function cpuScale(peakPercent: number, limitCores?: number): number {
  if (limitCores !== undefined && limitCores > 0) return limitCores * 100;
  return Math.max(1, Math.ceil(peakPercent / 100 - 1e-9)) * 100;
}

/** What each sparkline is labelled with: its scale. */
export interface SparkLabels {
  readonly cpu: string;
  readonly mem: string;
}

/** Sparklines narrower than this get the short labels (`cpu/200%`, `mem/512M`). */
const SPARK_MIN = 10;

/** The two labels that say each sparkline's scale: `cpu 0-200%` and `mem of 512M limit` (or `of 23G RAM`), or short. */
export function sparkLabels(scale: SparkScale, short: boolean): SparkLabels {
  const cpu = `${Math.round(scale.cpuMax)}%`;
  const mem = formatBytes(scale.memMax);
  return short ? { cpu: `cpu/${cpu}`, mem: `mem/${mem}` } : { cpu: `cpu 0-${cpu}`, mem: `mem of ${mem} ${scale.memOf}` };
}

/** Room for each of the two sparklines on a line of `width` next to `right` and the two labels. */
function roomFor(width: number, right: string, labels: SparkLabels): number {
  return Math.max(0, Math.floor((width - right.length - labels.cpu.length - labels.mem.length - 4) / 2));
}

/** The labels and the room of each sparkline: the long labels where they leave SPARK_MIN columns, else the short ones. */
export function sparkLayout(width: number, right: string, scale: SparkScale): { readonly labels: SparkLabels; readonly width: number } {
  const long = sparkLabels(scale, false);
  const room = roomFor(width, right, long);
  if (room >= SPARK_MIN) return { labels: long, width: room };
  const short = sparkLabels(scale, true);
  return { labels: short, width: roomFor(width, right, short) };
}

/** Room for each sparkline (bench/top.ts asks it for the buckets a screen shows); the scale only sets the labels' length. */
export function sparkWidth(width: number, right: string, scale: SparkScale = { cpuMax: 200, memMax: 512 * 1024 ** 2, memOf: 'limit' }): number {
  return sparkLayout(width, right, scale).width;
}

/** ` cpu 0-200% ▁▂▃▅▇█ mem of 512M limit ▃▃▃▄▄▄  second ◀ 21:23:04 ▶ live` */
export function scrubberLine(cpu: string, mem: string, right: string, width: number, labels: SparkLabels): string {
  return truncate(` ${labels.cpu} ${cpu} ${labels.mem} ${mem}${right}`, width).trimEnd();
}

/** A part of the status line, with the level that colours it. */
export interface Segment {
  readonly text: string;
  readonly level?: StatusLevel | 'prompt';
}

const LEVEL_ORDER: Readonly<Record<StatusLevel, number>> = { warn: 0, off: 1, ok: 2 };

/** `text` cut to at most `room` columns, between words where it can: the head (ending in `…`) and the rest. */
function splitAt(text: string, room: number): [string, string] {
  let cut = -1;
  for (let i = text.indexOf(' '); i >= 0; i = text.indexOf(' ', i + 1)) {
    if (displayWidth(text.slice(0, i)) + 1 > room) break;
    cut = i;
  }
  if (cut > 0) return [`${text.slice(0, cut)}…`, text.slice(cut + 1)];
  // One word longer than the room: cut inside it.
  const head = truncate(text, room);
  return [head, text.slice(head.length - 1)];
}

/**
 * The status line: the filter being typed (or the one in force), then what is missing and why. Warnings come first.
 * When the parts do not fit one line they are shown in pages (`status 1/3: ...`) that the screen cycles through: the
 * layout keeps its one status line (the lists do not jump when a status changes), and every part is read whole, a part
 * longer than the line over several pages. Each page starts with the prompt.
 */
export function statusPages(
  items: readonly StatusItem[],
  filter: string,
  editing: boolean,
  width: number,
  notice?: string,
  prompt: 'filter' | 'search' = 'filter',
): Segment[][] {
  const lead: Segment[] = [];
  // A key's result (a signal sent) first: it answers what the user just did.
  if (notice !== undefined) lead.push({ text: ` ${safeText(notice)}  `, level: 'prompt' });
  if (editing && prompt === 'search') lead.push({ text: ` search: ${safeText(filter)}█  F3 next, Enter keeps, Esc drops  `, level: 'prompt' });
  else if (editing) lead.push({ text: ` /${safeText(filter)}█  Enter keeps, Esc drops  `, level: 'prompt' });
  else if (filter !== '') lead.push({ text: ` filter "${safeText(filter)}" (Esc clears)  `, level: 'prompt' });
  else lead.push({ text: ' ' });
  const sorted = [...items].sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level]);
  const parts: Segment[] = sorted.map((item) => ({ text: safeText(item.text), level: item.level }));
  const leadWidth = lead.reduce((sum, s) => sum + displayWidth(s.text), 0);
  const oneLine = displayWidth('status: ') + parts.reduce((sum, s, i) => sum + displayWidth(s.text) + (i > 0 ? 2 : 0), 0);
  // Only the prompt, or everything on one line, or a line too narrow to page: one line, cut to the width.
  if (parts.length === 0 || leadWidth + oneLine <= width || width - leadWidth < 24) {
    const out = [
      ...lead,
      ...(parts.length > 0 ? [{ text: 'status: ' }] : []),
      ...parts.map((p, i) => ({ ...p, text: p.text + (i < parts.length - 1 ? ', ' : '') })),
    ];
    return [cutSegments(out, width)];
  }
  // Room for `status 1/3: ` first; with ten pages or more the label is longer, and the parts are paged again.
  let pages = paginate(parts, width - leadWidth - displayWidth('status 9/9: '));
  if (pages.length > 9) pages = paginate(parts, width - leadWidth - displayWidth('status 99/99: '));
  return pages.map((p, n) =>
    cutSegments([...lead, { text: `status ${n + 1}/${pages.length}: ` }, ...p.map((s, i) => ({ ...s, text: s.text + (i < p.length - 1 ? ', ' : '') }))], width),
  );
}

/**
 * Parts on pages of `room` columns, `, ` between two on a page. A part goes whole to the next page when it fits one;
 * a longer part fills what is left of the page (a few words at least) and goes on over the next.
 */
function paginate(parts: readonly Segment[], room: number): Segment[][] {
  const pages: Segment[][] = [];
  let page: Segment[] = [];
  let used = 0;
  for (const part of parts) {
    let text = part.text;
    for (;;) {
      const sep = page.length > 0 ? 2 : 0;
      const left = room - used - sep;
      const w = displayWidth(text);
      if (w <= left) {
        page.push({ ...part, text });
        used += sep + w;
        break;
      }
      if (w > room && left >= 12) {
        const [head, rest] = splitAt(text, left);
        page.push({ ...part, text: head });
        text = rest;
      }
      pages.push(page);
      page = [];
      used = 0;
    }
  }
  if (page.length > 0) pages.push(page);
  return pages;
}

/** Segments cut to the width, segment by segment. */
function cutSegments(segments: readonly Segment[], width: number): Segment[] {
  let room = width;
  const cut: Segment[] = [];
  for (const s of segments) {
    if (room <= 0) break;
    const text = truncate(s.text, room);
    cut.push({ ...s, text });
    room -= displayWidth(text);
  }
  return cut;
}

function helpEntry(b: Binding, keyWidth: number): string {
  return `${b.keys.map(keyLabel).join(' ').padEnd(keyWidth)} ${b.help}`;
}

/**
 * The help screen, listed from the keymaps themselves: in as many columns as `height` lines need, each column
 * `width / columns` wide.
 */
export function helpLines(width: number, height: number): string[] {
  const keyWidth = 11;
  // Two columns of 20 fit 80x24: the keys of the prompts and of the menus share a line each (they are few, and the
  // prompt and the menus say them again where they are used).
  const inline = (bindings: readonly Binding[]): string => bindings.map((b) => `${b.keys.map(keyLabel).join(' ')} ${b.help}`).join(', ');
  const entries = [
    'keys (? or Esc closes this)',
    ...KEYMAP.map((b) => helpEntry(b, keyWidth)),
    `/ F3: ${inline(FILTER_KEYMAP)}`,
    `menu: ${inline(MENU_KEYMAP)}`,
  ];
  const h = Math.max(1, height);
  const columns = Math.ceil(entries.length / h);
  const colWidth = Math.floor(width / columns);
  const lines: string[] = [];
  for (let row = 0; row < Math.min(h, entries.length); row++) {
    let line = '';
    for (let col = 0; col < columns; col++) {
      const e = entries[col * h + row];
      if (e === undefined) continue;
      // One column of space between columns, whatever the entry's length.
      line += fitColumns(' ' + e, colWidth - 1, 'left') + ' ';
    }
    lines.push(line.trimEnd());
  }
  return lines;
}
