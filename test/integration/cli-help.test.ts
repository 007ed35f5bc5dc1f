/**
 * Flags are declared once (src/bin/cli-flags.ts): through the shipped bundle, every command's --help shows each flag
 * of its table with text of its own, every flag the help names is accepted, and the hints name every command.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acceptsFlag, COMMANDS, type CommandSpec, type FlagSpec } from '../../src/bin/cli-flags.js';
import { bubble } from '../helpers/cli.js';

const label = (flag: FlagSpec): string => `--${flag.negated === true ? 'no-' : ''}${flag.name}`;

/** The Options section: from "Options" to the next blank line. */
function optionsOf(help: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'Options');
  expect(start).toBeGreaterThan(0);
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

describe.each(COMMANDS.map((spec): [string, CommandSpec] => [spec.name, spec]))('bubble %s --help', (name, spec) => {
  it('lists every flag of the table once, each with its own text, and names no other', async () => {
    const run = await bubble([name, '--help']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`$ bubble ${name}`);
    const options = optionsOf(run.stdout);
    for (const flag of spec.flags) {
      const at = options.findIndex((l) => l.trim() === label(flag) || l.trim().startsWith(`${label(flag)} `));
      if (flag.hidden === true) {
        expect(at, `${label(flag)} is hidden`).toBe(-1);
        continue;
      }
      expect(at, `${label(flag)} in the options of ${name}`).toBeGreaterThanOrEqual(0);
      // Its text: on its line, or (a long name) on the next, indented; never a bare name borrowing another's text.
      const own = options[at]!.trim().slice(label(flag).length).trim();
      const next = options[at + 1] ?? '';
      expect(own !== '' || /^\s{6,}[^\s-]/.test(next), `${label(flag)} has text`).toBe(true);
    }
    const named = new Set([...run.stdout.matchAll(/(?<![\w-])--(?:no-)?([a-z][a-z-]*[a-z])/g)].map((m) => m[1]!));
    for (const flag of named) expect(acceptsFlag(spec, flag), `--${flag} named in the help of ${name}`).toBe(true);
  });

  it('accepts every flag of its table', async () => {
    // Should --help ever stop winning, the command would run: against a store of this test, never the default one.
    const dir = mkdtempSync(path.join(tmpdir(), 'bubble-help-'));
    const db = spec.flags.some((f) => f.name === 'db') ? [`--db=${path.join(dir, 'help.db')}`] : [];
    const runs = await Promise.all(
      spec.flags.map(async (flag) => {
        const arg = flag.name === 'db' ? db[0]! : flag.type === 'string' ? `${label(flag)}=1` : label(flag);
        return [arg, await bubble([name, ...(flag.name === 'db' ? [] : db), arg, '--help'])] as const;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
    for (const [arg, run] of runs) {
      expect(run.stderr, arg).toBe('');
      expect(run.status, arg).toBe(0);
    }
  });
});

describe('the command list', () => {
  it('bubble --help lists every command', async () => {
    const run = await bubble(['--help']);
    expect(run.status).toBe(0);
    for (const spec of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^    ${spec.name} +${spec.summary.slice(0, 20).replace(/[()]/g, '\\$&')}`, 'm'));
  });

  it('an unknown command names every command', async () => {
    const run = await bubble(['frobnicate']);
    expect(run.status).toBe(2);
    for (const spec of COMMANDS) expect(run.stderr).toMatch(new RegExp(`\\b${spec.name}\\b`));
  });

  it('an unknown flag is refused in one line, naming the command', async () => {
    const run = await bubble(['record', '--keep-weeks', '2']);
    expect(run.status).toBe(2);
    expect(run.stderr).toBe('bubble: unknown option "--keep-weeks" for record; see bubble record --help\n');
  });
});
