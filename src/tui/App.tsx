/**
 * The `bubble top` / `bubble replay` screen. State lives in the pure reducer (state.ts); this component reads the
 * Source at the cursor's time, derives the rows each view shows (memoised: sorting and tree building happen once per
 * data tick or key, and only the visible rows are formatted), and turns keys into commands through the keymap.
 *
 * ```
 *  bubble  host vm  2 cpu  23.5G  21 containers  live 1s                      ? help
 *  NAME              KIND    CPU%    MEM   LIMIT  NET/s rx/tx  BLK/s r/w  PROCS
 * >web-1             docker  102.3  412M    2.0G   1.2M/340K      0/4.1M      5
 *  ...
 *  cpu 0-200% ▁▂▃▅▇█▇▅▃▂▁ mem of 2.0G limit ▃▃▃▄▄▄▄▄▄▄▄  second ◀ 21:23:04 ▶ live
 *  status: no root: I/O hidden, sysdig off, docker ok
 * ```
 */
import { useApp, useInput, useStdin, useStdout, type Key } from 'ink';
import { useCallback, useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'react';
import { formatDuration, formatTime, safeText } from '../format.js';
import { bucketStart, TIER_MS, type Tier } from '../store/tiers.js';
import { commandFor, commandForName, filterInputFor, functionKeyIn, keyName, menuCommandFor, splitInput, type Command } from './keymap.js';
import { sendSignal } from './kill.js';
import { menuLines } from './menu.js';
import { layout, MIN_COLUMNS, MIN_ROWS } from './layout.js';
import { containerInfo, cpuScale, scrubberRight, sparkLayout, sparkline, statusPages, type CellContext } from './rows.js';
import type { FileAccess, SocketRow } from '../model/access.js';
import type { ContainerColumn, ProcessColumn } from '../model/columns.js';
import type { ContainerView } from '../model/snapshot.js';
import type { ContainerSort, ProcessSort } from '../model/sort.js';
import { containerErrorLines, type ErrorLine } from '../model/syscall-errors.js';
import type { Source } from './source.js';
import { initialState, reduce, resolveList, type Action, type Lists } from './state.js';
import { containerList, EMPTY_PROCESS_LIST, processList } from './tree.js';
import type { LineWriter } from './line-writer.js';
import { containerLines, containersLines, frameLines, helpScreenLines, menuScreenLines, scrubberLines, statusLines } from './screen.js';
import { line, type ScreenLine } from './spans.js';
import { Lines } from './views/Line.js';

export interface AppProps {
  readonly source: Source;
  /** Open this container's view directly (its key, already matched). */
  readonly containerKey?: string;
  /** Start at this moment instead of live (replay `--at`). */
  readonly atMs?: number;
  /** @default 'second' */
  readonly tier?: Tier;
  /** A fixed size (tests, benchmarks); without both, the terminal's size, redrawn on resize. */
  readonly columns?: number;
  readonly rows?: number;
  /** @default NO_COLOR unset or empty */
  readonly color?: boolean;
  /**
   * Draws on a real terminal, only the lines that changed (run.tsx gives one); without it Ink draws the same lines
   * (ink-testing-library).
   */
  readonly writer?: LineWriter;
  /** The lists' first sort orders (the config file's `sort`). @default cpu */
  readonly sort?: { readonly containers?: ContainerSort; readonly processes?: ProcessSort };
  /** The lists' columns and their order (the config file's `columns`). @default all, dropped by priority as the width needs */
  readonly listColumns?: { readonly containers?: readonly ContainerColumn[]; readonly processes?: readonly ProcessColumn[] };
  /** How long each page of a status line too long for one line stays. @default 4000 */
  readonly statusCycleMs?: number;
}

/** Seconds to read a page of the status line: a few words of warning, read twice. */
const STATUS_CYCLE_MS = 4000;

/** NO_COLOR (no-color.org): present and not empty turns colour off. */
export function colorFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env['NO_COLOR'];
  return v === undefined || v === '';
}

/** The cursor's time on the scrubber: a clock for the fine tiers, a date and hour for the coarse ones. */
function clock(tier: Tier, ms: number): string {
  const t = formatTime(ms);
  return tier === 'second' || tier === 'minute' ? t.slice(11) : t.slice(5, 16);
}

const NO_FILES: readonly FileAccess[] = [];
const NO_NET: readonly SocketRow[] = [];
const NO_ERRORS: readonly ErrorLine[] = [];

