/** Ink Key objects and the bytes a terminal sends, for the keymap and App tests. */
import type { Key } from 'ink';

export function inkKey(over: Partial<Key> = {}): Key {
  return {
    upArrow: false,
    downArrow: false,
    leftArrow: false,
    rightArrow: false,
    pageDown: false,
    pageUp: false,
    home: false,
    end: false,
    return: false,
    escape: false,
    ctrl: false,
    shift: false,
    tab: false,
    backspace: false,
    delete: false,
    meta: false,
    super: false,
    hyper: false,
    capsLock: false,
    numLock: false,
    ...over,
  };
}

/** What Ink's useInput reports for each named key (input, key), as a terminal in raw mode sends it. */
export const NAMED: Readonly<Record<string, [string, Key]>> = {
  up: ['', inkKey({ upArrow: true })],
  down: ['', inkKey({ downArrow: true })],
  left: ['', inkKey({ leftArrow: true })],
  right: ['', inkKey({ rightArrow: true })],
  pageup: ['', inkKey({ pageUp: true })],
  pagedown: ['', inkKey({ pageDown: true })],
  home: ['', inkKey({ home: true })],
  end: ['', inkKey({ end: true })],
  enter: ['\r', inkKey({ return: true })],
  escape: ['', inkKey({ escape: true, meta: true })],
  // Most terminals send DEL (0x7f) for Backspace, which Ink reports as `delete`.
  backspace: ['', inkKey({ delete: true })],
  tab: ['', inkKey({ tab: true })],
  'shift-tab': ['', inkKey({ tab: true, shift: true })],
  space: [' ', inkKey()],
  'ctrl-c': ['c', inkKey({ ctrl: true })],
};

/** The input/key pair for a key name of the keymap. */
export function press(name: string): [string, Key] {
  return NAMED[name] ?? [name, inkKey({ shift: /^[A-Z]$/.test(name) })];
}

/** Bytes a terminal sends, for stdin.write in App tests. */
export const BYTES = {
  up: '\u001b[A',
  down: '\u001b[B',
  right: '\u001b[C',
  left: '\u001b[D',
  pageup: '\u001b[5~',
  pagedown: '\u001b[6~',
  home: '\u001b[H',
  end: '\u001b[F',
  enter: '\r',
  escape: '\u001b',
  backspace: '\u007f',
  tab: '\t',
  shiftTab: '\u001b[Z',
  ctrlC: '\u0003',
} as const;

/** Function keys as tmux and xterm send them (TERM=screen/xterm: SS3 for F1-F4, CSI n~ after). */
export const FKEY_BYTES: Readonly<Record<string, string>> = {
  f1: '\u001bOP',
  f2: '\u001bOQ',
  f3: '\u001bOR',
  f4: '\u001bOS',
  f5: '\u001b[15~',
  f6: '\u001b[17~',
  f7: '\u001b[18~',
  f8: '\u001b[19~',
  f9: '\u001b[20~',
  f10: '\u001b[21~',
};
