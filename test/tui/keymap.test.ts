import { describe, expect, it } from 'vitest';
import {
  commandFor,
  commandForName,
  filterInputFor,
  FILTER_KEYMAP,
  functionKeyIn,
  KEYMAP,
  keyLabel,
  keyName,
  MENU_KEYMAP,
  splitInput,
} from '../../src/tui/keymap.js';
import { helpLines } from '../../src/tui/rows.js';
import { FKEY_BYTES, inkKey, press } from './keys.js';

describe('keymap', () => {
  it('binds every key of the issue to a command', () => {
    const wanted: Record<string, string> = {
      up: 'cursor.up',
      down: 'cursor.down',
      pageup: 'cursor.pageUp',
      pagedown: 'cursor.pageDown',
      home: 'cursor.home',
      end: 'cursor.end',
      enter: 'open',
      escape: 'back',
      backspace: 'back',
      s: 'sort.next',
      '/': 'filter.start',
      t: 'view.tree',
      tab: 'focus.next',
      '?': 'help',
      q: 'quit',
      left: 'time.back',
      right: 'time.forward',
      '[': 'tier.finer',
      ']': 'tier.coarser',
      space: 'time.pause',
      L: 'time.live',
      c: 'tree.toggle',
      'ctrl-c': 'quit',
    };
    for (const [name, command] of Object.entries(wanted)) expect(commandFor(...press(name)), name).toBe(command);
  });

  it('reaches every command of the table through its keys', () => {
    for (const binding of KEYMAP) {
      for (const k of binding.keys) {
        // Function keys arrive as raw sequences (Ink does not name them): through functionKeyIn, then by name.
        const got = /^f\d+$/.test(k) ? commandForName(functionKeyIn(FKEY_BYTES[k]!)!) : commandFor(...press(k));
        expect(got, `${k} -> ${binding.command}`).toBe(binding.command);
      }
    }
  });

  it('binds no key twice, in any mode', () => {
    for (const table of [KEYMAP, FILTER_KEYMAP, MENU_KEYMAP]) {
      const keys = table.flatMap((b) => [...b.keys]);
      expect(new Set(keys).size).toBe(keys.length);
    }
    const commands = KEYMAP.map((b) => b.command);
    expect(new Set(commands).size).toBe(commands.length);
  });

  it('is case sensitive: L is live, l is nothing; K toggles kernel threads, k moves up', () => {
    expect(commandFor(...press('L'))).toBe('time.live');
    expect(commandFor('l', inkKey())).toBeUndefined();
    expect(commandFor(...press('K'))).toBe('view.kernel');
    expect(commandFor('k', inkKey())).toBe('cursor.up');
  });

  it('names keys the way Ink reports them', () => {
    expect(keyName('', inkKey({ backspace: true }))).toBe('backspace');
    expect(keyName('', inkKey({ delete: true }))).toBe('backspace');
    expect(keyName('\n', inkKey())).toBe('enter');
    expect(keyName('', inkKey({ tab: true, shift: true }))).toBe('shift-tab');
    expect(keyName('x', inkKey({ ctrl: true }))).toBeUndefined();
    // Alt+s is not s.
    expect(keyName('s', inkKey({ meta: true }))).toBeUndefined();
    // A pasted string is no key.
    expect(keyName('sss', inkKey())).toBeUndefined();
    expect(keyName('\u0007', inkKey())).toBeUndefined();
    expect(keyName('é', inkKey())).toBe('é');
  });

  it('lists every binding of both tables in the help screen', () => {
    const text = helpLines(120, 40).join('\n');
    for (const b of [...KEYMAP, ...FILTER_KEYMAP]) {
      expect(text).toContain(b.help);
      for (const k of b.keys) expect(text).toContain(keyLabel(k));
    }
    // And at 80x24 (20 body lines), nothing of it is cut.
    const small = helpLines(80, 20);
    expect(small.length).toBeLessThanOrEqual(20);
    for (const line of small) expect(line.length).toBeLessThanOrEqual(80);
    const smallText = small.join('\n');
    for (const b of [...KEYMAP, ...FILTER_KEYMAP]) expect(smallText).toContain(b.help);
    expect(smallText).not.toContain('…');
  });
});

describe('filter mode keys', () => {
  it('appends typed text, letters included, and maps Enter, Esc and Backspace', () => {
    expect(filterInputFor('q', inkKey())).toEqual({ text: 'q' });
    expect(filterInputFor(' ', inkKey())).toEqual({ text: ' ' });
    expect(filterInputFor('ngi', inkKey())).toEqual({ text: 'ngi' });
    expect(filterInputFor(...press('enter'))).toEqual({ command: 'filter.commit' });
    expect(filterInputFor(...press('escape'))).toEqual({ command: 'filter.cancel' });
    expect(filterInputFor(...press('backspace'))).toEqual({ command: 'filter.erase' });
  });

  it('still moves with arrows and pages, quits on Ctrl-C, and drops control characters and other keys', () => {
    expect(filterInputFor(...press('up'))).toEqual({ command: 'cursor.up' });
    expect(filterInputFor(...press('pagedown'))).toEqual({ command: 'cursor.pageDown' });
    expect(filterInputFor(...press('left'))).toBeUndefined();
    expect(filterInputFor(...press('tab'))).toBeUndefined();
    expect(filterInputFor('x', inkKey({ ctrl: true }))).toBeUndefined();
    expect(filterInputFor(...press('ctrl-c'))).toEqual({ command: 'quit' });
    expect(filterInputFor('a\u001b[2Jb', inkKey())).toEqual({ text: 'a[2Jb' });
  });
});

describe('chunks of keys', () => {
  it('splits a run of plain characters into keys, Enter, Tab, Backspace and Ctrl-C included', () => {
    const keys = splitInput('ab\rQ\t\u007f\u0003 ', inkKey());
    expect(keys.map(([input, key]) => keyName(input, key))).toEqual(['a', 'b', 'enter', 'Q', 'tab', 'backspace', 'ctrl-c', 'space']);
    expect(commandFor(...keys[6]!)).toBe('quit');
  });

  it('leaves single keys and modified keys alone', () => {
    const up = press('up');
    expect(splitInput(...up)).toEqual([up]);
    expect(splitInput('x', inkKey())).toEqual([['x', inkKey()]]);
    expect(splitInput('😀', inkKey())).toHaveLength(1);
  });
});
