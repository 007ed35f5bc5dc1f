/**
 * Lines of the screen as pre-built strings, in as few Ink nodes as possible, cut at the edge rather than wrapped so a
 * frame never grows past the terminal. Styles only when colour is on (NO_COLOR unset): with colour off the frame is
 * plain text, not one escape sequence in it.
 *
 * Drawn through Ink's public <Transform> over a blank text of the lines' shape (width x count). Why: Ink measures the
 * text of every <Text> and keeps each distinct text in module caches forever (measure-text.js, wrap-text.js); bubble's
 * lines change every second, so those caches grew by an estimated 50 MB an hour of `bubble top`, and measuring the
 * new texts cost CPU on every frame. The blank is the same string frame after frame: Ink measures it once, its Yoga
 * node stays clean, and the caches hold one entry per shape. Ink still lays out, clips and writes every line; the
 * transform hands it the real line in the blank's place (styled as Ink's <Text> styles, the way <Text> does it too).
 * Each line is cut to the width here, by length: that is only right for characters one column wide (NARROW), so a line
 * that may hold wide characters (CJK, emoji) goes to Ink's own <Text>, which measures and cuts it.
 */
import { Box, Text, Transform } from 'ink';
import type { ReactNode } from 'react';

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
const NARROW = /^[\u0000-\u10ff\u2000-\u22ff\u2500-\u25ff]*$/;

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

/** `count` lines of `width` spaces: the text Ink measures in place of the lines (the same string for the same shape). */
function blank(width: number, count: number): string {
  const row = ' '.repeat(Math.max(1, width));
  return `${row}\n`.repeat(count - 1) + row;
}

function inkStyle(s: Style | undefined): { color?: string; bold: boolean; inverse: boolean; dimColor: boolean } {
  return { ...(s?.color !== undefined && { color: s.color }), bold: s?.bold ?? false, inverse: s?.inverse ?? false, dimColor: s?.dim ?? false };
}

/** A line with characters that may be wide: Ink's own <Text> measures it and cuts it at the edge. */
function MeasuredLine(props: { readonly spans: readonly Span[]; readonly color: boolean }): ReactNode {
  const text = props.spans.map((s) => s.text).join('');
  // An empty Text has no height: a blank line must still take its line.
  if (!props.color || props.spans.length === 1) {
    return (
      <Text wrap="truncate-end" {...inkStyle(props.color ? props.spans[0]?.style : undefined)}>
        {text === '' ? ' ' : text}
      </Text>
    );
  }
  return (
    <Text wrap="truncate-end">
      {props.spans.map((s, i) => (
        <Text key={i} {...inkStyle(s.style)}>
          {s.text}
        </Text>
      ))}
    </Text>
  );
}

/** Lines of spans, `width` columns wide: painted over one blank when all are narrow, else line by line. */
export function Lines(props: { readonly lines: readonly (readonly Span[])[]; readonly width: number; readonly color: boolean }): ReactNode {
  const { lines, width, color } = props;
  if (lines.length === 0) return null;
  const narrow = lines.map((spans) => spans.every((s) => NARROW.test(s.text)));
  if (narrow.every(Boolean)) {
    const shown = lines.map((spans) => paintLine(spans, width, color));
    return <Transform transform={(_line, index) => shown[index] ?? ''}>{blank(width, lines.length)}</Transform>;
  }
  return (
    <Box flexDirection="column">
      {lines.map((spans, i) =>
        narrow[i] ? (
          <Transform key={i} transform={() => paintLine(spans, width, color)}>
            {blank(width, 1)}
          </Transform>
        ) : (
          <MeasuredLine key={i} spans={spans} color={color} />
        ),
      )}
    </Box>
  );
}

export function Line(props: { readonly text: string; readonly width: number; readonly color: boolean; readonly style?: Style | undefined }): ReactNode {
  return <Lines lines={[[{ text: props.text, style: props.style }]]} width={props.width} color={props.color} />;
}

/** A list's visible rows, the selected row styled. */
export function Block(props: {
  readonly lines: readonly string[];
  readonly width: number;
  /** Index into `lines`; -1 for none. */
  readonly selected: number;
  readonly color: boolean;
  readonly selectedStyle?: Style | undefined;
}): ReactNode {
  const spans = props.lines.map((text, i) => [{ text, style: i === props.selected ? props.selectedStyle : undefined }]);
  return <Lines lines={spans} width={props.width} color={props.color} />;
}
