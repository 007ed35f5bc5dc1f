/**
 * string-width with a fast path for printable ASCII, installed for Ink and its helpers by the bundler
 * (scripts/bundle.mjs). Why: string-width walks every string with Intl.Segmenter and emoji regexps; Ink measures the
 * text of every node on every frame (layout) and caches the answers by text forever, so each second's new numbers
 * are measured the slow way. Nearly every string bubble draws is one column per UTF-16 unit, width = length: the same
 * answer string-width gives (test/unit/fast-string-width.test.ts), in a fraction of the time.
 */
/**
 * Printable ASCII, and the few other characters bubble draws (sparkline blocks, sort and tree arrows, the ellipsis):
 * each is one column wide, as string-width itself says (the test checks every one of them against it).
 */
export const ONE_COLUMN = '▁▂▃▄▅▆▇█◀▶▸▾▼▲…←↑→↓';
const FAST = new RegExp(`^[\\x20-\\x7e${ONE_COLUMN}]*$`);

/**
 * SGR sequences (colours, bold, inverse) with parameters of at most three digits: exactly what string-width's
 * strip-ansi removes from such a sequence (longer parameters it may split, so those take the slow path).
 */
const SGR = /\u001b\[(?:\d{1,3}(?:;\d{1,3})*)?m/g;

export type StringWidth = (text: string, options?: object) => number;

export function withAsciiFastPath(stringWidth: StringWidth): StringWidth {
  return (text, options) => {
    if (typeof text !== 'string') return stringWidth(text, options);
    if (FAST.test(text)) return text.length;
    if (text.includes('\u001b')) {
      const plain = text.replace(SGR, '');
      if (FAST.test(plain)) return plain.length;
    }
    return stringWidth(text, options);
  };
}
