/**
 * Every key of `bubble top`, as data: the reducer acts on commands, the help screen lists this table, and a test
 * checks that no key is bound twice. Keys are named, not matched by code: `keyName()` turns what Ink's useInput
 * reports into one of these names.
 *
 * Named keys: up down left right pageup pagedown home end enter escape backspace tab shift-tab space ctrl-c; any other
 * name is the one printable character it types (case matters: `L` is live, `l` is nothing).
 */
import type { Key } from 'ink';

export interface Binding {
  readonly command: string;
  readonly keys: readonly string[];
  /** What the help screen says; short enough for half of an 80-column screen. */
  readonly help: string;
}

/**
 * The main keymap. End is "last row" in a list; pressing it again on the last row returns to live (so End works as
 * "the end of everything"), and `L` always returns to live.
 */
export const KEYMAP = [
  { command: 'cursor.up', keys: ['up', 'k'], help: 'move up' },
  { command: 'cursor.down', keys: ['down', 'j'], help: 'move down' },
  { command: 'cursor.pageUp', keys: ['pageup'], help: 'page up' },
  { command: 'cursor.pageDown', keys: ['pagedown'], help: 'page down' },
  { command: 'cursor.home', keys: ['home', 'g'], help: 'first row' },
  { command: 'cursor.end', keys: ['end', 'G'], help: 'last row; again: live' },
  { command: 'open', keys: ['enter'], help: 'open container / fold' },
  { command: 'back', keys: ['escape', 'backspace'], help: 'clear filter, else back' },
  { command: 'sort.next', keys: ['s'], help: 'next sort order' },
  { command: 'sort.menu', keys: ['f6'], help: 'sort by column (menu)' },
  { command: 'sort.prevColumn', keys: ['<'], help: 'sort by the column left' },
  { command: 'sort.nextColumn', keys: ['>'], help: 'sort by the column right' },
  { command: 'sort.invert', keys: ['I'], help: 'invert the sort order' },
  { command: 'sort.cpu', keys: ['P'], help: 'sort by CPU%' },
  { command: 'sort.mem', keys: ['M'], help: 'sort by memory' },
  { command: 'sort.time', keys: ['T'], help: 'sort by CPU time (TIME+)' },
  { command: 'filter.start', keys: ['/', 'f4'], help: 'filter by name or command' },
  { command: 'search.start', keys: ['f3'], help: 'search (again: next match)' },
  { command: 'view.tree', keys: ['t', 'f5'], help: 'processes: tree or flat' },
  { command: 'tree.toggle', keys: ['c'], help: 'fold/unfold a process' },
  { command: 'tree.collapseAll', keys: ['-'], help: 'fold every process' },
  { command: 'tree.expandAll', keys: ['+', '='], help: 'unfold every process' },
  { command: 'view.kernel', keys: ['K'], help: 'kernel threads: show/hide' },
  { command: 'view.exited', keys: ['a'], help: 'exited containers: on/off' },
  { command: 'kill', keys: ['f9'], help: 'signal the process (kill)' },
  { command: 'focus.next', keys: ['tab'], help: 'next pane (files, net)' },
  { command: 'focus.prev', keys: ['shift-tab'], help: 'previous pane' },
  { command: 'pane.errors', keys: ['e'], help: 'net pane: syscall errors' },
  { command: 'time.back', keys: ['left'], help: 'one bucket back in time' },
  { command: 'time.forward', keys: ['right'], help: 'one bucket on; past: live' },
  { command: 'tier.finer', keys: ['['], help: 'finer tier (zoom in)' },
  { command: 'tier.coarser', keys: [']'], help: 'coarser tier (zoom out)' },
  { command: 'time.pause', keys: ['space'], help: 'pause / resume live' },
  { command: 'time.live', keys: ['L'], help: 'back to live (newest)' },
  { command: 'time.lastSeen', keys: ['r'], help: 'ended: its last second' },
  { command: 'help', keys: ['?', 'f1'], help: 'this help' },
  { command: 'quit', keys: ['q', 'ctrl-c', 'f10'], help: 'quit' },
] as const satisfies readonly Binding[];

