/**
 * The TUI's state and its pure reducer. Everything the keyboard changes lives here; what is shown (the snapshot at
 * the cursor, the rows of each list) is derived from it by the App. Key commands carry the keys of the rows on
 * screen (`Lists`), so the reducer can move a selection and window a list without holding any data.
 *
 * A selection is remembered by row key as well as index: when the rows reorder on a new tick (sorted by CPU), the
 * same process stays selected; when it disappears, the index is kept (clamped).
 */
import type { ContainerSort, ProcessSort } from '../model/sort.js';
import { CONTAINER_SORTS, PROCESS_SORTS } from '../model/sort.js';
import { bucketStart, TIER_MS, TIERS, type Tier } from '../store/tiers.js';
import type { Command } from './keymap.js';
import { layout, scrollWindow } from './layout.js';
import { CONTAINER_SORT_COLUMNS, PROCESS_SORT_COLUMNS } from './rows.js';

/** The signals F9 offers, htop's most used first; the default selection is SIGTERM. */
export const KILL_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGKILL', 'SIGSTOP', 'SIGCONT', 'SIGUSR1', 'SIGUSR2', 'SIGQUIT'] as const;
export type KillSignal = (typeof KILL_SIGNALS)[number];

/**
 * An open menu: F6's sort orders of the current view, F9's signals for one process (by key: pid and start time, so
 * a reused pid is never hit), then the yes/no for the chosen signal.
 */
export type Menu =
  | { readonly kind: 'sort'; readonly index: number }
  | { readonly kind: 'signal'; readonly index: number; readonly processKey: string }
  | { readonly kind: 'confirm'; readonly processKey: string; readonly signal: KillSignal };

/** A side effect the App carries out once (the reducer stays pure): `id` tells one request from the next. */
export interface KillRequest {
  readonly id: number;
  readonly processKey: string;
  readonly signal: KillSignal;
}

export const FOCUS_ORDER = ['processes', 'files', 'network'] as const;
export type Focus = (typeof FOCUS_ORDER)[number];

export type ViewName = 'containers' | 'container';

export interface ListState {
  /** Selected row. */
  readonly index: number;
  /** First visible row. */
  readonly top: number;
  /** Key of the selected row when the list has keys (containers, processes). */
  readonly key?: string;
}

/** Live follows the newest data; otherwise the screen shows the moment `atMs` (a pause, a step back, replay --at). */
export type Cursor = { readonly live: true } | { readonly live: false; readonly atMs: number };

export interface TimeRange {
  readonly firstMs: number;
  readonly lastMs: number;
}

export interface State {
  readonly view: ViewName;
  /** The help overlay, over either view. */
  readonly help: boolean;
  /** The container the container view shows. */
  readonly containerKey?: string;
  readonly containers: ListState;
  readonly processes: ListState;
  readonly files: ListState;
  readonly network: ListState;
  readonly containerSort: ContainerSort;
  readonly processSort: ProcessSort;
  /** Each view's sort order inverted (`I`). */
  readonly containerReverse: boolean;
  readonly processReverse: boolean;
  /** Exited containers listed after the running ones (`a`). */
  readonly showExited: boolean;
  readonly menu?: Menu;
  /** F9 may signal processes (live data; not replay). */
  readonly signals: boolean;
  /** The newest kill the App is to send; its result comes back as a notice. */
  readonly kill?: KillRequest;
  /** One line for the status line (a kill's result); the next key clears it. */
  readonly notice?: string;
  readonly containerFilter: string;
  readonly processFilter: string;
  /** `/` was pressed: typed characters go to the current view's filter. */
  readonly editingFilter: boolean;
  /** What the typed text is for: the filter (`/`, F4: rows that do not match go) or a search (F3: the selection jumps). */
  readonly prompt: 'filter' | 'search';
  /** The F3 search text; it hides nothing. */
  readonly search: string;
  readonly tree: boolean;
  /** Processes whose children are folded away (tree mode). */
  readonly collapsed: ReadonlySet<string>;
  readonly kernelThreads: boolean;
  readonly focus: Focus;
  /** The network pane shows the container's failed syscalls instead (`e`). */
  readonly errorsPane: boolean;
  readonly cursor: Cursor;
  readonly tier: Tier;
  /** What the source has recorded; bounds the cursor. */
  readonly range?: TimeRange;
  /** Counts data ticks: the live view re-reads its snapshot when it changes. */
  readonly dataVersion: number;
  readonly columns: number;
  readonly rows: number;
  readonly quit: boolean;
}

