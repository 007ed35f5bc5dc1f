import { describe, expect, it } from 'vitest';
import { CONTAINER_SORTS, PROCESS_SORTS } from '../../src/model/sort.js';
import type { Command } from '../../src/tui/keymap.js';
import { layout, scrollWindow } from '../../src/tui/layout.js';
import { EMPTY_LISTS, initialState, listHeight, reduce, resolveList, type Lists, type State } from '../../src/tui/state.js';

const keys = (n: number, prefix = 'k'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const LISTS: Lists = { containers: keys(50, 'c'), processes: keys(100, 'p'), parents: ['p0', 'p3'], files: 30, network: 4 };
const base = (over: Partial<Parameters<typeof initialState>[0]> = {}): State => initialState({ columns: 80, rows: 24, ...over });

function run(state: State, ...commands: Command[]): State {
  return commands.reduce((s, command) => reduce(s, { type: 'command', command, lists: LISTS }), state);
}

describe('layout and windowing', () => {
  it('splits 80x24 into a 23-line frame', () => {
    const l = layout(80, 24);
    expect(l.lines).toBe(23);
    expect(l.containerRows).toBe(19);
    // Container view: 2 info + header + processes + pane title + panes = body.
    expect(2 + 1 + l.processRows + 1 + l.paneRows).toBe(l.body);
    expect(l.filesWidth + 1 + l.networkWidth).toBe(80);
  });

  it('scrolls only when the selection leaves the window', () => {
    expect(scrollWindow(0, 0, 100, 10)).toBe(0);
    expect(scrollWindow(9, 0, 100, 10)).toBe(0);
    expect(scrollWindow(10, 0, 100, 10)).toBe(1);
    expect(scrollWindow(50, 45, 100, 10)).toBe(45);
    expect(scrollWindow(44, 45, 100, 10)).toBe(44);
    expect(scrollWindow(99, 0, 100, 10)).toBe(90);
    // Never past the end, never negative; short lists do not scroll.
    expect(scrollWindow(95, 95, 100, 10)).toBe(90);
    expect(scrollWindow(3, 7, 5, 10)).toBe(0);
    expect(scrollWindow(0, 0, 0, 10)).toBe(0);
  });

  it('follows the selected key when rows reorder, and clamps when it is gone', () => {
    const list = { index: 2, top: 0, key: 'b' };
    expect(resolveList(list, ['x', 'y', 'b'], 10).index).toBe(2);
    expect(resolveList(list, ['b', 'x', 'y'], 10).index).toBe(0);
    expect(resolveList(list, ['x', 'y'], 10).index).toBe(1);
    expect(resolveList(list, [], 10)).toEqual({ index: 0, top: 0 });
    expect(resolveList({ index: 40, top: 0 }, 50, 10)).toEqual({ index: 40, top: 31 });
  });
});

describe('reduce: moving', () => {
  it('moves up, down, by page, home and end, keeping the window on the selection', () => {
    const h = listHeight(base(), 'containers');
    let s = run(base(), 'cursor.down', 'cursor.down');
    expect(s.containers).toEqual({ index: 2, top: 0, key: 'c2' });
    s = run(s, 'cursor.up');
    expect(s.containers.index).toBe(1);
    s = run(s, 'cursor.up', 'cursor.up');
    expect(s.containers.index).toBe(0);
    s = run(s, 'cursor.pageDown');
    expect(s.containers).toEqual({ index: h, top: 1, key: `c${h}` });
    s = run(s, 'cursor.pageUp');
    expect(s.containers.index).toBe(0);
    expect(s.containers.top).toBe(0);
    s = run(s, 'cursor.end');
    expect(s.containers).toEqual({ index: 49, top: 50 - h, key: 'c49' });
    s = run(s, 'cursor.down');
    expect(s.containers.index).toBe(49);
    s = run(s, 'cursor.home');
    expect(s.containers).toEqual({ index: 0, top: 0, key: 'c0' });
  });

  it('moves the focused pane in the container view, windowed to its own height', () => {
    let s = run(base({ containerKey: 'c1' }), 'cursor.down');
    expect(s.processes.index).toBe(1);
    s = run(s, 'focus.next', 'cursor.end');
    expect(s.focus).toBe('files');
    expect(s.files.index).toBe(29);
    expect(s.files.top).toBe(30 - listHeight(s, 'files'));
    expect(s.processes.index).toBe(1);
    s = run(s, 'focus.next', 'cursor.down', 'cursor.down', 'cursor.down', 'cursor.down', 'cursor.down');
    expect(s.focus).toBe('network');
    expect(s.network.index).toBe(3);
    s = run(s, 'focus.next');
    expect(s.focus).toBe('processes');
    s = run(s, 'focus.prev');
    expect(s.focus).toBe('network');
  });

  it('does nothing on an empty list', () => {
    const s = reduce(base(), { type: 'command', command: 'cursor.down', lists: EMPTY_LISTS });
    expect(s.containers).toEqual({ index: 0, top: 0 });
  });

  it('re-windows with the new size after a resize', () => {
    let s = run(base(), 'cursor.end');
    s = reduce(s, { type: 'resize', columns: 120, rows: 40 });
    expect(s.columns).toBe(120);
    s = run(s, 'cursor.up');
    expect(s.containers.index).toBe(48);
    expect(s.containers.top).toBe(50 - listHeight(s, 'containers'));
  });
});

describe('reduce: views', () => {
  it('opens the selected container with Enter and goes back with Esc/Backspace', () => {
    let s = run(base(), 'cursor.down', 'open');
    expect(s.view).toBe('container');
    expect(s.containerKey).toBe('c1');
    expect(s.focus).toBe('processes');
    s = run(s, 'cursor.down', 'focus.next', 'back');
    expect(s.view).toBe('containers');
    expect(s.containerKey).toBeUndefined();
    expect(s.containers.key).toBe('c1');
    // Back on the top view is nothing.
    expect(run(s, 'back')).toEqual(s);
  });

  it('opens nothing when no container is listed', () => {
    const s = reduce(base(), { type: 'command', command: 'open', lists: EMPTY_LISTS });
    expect(s.view).toBe('containers');
  });

  it('starts in a container when asked', () => {
    const s = base({ containerKey: 'docker:x' });
    expect(s.view).toBe('container');
    expect(s.containerKey).toBe('docker:x');
  });

  it('opens help over any view, closes it with ? Esc or Backspace, and ignores other keys there', () => {
    let s = run(base({ containerKey: 'c1' }), 'help');
    expect(s.help).toBe(true);
    expect(run(s, 'cursor.down').processes).toEqual(s.processes);
    expect(run(s, 'help').help).toBe(false);
    expect(run(s, 'back').help).toBe(false);
    expect(run(s, 'back').view).toBe('container');
    s = run(s, 'quit');
    expect(s.quit).toBe(true);
  });

  it('cycles the sort of the current view', () => {
    let s = base();
    const seen: string[] = [];
    for (let i = 0; i < CONTAINER_SORTS.length; i++) {
      seen.push(s.containerSort);
      s = run(s, 'sort.next');
    }
    expect(seen).toEqual([...CONTAINER_SORTS]);
    expect(s.containerSort).toBe('cpu');
    s = run(s, 'open', 'sort.next');
    expect(s.processSort).toBe(PROCESS_SORTS[1]);
    expect(s.containerSort).toBe('cpu');
  });

  it('toggles tree/flat and kernel threads, and folds processes in tree mode only', () => {
    let s = run(base({ containerKey: 'c1' }), 'tree.toggle');
    // p0 has children.
    expect([...s.collapsed]).toEqual(['p0']);
    s = run(s, 'open');
    expect([...s.collapsed]).toEqual([]);
    // A leaf does not fold.
    s = run(s, 'cursor.down', 'tree.toggle');
    expect(s.collapsed.size).toBe(0);
    s = run(s, 'tree.collapseAll');
    expect([...s.collapsed].sort()).toEqual(['p0', 'p3']);
    s = run(s, 'tree.expandAll');
    expect(s.collapsed.size).toBe(0);
    s = run(s, 'view.tree');
    expect(s.tree).toBe(false);
    s = run(s, 'cursor.home', 'tree.toggle', 'open');
    expect(s.collapsed.size).toBe(0);
    s = run(s, 'view.kernel');
    expect(s.kernelThreads).toBe(true);
    // t means nothing on the containers list.
    expect(run(base(), 'view.tree').tree).toBe(true);
    // Folding needs the process list focused.
    expect(run(base({ containerKey: 'c1' }), 'focus.next', 'tree.toggle').collapsed.size).toBe(0);
  });

  it('quits on q', () => {
    expect(run(base(), 'quit').quit).toBe(true);
  });
});

describe('reduce: filter', () => {
  it('edits the filter of the current view: type, erase, keep, and clear with Esc', () => {
    let s = run(base(), 'filter.start');
    expect(s.editingFilter).toBe(true);
    s = reduce(s, { type: 'filter.input', text: 'we' });
    s = reduce(s, { type: 'filter.input', text: 'bx' });
    expect(s.containerFilter).toBe('webx');
    s = run(s, 'filter.erase');
    expect(s.containerFilter).toBe('web');
    s = run(s, 'filter.commit');
    expect(s.editingFilter).toBe(false);
    expect(s.containerFilter).toBe('web');
    // Text typed when not editing goes nowhere.
    expect(reduce(s, { type: 'filter.input', text: 'z' }).containerFilter).toBe('web');
    // Esc (back) first clears an active filter, then goes back.
    s = run(s, 'back');
    expect(s.containerFilter).toBe('');
    s = run(s, 'filter.start');
    s = reduce(s, { type: 'filter.input', text: 'db' });
    s = run(s, 'filter.cancel');
    expect(s).toMatchObject({ editingFilter: false, containerFilter: '' });
  });

  it('keeps a filter per view; opening a container starts its processes unfiltered', () => {
    let s = run(base(), 'filter.start');
    s = reduce(s, { type: 'filter.input', text: 'web' });
    s = run(s, 'filter.commit', 'open', 'filter.start');
    s = reduce(s, { type: 'filter.input', text: 'nginx' });
    expect(s.processFilter).toBe('nginx');
    expect(s.containerFilter).toBe('web');
    s = run(s, 'filter.commit', 'back');
    expect(s.view).toBe('container');
    expect(s.processFilter).toBe('');
    s = run(s, 'back');
    expect(s.view).toBe('containers');
    expect(s.containerFilter).toBe('web');
  });

  it('erases whole characters', () => {
    let s = run(base(), 'filter.start');
    s = reduce(s, { type: 'filter.input', text: 'a😀' });
    expect(run(s, 'filter.erase').containerFilter).toBe('a');
  });
});

describe('reduce: time cursor', () => {
  const range = { firstMs: 1_000_000, lastMs: 1_600_500 };
  const timed = (over: Partial<Parameters<typeof initialState>[0]> = {}): State => base({ range, ...over });

  it('steps back one bucket of the tier from live, and forward again', () => {
    let s = run(timed(), 'time.back');
    expect(s.cursor).toEqual({ live: false, atMs: 1_599_000 });
    s = run(s, 'time.back', 'time.back');
    expect(s.cursor).toEqual({ live: false, atMs: 1_597_000 });
    s = run(s, 'time.forward');
    expect(s.cursor).toEqual({ live: false, atMs: 1_598_000 });
    // Up to the newest bucket, then past it: live again.
    s = run(s, 'time.forward', 'time.forward');
    expect(s.cursor).toEqual({ live: false, atMs: 1_600_000 });
    s = run(s, 'time.forward');
    expect(s.cursor).toEqual({ live: true });
    // Forward while live stays live.
    expect(run(s, 'time.forward').cursor).toEqual({ live: true });
  });

  it('stops at the first recorded bucket', () => {
    let s = timed({ atMs: 1_002_000 });
    s = run(s, 'time.back', 'time.back', 'time.back', 'time.back');
    expect(s.cursor).toEqual({ live: false, atMs: 1_000_000 });
  });

  it('switches tier with [ and ], stepping by the new tier', () => {
    let s = run(timed(), 'tier.coarser');
    expect(s.tier).toBe('minute');
    s = run(s, 'time.back');
    expect(s.cursor).toEqual({ live: false, atMs: 1_560_000 - 60_000 });
    s = run(s, 'tier.coarser', 'tier.coarser', 'tier.coarser');
    expect(s.tier).toBe('day');
    s = run(s, 'tier.finer', 'tier.finer', 'tier.finer', 'tier.finer');
    expect(s.tier).toBe('second');
    // The moment stays where it was; only the step changes.
    expect(s.cursor).toEqual({ live: false, atMs: 1_500_000 });
  });

  it('pauses at the newest moment with space and resumes with space, L or End on the last row', () => {
    let s = run(timed(), 'time.pause');
    expect(s.cursor).toEqual({ live: false, atMs: 1_600_499 });
    // New data keeps coming; the paused moment does not move.
    s = reduce(s, { type: 'data', range: { firstMs: 1_000_000, lastMs: 1_700_000 } });
    expect(s.cursor).toEqual({ live: false, atMs: 1_600_499 });
    expect(s.range?.lastMs).toBe(1_700_000);
    expect(s.dataVersion).toBe(1);
    expect(run(s, 'time.pause').cursor).toEqual({ live: true });
    expect(run(s, 'time.live').cursor).toEqual({ live: true });
    // End: first to the last row; on the last row, to live.
    const atEnd = run(s, 'cursor.end');
    expect(atEnd.cursor.live).toBe(false);
    expect(atEnd.containers.index).toBe(49);
    expect(run(atEnd, 'cursor.end').cursor).toEqual({ live: true });
  });

  it('r goes to the last second of a container that ended (exit in place), in the second tier', () => {
    const viewing = run(base({ containerKey: 'docker:abc', tier: 'hour' }));
    const ended: Lists = { ...LISTS, lastSeenMs: 1_234_000 };
    const s = reduce(viewing, { type: 'command', command: 'time.lastSeen', lists: ended });
    expect(s.cursor).toEqual({ live: false, atMs: 1_234_000 });
    expect(s.tier).toBe('second');
    // A running container has no last second: the key says what it is for, and nothing moves.
    const running = run(viewing, 'time.lastSeen');
    expect(running.cursor).toEqual({ live: true });
    expect(running.notice).toMatch(/ended/);
    // The list of containers has no "the" container.
    expect(reduce(base(), { type: 'command', command: 'time.lastSeen', lists: ended }).cursor).toEqual({ live: true });
  });

  it('cannot pause or step without data', () => {
    expect(run(base(), 'time.pause').cursor).toEqual({ live: true });
    expect(run(base(), 'time.back').cursor).toEqual({ live: true });
  });

  it('starts at a moment when asked (replay --at)', () => {
    expect(timed({ atMs: 1_234_567 }).cursor).toEqual({ live: false, atMs: 1_234_567 });
  });
});
