import { memo } from 'react';
import type { Segment } from '../rows.js';
import { Lines, type Style } from './Line.js';

const COLORS: Readonly<Record<NonNullable<Segment['level']>, NonNullable<Style['color']>>> = { ok: 'green', warn: 'yellow', off: 'gray', prompt: 'cyan' };

/** What is missing and why (no root, no Docker socket, store read-only, sysdig off), or the filter being typed. */
export const StatusLine = memo(function StatusLine(p: { readonly segments: readonly Segment[]; readonly width: number; readonly color: boolean }) {
  const spans = p.segments.map((s) => ({ text: s.text, style: s.level === undefined ? undefined : { color: COLORS[s.level] } }));
  return <Lines lines={[spans]} width={p.width} color={p.color} />;
});
