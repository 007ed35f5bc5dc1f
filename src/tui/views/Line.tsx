/**
 * Lines of the screen as pre-built strings in as few <Text> nodes as possible (few React elements and Yoga nodes:
 * fast frames), cut at the edge rather than wrapped so a frame never grows past the terminal. Styles only when
 * colour is on (NO_COLOR unset): with colour off the frame is plain text, not one escape sequence in it.
 */
import { Text } from 'ink';
import type { ReactNode } from 'react';

export interface Style {
  readonly color?: string;
  readonly bold?: boolean;
  readonly inverse?: boolean;
  readonly dim?: boolean;
}

function styleProps(s: Style | undefined): { color?: string; bold: boolean; inverse: boolean; dimColor: boolean } {
  return { ...(s?.color !== undefined && { color: s.color }), bold: s?.bold ?? false, inverse: s?.inverse ?? false, dimColor: s?.dim ?? false };
}

export function Line(props: { readonly text: string; readonly color: boolean; readonly style?: Style | undefined }): ReactNode {
  return (
    <Text wrap="truncate-end" {...styleProps(props.color ? props.style : undefined)}>
      {/* An empty Text has no height: a blank line must still take its line. */}
      {props.text === '' ? ' ' : props.text}
    </Text>
  );
}

/**
 * Characters one column wide on any terminal: ASCII, Latin and the other alphabets below Hangul Jamo, general
 * punctuation (…), arrows (→), mathematical operators, box drawing, block elements and geometric shapes (▁█▾◀).
 * Lines cut to the width by length are then never wider than the screen.
 */
const NARROW = /^[\u0000-\u10ff\u2000-\u22ff\u2500-\u25ff]*$/;

/**
 * A list's visible rows as one <Text>, the selected row styled inside it. A row that may hold wide characters (CJK,
 * emoji: wider than its length) falls back to one <Text> per row, so Ink cuts that row alone at the edge.
 */
export function Block(props: {
  readonly lines: readonly string[];
  /** Index into `lines`; -1 for none. */
  readonly selected: number;
  readonly color: boolean;
  readonly selectedStyle?: Style | undefined;
}): ReactNode {
  const { lines, selected } = props;
  if (lines.length === 0) return null;
  const joined = lines.join('\n');
  if (!NARROW.test(joined)) {
    return lines.map((text, i) => <Line key={i} text={text} color={props.color} style={i === selected ? props.selectedStyle : undefined} />);
  }
  const style = props.color ? props.selectedStyle : undefined;
  if (style === undefined || selected < 0 || selected >= lines.length) return <Text wrap="truncate-end">{joined}</Text>;
  const before = lines.slice(0, selected);
  const after = lines.slice(selected + 1);
  return (
    <Text wrap="truncate-end">
      {before.length > 0 ? before.join('\n') + '\n' : ''}
      <Text {...styleProps(style)}>{lines[selected] === '' ? ' ' : lines[selected]}</Text>
      {after.length > 0 ? '\n' + after.join('\n') : ''}
    </Text>
  );
}