/** The rows on screen when a key was pressed: keys in display order for keyed lists, counts for the panes. */
export interface Lists {
  readonly containers: readonly string[];
  readonly processes: readonly string[];
  /** What F3 searches in, row by row (name and id; pid and command); absent: search finds nothing. */
  readonly containerTexts?: readonly string[];
  readonly processTexts?: readonly string[];
  /** Processes that have children in the current tree (what "fold all" folds). */
  readonly parents: readonly string[];
  readonly files: number;
  readonly network: number;
  /** The viewed container ended: the last moment it was seen running (what `r` goes to). */
  readonly lastSeenMs?: number;
}

export const EMPTY_LISTS: Lists = { containers: [], processes: [], parents: [], files: 0, network: 0 };

export type Action =
  | { readonly type: 'command'; readonly command: Command; readonly lists: Lists }
  /** New data arrived (a live tick); `range` is what the source now holds. */
  | { readonly type: 'data'; readonly range: TimeRange | undefined }
  | { readonly type: 'resize'; readonly columns: number; readonly rows: number }
  /** Typed (or pasted) text for the filter or search being edited (a search needs the rows to jump in). */
  | { readonly type: 'filter.input'; readonly text: string; readonly lists?: Lists }
  /** What happened (a signal sent or refused). */
  | { readonly type: 'notice'; readonly text: string };

export interface InitOptions {
  readonly columns: number;
  readonly rows: number;
  /** Open this container's view directly (`bubble top web-1`). */
  readonly containerKey?: string;
  /** Start at this moment instead of live (`bubble replay --at`). */
  readonly atMs?: number;
  readonly tier?: Tier;
  readonly range?: TimeRange;
  /** Replay: processes are of the past, F9 signals nothing. @default true */
  readonly signals?: boolean;
  /** Start sorted by these (the config file's `sort`). */
  readonly containerSort?: ContainerSort;
  readonly processSort?: ProcessSort;
}

const TOP: ListState = { index: 0, top: 0 };

export function initialState(options: InitOptions): State {
  const open = options.containerKey !== undefined;
  return {
    view: open ? 'container' : 'containers',
    help: false,
    ...(open && { containerKey: options.containerKey }),
    containers: open ? { index: 0, top: 0, key: options.containerKey! } : TOP,
    processes: TOP,
    files: TOP,
    network: TOP,
    containerSort: options.containerSort ?? 'cpu',
    processSort: options.processSort ?? 'cpu',
    containerReverse: false,
    processReverse: false,
    showExited: false,
    signals: options.signals ?? true,
    containerFilter: '',
    processFilter: '',
    editingFilter: false,
    prompt: 'filter',
    search: '',
    tree: true,
    collapsed: new Set(),
    kernelThreads: false,
    focus: 'processes',
    errorsPane: false,
    cursor: options.atMs === undefined ? { live: true } : { live: false, atMs: options.atMs },
    tier: options.tier ?? 'second',
    ...(options.range !== undefined && { range: options.range }),
    dataVersion: 0,
    columns: options.columns,
    rows: options.rows,
    quit: false,
  };
}

/** Which list the arrow keys move: the containers list, or the focused pane of the container view. */
export type ListName = 'containers' | Focus;

export function activeList(state: State): ListName {
  return state.view === 'containers' ? 'containers' : state.focus;
}

/** Visible rows of each list at the current terminal size. */
export function listHeight(state: Pick<State, 'columns' | 'rows'>, list: ListName): number {
  const l = layout(state.columns, state.rows);
  switch (list) {
    case 'containers':
      return l.containerRows;
    case 'processes':
      return l.processRows;
    case 'files':
    case 'network':
      return l.paneRows;
  }
}

function countOf(lists: Lists, list: ListName): number {
  switch (list) {
    case 'containers':
      return lists.containers.length;
    case 'processes':
      return lists.processes.length;
    case 'files':
      return lists.files;
    case 'network':
      return lists.network;
  }
}

function keysOf(lists: Lists, list: ListName): readonly string[] | undefined {
  return list === 'containers' ? lists.containers : list === 'processes' ? lists.processes : undefined;
}

/**
 * Where a list's selection and window are, given the rows now shown: the remembered key's row when it is still
 * there, else the remembered index clamped. The views use this too, so screen and reducer agree.
 */
export function resolveList(list: ListState, rows: readonly string[] | number, height: number): { index: number; top: number } {
  const count = typeof rows === 'number' ? rows : rows.length;
  if (count === 0) return { index: 0, top: 0 };
  let index = -1;
  if (typeof rows !== 'number' && list.key !== undefined) {
    // Usually where it was: check there before searching the whole list.
    index = rows[list.index] === list.key ? list.index : rows.indexOf(list.key);
  }
  if (index < 0) index = Math.min(Math.max(0, list.index), count - 1);
  return { index, top: scrollWindow(index, list.top, count, height) };
}

