/** The bundled TUI measures text through withAsciiFastPath: it must give string-width's own answers. */
import { describe, expect, it } from 'vitest';
import { ONE_COLUMN, withAsciiFastPath, type StringWidth } from '../../src/tui/fast-string-width.js';

/** Ink's dependency (hoisted next to it); a variable specifier, as it is not this project's. */
const realWidth = async (): Promise<StringWidth> => ((await import('string-width' as string)) as { default: StringWidth }).default;

describe('withAsciiFastPath', () => {
  it("gives string-width's answer for ASCII, control characters, ANSI styles, wide and combining characters", async () => {
    const real = await realWidth();
    let calls = 0;
    const counted: StringWidth = (text, options) => (calls++, real(text, options));
    const fast = withAsciiFastPath(counted);
    const samples = [
      '',
      ' ',
      'bubble top  4 containers  live 1s',
      '  29408 29408 root       0.0  1.4M     0     0    1   sleep 600',
      '~!@#$%^&*()_+{}|:"<>?`-=[]\\;\',./',
      'tab\there',
      'bell\u0007',
      'del\u007f',
      '\u001b[1mbold\u001b[22m',
      '\u001b[7m>selected\u001b[27m',
      '日本語',
      'e\u0301',
      '😀 emoji',
      'caf\u00e9',
      '\u200b zero width',
    ];
    for (const text of samples) expect(fast(text), JSON.stringify(text)).toBe(real(text));
    for (const c of ONE_COLUMN) {
      expect(real(c), c).toBe(1);
      expect(c.length).toBe(1);
      expect(fast(`${c}x${c}`)).toBe(real(`${c}x${c}`));
    }
    for (const code of [...Array(0x250).keys(), ...Array.from({ length: 0x180 }, (_, i) => 0x2180 + i), ...Array.from({ length: 0x100 }, (_, i) => 0x2500 + i)]) {
      const text = `a${String.fromCharCode(code)}b`;
      expect(fast(text), `U+${code.toString(16)}`).toBe(real(text));
    }
    // Styled text: SGR sequences of every parameter shape, valid or not, around fast-path and other text.
    const params = ['', '0', '1', '7', '27', '31', '38;5;208', '38;2;255;0;0', '48;2;1;22;255', '1;31', '1234', '38;2;1000;0;0', ';', '1;', ';1'];
    for (const p of params) {
      for (const body of ['ok', '0.0  1.4M', '▁▂█ ▼', '日本', 'tab\t']) {
        const text = `\u001b[${p}m${body}\u001b[0m|\u001b[${p}m`;
        expect(fast(text), JSON.stringify(text)).toBe(real(text));
      }
    }
    // The slow path was taken for what is not printable ASCII, and only for that.
    const before = calls;
    fast('plain ascii row');
    fast('\u001b[7m>selected row ▼\u001b[27m');
    expect(calls).toBe(before);
    fast('日本');
    expect(calls).toBe(before + 1);
  });
});
