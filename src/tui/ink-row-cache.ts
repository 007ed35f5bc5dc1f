/**
 * A faster `Output.get()` for Ink 6 (ink/build/output.js), installed by the bundler (scripts/bundle.mjs).
 *
 * Why: Ink builds every frame from scratch: a fresh grid of styled cells for the whole screen, every line tokenized
 * for ANSI codes, every character measured, every row turned back into a string. For a 120x40 screen that was about
 * 6 ms a frame, a third of `bubble top`'s CPU, although from one second to the next most rows do not change.
 *
 * What: the same algorithm, row by row. The writes of a frame are first grouped by the row they land on (clipping
 * exactly as Ink does it); a row whose writes (x and text, in order) are the same as in the last frame reuses that
 * row's string. A new row is built as Ink builds it. Rows do not interact (a write only ever touches its own row),
 * so the frame is the same string Ink would make; test/unit/ink-row-cache.test.ts compares the two on random frames.
 * The caches hold two frames at most.
 */

/** What Ink's output.js imports, passed in so this module adds no dependency of its own. */
export interface RowCacheDeps {
  sliceAnsi(text: string, from: number, to?: number): string;
  stringWidth(text: string): number;
  tokenize(text: string): unknown[];
  styledCharsFromTokens(tokens: unknown[]): StyledChar[];
  styledCharsToString(chars: StyledChar[]): string;
}

export interface StyledChar {
  type: 'char';
  value: string;
  fullWidth: boolean;
  styles: unknown[];
}

type Transformer = (line: string, index: number) => string;

interface Clip {
  x1?: number;
  x2?: number;
  y1?: number;
  y2?: number;
}

type Operation =
  | { type: 'write'; x: number; y: number; text: string; transformers: Transformer[] }
  | { type: 'clip'; clip: Clip }
  | { type: 'unclip' };

/** The fields of Ink's Output that get() reads. */
export interface OutputLike {
  width: number;
  height: number;
  operations: Operation[];
}

/** Two-generation memo: what was used this frame and the last one stays, the rest is dropped. */
class FrameMemo<V> {
  private current = new Map<string, V>();
  private previous = new Map<string, V>();

  get(key: string, make: (key: string) => V): V {
    let value = this.current.get(key);
    if (value !== undefined) return value;
    value = this.previous.get(key);
    if (value === undefined) value = make(key);
    this.current.set(key, value);
    return value;
  }

  nextFrame(): void {
    this.previous = this.current;
    this.current = new Map();
  }
}

/** Returns a get() to put on Output.prototype. */
export function makeRowCachedGet(deps: RowCacheDeps): (this: OutputLike) => { output: string; height: number } {
  const styled = new FrameMemo<StyledChar[]>();
  const widths = new FrameMemo<number>();
  const rows = new FrameMemo<string>();
  const width = (text: string): number => widths.get(text, deps.stringWidth);
  const widest = (text: string): number => {
    let w = 0;
    for (const line of text.split('\n')) w = Math.max(w, width(line));
    return w;
  };

  return function get(this: OutputLike) {
    styled.nextFrame();
    widths.nextFrame();
    rows.nextFrame();
    const height = this.height;
    const rowWidth = this.width;
    // Per row: x and line of each write, in order.
    const writes: (number | string)[][] = [];
    for (let y = 0; y < height; y++) writes.push([]);

    const clips: Clip[] = [];
    for (const operation of this.operations) {
      if (operation.type === 'clip') {
        clips.push(operation.clip);
        continue;
      }
      if (operation.type === 'unclip') {
        clips.pop();
        continue;
      }
      const { text, transformers } = operation;
      let { x, y } = operation;
      let lines = text.split('\n');
      const clip = clips.at(-1);
      if (clip !== undefined) {
        const clipHorizontally = typeof clip.x1 === 'number' && typeof clip.x2 === 'number';
        const clipVertically = typeof clip.y1 === 'number' && typeof clip.y2 === 'number';
        if (clipHorizontally) {
          const w = widest(text);
          if (x + w < clip.x1! || x > clip.x2!) continue;
        }
        if (clipVertically) {
          if (y + lines.length < clip.y1! || y > clip.y2!) continue;
        }
        if (clipHorizontally) {
          const x0 = x;
          lines = lines.map((line) => {
            const from = x0 < clip.x1! ? clip.x1! - x0 : 0;
            const w = width(line);
            const to = x0 + w > clip.x2! ? clip.x2! - x0 : w;
            return deps.sliceAnsi(line, from, to);
          });
          if (x < clip.x1!) x = clip.x1!;
        }
        if (clipVertically) {
          const from = y < clip.y1! ? clip.y1! - y : 0;
          const to = y + lines.length > clip.y2! ? clip.y2! - y : lines.length;
          lines = lines.slice(from, to);
          if (y < clip.y1!) y = clip.y1!;
        }
      }
      let offsetY = 0;
      for (let index = 0; index < lines.length; index++) {
        const row = writes[y + offsetY];
        if (row === undefined) continue;
        let line = lines[index]!;
        for (const transformer of transformers) line = transformer(line, index);
        row.push(x, line);
        offsetY++;
      }
    }

    const out: string[] = [];
    for (const row of writes) {
      // Width in the key (the same writes give another row on a resized screen); lengths keep it unambiguous.
      let key = `${rowWidth}`;
      for (let i = 0; i < row.length; i += 2) key += `|${row[i]}:${(row[i + 1] as string).length}:${row[i + 1]}`;
      out.push(rows.get(key, () => buildRow(row, rowWidth)));
    }
    return { output: out.join('\n'), height };
  };

  /** One row as Ink builds it: spaces, then each write's characters over them, empty cells behind wide ones. */
  function buildRow(row: (number | string)[], rowWidth: number): string {
    const cells: (StyledChar | undefined)[] = [];
    for (let x = 0; x < rowWidth; x++) cells.push({ type: 'char', value: ' ', fullWidth: false, styles: [] });
    for (let i = 0; i < row.length; i += 2) {
      let offsetX = row[i] as number;
      for (const character of styled.get(row[i + 1] as string, (line) => deps.styledCharsFromTokens(deps.tokenize(line)))) {
        cells[offsetX] = character;
        const characterWidth = Math.max(1, width(character.value));
        for (let k = 1; k < characterWidth; k++) cells[offsetX + k] = { type: 'char', value: '', fullWidth: false, styles: character.styles };
        offsetX += characterWidth;
      }
    }
    return deps.styledCharsToString(cells.filter((c): c is StyledChar => c !== undefined)).trimEnd();
  }
}
