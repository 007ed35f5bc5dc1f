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

import { NARROW, paintLine, type Span, type Style } from '../spans.js';

export { cutSpans, paintLine, styled, type Span, type Style } from '../spans.js';

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
