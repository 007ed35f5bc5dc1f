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
  readonly containerFilter: string;
  readonly processFilter: string;
  /** `/` was pressed: typed characters go to the current view's filter. */
  readonly editingFilter: boolean;
  readonly tree: boolean;
  /** Processes whose children are folded away (tree mode). */
  readonly collapsed: ReadonlySet<string>;
  readonly kernelThreads: boolean;
  readonly focus: Focus;
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
  /** Processes that have children in the current tree (what "fold all" folds). */
  readonly parents: readonly string[];
  readonly files: number;
  readonly network: number;
}

export const EMPTY_LISTS: Lists = { containers: [], processes: [], parents: [], files: 0, network: 0 };

export type Action =
  | { readonly type: 'command'; readonly command: Command; readonly lists: Lists }
  /** New data arrived (a live tick); `range` is what the source now holds. */
  | { readonly type: 'data'; readonly range: TimeRange | undefined }
  | { readonly type: 'resize'; readonly columns: number; readonly rows: number }
  /** Typed (or pasted) text for the filter being edited. */
  | { readonly type: 'filter.input'; readonly text: string };

export interface InitOptions {
  readonly columns: number;
  readonly rows: number;
  /** Open this container's view directly (`bubble top web-1`). */
  readonly containerKey?: string;
  /** Start at this moment instead of live (`bubble replay --at`). */
  readonly atMs?: number;
  readonly tier?: Tier;
  readonly range?: TimeRange;
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
    containerSort: 'cpu',
    processSort: 'cpu',
    containerFilter: '',
    processFilter: '',
    editingFilter: false,
    tree: true,
    collapsed: new Set(),
    kernelThreads: false,
    focus: 'processes',
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

function onCommand(state: State, command: Command, lists: Lists): State {
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
    case 'filter.start':
      return { ...state, editingFilter: true };
    case 'filter.commit':
      return { ...state, editingFilter: false };
    case 'filter.cancel':
      return { ...state, editingFilter: false, [filterKey(state)]: '' };
    case 'filter.erase': {
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
    case 'help':
      return { ...state, help: true, editingFilter: false };
    case 'quit':
      return { ...state, quit: true };
  }
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
    case 'command':
      return onCommand(state, action.command, action.lists);
    case 'data':
      return { ...state, dataVersion: state.dataVersion + 1, ...(action.range !== undefined && { range: action.range }) };
    case 'resize':
      return action.columns === state.columns && action.rows === state.rows ? state : { ...state, columns: action.columns, rows: action.rows };
    case 'filter.input': {
      if (!state.editingFilter) return state;
      const filter = filterKey(state);
      return { ...state, [filter]: state[filter] + action.text };
    }
  }
}
