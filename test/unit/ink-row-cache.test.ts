/**
 * The bundled `bubble top` renders through makeRowCachedGet (scripts/bundle.mjs installs it on Ink's Output). It must
 * give the very string Ink's own get() gives: random frames of styled, wide, clipped and transformed text, drawn one
 * after another on one renderer so rows are reused between frames, are compared with Ink's real Output.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeRowCachedGet, type RowCacheDeps } from '../../src/tui/ink-row-cache.js';

const require = createRequire(import.meta.url);
const inkDir = path.dirname(path.dirname(require.resolve('ink')));
const load = async (file: string): Promise<Record<string, unknown>> => import(pathToFileURL(file).href) as Promise<Record<string, unknown>>;
/** Ink's own dependencies (hoisted next to it); a variable specifier, as they are not this project's. */
const dep = async (name: string): Promise<Record<string, unknown>> => import(name) as Promise<Record<string, unknown>>;

interface InkOutput {
  write(x: number, y: number, text: string, options: { transformers: ((line: string, index: number) => string)[] }): void;
  clip(clip: { x1?: number; x2?: number; y1?: number; y2?: number }): void;
  unclip(): void;
  get(): { output: string; height: number };
}

async function inkParts(): Promise<{ Output: new (o: { width: number; height: number }) => InkOutput; deps: RowCacheDeps }> {
  const output = await load(path.join(inkDir, 'build', 'output.js'));
  const tokenizer = await dep('@alcalzone/ansi-tokenize');
  const sliceAnsi = (await dep('slice-ansi')).default as RowCacheDeps['sliceAnsi'];
  const stringWidth = (await dep('string-width')).default as RowCacheDeps['stringWidth'];
  return {
    Output: output.default as new (o: { width: number; height: number }) => InkOutput,
    deps: {
      sliceAnsi,
      stringWidth,
      tokenize: tokenizer.tokenize as RowCacheDeps['tokenize'],
      styledCharsFromTokens: tokenizer.styledCharsFromTokens as RowCacheDeps['styledCharsFromTokens'],
      styledCharsToString: tokenizer.styledCharsToString as RowCacheDeps['styledCharsToString'],
    },
  };
}

/** Seeded, so a failure replays. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PIECES = ['bubble', ' ', 'sleep 600', '\u001b[1mbold\u001b[22m', '\u001b[31mred\u001b[39m', '\u001b[7m>sel\u001b[27m', '日本', '0.0', '12.5', '|'];

function randomText(r: () => number): string {
  const lines: string[] = [];
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    let line = '';
    const parts = 1 + Math.floor(r() * 5);
    for (let j = 0; j < parts; j++) line += PIECES[Math.floor(r() * PIECES.length)];
    lines.push(line);
  }
  return lines.join('\n');
}

describe('makeRowCachedGet', () => {
  it("gives Ink's own frame for random frames, frame after frame, with clips and transformers; repeats reuse rows", async () => {
    const { Output, deps } = await inkParts();
    let built = 0;
    const counted: RowCacheDeps = { ...deps, styledCharsToString: (chars) => (built++, deps.styledCharsToString(chars)) };
    const fast = makeRowCachedGet(counted);
    const upper = (line: string): string => line.toUpperCase();
    const r = rng(42);
    for (let frame = 0; frame < 300; frame++) {
      const width = 20 + Math.floor(r() * 3) * 20;
      const height = 4 + Math.floor(r() * 8);
      const ops: ((o: InkOutput) => void)[] = [];
      const n = 1 + Math.floor(r() * 12);
      for (let i = 0; i < n; i++) {
        const kind = r();
        if (kind < 0.15) {
          const clip = r() < 0.5 ? { x1: Math.floor(r() * 10), x2: 10 + Math.floor(r() * 30) } : { x1: 2, x2: 30, y1: 1, y2: 3 + Math.floor(r() * 4) };
          ops.push((o) => o.clip(clip));
        } else if (kind < 0.2) {
          ops.push((o) => o.unclip());
        } else {
          const x = Math.floor(r() * (width + 5));
          const y = Math.max(0, Math.floor(r() * (height + 2)) - 1);
          const text = randomText(r);
          const transformers = r() < 0.2 ? [upper] : [];
          ops.push((o) => o.write(x, y, text, { transformers }));
        }
      }
      // Each frame twice: the second time every row comes from the first.
      for (let pass = 0; pass < 2; pass++) {
        const a = new Output({ width, height });
        const b = new Output({ width, height });
        for (const op of ops) {
          op(a);
          op(b);
        }
        const before = built;
        expect(fast.call(b as never)).toEqual(a.get());
        if (pass === 1) expect(built).toBe(before);
      }
    }
    expect(built).toBeGreaterThan(300);
  });

  it('reuses a row only for the same width: a resized screen pads and trims as Ink does', async () => {
    const { Output, deps } = await inkParts();
    const fast = makeRowCachedGet(deps);
    for (const width of [30, 10, 30]) {
      const a = new Output({ width, height: 2 });
      const b = new Output({ width, height: 2 });
      for (const o of [a, b]) o.write(5, 0, 'a long line that is wider than ten', { transformers: [] });
      expect(fast.call(b as never)).toEqual(a.get());
    }
  });
});
