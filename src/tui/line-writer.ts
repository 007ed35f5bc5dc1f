/**
 * Draws the screen's lines on a real terminal, writing only the lines that changed since the last frame: each changed
 * line is one cursor move, the line, and an erase of what is left of the old one. Why: Ink rebuilds every cell of the
 * frame on every render (its Output), about 5 ms for a 120x40 screen, which put `bubble top` above htop's CPU; a
 * once-a-second screen where a few numbers move needs a few short writes. The lines come from screen.ts, the same ones
 * Ink draws where there is no terminal (tests through ink-testing-library).
 */
import { displayWidth } from '../format.js';
import { fitSpans, styled, type ScreenLine } from './spans.js';

export interface LineSink {
  write(text: string): unknown;
}

/** Cursor to row (1-based), column 1. */
const moveTo = (row: number): string => `\u001b[${row};1H`;
/** Erase from the cursor to the end of the line. */
const ERASE_REST = '\u001b[K';

export class LineWriter {
  private readonly sink: LineSink;
  /** What each row shows now, as written (styled). */
  private shown: string[] = [];
  /** The same rows as plain text: what a user reads (tests). */
  private plain: string[] = [];

  constructor(sink: LineSink) {
    this.sink = sink;
  }

  /** Draws `lines` (at most the screen's height), `width` columns each; only rows that changed are written. */
  paint(lines: readonly ScreenLine[], width: number, color: boolean): void {
    let out = '';
    for (let row = 0; row < lines.length; row++) {
      const fit = fitSpans(lines[row]!, width);
      const painted = fit.spans.map((s) => (color ? styled(s.text, s.style) : s.text)).join('');
      if (painted === this.shown[row]) continue;
      // A line as wide as the screen leaves the cursor on its last column: an erase there would take that character.
      out += moveTo(row + 1) + painted + (fit.columns < width ? ERASE_REST : '');
      this.shown[row] = painted;
      this.plain[row] = fit.spans.map((s) => s.text).join('');
    }
    for (let row = lines.length; row < this.shown.length; row++) out += moveTo(row + 1) + ERASE_REST;
    this.shown.length = lines.length;
    this.plain.length = lines.length;
    if (out !== '') this.sink.write(out);
  }

  /** The terminal was cleared (a resize): the next paint writes every line. */
  invalidate(): void {
    this.shown = [];
    this.plain = [];
  }

  /** The screen as plain text, one string per row, trailing spaces cut. */
  screen(): string[] {
    return this.plain.map((l) => l.trimEnd());
  }

  /** Columns each row takes (tests: nothing is wider than the screen). */
  widths(): number[] {
    return this.plain.map(displayWidth);
  }
}
