import { Text } from 'ink';
import { memo } from 'react';
import type { Segment } from '../rows.js';
import { Line } from './Line.js';

const COLORS: Readonly<Record<NonNullable<Segment['level']>, string>> = { ok: 'green', warn: 'yellow', off: 'gray', prompt: 'cyan' };

/** What is missing and why (no root, no Docker socket, store read-only, sysdig off), or the filter being typed. */
export const StatusLine = memo(function StatusLine(p: { readonly segments: readonly Segment[]; readonly color: boolean }) {
  if (!p.color) return <Line text={p.segments.map((s) => s.text).join('')} color={false} />;
  return (
    <Text wrap="truncate-end">
      {p.segments.map((s, i) => (
        <Text key={i} {...(s.level !== undefined && { color: COLORS[s.level] })}>
          {s.text}
        </Text>
      ))}
    </Text>
  );
});
