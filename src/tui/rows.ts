/**
 * Every line of the screen as a plain string, built by pure functions: a view is then a handful of <Text> nodes
 * (few Yoga nodes, fast frames), and tests can check a line without Ink. Units come from src/format.ts; anything a
 * container controls (names, command lines, paths, users, addresses) goes through safeText() here, before any Text.
 */
import { displayWidth, fitColumns, formatBytes, formatPercent, formatRate, safeText, truncate, type Align } from '../format.js';
import { cpuEfficiencyPercent } from '../model/efficiency.js';
import type { ContainerView } from '../model/snapshot.js';
import { netBytesPerSec } from '../model/view.js';
import type { ContainerSort, ProcessSort } from '../model/sort.js';
import type { Tier } from '../store/tiers.js';
import { FILTER_KEYMAP, KEYMAP, keyLabel, MENU_KEYMAP, type Binding } from './keymap.js';
import { shownPath, type FileAccess, type SocketAccess } from '../model/access.js';
import type { StatusItem, StatusLevel } from './source.js';
import type { ProcessRow } from './tree.js';

/** A column of a list; one column per table is `flex` and takes what the terminal width leaves. */
interface Col<R> {
  readonly header: string;
  readonly width: number | 'flex';
  readonly align: Align;
  readonly value: (row: R) => string;
  /** The sort order this column shows (its header gets ▼). */
  readonly sort?: string;
}

/** Column widths for a line of `total` columns: a marker column, then the columns separated by one space. */
function widthsFor(cols: readonly Col<never>[], total: number): number[] {
  const fixed = cols.reduce((sum, c) => sum + (c.width === 'flex' ? 0 : c.width), 0);
  const flex = Math.max(4, total - 1 - fixed - (cols.length - 1));
  return cols.map((c) => (c.width === 'flex' ? flex : c.width));
}

function renderLine(marker: string, cells: readonly string[], cols: readonly Col<never>[], widths: readonly number[]): string {
  return (marker + cells.map((v, i) => fitColumns(v, widths[i]!, cols[i]!.align)).join(' ')).trimEnd();
}

/** ▼ in the sort's own direction (highest first; names A-Z), ▲ inverted (`I`). */
function sortMark(reverse: boolean): string {
  return reverse ? '▲' : '▼';
}

function headerOf<R>(cols: readonly Col<R>[], widths: readonly number[], sort: string, reverse: boolean, extra: (c: Col<R>) => string = () => ''): string {
  // A sort without a column of its own (processes by CPU time, by read+write) is named on the flex column.
  const shown = cols.some((c) => c.sort === sort);
  return renderLine(
    ' ',
    cols.map((c) => c.header + (c.sort === sort ? sortMark(reverse) : '') + extra(c) + (!shown && c.width === 'flex' ? ` ${sortMark(reverse)}${sort}` : '')),
    cols as readonly Col<never>[],
    widths,
  );
}

function pair(a: number | undefined, b: number | undefined, format: (n: number | undefined) => string): string {
  return a === undefined && b === undefined ? '-' : `${format(a)}/${format(b)}`;
}

/** An exited container (listed with `a`) says so where its kind would be: `exit 137`. */
function exitLabel(c: ContainerView): string {
  return c.exitCode === undefined ? (c.state ?? 'exited') : `exit ${c.exitCode}`;
}

const CONTAINER_COLS: readonly Col<ContainerView>[] = [
  { header: 'NAME', width: 'flex', align: 'left', value: (c) => safeText(c.name), sort: 'name' },
  { header: 'KIND', width: 10, align: 'left', value: (c) => (c.state === 'exited' || c.state === 'dead' ? exitLabel(c) : c.kind) },
  { header: 'CPU%', width: 6, align: 'right', value: (c) => formatPercent(c.cpuPercent), sort: 'cpu' },
  { header: 'MEM', width: 6, align: 'right', value: (c) => formatBytes(c.memoryBytes), sort: 'mem' },
  { header: 'LIMIT', width: 6, align: 'right', value: (c) => formatBytes(c.memoryLimitBytes) },
  { header: 'NET rx/tx', width: 11, align: 'right', value: (c) => pair(c.netRxBytesPerSec, c.netTxBytesPerSec, formatRate), sort: 'net' },
  { header: 'BLK r/w', width: 11, align: 'right', value: (c) => pair(c.blkReadBytesPerSec, c.blkWriteBytesPerSec, formatRate), sort: 'io' },
  { header: 'PIDS', width: 5, align: 'right', value: (c) => String(c.pids ?? c.processCount), sort: 'pids' },
];

/** The sort of each sortable column, left to right: what `<` and `>` step through. */
export const CONTAINER_SORT_COLUMNS = CONTAINER_COLS.flatMap((c) => (c.sort === undefined ? [] : [c.sort as ContainerSort]));

