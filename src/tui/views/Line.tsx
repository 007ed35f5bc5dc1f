/**
 * One line of the screen: one <Text> holding one pre-built string (few Yoga nodes, fast frames), cut at the edge
 * rather than wrapped so a frame never grows past the terminal. Styles only when colour is on (NO_COLOR unset):
 * with colour off the frame is plain text, not one escape sequence in it.
 */
import { Text } from 'ink';
import type { ReactNode } from 'react';

export interface Style {
  readonly color?: string;
  readonly bold?: boolean;
  readonly inverse?: boolean;
  readonly dim?: boolean;
}

export function Line(props: { readonly text: string; readonly color: boolean; readonly style?: Style | undefined }): ReactNode {
  const s = props.color ? props.style : undefined;
  return (
    <Text wrap="truncate-end" {...(s?.color !== undefined && { color: s.color })} bold={s?.bold ?? false} inverse={s?.inverse ?? false} dimColor={s?.dim ?? false}>
      {/* An empty Text has no height: a blank line must still take its line. */}
      {props.text === '' ? ' ' : props.text}
    </Text>
  );
}