/**
 * While `/` filter (or F3 search) text is being typed: these keys, ↑/↓/PgUp/PgDn still move, Ctrl-C still quits, and every other
 * printable character is appended to the filter.
 */
export const FILTER_KEYMAP = [
  { command: 'filter.commit', keys: ['enter'], help: 'keep' },
  { command: 'filter.cancel', keys: ['escape'], help: 'drop' },
  { command: 'filter.erase', keys: ['backspace'], help: 'erase' },
] as const satisfies readonly Binding[];

/**
 * While a menu is open (F6 sort column, F9 signal, and the kill confirmation): ↑/↓/Home/End move in it, and these
 * keys; every other key is ignored, so a stray key never kills anything.
 */
export const MENU_KEYMAP = [
  { command: 'menu.select', keys: ['enter', 'y'], help: 'choose' },
  { command: 'menu.cancel', keys: ['escape', 'backspace', 'n'], help: 'close' },
] as const satisfies readonly Binding[];

export type MainCommand = (typeof KEYMAP)[number]['command'];
export type FilterCommand = (typeof FILTER_KEYMAP)[number]['command'];
export type MenuCommand = (typeof MENU_KEYMAP)[number]['command'];
export type Command = MainCommand | FilterCommand | MenuCommand;

/** Keys that move inside an open menu. */
export const MENU_MODE_PASSTHROUGH: ReadonlySet<string> = new Set(['up', 'down', 'k', 'j', 'home', 'end', 'pageup', 'pagedown', 'ctrl-c']);

/** Keys that keep their main meaning while filter text is typed (named keys only, so letters stay text). */
export const FILTER_MODE_PASSTHROUGH: ReadonlySet<string> = new Set(['up', 'down', 'pageup', 'pagedown', 'ctrl-c']);

/** How the help screen writes a key name. */
export const KEY_LABELS: Readonly<Record<string, string>> = {
  up: '↑',
  down: '↓',
  left: '←',
  right: '→',
  pageup: 'PgUp',
  pagedown: 'PgDn',
  home: 'Home',
  end: 'End',
  enter: 'Enter',
  escape: 'Esc',
  backspace: 'Bksp',
  tab: 'Tab',
  'shift-tab': 'S-Tab',
  space: 'Space',
  'ctrl-c': '^C',
  f1: 'F1',
  f3: 'F3',
  f4: 'F4',
  f5: 'F5',
  f6: 'F6',
  f9: 'F9',
  f10: 'F10',
};

/**
 * Function keys as terminals send them: xterm and tmux (SS3 for F1-F4, CSI n~ for the rest), rxvt and the Linux
 * console (CSI n~ and CSI [A-E). Ink reports these with an empty input and no flag saying which key it was, so the
 * App reads them from the raw input (see functionKeyIn).
 */
const FUNCTION_KEYS: Readonly<Record<string, string>> = {
  '\u001bOP': 'f1',
  '\u001bOQ': 'f2',
  '\u001bOR': 'f3',
  '\u001bOS': 'f4',
  '\u001b[11~': 'f1',
  '\u001b[12~': 'f2',
  '\u001b[13~': 'f3',
  '\u001b[14~': 'f4',
  '\u001b[15~': 'f5',
  '\u001b[17~': 'f6',
  '\u001b[18~': 'f7',
  '\u001b[19~': 'f8',
  '\u001b[20~': 'f9',
  '\u001b[21~': 'f10',
  '\u001b[[A': 'f1',
  '\u001b[[B': 'f2',
  '\u001b[[C': 'f3',
  '\u001b[[D': 'f4',
  '\u001b[[E': 'f5',
};

/** The function key a raw input chunk is, if it is exactly one. */
export function functionKeyIn(data: string): string | undefined {
  return FUNCTION_KEYS[data];
}

export function keyLabel(name: string): string {
  return KEY_LABELS[name] ?? name;
}

