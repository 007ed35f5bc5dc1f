/**
 * parseCommand() on node:util's parseArgs: what meow gave the commands (defaults, `--no-x`, `--x=v`, the last value
 * wins, `-` and `--` as inputs) and a usage error in one line where parseArgs refuses. The --help texts themselves are
 * checked through the CLI in test/integration/cli-help.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { helpPage, parseCommand, RECORD, TOP } from '../../src/bin/cli-flags.js';
import { UsageError } from '../../src/errors/usage-error.js';

const meta = import.meta;

describe('parseCommand', () => {
  test('defaults: a negated boolean is on, a plain one off, strings undefined', () => {
    const { input, flags } = parseCommand(TOP, [], meta);
    expect(input).toEqual([]);
    expect(flags.record).toBe(true);
    expect(flags.db).toBeUndefined();
  });

  test('--no-record turns it off; a later --record turns it on again', () => {
    expect(parseCommand(TOP, ['--no-record'], meta).flags.record).toBe(false);
    expect(parseCommand(TOP, ['--no-record', '--record'], meta).flags.record).toBe(true);
    expect(parseCommand(TOP, ['--record', '--no-record'], meta).flags.record).toBe(false);
  });

  test('kebab-case flags come back camelCase, with --x v and --x=v, the last one winning', () => {
    const { flags } = parseCommand(RECORD, ['--keep-second', '2h', '--db=/tmp/a.db', '--db', '/tmp/b.db'], meta);
    expect(flags.keepSecond).toBe('2h');
    expect(flags.db).toBe('/tmp/b.db');
  });

  test('`-` is an input, and everything after `--` is input', () => {
    expect(parseCommand(RECORD, ['--source', 'sysdig', '-'], meta)).toMatchObject({ input: ['-'], flags: { source: 'sysdig' } });
    expect(parseCommand(TOP, ['--', '--no-record'], meta)).toMatchObject({ input: ['--no-record'], flags: { record: true } });
  });

  test('a string flag without its value, or negated, is a usage error naming the command', () => {
    expect(() => parseCommand(TOP, ['--db'], meta)).toThrow(UsageError);
    expect(() => parseCommand(TOP, ['--db'], meta)).toThrow(/see bubble top --help/);
    expect(() => parseCommand(TOP, ['--no-db'], meta)).toThrow(/--db takes a value/);
    expect(() => parseCommand(TOP, ['--nosuch'], meta)).toThrow(/unknown option "--nosuch" for top/);
  });

  test("the help page: the package's description, then the text, non-empty lines indented by two", () => {
    const page = helpPage('\nUsage\n  $ bubble x\n\nOptions\n', meta);
    expect(page).toMatch(/^\n {2}top-like terminal UI[^\n]*\n\n {2}Usage\n {4}\$ bubble x\n\n {2}Options\n$/);
  });
});