export function App(props: AppProps) {
  const { source } = props;
  const { exit } = useApp();
  const { stdout } = useStdout();
  const fixed = props.columns !== undefined && props.rows !== undefined;
  const color = props.color ?? colorFromEnv();
  const [state, dispatch] = useReducer(reduce, undefined, () =>
    initialState({
      columns: props.columns ?? stdout.columns ?? 80,
      rows: props.rows ?? stdout.rows ?? 24,
      ...(props.containerKey !== undefined && { containerKey: props.containerKey }),
      ...(props.atMs !== undefined && { atMs: props.atMs }),
      ...(props.tier !== undefined && { tier: props.tier }),
      signals: source.mode === 'live',
      ...(props.sort?.containers !== undefined && { containerSort: props.sort.containers }),
      ...(props.sort?.processes !== undefined && { processSort: props.sort.processes }),
      ...optionalRange(source),
    }),
  );

  // Size: fixed by props, or the terminal's, following resizes.
  useEffect(() => {
    if (fixed) {
      dispatch({ type: 'resize', columns: props.columns!, rows: props.rows! });
      return;
    }
    const onResize = (): void => dispatch({ type: 'resize', columns: stdout.columns ?? 80, rows: stdout.rows ?? 24 });
    onResize();
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [fixed, props.columns, props.rows, stdout]);

  useEffect(() => source.subscribe(() => dispatch({ type: 'data', range: source.range() })), [source]);

  useEffect(() => {
    if (state.quit) exit();
  }, [state.quit, exit]);

  // The moment shown: live follows every tick; a paused cursor reads its moment once per move.
  const at = state.cursor.live ? undefined : state.cursor.atMs;
  const liveKey = state.cursor.live ? state.dataVersion : -1;
  const snapshot = useMemo(() => source.snapshotAt(at, state.tier), [source, at, state.tier, liveKey]);

  // Exited containers (`a`) come from the source's own knowledge (Docker's listing), re-read with each tick.
  const exited = useMemo(() => (state.showExited ? (source.exited?.() ?? []) : undefined), [source, state.showExited, state.dataVersion]);
  const containers = useMemo(
    () => containerList(snapshot, state.containerSort, state.containerFilter, { reverse: state.containerReverse, ...(exited !== undefined && { exited }) }),
    [snapshot, state.containerSort, state.containerFilter, state.containerReverse, exited],
  );
  const containerKeys = useMemo(() => containers.map((c) => c.key), [containers]);
  const inContainer = state.view === 'container' && state.containerKey !== undefined;
  const procs = useMemo(
    () =>
      inContainer
        ? processList(snapshot, state.containerKey, {
            tree: state.tree,
            sort: state.processSort,
            reverse: state.processReverse,
            filter: state.processFilter,
            collapsed: state.collapsed,
            kernelThreads: state.kernelThreads,
          })
        : EMPTY_PROCESS_LIST,
    [inContainer, snapshot, state.containerKey, state.tree, state.processSort, state.processReverse, state.processFilter, state.collapsed, state.kernelThreads],
  );

  const lay = layout(state.columns, state.rows);
  const procWindow = resolveList(state.processes, procs.keys, lay.processRows);
  const selected = procs.rows[procWindow.index]?.process;
  // Replay has no "now": its newest moment is the snapshot's own time.
  const paneAt = at ?? (source.mode === 'live' ? undefined : snapshot?.timeMs);
  const selectedKey = selected?.key;
  const files = useMemo(
    () => (inContainer && selectedKey !== undefined ? source.filesOf(selectedKey, paneAt) : NO_FILES),
    [source, inContainer, selectedKey, paneAt, liveKey],
  );
  const network = useMemo(
    () => (inContainer && selectedKey !== undefined ? source.netOf(selectedKey, paneAt) : NO_NET),
    [source, inContainer, selectedKey, paneAt, liveKey],
  );

  // `e`: the network pane shows the container's failed syscalls in the interval (bpftrace's or sysdig's counts).
  const errorLines = useMemo(
    () => (inContainer && state.errorsPane && snapshot !== undefined ? containerErrorLines(snapshot, state.containerKey!) : NO_ERRORS),
    [inContainer, state.errorsPane, snapshot, state.containerKey],
  );

  // Exit in place: the viewed container ended; the live source still knows who it was and how it ended.
  const present = inContainer && snapshot?.containers.some((c) => c.key === state.containerKey) === true;
  const ended = useMemo(
    () => (inContainer && !present && state.containerKey !== undefined ? source.endedOf?.(state.containerKey) : undefined),
    [source, inContainer, present, state.containerKey, state.dataVersion],
  );

  // Without root another user's descriptors cannot be read: the panes say so instead of "none known".
  const hidden = inContainer && selectedKey !== undefined && source.descriptorsHidden?.(selectedKey, paneAt) === true;
  const lists: Lists = useMemo(
    () => ({
      containers: containerKeys,
      processes: procs.keys,
      parents: procs.parents,
      files: files.length,
      network: state.errorsPane ? errorLines.length : network.length,
      // What F3 searches: what the rows show of each (escaped text is what the user sees and types).
      containerTexts: containers.map((c) => `${safeText(c.name)} ${c.id}`),
      processTexts: procs.rows.map((r) => `${r.process.pid} ${safeText(r.process.cmdline || r.process.comm)}`),
      ...(ended?.lastSeenMs !== undefined && { lastSeenMs: ended.lastSeenMs }),
    }),
    [containerKeys, containers, procs, files, network, state.errorsPane, errorLines, ended],
  );
  // The input handler reads the newest state and rows without being re-subscribed on every frame.
  const listsRef = useRef(lists);
  listsRef.current = lists;
  const stateRef = useRef(state);
  stateRef.current = state;

  const onInput = useCallback((chunk: string, chunkKey: Key) => {
    // The reducer runs per key here, so a chunk of several keys (`pwned\rq`) sees each key's effect on the mode.
    let s = stateRef.current;
    const apply = (action: Action): void => {
      s = reduce(s, action);
      dispatch(action);
    };
    for (const [input, key] of splitInput(chunk, chunkKey)) {
      if (s.menu !== undefined) {
        const command = menuCommandFor(keyName(input, key));
        if (command !== undefined) apply({ type: 'command', command, lists: listsRef.current });
        continue;
      }
      if (s.editingFilter && !s.help) {
        const f = filterInputFor(input, key);
        if (f === undefined) continue;
        if ('text' in f) apply({ type: 'filter.input', text: f.text, lists: listsRef.current });
        else apply({ type: 'command', command: f.command, lists: listsRef.current });
        continue;
      }
      const command = commandFor(input, key);
      if (command !== undefined) apply({ type: 'command', command, lists: listsRef.current });
    }
    // A next chunk before the next render starts from here.
    stateRef.current = s;
  }, []);
  useInput(onInput);

  // Function keys (htop's F1-F10): Ink reports them without saying which, so they are read from the raw input.
  const { internal_eventEmitter: rawInput } = useStdin();
  useEffect(() => {
    const onRaw = (data: string): void => {
      const name = functionKeyIn(String(data));
      if (name === undefined) return;
      const s = stateRef.current;
      // While text is typed only F3 means something (the search's next match); the rest would be text.
      const typing = s.editingFilter && !s.help;
      const command: Command | undefined =
        s.menu !== undefined ? menuCommandFor(name) : typing ? (s.prompt === 'search' && name === 'f3' ? 'search.start' : undefined) : commandForName(name);
      if (command === undefined) return;
      const action: Action = { type: 'command', command, lists: listsRef.current };
      stateRef.current = reduce(s, action);
      dispatch(action);
    };
    rawInput?.on('input', onRaw);
    return () => {
      rawInput?.off('input', onRaw);
    };
  }, [rawInput]);

  // F9's confirmed signal, sent once per request; the result is the status line's notice.
  const killId = state.kill?.id;
  useEffect(() => {
    const request = stateRef.current.kill;
    if (request === undefined) return;
    const comm = snapshot?.processes.find((p) => p.key === request.processKey)?.comm ?? '?';
    dispatch({ type: 'notice', text: sendSignal(request.processKey, request.signal, comm) });
    // Only a new request sends: the snapshot is read for the name, not a reason to send again.
  }, [killId]);

  // Header.
  const host = source.host();
  // The moment on screen: the snapshot's own time (a coarse tier's bucket holds many), else the cursor's.
  const shownTime = snapshot?.timeMs ?? at ?? state.range?.lastMs;
  const when =
    state.cursor.live && source.mode === 'live'
      ? source.intervalMs === undefined
        ? 'live'
        : `live ${formatDuration(source.intervalMs / 1000)}`
      : `${state.cursor.live ? 'replay' : 'at'} ${shownTime === undefined ? '-' : formatTime(shownTime)}`;
  const facts = useMemo(
    () => ({
      hostname: snapshot?.host.hostname ?? host.hostname,
      ncpu: snapshot?.host.ncpu ?? host.ncpu,
      memTotalBytes: snapshot?.host.memTotalBytes ?? host.memTotalBytes,
      containers: snapshot === undefined ? 0 : snapshot.containers.filter((c) => c.kind !== 'host').length,
      when,
    }),
    [snapshot, host.hostname, host.ncpu, host.memTotalBytes, when],
  );

  // Scrubber: the visible range of the tier, ending at the cursor.
  const label = source.mode === 'live' ? (state.cursor.live ? 'live' : 'paused') : state.cursor.live ? 'newest' : 'replay';
  const right = scrubberRight(state.tier, shownTime === undefined ? '--:--:--' : clock(state.tier, shownTime), label);
  const container = inContainer ? snapshot?.containers.find((c) => c.key === state.containerKey) : undefined;
  // The list's selected row (the list's own window, as drawn below).
  const containerWindow = resolveList(state.containers, containerKeys, lay.containerRows);
  // The sparklines show the container on screen: the one viewed, or the list's selected row (the whole host when the
  // list is empty).
  const sparkOf = inContainer ? container : state.view === 'containers' ? containers[containerWindow.index] : undefined;
  const seriesKey = inContainer ? state.containerKey : sparkOf?.key;
  const cpuLimit = sparkOf?.cpuLimitCores;
  const memLimit = sparkOf?.memoryLimitBytes;
  const spark = useMemo(() => {
    const size = TIER_MS[state.tier];
    // Memory against the limit, or the host's memory: a flat 316K draws a flat low line, not a full bar.
    const memScale = { memMax: memLimit ?? facts.memTotalBytes, memOf: memLimit === undefined ? 'RAM' : 'limit' } as const;
    // The CPU scale needs the points, the points the room, the room the labels: the room is taken with the scale at
    // its least, and the peak of what fits then sets the label.
    const room = sparkLayout(lay.columns, right, { ...memScale, cpuMax: cpuScale(0, cpuLimit) }).width;
    const end = shownTime === undefined ? 0 : bucketStart(state.tier, shownTime);
    const points = shownTime === undefined || room === 0 ? [] : source.series(state.tier, end - (room - 1) * size, end + size, seriesKey);
    const peak = points.reduce((m, p) => Math.max(m, p.cpuPercent ?? 0), 0);
    const scale = { ...memScale, cpuMax: cpuScale(peak, cpuLimit) };
    const { labels, width } = sparkLayout(lay.columns, right, scale);
    const blank = ' '.repeat(width);
    if (shownTime === undefined || width === 0) return { cpu: blank, mem: blank, labels };
    const from = end - (width - 1) * size;
    const cpu: (number | undefined)[] = new Array(width).fill(undefined);
    const mem: (number | undefined)[] = new Array(width).fill(undefined);
    for (const p of points) {
      const i = Math.floor((bucketStart(state.tier, p.timeMs) - from) / size);
      if (i < 0 || i >= width) continue;
      cpu[i] = p.cpuPercent;
      mem[i] = p.memoryBytes;
    }
    return { cpu: sparkline(cpu, scale.cpuMax), mem: sparkline(mem, scale.memMax), labels };
  }, [source, state.tier, shownTime, lay.columns, right, seriesKey, cpuLimit, memLimit, facts.memTotalBytes, liveKey]);

  const status = useMemo(() => source.status(), [source, state.dataVersion]);
  const filter = state.view === 'containers' ? state.containerFilter : state.processFilter;
  const searching = state.editingFilter && state.prompt === 'search';
  const pages = statusPages(status, searching ? state.search : filter, state.editingFilter, lay.columns, state.notice, searching ? 'search' : 'filter');
  // More than one page: the line turns to the next every few seconds, whether or not data ticks (a paused replay).
  const cycleMs = props.statusCycleMs ?? STATUS_CYCLE_MS;
  const [statusPage, setStatusPage] = useState(0);
  const paged = pages.length > 1;
  useEffect(() => {
    if (!paged) return;
    const timer = setInterval(() => setStatusPage((n) => n + 1), cycleMs);
    return () => clearInterval(timer);
  }, [paged, cycleMs]);
  const segments = pages[statusPage % pages.length]!;

  // Cells that need the moment shown (uptime, process start) or containers' oldest processes (an uptime no runtime gives).
  const nowMs = shownTime ?? Date.now();
  const oldest = useMemo(() => {
    const starts = new Map<string, number>();
    for (const p of snapshot?.processes ?? []) {
      const known = starts.get(p.containerKey);
      if (known === undefined || p.startTimeMs < known) starts.set(p.containerKey, p.startTimeMs);
    }
    return starts;
  }, [snapshot]);
  const ctx: CellContext = useMemo(() => ({ nowMs, startOf: (c: ContainerView) => oldest.get(c.key) }), [nowMs, oldest]);

  const atText = shownTime === undefined ? 'now' : `at ${formatTime(shownTime)}`;
  let body: ScreenLine[];
  if (state.menu !== undefined) {
    const key = state.menu.kind === 'sort' ? undefined : state.menu.processKey;
    const target = key === undefined ? undefined : snapshot?.processes.find((p) => p.key === key);
    const who = key === undefined ? '' : target === undefined ? `process ${key.split(':')[0]}` : `${target.pid} ${target.comm}`;
    body = menuScreenLines(menuLines(state, state.menu, who));
  } else if (state.help) {
    body = helpScreenLines(lay.columns, lay.body);
  } else if (state.view === 'containers') {
    const w = containerWindow;
    const empty =
      snapshot === undefined
        ? state.cursor.live && source.mode === 'live'
          ? 'waiting for the first sample…'
          : `nothing recorded ${atText}`
        : state.containerFilter !== ''
          ? `no container matches "${safeText(state.containerFilter)}"`
          : 'no containers';
    body = containersLines({
      rows: containers,
      index: w.index,
      top: w.top,
      height: lay.containerRows,
      width: lay.columns,
      sort: state.containerSort,
      reverse: state.containerReverse,
      empty,
      ctx,
      ...(props.listColumns?.containers !== undefined && { columns: props.listColumns.containers }),
    });
  } else {
    const key = state.containerKey ?? '';
    const notRoot = status.some((item) => item.name === 'root' && item.level !== 'ok');
    const info = containerInfo(container, key, atText, lay.columns, notRoot, {
      ...(ended !== undefined && { ended }),
      ...(shownTime !== undefined && { atMs: shownTime }),
    });
    const empty =
      container === undefined
        ? `no processes ${atText}`
        : state.processFilter !== ''
          ? `no process matches "${safeText(state.processFilter)}"`
          : procs.total === 0
            ? 'no processes'
            : 'only kernel threads (K shows them)';
    const who = selected === undefined ? '' : ` of ${selected.pid} ${safeText(selected.comm)}`;
    body = containerLines({
      info,
      rows: procs.rows,
      processes: procWindow,
      tree: state.tree,
      slurm: container?.kind === 'slurm',
      sort: state.processSort,
      reverse: state.processReverse,
      empty,
      files,
      filesWindow: resolveList(state.files, files.length, lay.paneRows),
      filesTitle: `files${who} (${files.length})`,
      filesEmpty: hidden ? 'hidden by permissions (sudo)' : 'no open files known',
      networkEmpty: hidden ? 'hidden by permissions' : 'no sockets known',
      network,
      networkWindow: resolveList(state.network, network.length, lay.paneRows),
      networkTitle: `network (${network.length})`,
      ...(state.errorsPane && {
        errors: {
          lines: errorLines,
          title: `syscall errors of the container (${errorLines.reduce((a, e) => a + e.count, 0)}; e: network)`,
          empty: snapshot?.syscallErrors === undefined ? 'not counted here (bpftrace as root, --bpf-errors on)' : 'no failed syscalls',
        },
      }),
      focus: state.focus,
      layout: lay,
      ctx,
      ...(props.listColumns?.processes !== undefined && { columns: props.listColumns.processes }),
    });
  }

  const tooSmall = state.columns < MIN_COLUMNS || state.rows < MIN_ROWS;
  const lines: ScreenLine[] = tooSmall
    ? wrapWords(`bubble needs ${MIN_COLUMNS}x${MIN_ROWS}, this is ${state.columns}x${state.rows}; q quits`, state.columns).map((t) => line(t))
    : frameLines({
        header: facts,
        body,
        scrubber: scrubberLines(spark.cpu, spark.mem, right, lay.columns, color, spark.labels),
        status: statusLines(segments),
        layout: lay,
      });
  const screenWidth = tooSmall ? state.columns : lay.columns;
  const writer = props.writer;
  useLayoutEffect(() => {
    writer?.paint(lines, screenWidth, color);
  });
  if (writer !== undefined) return null;
  return <Lines lines={lines} width={screenWidth} color={color} />;
}
/** Words on lines of at most `width` columns (the too-small message must be readable whole). */
function wrapWords(text: string, width: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > width) {
      out.push(current);
      current = word;
    } else current = current === '' ? word : `${current} ${word}`;
  }
  if (current !== '') out.push(current);
  return out;
}

function optionalRange(source: Source): { range?: { firstMs: number; lastMs: number } } {
  const range = source.range();
  return range === undefined ? {} : { range };
}
