/** env.ts sets V8 flags only where the running V8 has them: an unknown flag would print an error on every start. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { flagName, flagsToSet, knownFlags, RUNTIME_FLAGS, runtimeFlagsFor, type CheckedFlags } from '../../src/bin/v8-flags.js';
import { binBuilt, BIN } from '../helpers/cli.js';

const v8Options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });

/** Sets each flag in a fresh node, as env.ts does; returns what it printed. */
function setFlags(flags: readonly string[]): string {
  const r = spawnSync(process.execPath, ['-e', `for (const f of ${JSON.stringify(flags)}) require('node:v8').setFlagsFromString(f);`], { encoding: 'utf8' });
  return r.stdout + r.stderr;
}

describe('V8 flags', () => {
  it('names a flag as --v8-options lists it', () => {
    expect(flagName('--interrupt-budget=1048576')).toBe('interrupt-budget');
    expect(flagName('--no-memory-reducer-for-small-heaps')).toBe('memory-reducer-for-small-heaps');
    expect(flagName('--always_sparkplug')).toBe('always-sparkplug');
  });

  it('keeps only the flags this V8 lists, and those set without a word', () => {
    const unknown = '--no-such-flag-in-any-v8';
    expect(setFlags([unknown])).toMatch(/unrecognized flag/); // what the check is there to prevent
    const kept = knownFlags([...RUNTIME_FLAGS, unknown, '--interrupt-budget-of-nothing=1'], v8Options);
    expect(kept).not.toContain(unknown);
    expect(kept).not.toContain('--interrupt-budget-of-nothing=1');
    expect(kept.length).toBeGreaterThan(0);
    expect(setFlags(kept)).toBe('');
  });

  it('sets nothing under another V8 than the one checked', () => {
    const checked: CheckedFlags = { v8: '11.3.244.8-node.38', flags: ['--always-sparkplug'] };
    expect(flagsToSet(checked, '12.4.254.21-node.33')).toEqual([]);
    expect(flagsToSet(undefined, checked.v8)).toEqual([]);
    expect(flagsToSet(checked, checked.v8)).toEqual(['--always-sparkplug']);
  });

  it('gives the flags to every command that ticks for long, serve included, and to no other', () => {
    const checked: CheckedFlags = { v8: process.versions.v8, flags: ['--always-sparkplug'] };
    for (const command of ['record', 'top', 'replay', 'serve']) expect(runtimeFlagsFor(command, checked, checked.v8), command).toEqual(checked.flags);
    for (const command of ['ps', 'ls', 'export', 'report', undefined]) expect(runtimeFlagsFor(command, checked, checked.v8), String(command)).toEqual([]);
    expect(runtimeFlagsFor('serve', checked, '0.0.0')).toEqual([]);
  });

  it('the shipped bundle carries the flags checked against the V8 it was built with', () => {
    expect(binBuilt(), `${BIN} is missing: npm run build (npm test does it first)`).toBe(true);
    const m = /JSON\.parse\('(\{"v8":[^']*)'\)/.exec(readFileSync(BIN, 'utf8'));
    expect(m, 'BUBBLE_V8_FLAGS in the bundle').not.toBeNull();
    const checked = JSON.parse(m![1]!) as CheckedFlags;
    expect(checked.v8).toBe(process.versions.v8);
    expect(checked.flags).toEqual(knownFlags(RUNTIME_FLAGS, v8Options));
    expect(setFlags(checked.flags)).toBe('');
  });

  it('a long-running command of the bundle starts without a word on stderr', () => {
    expect(binBuilt(), `${BIN} is missing: npm run build (npm test does it first)`).toBe(true);
    const r = spawnSync(process.execPath, [BIN, 'replay', '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    expect(r.stderr).not.toMatch(/flag/i);
  });
});
