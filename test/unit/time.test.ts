import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors/usage-error.js';
import { parseTime } from '../../src/model/time.js';

// A zone with a half-hour offset and no DST, so "local time" cannot pass by accident on a UTC machine.
const savedTz = process.env['TZ'];
beforeAll(() => {
  process.env['TZ'] = 'Asia/Kolkata';
});
afterAll(() => {
  if (savedTz === undefined) delete process.env['TZ'];
  else process.env['TZ'] = savedTz;
});

const NOW = Date.parse('2026-11-21T21:23:04.250Z'); // 2026-11-22 02:53:04.250 in Kolkata (+05:30)
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('parseTime', () => {
  const cases: [string, number][] = [
    // ISO 8601 with a zone
    ['2026-11-21T21:23:04Z', Date.parse('2026-11-21T21:23:04Z')],
    ['2026-11-21t21:23:04z', Date.parse('2026-11-21T21:23:04Z')],
    ['2026-11-21T21:23:04.5Z', Date.parse('2026-11-21T21:23:04.500Z')],
    ['2026-11-21T21:23:04,123456Z', Date.parse('2026-11-21T21:23:04.123Z')],
    ['2026-11-21T21:23:04+01:00', Date.parse('2026-11-21T20:23:04Z')],
    ['2026-11-21T21:23:04-0330', Date.parse('2026-11-22T00:53:04Z')],
    ['2026-11-21T21:23+01', Date.parse('2026-11-21T20:23:00Z')],
    ['2026-11-21 21:23:04 Z', Date.parse('2026-11-21T21:23:04Z')],
    // ISO 8601 without a zone is local time (Kolkata, +05:30), a date alone local midnight
    ['2026-11-21T21:00', Date.parse('2026-11-21T15:30:00Z')],
    ['2026-11-21 21:23', Date.parse('2026-11-21T15:53:00Z')],
    ['2026-11-21', Date.parse('2026-11-20T18:30:00Z')],
    ['2024-02-29', Date.parse('2024-02-28T18:30:00Z')],
    // a clock time is its latest occurrence, local: today's 02:00:30, but yesterday's 21:00 (today's is to come)
    ['21:00', Date.parse('2026-11-21T15:30:00Z')],
    ['02:00:30', Date.parse('2026-11-21T20:30:30Z')],
    // epoch seconds, with decimals; 13 digits are milliseconds
    ['1795297460', 1_795_297_460_000],
    ['1795297460.25', 1_795_297_460_250],
    ['999999999', 999_999_999_000],
    ['1795297460123', 1_795_297_460_123],
    ['0', 0],
    // relative: always in the past
    ['10 min ago', NOW - 10 * MIN],
    ['10m ago', NOW - 10 * MIN],
    ['10m', NOW - 10 * MIN],
    ['10 minutes ago', NOW - 10 * MIN],
    ['2h', NOW - 2 * HOUR],
    ['2 hours ago', NOW - 2 * HOUR],
    ['1d', NOW - DAY],
    ['1.5d', NOW - 1.5 * DAY],
    ['30s', NOW - 30_000],
    ['1w', NOW - 7 * DAY],
    ['1h30m ago', NOW - 90 * MIN],
    ['1h 30min ago', NOW - 90 * MIN],
    ['-2h', NOW - 2 * HOUR],
    ['  10 MIN AGO  ', NOW - 10 * MIN],
    // words, as journalctl reads them
    ['now', NOW],
    ['today', Date.parse('2026-11-21T18:30:00Z')],
    ['yesterday', Date.parse('2026-11-20T18:30:00Z')],
  ];
  it.each(cases)('%s', (text, expected) => {
    expect(parseTime(text, NOW, '--since')).toBe(expected);
  });

  const bad = [
    '',
    '   ',
    'blah',
    'ago',
    '10 ago',
    '10 parsecs ago',
    '10', // a duration without a unit, or a year: not a time in 1970
    '2026',
    '179529746012', // 12 digits: neither seconds nor milliseconds
    '17952974601234', // 14 digits
    '+2h', // the future is not recorded
    '2026-13-01',
    '2026-02-29', // not a leap year
    '2026-11-31',
    '2026-11-21T24:00',
    '2026-11-21T21:60',
    '2026-11-21T21:23:04+25:00',
    '2026-11-21T21',
    '21/11/2026',
    'March 7',
    '1e9',
    '-1795297460',
  ];
  it.each(bad)('refuses %j with one line naming the flag', (text) => {
    let error: unknown;
    try {
      parseTime(text, NOW, '--until');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as UsageError).message;
    expect(message).toBe(`--until: "${text}" is not a time (try ISO 8601 like 2026-11-21T21:00, epoch seconds, or "10 min ago")`);
    expect((error as UsageError).exitCode).toBe(2);
  });

  it('keeps the error on one line and escapes what a terminal would run', () => {
    expect(() => parseTime('blah\n\u001b[2J', NOW, '--since')).toThrow(
      '--since: "blah\\n\\e[2J" is not a time (try ISO 8601 like 2026-11-21T21:00, epoch seconds, or "10 min ago")',
    );
  });
});
