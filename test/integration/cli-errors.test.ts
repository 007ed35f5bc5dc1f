/**
 * Bad input gets one clear line on stderr and the right exit code: 1 for a user error (unknown or ambiguous
 * container), 2 for a usage error (bad flags). Without root, bubble works on what it may read and says what is missing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { bubble, Children } from '../helpers/cli.js';
import { isRoot, needReal } from '../helpers/real.js';

const oneLine = (text: string): void => {
  expect(text.endsWith('\n')).toBe(true);
  expect(text.trimEnd().split('\n')).toHaveLength(1);
};

describe('usage errors exit 2 with one line', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['unknown flag', ['ls', '--bogus'], /unknown option "--bogus" for ls/],
    ['bad sort', ['ps', 'x', '--sort', 'colour'], /--sort: "colour" is not one of cpu, mem, io, pid/],
    ['bad interval', ['ps', 'x', '--interval', 'soon'], /--interval: "soon" is not a duration/],
    ['zero limit', ['ps', 'x', '--limit', '0'], /--limit: "0" is not a whole number above 0/],
    ['ps without container', ['ps'], /bubble ps takes one container/],
    ['ls with an argument', ['ls', 'web'], /bubble ls takes no arguments/],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const run = await bubble(args);
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
      expect(run.stderr.startsWith('bubble: ')).toBe(true);
      oneLine(run.stderr);
    });
  }

  it('--help prints usage and exits 0', async () => {
    const run = await bubble(['ps', '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('bubble ps <container>');
  });
});

describe('unknown and ambiguous containers exit 1 naming the candidates', () => {
  const children = new Children();
  const groups: TestCgroup[] = [];
  const writable = cgroupsWritable();
  const tag = randomBytes(3).toString('hex');
  // Two ids that share their first 6 hex digits, so "<prefix>" is ambiguous.
  const prefix = randomBytes(3).toString('hex');
  const ids = [prefix + randomBytes(29).toString('hex'), prefix + randomBytes(29).toString('hex')];

  beforeAll(() => {
    if (!writable.ok) return;
    for (const id of ids) {
      const group = makeTestCgroup(`/bubble-test-${tag}/docker/${id}`);
      groups.push(group);
      group.addPid(children.start('sleep', ['120']).pid!);
    }
  });
  afterAll(async () => {
    children.killAll();
    await new Promise((r) => setTimeout(r, 200));
    for (const group of groups.reverse()) await group.remove();
  });

  it('an unknown name lists what is running', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const run = await bubble(['ps', 'no-such-container', '--interval', '0.2']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^bubble: no container or job "no-such-container": running: .*/);
    expect(run.stderr).toContain(ids[0]!.slice(0, 12));
    oneLine(run.stderr);
  });

  it('an ambiguous id prefix names both candidates', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const run = await bubble(['ps', prefix, '--interval', '0.2']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/is ambiguous/);
    expect(run.stderr).toContain(ids[0]!.slice(0, 12));
    expect(run.stderr).toContain(ids[1]!.slice(0, 12));
    oneLine(run.stderr);
  });
});

describe('without root', () => {
  it('lists what it may read and says in one line what is missing and how to get it', async (ctx) => {
    needReal(ctx, 'root (to run the CLI as an unprivileged user)', isRoot, 'the test drops to uid 65534 from root');
    const run = await bubble(['ps', 'host', '--json', '--interval', '0.3'], { uid: 65534, gid: 65534, env: { HOME: '/tmp' } });
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as { processes: { user: string; read_bytes: number | null }[] };
    // Root's processes are listed, with what cannot be read left null rather than 0.
    const rootOwned = result.processes.filter((p) => p.user === 'root');
    expect(rootOwned.length).toBeGreaterThan(0);
    expect(rootOwned.every((p) => p.read_bytes === null)).toBe(true);
    const gapLines = run.stderr
      .trimEnd()
      .split('\n')
      .filter((l) => l.includes('not root'));
    expect(gapLines).toHaveLength(1);
    expect(gapLines[0]).toMatch(/run with sudo/);
  });
});