function moveTo(list: ListState, rows: readonly string[] | number, height: number, target: (index: number, count: number) => number): ListState {
  const count = typeof rows === 'number' ? rows : rows.length;
  if (count === 0) return TOP;
  const { index, top } = resolveList(list, rows, height);
  const next = Math.min(Math.max(0, target(index, count)), count - 1);
  const key = typeof rows === 'number' ? undefined : rows[next];
  return { index: next, top: scrollWindow(next, top, count, height), ...(key !== undefined && { key }) };
}

function withList(state: State, name: ListName, list: ListState): State {
  return { ...state, [name]: list };
}

function cycle<T>(values: readonly T[], current: T, step = 1): T {
  const i = values.indexOf(current);
  return values[(i + step + values.length) % values.length]!;
}

/** The tier bucket before or after the cursor, clamped to what is recorded; past the newest bucket is live. */
function step(state: State, direction: -1 | 1): State {
  const range = state.range;
  const size = TIER_MS[state.tier];
  if (state.cursor.live) {
    if (direction === 1 || range === undefined) return state;
    const at = Math.max(bucketStart(state.tier, range.lastMs) - size, bucketStart(state.tier, range.firstMs));
    return { ...state, cursor: { live: false, atMs: at } };
  }
  const at = bucketStart(state.tier, state.cursor.atMs) + direction * size;
  if (range === undefined) return { ...state, cursor: { live: false, atMs: at } };
  if (at > bucketStart(state.tier, range.lastMs)) return { ...state, cursor: { live: true } };
  return { ...state, cursor: { live: false, atMs: Math.max(at, bucketStart(state.tier, range.firstMs)) } };
}

function filterKey(state: State): 'containerFilter' | 'processFilter' {
  return state.view === 'containers' ? 'containerFilter' : 'processFilter';
}

/** The sort orders the current view offers (F6's menu). */
export function sortChoices(state: State): readonly string[] {
  return state.view === 'containers' ? CONTAINER_SORTS : PROCESS_SORTS;
}

function withSort(state: State, sort: string): State {
  if (state.view === 'containers') {
    return (CONTAINER_SORTS as readonly string[]).includes(sort) ? { ...state, containerSort: sort as ContainerSort } : state;
  }
  return (PROCESS_SORTS as readonly string[]).includes(sort) ? { ...state, processSort: sort as ProcessSort } : state;
}

/** `<` / `>`: the sortable column left or right of the current sort's (from the first column when it has none). */
function stepColumn(state: State, direction: -1 | 1): State {
  const columns: readonly string[] = state.view === 'containers' ? CONTAINER_SORT_COLUMNS : PROCESS_SORT_COLUMNS;
  const current = state.view === 'containers' ? state.containerSort : state.processSort;
  const i = columns.indexOf(current);
  const next = i < 0 ? columns[0]! : columns[Math.min(Math.max(0, i + direction), columns.length - 1)]!;
  return withSort(state, next);
}

function onMenu(state: State, menu: Menu, command: Command): State {
  const { menu: _, ...closed } = state;
  if (command === 'menu.cancel') return closed;
  if (command === 'quit') return { ...closed, quit: true };
  if (menu.kind === 'confirm') {
    if (command !== 'menu.select') return state;
    return { ...closed, kill: { id: (state.kill?.id ?? 0) + 1, processKey: menu.processKey, signal: menu.signal } };
  }
  const count = menu.kind === 'sort' ? sortChoices(state).length : KILL_SIGNALS.length;
  const moveTo = (index: number): State => ({ ...state, menu: { ...menu, index: Math.min(Math.max(0, index), count - 1) } });
  switch (command) {
    case 'cursor.up':
      return moveTo(menu.index - 1);
    case 'cursor.down':
      return moveTo(menu.index + 1);
    case 'cursor.home':
    case 'cursor.pageUp':
      return moveTo(0);
    case 'cursor.end':
    case 'cursor.pageDown':
      return moveTo(count - 1);
    case 'menu.select':
      if (menu.kind === 'sort') return withSort(closed, sortChoices(state)[menu.index]!);
      return { ...state, menu: { kind: 'confirm', processKey: menu.processKey, signal: KILL_SIGNALS[menu.index]! } };
    default:
      return state;
  }
}

