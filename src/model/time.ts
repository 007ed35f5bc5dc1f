/**
 * Points in time as users type them after `--since`, `--until`, `--at`: ISO 8601, epoch seconds (or milliseconds),
 * relative ("10 min ago", "2h"), and journalctl's words (`now`, `today`, `yesterday`). Pure: the caller passes now.
 *
 * A hand-written grammar rather than Date.parse(): Date.parse accepts "1", "March 7" and other text that would
 * silently pick a surprising time, and it reads a date-only ISO string as UTC midnight while ISO 8601 (and every
 * user) means local time when no offset is given.
 */
import { UsageError } from '../errors/usage-error.js';
import { safeText } from '../format.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

// "10 min ago", "10m", "1h30m", "1h 30min ago", "-2h" (journalctl's form). No months or years: their length varies.
const PART = /(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)/gy;
const RELATIVE = /^-?\s*(?:(?:\d+(?:\.\d+)?|\.\d+)\s*[a-z]+\s*)+(?:ago)?$/;

// 2026-11-21, 2026-11-21T21:23, 2026-11-21 21:23:04.5, 2026-11-21T21:23:04Z, ...+01:00, +0100, +01
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(z|[+-]\d{2}(?::?\d{2})?)?)?$/;
// 21:23 or 21:23:04: its latest occurrence, local time (today, or yesterday when that is still to come)
const CLOCK = /^(\d{2}):(\d{2})(?::(\d{2}))?$/;
// Epoch: 9 to 11 integer digits are seconds (1973-5138), 13 are milliseconds (2001-2286), and 0 is the epoch. Other
// lengths are refused: `--since 2026` or `--since 10` is a year or a duration typed wrong, not a time in 1970.
const EPOCH = /^(\d+)(?:\.(\d+))?$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function localMidnight(nowMs: number, daysBack: number): number {
  const d = new Date(nowMs);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() - daysBack).getTime();
}

function parseRelative(text: string): number | undefined {
  if (!RELATIVE.test(text)) return undefined;
  const body = text.replace(/^-\s*/, '').replace(/ago$/, '');
  let total = 0;
  PART.lastIndex = 0;
  for (;;) {
    while (PART.lastIndex < body.length && body[PART.lastIndex] === ' ') PART.lastIndex++;
    if (PART.lastIndex >= body.length) break;
    const m = PART.exec(body);
    if (m === null) return undefined;
    const factor = UNIT_MS[m[2] ?? ''];
    if (factor === undefined) return undefined;
    total += Number(m[1]) * factor;
  }
  return total;
}

function parseIso(text: string): number | undefined {
  const m = ISO.exec(text);
  if (m === null) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const zone = m[8];
  if (zone === undefined) return new Date(year, month - 1, day, hour, minute, second, ms).getTime(); // local
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  if (zone === 'z') return utc;
  const digits = zone.slice(1).replace(':', '');
  const offH = Number(digits.slice(0, 2));
  const offM = Number(digits.slice(2) || '0');
  if (offH > 23 || offM > 59) return undefined;
  const offset = (offH * 60 + offM) * 60_000;
  return zone.startsWith('-') ? utc + offset : utc - offset;
}

function parseEpoch(text: string): number | undefined {
  const m = EPOCH.exec(text);
  if (m === null) return undefined;
  const whole = (m[1] ?? '').replace(/^0+(?=\d)/, '');
  const value = Number(text);
  if (whole.length === 13) return Math.round(value);
  if ((whole.length >= 9 && whole.length <= 11) || whole === '0') return Math.round(value * 1000);
  return undefined;
}

function parseClock(text: string, nowMs: number): number | undefined {
  const m = CLOCK.exec(text);
  if (m === null) return undefined;
  const [hour, minute, second] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const d = new Date(nowMs);
  const on = (daysBack: number): number => new Date(d.getFullYear(), d.getMonth(), d.getDate() - daysBack, hour, minute, second).getTime();
  // At 02:50, `--since 21:00` means last evening: nothing is recorded in the future.
  return on(0) <= nowMs ? on(0) : on(1);
}

function parse(text: string, nowMs: number): number | undefined {
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  if (t === '') return undefined;
  if (t === 'now') return nowMs;
  if (t === 'today') return localMidnight(nowMs, 0);
  if (t === 'yesterday') return localMidnight(nowMs, 1);
  const epoch = parseEpoch(t);
  if (epoch !== undefined) return epoch;
  const iso = parseIso(t);
  if (iso !== undefined) return iso;
  const clock = parseClock(t, nowMs);
  if (clock !== undefined) return clock;
  const ago = parseRelative(t);
  if (ago !== undefined) return nowMs - ago;
  return undefined;
}

/**
 * Epoch milliseconds for `text`, relative times counted back from `nowMs`. Accepts:
 * - ISO 8601: `2026-11-21T21:23:04Z`, `...+01:00`, `2026-11-21T21:23`, `2026-11-21 21:23`, `2026-11-21` (no offset =
 *   local time, so a date alone is local midnight);
 * - a clock time `21:23[:04]`: its latest occurrence up to now, local time (yesterday's when today's is to come);
 * - epoch seconds `1795297460[.5]` (9 to 11 digits, or `0`), or epoch milliseconds when 13 digits;
 * - relative, always in the past: `10 min ago`, `10m ago`, `2h` (= 2 hours ago), `1h30m`, `-2h`, `1.5d`;
 * - `now`, `today` (local midnight), `yesterday` (local midnight of the day before), as journalctl reads them.
 * Throws a UsageError naming `flag` otherwise.
 */
export function parseTime(text: string, nowMs: number, flag: string): number {
  const ms = parse(text, nowMs);
  if (ms !== undefined && Number.isFinite(ms) && Math.abs(ms) <= 8.64e15) return ms;
  throw new UsageError(`${flag}: "${safeText(text)}" is not a time (try ISO 8601 like 2026-11-21T21:00, epoch seconds, or "10 min ago")`);
}
