/** Durations as users type them: `1`, `0.5`, `1s`, `500ms`, `2m`, `2h`, `1d`, `52w`, `1y` (365 days). */

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000, // 365 days: retention periods (`--keep-day 1y`), not calendar arithmetic
};

/** Milliseconds, or undefined when `text` is not a positive duration. A bare number is in `bareUnit`. */
export function parseDuration(text: string, bareUnit: 's' | 'ms' = 's'): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (m === null) return undefined;
  const unit = (m[2] ?? '').toLowerCase() || bareUnit;
  const factor = UNITS[unit];
  if (factor === undefined) return undefined;
  const ms = Number(m[1]) * factor;
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}
