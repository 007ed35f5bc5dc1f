/**
 * A reader that exits early (`bubble ls | head -1`) closes the pipe under bubble. Every printing command then stops
 * quietly with status 0, as Unix tools do: no EPIPE stack trace. Through the real bundle and a real `head -1`, which
 * has already read a line and exited when bubble first writes, so the write meets the closed pipe every time.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, bubble } from '../helpers/cli.js';

interface PipeRun {
  readonly head: string;
  readonly stderr: string;
  readonly status: number | undefined;
}

/** `{ echo first; bubble ARGS; } | head -1`: bubble's own exit status is reported on stderr. */
function intoHead(args: readonly string[], stderrToo = false): Promise<PipeRun> {
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `{ echo first; ${quoted}${stderrToo ? ' 2>&1' : ''}; echo "bubble-status=$?" >&2; } | head -1`;
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 }, (_error, stdout, stderr) => {
      const status = /bubble-status=(\d+)/.exec(stderr)?.[1];
      resolve({ head: stdout, stderr: stderr.replace(/bubble-status=\d+\n/, ''), status: status === undefined ? undefined : Number(status) });
    });
  });
}

describe('printing into a pipe that closes early', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bubble-pipe-'));
  const db = path.join(dir, 'pipe.db');

  beforeAll(async () => {
    const run = await bubble(['record', '--db', db, '--duration', '1500ms', '--interval', '200ms', '--quiet']);
    expect(run.status, run.stderr).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, string[]][] = [
    ['ls --all', ['ls', '--all', '--interval', '0.2', '--db', db]],
    ['ls --json', ['ls', '--all', '--json', '--interval', '0.2', '--db', db]],
    ['ps host', ['ps', 'host', '--interval', '0.2']],
    ['ps host --files --net --json', ['ps', 'host', '--interval', '0.2', '--files', '--net', '--json']],
    ['export --csv processes', ['export', '--csv', '--what', 'processes', '--db', db]],
    ['export --json', ['export', '--json', '--db', db]],
    ['--help', ['--help']],
    ['ps --help', ['ps', '--help']],
  ];
  for (const [name, args] of cases) {
    it(`${name} stops quietly, status 0`, async () => {
      const run = await intoHead(args);
      expect(run.head).toBe('first\n');
      expect(run.stderr).not.toMatch(/EPIPE|Error|internal error|at .*:\d+:\d+/);
      expect(run.status).toBe(0);
    });
  }

  it('record with its status lines into the closed pipe goes on recording and closes cleanly, status 0', async () => {
    const other = path.join(dir, 'stderr.db');
    const run = await intoHead(['record', '--db', other, '--duration', '1200ms', '--interval', '200ms'], true);
    expect(run.head).toBe('first\n');
    expect(run.stderr).not.toMatch(/EPIPE|Error|internal error/);
    expect(run.status).toBe(0);
    const rows = await bubble(['export', '--csv', '--tier', 'second', '--db', other]);
    expect(rows.status, rows.stderr).toBe(0);
    expect(rows.stdout.trimEnd().split('\n').length).toBeGreaterThan(1);
  });

  it('the same commands print in full when nobody closes the pipe', async () => {
    const run = await bubble(['export', '--csv', '--what', 'processes', '--db', db]);
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n').length).toBeGreaterThan(10);
  });
});
