/**
 * The whole screen as lines of spans, from what the App derived (pure; no React, no Ink). Both ways of drawing take
 * these lines: the line-diff writer on a real terminal (line-writer.ts), and Ink's <Lines> where there is no writer
 * (ink-testing-library). Every part is windowed: only the visible rows of a list are formatted.
 *
 * ```
 *  bubble  host vm  2 cpu  23.5G  21 containers  live 1s                      ? help      <- header
 *  NAME              KIND    CPU%    MEM   LIMIT  NET/s rx/tx  BLK/s r/w  PROCS         <- body (lay.body lines)
 * >web-1             docker  102.3  412M    2.0G   1.2M/340K      0/4.1M      5
 *  cpu 0-200% ▁▂▃▅▇█▇▅▃▂▁ mem of 2.0G limit ▃▃▃▄▄▄▄▄▄▄▄  second ◀ 21:23:04 ▶ live      <- scrubber
 *  status: no root: I/O hidden, sysdig off, docker ok                                     <- status
 * ```
 */
import type { FileAccess, SocketRow } from '../model/access.js';
import type { ContainerView } from '../model/snapshot.js';
import type { ContainerColumn, ProcessColumn } from '../model/columns.js';
import type { ContainerSort, ProcessSort } from '../model/sort.js';
import type { ErrorLine } from '../model/syscall-errors.js';
import type { Layout } from './layout.js';
import type { MenuLines } from './menu.js';
import {
  containerHeader,
  containerLine,
  errorLine,
  fileLine,
  headerLine,
  helpLines,
  netLine,
  paneTitle,
  processHeader,
  processLine,
  scrubberLine,
  type CellContext,
  type HeaderFacts,
  type Segment,
  type SparkLabels,
} from './rows.js';
import { line, padSpans, type ScreenLine, type Span, type Style } from './spans.js';
import type { Focus } from './state.js';
import { visibleSlice, type ProcessRow } from './tree.js';

interface Window {
  readonly index: number;
  readonly top: number;
}

/** A list's visible rows, the selected one styled. */
function block(texts: readonly string[], selected: number, selectedStyle: Style | undefined): ScreenLine[] {
  return texts.map((text, i) => line(text, i === selected ? selectedStyle : undefined));
}

export interface ContainersBody {
  /** Every container row, sorted and filtered; only the window [top, top + height) is formatted. */
  readonly rows: readonly ContainerView[];
  readonly index: number;
  readonly top: number;
  readonly height: number;
  readonly width: number;
  readonly sort: ContainerSort;
  readonly reverse?: boolean;
  /** Shown instead of rows when there are none. */
  readonly empty: string;
  readonly ctx?: CellContext;
  /** The config file's columns; all by default. */
  readonly columns?: readonly ContainerColumn[];
}

/** The containers list: one line per container, `host` last. */
export function containersLines(p: ContainersBody): ScreenLine[] {
  const visible = visibleSlice(p.rows, p.top, p.height);
  const out: ScreenLine[] = [line(containerHeader(p.width, p.sort, p.reverse, p.columns), { bold: true })];
  if (visible.length === 0) out.push(line(` ${p.empty}`, { dim: true }));
  out.push(
    ...block(
      visible.map((c, i) => containerLine(c, p.width, p.top + i === p.index, p.ctx, p.columns)),
      p.index - p.top,
      { inverse: true },
    ),
  );
  return out;
}

export interface PaneBody<Row> {
  readonly title: string;
  readonly rows: readonly Row[];
  readonly format: (row: Row, width: number, selected: boolean) => string;
  readonly window: Window;
  readonly height: number;
  readonly width: number;
  readonly focused: boolean;
  readonly empty: string;
}

/** A titled, windowed list below the processes: the files pane and the network pane of the selected process. */
export function paneLines<Row>(p: PaneBody<Row>): ScreenLine[] {
  const visible = visibleSlice(p.rows, p.window.top, p.height);
  const out: ScreenLine[] = [line(paneTitle(p.title, p.width, p.focused), { bold: true, inverse: p.focused })];
  if (visible.length === 0) out.push(line(`  ${p.empty}`, { dim: true }));
  const texts = visible.map((row, i) => p.format(row, p.width, p.focused && p.window.top + i === p.window.index));
  out.push(...block(texts, p.focused ? p.window.index - p.window.top : -1, { inverse: true }));
  return out;
}

export interface ContainerBody {
  /** Who the container is; then its limits, throttling, OOM kills and pressure (rows.ts containerInfo). */
  readonly info: readonly [string, string];
  readonly rows: readonly ProcessRow[];
  readonly processes: Window;
  readonly tree: boolean;
  /** A Slurm job's view: processes get the STEP column. */
  readonly slurm?: boolean;
  readonly sort: ProcessSort;
  readonly reverse?: boolean;
  readonly empty: string;
  readonly files: readonly FileAccess[];
  readonly filesWindow: Window;
  readonly filesTitle: string;
  readonly filesEmpty: string;
  readonly network: readonly SocketRow[];
  readonly networkWindow: Window;
  readonly networkTitle: string;
  readonly networkEmpty: string;
  /** Shown in the network pane's place (`e`): the container's failed syscalls, with their title and empty line. */
  readonly errors?: { readonly lines: readonly ErrorLine[]; readonly title: string; readonly empty: string };
  readonly focus: Focus;
  readonly layout: Layout;
  readonly ctx?: CellContext;
  /** The config file's columns; all by default. */
  readonly columns?: readonly ProcessColumn[];
}