function onCommand(state: State, command: Command, lists: Lists): State {
  if (state.menu !== undefined) return onMenu(state, state.menu, command);
  // Help is an overlay: it closes with ?, Esc or Backspace, and q still quits.
  if (state.help) {
    if (command === 'help' || command === 'back') return { ...state, help: false };
    if (command === 'quit') return { ...state, quit: true };
    return state;
  }
  const name = activeList(state);
  const list = state[name];
  const rows = keysOf(lists, name) ?? countOf(lists, name);
  const height = listHeight(state, name);
  const move = (target: (index: number, count: number) => number): State => withList(state, name, moveTo(list, rows, height, target));

  switch (command) {
    case 'cursor.up':
      return move((i) => i - 1);
    case 'cursor.down':
      return move((i) => i + 1);
    case 'cursor.pageUp':
      return move((i) => i - height);
    case 'cursor.pageDown':
      return move((i) => i + height);
    case 'cursor.home':
      return move(() => 0);
    case 'cursor.end': {
      const count = countOf(lists, name);
      const atEnd = count === 0 || resolveList(list, rows, height).index === count - 1;
      if (atEnd && !state.cursor.live) return { ...state, cursor: { live: true } };
      return move((_, n) => n - 1);
    }
    case 'open': {
      if (state.view === 'containers') {
        const key = lists.containers[resolveList(list, lists.containers, height).index];
        if (key === undefined) return state;
        return {
          ...state,
          view: 'container',
          containerKey: key,
          containers: { ...list, key },
          processes: TOP,
          files: TOP,
          network: TOP,
          focus: 'processes',
          processFilter: '',
        };
      }
      return state.tree && state.focus === 'processes' ? toggleFold(state, lists) : state;
    }
    case 'back': {
      const filter = filterKey(state);
      if (state[filter] !== '') return { ...state, [filter]: '' };
      if (state.view === 'container') {
        const { containerKey: _, ...rest } = state;
        return { ...rest, view: 'containers', focus: 'processes' };
      }
      return state;
    }
    case 'sort.next':
      return state.view === 'containers'
        ? { ...state, containerSort: cycle(CONTAINER_SORTS, state.containerSort) }
        : { ...state, processSort: cycle(PROCESS_SORTS, state.processSort) };
    case 'sort.menu': {
      const current = state.view === 'containers' ? state.containerSort : state.processSort;
      return { ...state, menu: { kind: 'sort', index: Math.max(0, sortChoices(state).indexOf(current)) } };
    }
    case 'sort.prevColumn':
      return stepColumn(state, -1);
    case 'sort.nextColumn':
      return stepColumn(state, 1);
    case 'sort.invert':
      return state.view === 'containers' ? { ...state, containerReverse: !state.containerReverse } : { ...state, processReverse: !state.processReverse };
    case 'sort.cpu':
      return withSort(state, 'cpu');
    case 'sort.mem':
      return withSort(state, 'mem');
    case 'sort.time':
      // Containers have no CPU-time column: T is a process sort, as in htop.
      return withSort(state, 'time');
    case 'view.exited':
      // Said on the status line too: with none exited, the list would not change and the key would seem dead.
      return {
        ...state,
        showExited: !state.showExited,
        notice: state.showExited ? 'exited containers hidden (a shows them)' : 'exited containers listed after the running ones (a hides them)',
      };
    case 'kill': {
      if (state.view !== 'container' || state.focus !== 'processes') return state;
      if (!state.signals) return { ...state, notice: 'replay shows the past: there is no process to signal' };
      const { index } = resolveList(state.processes, lists.processes, listHeight(state, 'processes'));
      const processKey = lists.processes[index];
      return processKey === undefined ? state : { ...state, menu: { kind: 'signal', index: 0, processKey } };
    }
    case 'filter.start':
      return { ...state, editingFilter: true, prompt: 'filter' };
    case 'search.start':
      // F3 while a search is typed finds the next match, as in htop.
      if (state.editingFilter && state.prompt === 'search') return searchFrom(state, lists, 1);
      return { ...state, editingFilter: true, prompt: 'search', search: '' };
    case 'filter.commit':
      return { ...state, editingFilter: false };
    case 'filter.cancel':
      return state.prompt === 'search' ? { ...state, editingFilter: false, search: '' } : { ...state, editingFilter: false, [filterKey(state)]: '' };
    case 'filter.erase': {
      if (state.prompt === 'search') return { ...state, search: [...state.search].slice(0, -1).join('') };
      const filter = filterKey(state);
      return { ...state, [filter]: [...state[filter]].slice(0, -1).join('') };
    }
    case 'view.tree':
      return state.view === 'container' ? { ...state, tree: !state.tree } : state;
    case 'tree.toggle':
      return state.view === 'container' && state.tree && state.focus === 'processes' ? toggleFold(state, lists) : state;
    case 'tree.collapseAll':
      return state.view === 'container' && state.tree ? { ...state, collapsed: new Set(lists.parents) } : state;
    case 'tree.expandAll':
      return state.view === 'container' && state.tree ? { ...state, collapsed: new Set() } : state;
    case 'view.kernel':
      return { ...state, kernelThreads: !state.kernelThreads };
    case 'pane.errors':
      return state.view === 'container' ? { ...state, errorsPane: !state.errorsPane, network: TOP } : state;
    case 'focus.next':
    case 'focus.prev':
      return state.view === 'container' ? { ...state, focus: cycle(FOCUS_ORDER, state.focus, command === 'focus.next' ? 1 : -1) } : state;
    case 'time.back':
      return step(state, -1);
    case 'time.forward':
      return step(state, 1);
    case 'tier.finer':
    case 'tier.coarser': {
      const i = TIERS.indexOf(state.tier) + (command === 'tier.finer' ? -1 : 1);
      const tier = TIERS[Math.min(Math.max(0, i), TIERS.length - 1)]!;
      return tier === state.tier ? state : { ...state, tier };
    }
    case 'time.pause':
      if (!state.cursor.live) return { ...state, cursor: { live: true } };
      // lastMs is exclusive: the newest recorded moment is just before it.
      return state.range === undefined ? state : { ...state, cursor: { live: false, atMs: state.range.lastMs - 1 } };
    case 'time.live':
      return state.cursor.live ? state : { ...state, cursor: { live: true } };
    case 'time.lastSeen':
      // Exit in place: the container's last second, from the ring (or the store), as any paused moment.
      if (state.view !== 'container') return state;
      if (lists.lastSeenMs === undefined) return { ...state, notice: 'r shows the last second of a container that ended while watched' };
      return { ...state, tier: 'second', cursor: { live: false, atMs: lists.lastSeenMs } };
    case 'help':
      return { ...state, help: true, editingFilter: false };
    case 'quit':
      return { ...state, quit: true };
    case 'menu.select':
    case 'menu.cancel':
      return state;
  }
}

