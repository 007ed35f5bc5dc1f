/**
 * A container chooses its name, and a cgroup-derived name can hold ESC and BEL (raw in an LXC payload dir, or as a
 * systemd \xHH escape that identity decoding turns into the byte). Every error message that quotes a name, or what
 * the user typed, goes through safeText: through the real bundle, no raw ESC or BEL ever reaches stderr, and the
 * escaped form is there to show the name was quoted.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { BIN, bubble, Children, type RunResult } from '../helpers/cli.js';
import { needReal } from '../helpers/real.js';

const RAW = /[\u001b\u0007]/;

/** Runs bubble in a pseudo-terminal (util-linux script), for replay, which wants one; pty output comes as stdout. */
function inTerminal(args: readonly string[]): Promise<RunResult> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    execFile('script', ['-qec', quoted, '/dev/null'], { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('container names with ESC and BEL in error messages', () => {
  const writable = cgroupsWritable();
  const children = new Children();
  const groups: TestCgroup[] = [];
  const tag = randomBytes(3).toString('hex');
  const stem = `esc${tag}`;
  // LXC: the name is the dir name, bytes and all. nspawn: systemd's \xHH escapes, decoded into ESC and BEL.
  const lxcName = `${stem}\u001b]0;pwned\u0007L`;
  const nspawnName = `${stem}\u001b]2;owned\u0007N`;
  const dir = mkdtempSync(path.join(tmpdir(), 'bubble-escape-'));
  const db = path.join(dir, 'escape.db');

  const expectEscaped = (run: RunResult, ...shown: RegExp[]): void => {
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr + run.stdout).not.toMatch(RAW);
    for (const text of shown) expect(run.stderr + run.stdout).toMatch(text);
  };

  beforeAll(async () => {
    if (!writable.ok) return;
    for (const rel of [`/bubble-test-${tag}/lxc.payload.${lxcName}`, `/bubble-test-${tag}/system.slice/systemd-nspawn@${stem}\\x1b]2;owned\\x07N.service`]) {
      const group = makeTestCgroup(rel);
      groups.push(group);
      group.addPid(children.start('sleep', ['120']).pid!);
    }
    const run = await bubble(['record', '--db', db, '--duration', '1500ms', '--interval', '300ms', '--quiet']);
    expect(run.status, run.stderr).toBe(0);
  });
  afterAll(async () => {
    children.killAll();
    await new Promise((r) => setTimeout(r, 200));
    for (const group of groups.reverse()) await group.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  const both = [/esc[0-9a-f]{6}\\e\]0;pwned\\x07L/, /esc[0-9a-f]{6}\\e\]2;owned\\x07N/];

  it('ps: "is ambiguous: it matches ..." names both, escaped', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    expectEscaped(await bubble(['ps', stem, '--interval', '0.2']), /is ambiguous/, ...both);
  });

  it('ps: "no container or job ... did you mean" escapes the query and the name', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const run = await bubble(['ps', `${stem}\u001b]0`, '--interval', '0.2']);
    expectEscaped(run, /no container or job "esc[0-9a-f]{6}\\e\]0": did you mean esc[0-9a-f]{6}\\e\]0;pwned\\x07L \(lxc /);
  });

  it('ps: an unknown name typed with BEL is escaped', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    expectEscaped(await bubble(['ps', `nosuch${tag}\u0007`, '--interval', '0.2']), /no container or job "nosuch[0-9a-f]{6}\\x07"/);
  });

  it('export --container and clean --container: ambiguous among stored names, escaped', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    expectEscaped(await bubble(['export', '--csv', '--container', stem, '--db', db]), /is ambiguous/, ...both);
    expectEscaped(await bubble(['clean', '--container', stem, '--db', db]), /is ambiguous/, ...both);
  });

  it('replay: ambiguous, and "has no history at", escaped', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    expectEscaped(await inTerminal(['replay', stem, '--db', db]), /is ambiguous/, ...both);
    expectEscaped(
      await inTerminal(['replay', nspawnName, '--at', '2000-01-01T00:00:00Z', '--db', db]),
      /has no history at .*--container esc[0-9a-f]{6}\\e\]2;owned\\x07N/,
    );
  });

  it('clean --container: the report line quotes the name escaped', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const run = await bubble(['clean', '--container', lxcName, '--db', db]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(RAW);
    expect(run.stderr).toMatch(/removed 1 container, .*\("esc[0-9a-f]{6}\\e\]0;pwned\\x07L"\)/);
  });
});
