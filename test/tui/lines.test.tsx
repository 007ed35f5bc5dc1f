/**
 * The screen's lines (views/Line.tsx) are handed to Ink through <Transform> over a blank of their shape. They must
 * look exactly as Ink's own <Text wrap="truncate-end"> draws the same strings, and Ink's text caches must stop
 * growing with every new text (they keep each distinct measured text forever).
 */
import { Box, renderToString, Text, Transform } from 'ink';
import type { ReactElement } from 'react';
import { describe, expect, it } from 'vitest';
import { truncate } from '../../src/format.js';
import { Block, cutSpans, Line, Lines, paintLine, styled } from '../../src/tui/views/Line.js';

/** A small deterministic generator, so a failure names inputs that can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ALPHABET = ' abcdefghijklmnopqrstuvwxyz0123456789.%/-:>▁▂▃▅▇█◀▶▸▾…→├─';

function narrowLine(next: () => number, max: number): string {
  const n = Math.floor(next() * max);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

/** What Ink draws for the same lines as plain <Text>s, the way the views drew them before. */
function inkText(lines: readonly string[], width: number): string {
  return renderToString(
    <Box flexDirection="column" width={width}>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate-end">
          {l === '' ? ' ' : l}
        </Text>
      ))}
    </Box>,
    { columns: width },
  );
}

describe('Line and Block', () => {
  it('cut spans as Ink cuts text: "…" in the last column kept, in the style of the text it cuts', () => {
    const bold = { bold: true } as const;
    expect(cutSpans([{ text: 'abcdef' }], 6)).toEqual([{ text: 'abcdef' }]);
    expect(cutSpans([{ text: 'abcdef', style: bold }], 4)).toEqual([{ text: 'abc…', style: bold }]);
    expect(cutSpans([{ text: 'ab' }, { text: 'cdef', style: bold }], 4)).toEqual([{ text: 'ab' }, { text: 'c…', style: bold }]);
    expect(cutSpans([{ text: 'abc', style: bold }, { text: 'def' }], 4)).toEqual([{ text: 'abc…', style: bold }]);
    expect(cutSpans([{ text: 'abc' }], 1)).toEqual([{ text: '…', style: undefined }]);
    expect(cutSpans([{ text: 'abc' }], 0)).toEqual([]);
    for (let w = 0; w < 12; w++) expect(paintLine([{ text: 'hello ' }, { text: 'world' }], w, false)).toBe(truncate('hello world', w));
  });

  it('styles as Ink nests them: dim inside colour inside bold inside inverse', () => {
    expect(styled('x', { inverse: true, bold: true, color: 'green', dim: true })).toBe(
      '\u001b[7m\u001b[1m\u001b[32m\u001b[2mx\u001b[22m\u001b[39m\u001b[22m\u001b[27m',
    );
    expect(paintLine([{ text: 'ok', style: { color: 'green' } }], 10, false)).toBe('ok');
    expect(paintLine([{ text: 'ok', style: { color: 'green' } }], 10, true)).toBe('\u001b[32mok\u001b[39m');
  });

  it('draws random narrow lines exactly as Ink draws them as <Text wrap="truncate-end">', () => {
    const next = random(42);
    for (let round = 0; round < 60; round++) {
      const width = 1 + Math.floor(next() * 50);
      const lines = Array.from({ length: 1 + Math.floor(next() * 6) }, () => narrowLine(next, width + 10));
      const selected = Math.floor(next() * lines.length);
      const ours = renderToString(
        <Box flexDirection="column" width={width}>
          <Block lines={lines} width={width} selected={selected} color={false} />
          <Line text={lines[0]!} width={width} color={false} />
        </Box>,
        { columns: width },
      );
      expect(ours, JSON.stringify({ width, lines })).toBe(inkText([...lines, lines[0]!], width));
    }
  });

  it('leaves lines with wide characters to Ink, which cuts them by their width', () => {
    const lines = ['ascii only', '名前が長いコンテナの名前', 'emoji 🐳🐳🐳🐳🐳🐳 here'];
    for (const width of [8, 13, 30]) {
      const ours = renderToString(<Block lines={lines} width={width} selected={-1} color={false} />, { columns: width });
      expect(ours).toBe(inkText(lines, width));
    }
  });

  it('gives Ink the same text to measure frame after frame: its caches keep nothing new', () => {
    // What Ink measures and caches is the text inside the <Transform> Lines returns: it must not follow the numbers.
    const measured = (lines: readonly string[], selected: number): unknown => {
      const lineElement = Block({ lines, width: 80, selected, color: true, selectedStyle: { inverse: true } }) as ReactElement<Parameters<typeof Lines>[0]>;
      const transform = Lines(lineElement.props) as ReactElement<{ children: unknown; transform: (l: string, i: number) => string }>;
      expect(transform.type).toBe(Transform);
      return transform.props.children;
    };
    const a = measured([' web-1   12.5%  412M', ' db       3.0%  900M'], 0);
    const b = measured([' web-1   99.9%  413M', ' db      40.1%  901M'], 1);
    expect(a).toBe(b);
    expect(a).toBe(`${' '.repeat(80)}\n${' '.repeat(80)}`);
  });
});
