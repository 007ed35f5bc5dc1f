/**
 * The line-diff writer: what it writes, applied to a small terminal model (cursor moves, text, erase to end of line),
 * gives the screen the lines say, and a frame where one number moved writes one line.
 */
import { describe, expect, it } from 'vitest';
import { LineWriter } from '../../src/tui/line-writer.js';
import { line, type ScreenLine } from '../../src/tui/spans.js';

/** Applies CUP (ESC [ r ; c H), EL (ESC [ K) and SGR (ignored) to rows of cells. */
class Terminal {
  readonly rows: string[][];
  readonly width: number;
  private row = 0;
  private col = 0;
  constructor(width: number, height: number) {
    this.width = width;
    this.rows = Array.from({ length: height }, () => Array<string>(width).fill(' '));
  }
  write(text: string): void {
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '\u001b' && text[i + 1] === '[') {
        const end = text.slice(i + 2).search(/[A-Za-z]/) + i + 2;
        const args = text.slice(i + 2, end);
        const cmd = text[end];
        if (cmd === 'H') {
          const [r, c] = args.split(';').map(Number);
          this.row = (r ?? 1) - 1;
          this.col = (c ?? 1) - 1;
        } else if (cmd === 'K') {
          for (let c = this.col; c < this.width; c++) this.rows[this.row]![c] = ' ';
        }
        i = end;
        continue;
      }
      if (this.col < this.width) this.rows[this.row]![this.col] = text[i]!;
      this.col = Math.min(this.col + 1, this.width - 1);
    }
  }
  screen(): string[] {
    return this.rows.map((r) => r.join('').trimEnd());
  }
}

describe('LineWriter', () => {
  it('draws the lines, then rewrites only the line that changed, erasing what is left of the old one', () => {
    const term = new Terminal(20, 4);
    const writes: string[] = [];
    const writer = new LineWriter({ write: (t: string) => (writes.push(t), term.write(t)) });
    const frame = (cpu: string): ScreenLine[] => [line(' bubble', { bold: true }), line(` web-1  ${cpu}`), line(' cache  0.0'), line(' status ok')];
    writer.paint(frame('100.0'), 20, true);
    expect(term.screen()).toEqual([' bubble', ' web-1  100.0', ' cache  0.0', ' status ok']);
    writer.paint(frame('9.5'), 20, true);
    expect(term.screen()).toEqual([' bubble', ' web-1  9.5', ' cache  0.0', ' status ok']);
    expect(writes).toHaveLength(2);
    // One cursor move: only row 2 was written.
    expect(writes[1]!.match(/\u001b\[\d+;1H/g)).toEqual(['\u001b[2;1H']);
    writer.paint(frame('9.5'), 20, true);
    expect(writes).toHaveLength(2);
    expect(writer.screen()).toEqual(term.screen());
  });

  it('cuts a line at the width with "…", never erases a full-width line, and clears rows no longer drawn', () => {
    const term = new Terminal(10, 3);
    const writer = new LineWriter(term);
    writer.paint([line('0123456789abc'), line('0123456789'), line('x')], 10, false);
    expect(term.screen()).toEqual(['012345678…', '0123456789', 'x']);
    writer.paint([line('short')], 10, false);
    expect(term.screen()).toEqual(['short', '', '']);
    expect(writer.widths()).toEqual([5]);
  });

  it('counts wide characters as two columns', () => {
    const term = new Terminal(12, 1);
    const writer = new LineWriter(term);
    writer.paint([line(' 名前が長いコンテナ web')], 12, false);
    expect(writer.widths()[0]).toBeLessThanOrEqual(12);
    expect(writer.screen()[0]).toMatch(/…$/);
  });

  it('writes everything again after invalidate() (the terminal was cleared on resize)', () => {
    const writes: string[] = [];
    const writer = new LineWriter({ write: (t: string) => writes.push(t) });
    writer.paint([line('a'), line('b')], 10, false);
    writer.invalidate();
    writer.paint([line('a'), line('b')], 10, false);
    expect(writes[1]!.match(/\u001b\[\d+;1H/g)).toHaveLength(2);
  });
});