/** CPU efficiency against the CPU limit (a Slurm job's too); '-' for an unlimited container. */
const EFFICIENCY_COL: Col<ContainerView> = { header: 'EFF%', width: 5, align: 'right', value: (c) => formatPercent(cpuEfficiencyPercent(c.cpuPercent, c)) };
/** From this width on the list has room for EFF% without cutting names (at 80 NAME would lose 6, at 100 it cuts a long Docker name). */
const EFFICIENCY_MIN_WIDTH = 120;

function containerCols(width: number): readonly Col<ContainerView>[] {
  return width < EFFICIENCY_MIN_WIDTH ? CONTAINER_COLS : [...CONTAINER_COLS.slice(0, 3), EFFICIENCY_COL, ...CONTAINER_COLS.slice(3)];
}

export function containerHeader(width: number, sort: ContainerSort, reverse = false): string {
  const cols = containerCols(width);
  return headerOf(cols, widthsFor(cols as readonly Col<never>[], width), sort, reverse);
}

export function containerLine(c: ContainerView, width: number, selected: boolean): string {
  const cols = containerCols(width);
  const widths = widthsFor(cols as readonly Col<never>[], width);
  return renderLine(
    selected ? '>' : ' ',
    cols.map((col) => col.value(c)),
    cols as readonly Col<never>[],
    widths,
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

const PROCESS_COLS: readonly Col<ProcessRow>[] = [
  { header: 'PID', width: 7, align: 'right', value: (r) => String(r.process.pid), sort: 'pid' },
  { header: 'NSPID', width: 5, align: 'right', value: (r) => (r.process.nspid === undefined ? '-' : String(r.process.nspid)) },
  { header: 'USER', width: 7, align: 'left', value: (r) => safeText(r.process.user) },
  { header: 'CPU%', width: 6, align: 'right', value: (r) => formatPercent(r.process.cpuPercent), sort: 'cpu' },
  { header: 'RSS', width: 5, align: 'right', value: (r) => formatBytes(r.process.rssBytes), sort: 'mem' },
  { header: 'RD/s', width: 5, align: 'right', value: (r) => formatRate(r.process.readBytesPerSec), sort: 'read' },
  { header: 'WR/s', width: 5, align: 'right', value: (r) => formatRate(r.process.writeBytesPerSec), sort: 'write' },
  { header: 'NET/s', width: 5, align: 'right', value: (r) => formatRate(netBytesPerSec(r.process)) },
  { header: 'THR', width: 4, align: 'right', value: (r) => String(r.process.threads) },
  { header: 'COMMAND', width: 'flex', align: 'left', value: (r) => command(r.process), sort: 'command' },
];

/** The sort of each sortable process column, left to right: what `<` and `>` step through. */
export const PROCESS_SORT_COLUMNS = PROCESS_COLS.flatMap((c) => (c.sort === undefined ? [] : [c.sort as ProcessSort]));

export function processHeader(width: number, sort: ProcessSort, tree: boolean, reverse = false): string {
  const widths = widthsFor(PROCESS_COLS as readonly Col<never>[], width);
  return headerOf(PROCESS_COLS, widths, sort, reverse, (c) => (c.width === 'flex' ? (tree ? ' (tree)' : ' (flat)') : ''));
}

export function processLine(row: ProcessRow, width: number, selected: boolean, tree: boolean): string {
  const widths = widthsFor(PROCESS_COLS as readonly Col<never>[], width);
  const commandWidth = widths[widths.length - 1]!;
  const cells = PROCESS_COLS.map((col) => col.value(row));
  if (tree) cells[cells.length - 1] = treePrefix(row, commandWidth) + cells[cells.length - 1]!;
  return renderLine(selected ? '>' : ' ', cells, PROCESS_COLS as readonly Col<never>[], widths);
}

/** A pane line: marker, then text cut to the pane's width. */
function paneLine(text: string, width: number, selected: boolean): string {
  return truncate((selected ? '>' : ' ') + text, width).trimEnd();
}

export function fileLine(f: FileAccess, width: number, selected: boolean): string {
  const fd = f.fd === undefined ? '' : `${f.fd} `;
  const bytes = f.bytesIn === undefined && f.bytesOut === undefined ? '' : `  ${pair(f.bytesIn, f.bytesOut, formatBytes)}`;
  return paneLine(`${fd}${f.mode.padEnd(3)} ${safeText(shownPath(f))}${bytes}`, width, selected);
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

export function netLine(n: SocketAccess, width: number, selected: boolean): string {
  const state = safeText(SHORT_STATE[n.state] ?? n.state);
  const ends = n.remote === '' ? safeText(n.local) : `${safeText(n.local)} → ${safeText(n.remote)}`;
  return paneLine(`${safeText(n.protocol).padEnd(5)} ${state.padEnd(6)} ${ends}`, width, selected);
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
export function containerInfo(c: ContainerView | undefined, key: string, atText: string, width: number, notRoot = false): [string, string] {
  if (c === undefined) {
    // Only the key is known here: `docker:<64 hex>` reads better as the short id Docker prints.
    const long = /^([a-z]+):([0-9a-f]{64})$/.exec(key);
    const who = long === null ? key : `${long[1]} ${long[2]!.slice(0, 12)}`;
    return [truncate(` ${safeText(who)}: not present ${atText}`, width), ''];
  }
  const p = c.pressure;
  const psi = [
    p.cpu === undefined ? undefined : `cpu ${formatPercent(p.cpu)}`,
    p.memory === undefined ? undefined : `mem ${formatPercent(p.memory)}`,
    p.io === undefined ? undefined : `io ${formatPercent(p.io)}`,
  ].filter((x) => x !== undefined);
  const count = `${c.processCount} process${c.processCount === 1 ? '' : 'es'}`;
  // [text, preferred line], most important first; undefined = unknown, left out.
  const parts: [string | undefined, 0 | 1][] = [
    [safeText(c.name), 0],
    [c.kind, 0],
    [notRoot && c.kind === 'slurm' && c.name === `job ${c.id}` ? "name hidden: it is in the job's environment (sudo)" : undefined, 0],
    [`cpu ${formatPercent(c.cpuPercent)}%${c.cpuLimitCores === undefined ? '' : ` of ${c.cpuLimitCores.toFixed(1)} cores`}`, 1],
    [`mem ${formatBytes(c.memoryBytes)}${c.memoryLimitBytes === undefined ? '' : ` / ${formatBytes(c.memoryLimitBytes)}`}`, 1],
    [c.throttledPercent === undefined ? undefined : `throttled ${formatPercent(c.throttledPercent)}%`, 1],
    [c.oomKills === undefined ? undefined : `oom kills ${c.oomKills}`, 1],
    [count, 0],
    [c.steps === undefined || c.steps.length === 0 ? undefined : `steps ${c.steps.map(safeText).join(', ')}`, 0],
    [c.user === undefined ? undefined : `user ${safeText(c.user)}`, 0],
    [c.state === undefined ? undefined : safeText(c.state), 0],
    [c.exitCode === undefined ? undefined : `exit ${c.exitCode}`, 0],
    [psi.length === 0 ? undefined : `pressure ${psi.join(' ')}`, 1],
    [c.image === undefined ? undefined : `image ${safeText(c.image)}`, 0],
    [c.kind === 'host' || c.kind === 'slurm' ? undefined : `id ${safeText(c.id.slice(0, 12))}`, 0],
    [c.memoryPeakBytes === undefined ? undefined : `peak ${formatBytes(c.memoryPeakBytes)}`, 1],
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

/** Room for each of the two sparklines (cpu and mem) on a line of `width` next to `right`. */
export function sparkWidth(width: number, right: string): number {
  return Math.max(0, Math.floor((width - right.length - ' cpu '.length - ' mem '.length) / 2));
}

export function scrubberLine(cpu: string, mem: string, right: string, width: number): string {
  return truncate(` cpu ${cpu} mem ${mem}${right}`, width).trimEnd();
}

/** A part of the status line, with the level that colours it. */
export interface Segment {
  readonly text: string;
  readonly level?: StatusLevel | 'prompt';
}

const LEVEL_ORDER: Readonly<Record<StatusLevel, number>> = { warn: 0, off: 1, ok: 2 };

/**
 * The status line: the filter being typed (or the one in force), then what is missing and why. Warnings come first
 * so that an 80-column line cuts the good news, not the bad.
 */
export function statusSegments(
  items: readonly StatusItem[],
  filter: string,
  editing: boolean,
  width: number,
  notice?: string,
  prompt: 'filter' | 'search' = 'filter',
): Segment[] {
  const out: Segment[] = [];
  // A key's result (a signal sent) first: it answers what the user just did.
  if (notice !== undefined) out.push({ text: ` ${safeText(notice)}  `, level: 'prompt' });
  if (editing && prompt === 'search') out.push({ text: ` search: ${safeText(filter)}█  F3 next, Enter keeps, Esc drops  `, level: 'prompt' });
  else if (editing) out.push({ text: ` /${safeText(filter)}█  Enter keeps, Esc drops  `, level: 'prompt' });
  else if (filter !== '') out.push({ text: ` filter "${safeText(filter)}" (Esc clears)  `, level: 'prompt' });
  else out.push({ text: ' ' });
  const sorted = [...items].sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level]);
  if (sorted.length > 0) out.push({ text: 'status: ' });
  sorted.forEach((item, i) => out.push({ text: safeText(item.text) + (i < sorted.length - 1 ? ', ' : ''), level: item.level }));
  // Cut to the width, segment by segment.
  let room = width;
  const cut: Segment[] = [];
  for (const s of out) {
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
