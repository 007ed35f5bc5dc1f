/**
 * The one set of formatters for every output: the TUI, plain tables of `ps`/`ls`, CSV and JSON. Anything a container
 * controls (process names, command lines, paths, container names) passes through safeText() before it is printed.
 */
import stringWidth from 'string-width';

const UNITS = ['B', 'K', 'M', 'G', 'T', 'P'] as const;

/** 1536 -> "1.5K", 412*2^20 -> "412M": binary units, 3 significant digits at most, like top/htop. */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '-';
  if (bytes < 0) return '-' + formatBytes(-bytes);
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)}`;
  // "1.2M", "4.0G", "340K", "412M": one decimal below 10, none above (the design's column widths).
  return `${value < 9.95 ? value.toFixed(1) : Math.round(value)}${UNITS[unit]}`;
}

/** A rate in bytes per second; same units as formatBytes. */
export function formatRate(bytesPerSecond: number | undefined): string {
  return formatBytes(bytesPerSecond);
}

/** 102.34 -> "102.3"; undefined -> "-". 100 = one core. */
export function formatPercent(percent: number | undefined): string {
  if (percent === undefined || !Number.isFinite(percent)) return '-';
  return percent.toFixed(1);
}

/** Seconds -> "3s", "4m05s", "2h03m", "3d04h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

/** CPU time as htop's TIME+: "0:07.52" (minutes:seconds.hundredths), "2h05:09" from an hour, "3d04h" from 100 hours. */
export function formatCpuTime(ns: number | undefined): string {
  if (ns === undefined || !Number.isFinite(ns) || ns < 0) return '-';
  const hundredths = Math.floor(ns / 1e7);
  const s = Math.floor(hundredths / 100);
  const p = (n: number): string => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}:${p(s % 60)}.${p(hundredths % 100)}`;
  if (s < 360_000) return `${Math.floor(s / 3600)}h${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
  return formatDuration(s);
}

/** When something started, as ps's START: "21:23" the same day as `nowMs` (local time), else "11-20". */
export function formatStart(ms: number, nowMs: number): string {
  const d = new Date(ms);
  const now = new Date(nowMs);
  const p = (n: number): string => String(n).padStart(2, '0');
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return sameDay ? `${p(d.getHours())}:${p(d.getMinutes())}` : `${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** Epoch ms -> "2026-11-21 21:23:04" in local time. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// C0 controls, DEL, and C1 controls (0x80-0x9f: a lone 0x9b is CSI on some terminals).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// Bidirectional overrides and isolates can make a name display as something else.
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Escapes control characters (ESC, CSI, newlines, bidi overrides) so that text a container controls can never move
 * the cursor, change colours or rewrite the terminal title. A backslash is left alone: it is not a control character.
 */
export function safeText(text: string): string {
  if (!CONTROL.test(text) && !BIDI.test(text)) {
    CONTROL.lastIndex = 0;
    BIDI.lastIndex = 0;
    return text;
  }
  CONTROL.lastIndex = 0;
  BIDI.lastIndex = 0;
  return text.replace(CONTROL, escapeChar).replace(BIDI, escapeChar);
}

/** Printable ASCII: one column per character, so its width is its length (the common case, kept cheap). */
const ASCII = /^[\x20-\x7e]*$/;

/**
 * Terminal columns `text` takes, as Ink measures it (string-width): CJK and most emoji take two, combining marks and
 * zero-width joiners none. Padding and cutting go by this, not by code units, so wide names keep columns aligned.
 */
export function displayWidth(text: string): number {
  return ASCII.test(text) ? text.length : stringWidth(text);
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Cut to width columns, with "…" when cut; pads nothing. A wide character that would straddle the edge goes whole. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  if (ASCII.test(text)) {
    if (text.length <= width) return text;
    return width === 1 ? '…' : text.slice(0, width - 1) + '…';
  }
  if (stringWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = stringWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return out + '…';
}

export type Align = 'left' | 'right';

/** Cut to `width` columns and pad to exactly that many, on the right (left-aligned) or the left (right-aligned). */
export function fitColumns(text: string, width: number, align: Align): string {
  const cut = truncate(text, width);
  const pad = ' '.repeat(Math.max(0, width - displayWidth(cut)));
  return align === 'right' ? pad + cut : cut + pad;
}

export interface Column<Row> {
  readonly header: string;
  readonly align: Align;
  /** Fixed width; the flex column (width undefined) takes what is left of the line. */
  readonly width?: number;
  readonly value: (row: Row) => string;
}

/**
 * A plain table with one header line: fixed columns padded, the flex column (if any) filling up to maxWidth.
 * Cell values are passed through safeText().
 */
export function formatTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], maxWidth = Infinity): string {
  const cells = rows.map((row) => columns.map((c) => safeText(c.value(row))));
  const widths = columns.map((c, i) => c.width ?? Math.max(displayWidth(c.header), ...cells.map((r) => displayWidth(r[i] ?? ''))));
  const flex = columns.findIndex((c) => c.width === undefined && c === columns[columns.length - 1]);
  if (flex >= 0 && Number.isFinite(maxWidth)) {
    const fixed = widths.reduce((a, w, i) => (i === flex ? a : a + w + 1), 0);
    widths[flex] = Math.max(columns[flex]!.header.length, Math.min(widths[flex]!, maxWidth - fixed));
  }
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => {
        const w = widths[i]!;
        const last = i === values.length - 1;
        if (last && columns[i]!.align === 'left') return truncate(v, w);
        return fitColumns(v, w, columns[i]!.align);
      })
      .join(' ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** `1 container`, `2 containers`: a number with its noun agreeing. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