/**
 * The name of the key Ink reported, or undefined for keys bubble does not use. Backspace arrives as `delete` on most
 * terminals (they send DEL, 0x7f), so both are `backspace`. Alt+letter is not a letter.
 */
export function keyName(input: string, key: Key): string | undefined {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return || input === '\n') return 'enter';
  if (key.escape) return 'escape';
  if (key.backspace || key.delete) return 'backspace';
  if (key.tab) return key.shift ? 'shift-tab' : 'tab';
  if (key.ctrl) return input === 'c' ? 'ctrl-c' : undefined;
  if (key.meta) return undefined;
  if (input === ' ') return 'space';
  // One printable character (a code point: `input` may be a surrogate pair).
  if ([...input].length === 1 && !/[\u0000-\u001f\u007f-\u009f]/.test(input)) return input;
  return undefined;
}

/** What a lone byte of a pasted or batched chunk is as a key (the subset of Ink's parsing a plain chunk can hold). */
function keyOfChar(ch: string, base: Key): Key {
  const plain: Key = { ...base, return: false, tab: false, backspace: false, delete: false, ctrl: false, shift: /^[A-Z]$/.test(ch) };
  if (ch === '\r') return { ...plain, return: true };
  if (ch === '\t') return { ...plain, tab: true };
  if (ch === '\u007f') return { ...plain, delete: true };
  if (ch === '\b') return { ...plain, backspace: true };
  return plain;
}

/**
 * One key per character. Ink hands over a run of plain characters as one input when they arrive together (a paste,
 * a fast typist over ssh, `tmux send-keys`): `pwned\rq` is three letters of filter, Enter, then q. Escape sequences
 * never reach here joined: Ink splits those itself.
 */
export function splitInput(input: string, key: Key): [string, Key][] {
  const chars = [...input];
  if (chars.length <= 1 || key.ctrl || key.meta) return [[input, key]];
  return chars.map((ch) => {
    const code = ch.charCodeAt(0);
    // Ctrl+letter arrives as 0x01-0x1a; Ink names it by the letter.
    if (code >= 1 && code <= 26 && ch !== '\r' && ch !== '\t' && ch !== '\b') {
      return [String.fromCharCode(code + 96), { ...keyOfChar(ch, key), ctrl: true }];
    }
    return [ch, keyOfChar(ch, key)];
  });
}

function index<B extends Binding>(bindings: readonly B[]): ReadonlyMap<string, B['command']> {
  const map = new Map<string, B['command']>();
  for (const b of bindings) for (const k of b.keys) map.set(k, b.command);
  return map;
}

const MAIN = index(KEYMAP);
const FILTER = index(FILTER_KEYMAP);

/** The main-mode command bound to the key Ink reported, if any. */
export function commandFor(input: string, key: Key): MainCommand | undefined {
  const name = keyName(input, key);
  return name === undefined ? undefined : MAIN.get(name);
}

/** The main-mode command bound to a key name (function keys arrive by name: functionKeyIn). */
export function commandForName(name: string): MainCommand | undefined {
  return MAIN.get(name);
}

const MENU = index(MENU_KEYMAP);

/** What a key name means while a menu is open: its own commands, moves, or nothing. */
export function menuCommandFor(name: string | undefined): Command | undefined {
  if (name === undefined) return undefined;
  const own = MENU.get(name);
  if (own !== undefined) return own;
  return MENU_MODE_PASSTHROUGH.has(name) ? MAIN.get(name) : undefined;
}

/** What a key means while filter text is typed. */
export type FilterInput = { readonly command: Command } | { readonly text: string } | undefined;

export function filterInputFor(input: string, key: Key): FilterInput {
  const name = keyName(input, key);
  if (name !== undefined) {
    const command = FILTER.get(name);
    if (command !== undefined) return { command };
    if (FILTER_MODE_PASSTHROUGH.has(name)) {
      const move = MAIN.get(name);
      if (move !== undefined) return { command: move };
    }
  }
  if (key.ctrl || key.meta || key.escape || key.tab) return undefined;
  // Typed or pasted text; control characters never reach the filter.
  const text = input.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  return text === '' ? undefined : { text };
}
