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
  { command: 'filter.start', keys: ['/'], help: 'filter by name or command' },
  { command: 'view.tree', keys: ['t'], help: 'processes: tree or flat' },
  { command: 'tree.toggle', keys: ['c'], help: 'fold/unfold a process' },
  { command: 'tree.collapseAll', keys: ['-'], help: 'fold every process' },
  { command: 'tree.expandAll', keys: ['+', '='], help: 'unfold every process' },
  { command: 'view.kernel', keys: ['K'], help: 'kernel threads: show/hide' },
  { command: 'focus.next', keys: ['tab'], help: 'next pane (files, net)' },
  { command: 'focus.prev', keys: ['shift-tab'], help: 'previous pane' },
  { command: 'time.back', keys: ['left'], help: 'one bucket back in time' },
  { command: 'time.forward', keys: ['right'], help: 'one bucket on; past: live' },
  { command: 'tier.finer', keys: ['['], help: 'finer tier (zoom in)' },
  { command: 'tier.coarser', keys: [']'], help: 'coarser tier (zoom out)' },
  { command: 'time.pause', keys: ['space'], help: 'pause / resume live' },
  { command: 'time.live', keys: ['L'], help: 'back to live (newest)' },
  { command: 'help', keys: ['?'], help: 'this help' },
  { command: 'quit', keys: ['q', 'ctrl-c'], help: 'quit' },
] as const satisfies readonly Binding[];

/**
 * While `/` filter text is being typed: these keys, ↑/↓/PgUp/PgDn still move, Ctrl-C still quits, and every other
 * printable character is appended to the filter.
 */
export const FILTER_KEYMAP = [
  { command: 'filter.commit', keys: ['enter'], help: 'keep the filter' },
  { command: 'filter.cancel', keys: ['escape'], help: 'drop the filter' },
  { command: 'filter.erase', keys: ['backspace'], help: 'delete a character' },
] as const satisfies readonly Binding[];

export type MainCommand = (typeof KEYMAP)[number]['command'];
export type FilterCommand = (typeof FILTER_KEYMAP)[number]['command'];
export type Command = MainCommand | FilterCommand;

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
};

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