/**
 * ```
 *  web-1  docker 0123456789ab  image nginx  25 processes  running
 *  cpu 102.3% of 2.0 cores  mem 412M / 2.0G  throttled 5.0%  oom kills 0  pressure cpu 1.2 ...
 *      PID NSPID USER      CPU%   RSS  RD/s  WR/s  THR COMMAND (tree)
 * >   4242     1 root     100.0  412M     0  4.1M   25 ▾ nginx: master process
 * ▸ files of 4243 nginx (3)                ▸ network (2)
 * ```
 */
export function containerLines(p: ContainerBody): ScreenLine[] {
  const l = p.layout;
  const visible = visibleSlice(p.rows, p.processes.top, l.processRows);
  const out: ScreenLine[] = [
    line(p.info[0], { bold: true }),
    line(p.info[1]),
    line(processHeader(l.columns, p.sort, p.tree, p.reverse, p.columns, p.slurm === true), { bold: true }),
  ];
  if (visible.length === 0) out.push(line(` ${p.empty}`, { dim: true }));
  const texts = visible.map((row, i) => processLine(row, l.columns, p.processes.top + i === p.processes.index, p.tree, p.ctx, p.columns, p.slurm === true));
  out.push(...block(texts, p.processes.index - p.processes.top, p.focus === 'processes' ? { inverse: true } : { bold: true }));
  const filler = Math.max(0, l.processRows - Math.max(1, visible.length));
  for (let i = 0; i < filler; i++) out.push([]);
  const files = paneLines({
    title: p.filesTitle,
    rows: p.files,
    format: fileLine,
    window: p.filesWindow,
    height: l.paneRows,
    width: l.filesWidth,
    focused: p.focus === 'files',
    empty: p.filesEmpty,
  });
  const pane = { window: p.networkWindow, height: l.paneRows, width: l.networkWidth, focused: p.focus === 'network' };
  const network =
    p.errors === undefined
      ? paneLines({ ...pane, title: p.networkTitle, rows: p.network, format: netLine, empty: p.networkEmpty })
      : paneLines({ ...pane, title: p.errors.title, rows: p.errors.lines, format: errorLine, empty: p.errors.empty });
  // Side by side: the files pane padded to its width, one column between, then the network pane.
  for (let i = 0; i < Math.max(files.length, network.length); i++) {
    out.push([...padSpans(files[i] ?? [], l.filesWidth), { text: ' ' }, ...(network[i] ?? [])]);
  }
  return out;
}

/** Every key, listed from the keymap table itself (src/tui/keymap.ts). */
export function helpScreenLines(width: number, height: number): ScreenLine[] {
  return block(helpLines(width, height), 0, { bold: true });
}

/** An open menu in place of the view's rows (F6 sort column, F9 signal and its confirmation). */
export function menuScreenLines(menu: MenuLines): ScreenLine[] {
  return block(menu.lines, menu.selected, { inverse: true });
}

/** ` cpu 0-200% ▁▂▃▅▇█ mem of 512M limit ▃▃▃▄▄▄  second ◀ 21:23:04 ▶ live` */
export function scrubberLines(cpu: string, mem: string, right: string, width: number, color: boolean, labels: SparkLabels): ScreenLine {
  const fits = ` ${labels.cpu} ${cpu} ${labels.mem} ${mem}${right}`.length <= width;
  if (!color || !fits) return line(scrubberLine(cpu, mem, right, width, labels));
  return [
    { text: ` ${labels.cpu} ` },
    { text: cpu, style: { color: 'green' } },
    { text: ` ${labels.mem} ` },
    { text: mem, style: { color: 'blue' } },
    { text: right.trimEnd(), style: { bold: true } },
  ];
}

const LEVEL_COLORS: Readonly<Record<NonNullable<Segment['level']>, NonNullable<Style['color']>>> = {
  ok: 'green',
  warn: 'yellow',
  off: 'gray',
  prompt: 'cyan',
};

/** What is missing and why (no root, no Docker socket, store read-only, sysdig off), or the filter being typed. */
export function statusLines(segments: readonly Segment[]): ScreenLine {
  return segments.map((s): Span => ({ text: s.text, style: s.level === undefined ? undefined : { color: LEVEL_COLORS[s.level] } }));
}

export interface Frame {
  readonly header: HeaderFacts;
  readonly body: readonly ScreenLine[];
  readonly scrubber: ScreenLine;
  readonly status: ScreenLine;
  readonly layout: Layout;
}

/** The screen, top to bottom: exactly `layout.lines` lines (the body cut or filled to its height). */
export function frameLines(f: Frame): ScreenLine[] {
  const body = f.body.slice(0, f.layout.body);
  while (body.length < f.layout.body) body.push([]);
  return [line(headerLine(f.header, f.layout.columns), { bold: true }), ...body, f.scrubber, f.status];
}