/**
 * F3: selects the first row from the selection on (`skip` 1: after it) whose text holds the search, case-insensitive,
 * wrapping at the end; leaves the selection where it is when no row matches.
 */
function searchFrom(state: State, lists: Lists, skip: 0 | 1): State {
  const name = state.view === 'containers' ? 'containers' : 'processes';
  const texts = name === 'containers' ? lists.containerTexts : lists.processTexts;
  const rows = lists[name];
  const needle = state.search.toLowerCase();
  if (needle === '' || texts === undefined || rows.length === 0) return state;
  const height = listHeight(state, name);
  const { index, top } = resolveList(state[name], rows, height);
  for (let n = 0; n < rows.length; n++) {
    const i = (index + skip + n) % rows.length;
    if (texts[i]?.toLowerCase().includes(needle)) {
      return withList(state, name, { index: i, top: scrollWindow(i, top, rows.length, height), key: rows[i]! });
    }
  }
  return state;
}

/** Folds or unfolds the selected process, when it has children. */
function toggleFold(state: State, lists: Lists): State {
  const { index } = resolveList(state.processes, lists.processes, listHeight(state, 'processes'));
  const key = lists.processes[index];
  if (key === undefined) return state;
  const collapsed = new Set(state.collapsed);
  if (collapsed.has(key)) collapsed.delete(key);
  else if (lists.parents.includes(key)) collapsed.add(key);
  else return state;
  return { ...state, collapsed, processes: { ...state.processes, index, key } };
}

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case 'command': {
      // A notice stays until the next key.
      if (state.notice === undefined) return onCommand(state, action.command, action.lists);
      const { notice: _, ...rest } = state;
      return onCommand(rest, action.command, action.lists);
    }
    case 'notice':
      return { ...state, notice: action.text };
    case 'data':
      return { ...state, dataVersion: state.dataVersion + 1, ...(action.range !== undefined && { range: action.range }) };
    case 'resize':
      return action.columns === state.columns && action.rows === state.rows ? state : { ...state, columns: action.columns, rows: action.rows };
    case 'filter.input': {
      if (!state.editingFilter) return state;
      if (state.prompt === 'search') return searchFrom({ ...state, search: state.search + action.text }, action.lists ?? EMPTY_LISTS, 0);
      const filter = filterKey(state);
      return { ...state, [filter]: state[filter] + action.text };
    }
  }
}
