/**
 * string-width with a fast path for printable ASCII, installed for Ink and its helpers by the bundler
 * (scripts/bundle.mjs). Why: string-width walks every string with Intl.Segmenter and emoji regexps; Ink measures the
 * text of every node on every frame (layout) and caches the answers by text forever, so each second's new numbers
 * are measured the slow way. Nearly every string bubble draws is plain ASCII, whose width is its length: the same
 * answer string-width gives (test/unit/fast-string-width.test.ts), in a fraction of the time.
 */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export type StringWidth = (text: string, options?: object) => number;

export function withAsciiFastPath(stringWidth: StringWidth): StringWidth {
  return (text, options) => (typeof text === 'string' && PRINTABLE_ASCII.test(text) ? text.length : stringWidth(text, options));
}
