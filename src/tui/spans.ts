/**
 * A screen line as spans of text in one style each: what every part of the TUI produces (src/tui/screen.ts) and what
 * both ways of drawing consume (Ink's <Lines> in views/Line.tsx, the line-diff writer in line-writer.ts). Pure.
 */
import { displayWidth } from '../format.js';

const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The foreground colours bubble uses, as SGR codes (the ones Ink's <Text color> writes through chalk). */
const FOREGROUND = { green: 32, yellow: 33, blue: 34, cyan: 36, gray: 90 } as const;

export interface Style {
  readonly color?: keyof typeof FOREGROUND;
  readonly bold?: boolean;
  readonly inverse?: boolean;
  readonly dim?: boolean;
}

/** Part of a line in one style. */
export interface Span {
  readonly text: string;
  readonly style?: Style | undefined;
}

/**
 * Characters one column wide on any terminal: ASCII, Latin and the other alphabets below Hangul Jamo, general
 * punctuation (…), arrows (→), mathematical operators, box drawing, block elements and geometric shapes (▁█▾◀).
 * Lines cut to the width by length are then never wider than the screen.
 */
export const NARROW = /^[\u0000-\u10ff\u2000-\u22ff\u2500-\u25ff]*$/;

/** `text` in `style`, nested as Ink's <Text> nests chalk's codes (dim innermost, inverse outermost). */
export function styled(text: string, style: Style | undefined): string {
  if (style === undefined || text === '') return text;
  let t = text;
  if (style.dim === true) t = `\u001b[2m${t}\u001b[22m`;
  if (style.color !== undefined) t = `\u001b[${FOREGROUND[style.color]}m${t}\u001b[39m`;
  if (style.bold === true) t = `\u001b[1m${t}\u001b[22m`;
  if (style.inverse === true) t = `\u001b[7m${t}\u001b[27m`;
  return t;
}

/** The spans cut to `width` columns (one per UTF-16 unit), with "…" where cut, as Ink's truncate-end cuts. */
export function cutSpans(spans: readonly Span[], width: number): Span[] {
  const total = spans.reduce((n, s) => n + s.text.length, 0);
  if (total <= width) return [...spans];
  if (width <= 0) return [];
  const out: Span[] = [];
  let room = width - 1;
  for (const s of spans) {
    if (room === 0) break;
    const text = s.text.slice(0, room);
    out.push({ text, style: s.style });
    room -= text.length;
  }
  const last = out.pop() ?? { text: '', style: spans[0]?.style };
  out.push({ text: last.text + '…', style: last.style });
  return out;
}

/** One line as the terminal shows it: cut to the width, styled when colour is on. */
export function paintLine(spans: readonly Span[], width: number, color: boolean): string {
  return cutSpans(spans, width)
    .map((s) => (color ? styled(s.text, s.style) : s.text))
    .join('');
}

/** One screen line. */
export type ScreenLine = readonly Span[];

/** A line of one span. */
export function line(text: string, style?: Style): ScreenLine {
  return [{ text, style }];
}

/**
 * The line cut to `width` display columns (wide characters counted as two, never split), with "…" where cut, and the
 * columns it takes. Narrow lines take cutSpans()'s fast path; the rest go grapheme by grapheme.
 */
export function fitSpans(spans: ScreenLine, width: number): { spans: Span[]; columns: number } {
  if (spans.every((s) => NARROW.test(s.text))) {
    const cut = cutSpans(spans, width);
    return { spans: cut, columns: cut.reduce((n, s) => n + s.text.length, 0) };
  }
  const total = spans.reduce((n, s) => n + displayWidth(s.text), 0);
  if (total <= width) return { spans: [...spans], columns: total };
  if (width <= 0) return { spans: [], columns: 0 };
  // Keep what fits in width - 1 columns, then "…" (as cutSpans() and Ink's truncate-end do).
  const out: Span[] = [];
  let used = 0;
  for (const s of spans) {
    let text = '';
    for (const { segment } of GRAPHEMES.segment(s.text)) {
      const w = displayWidth(segment);
      if (used + w > width - 1) break;
      text += segment;
      used += w;
    }
    if (text !== '') out.push({ text, style: s.style });
    if (text.length < s.text.length) break;
  }
  const last = out.pop() ?? { text: '', style: spans[0]?.style };
  out.push({ text: `${last.text}…`, style: last.style });
  return { spans: out, columns: used + 1 };
}

/** The line padded with spaces (unstyled) to exactly `width` columns, cut first when longer. */
export function padSpans(spans: ScreenLine, width: number): Span[] {
  const fit = fitSpans(spans, width);
  return fit.columns < width ? [...fit.spans, { text: ' '.repeat(width - fit.columns) }] : fit.spans;
}
