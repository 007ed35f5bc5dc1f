/**
 * A process's command across exec, through the shipped CLI: a real `bubble record` while a process in a
 * Docker-shaped cgroup this test creates execs (perl, then sleep: same pid and start time), then `bubble export
 * --what processes` shows, bucket by bucket, the command the process had then.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { bubble, Children, startBubble } from '../helpers/cli.js';
import { needReal } from '../helpers/real.js';

const dockerId = randomBytes(32).toString('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-record-exec-'));
const db = path.join(tmp, 'bubble.db');
const writable = cgroupsWritable();
const children = new Children();
let group: TestCgroup | undefined;

afterAll(async () => {
  children.killAll();
  await sleep(200);
  await group?.remove();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('bubble record across exec', () => {
  it('stores the command a process had at each second, before and after it exec’d', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    group = makeTestCgroup(`/bubble-exec-${dockerId.slice(0, 6)}/docker/${dockerId}`);
    // Moved into the cgroup before the recorder starts (a process is stored under the container it was first seen
    // in). It burns a little (so it has a row in most seconds: the second tier is change-only) until the test says go
    // (the recorder has recorded it for a while), then for one second more, then execs.
    const go = path.join(tmp, 'go');
    const execer = children.start('perl', [
      '-e',
      `until (-e "${go}") { for (1..100000) {} select(undef, undef, undef, 0.05) } my $end = time + 1; while (time < $end) { for (1..100000) {} select(undef, undef, undef, 0.05) } exec "sh", "-c", "while :; do sleep 0.2; done"`,
    ]);
    group.addPid(execer.pid!);
    const recorder = startBubble(['record', '--db', db, '--interval', '0.5s']);
    await recorder.waitFor('recording');
    await sleep(2000);
    fs.writeFileSync(go, '');
    await sleep(4000);
    recorder.child.kill('SIGINT');
    expect(await recorder.exited()).toBe(0);

    const run = await bubble(['export', '--json', '--db', db, '--what', 'processes', '--tier', 'second', '--container', dockerId.slice(0, 12)]);
    expect(run.status).toBe(0);
    const rows = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['pid'] === execer.pid);
    const commands = rows.map((r) => `${String(r['comm'])} | ${String(r['cmdline'])}`);
    const first = commands.findIndex((c) => c.startsWith('sh |'));
    expect(commands[0], commands.join('\n')).toMatch(/^perl \| perl -e/);
    expect(first, commands.join('\n')).toBeGreaterThan(0);
    expect(commands[first]).toBe('sh | sh -c while :; do sleep 0.2; done');
    // Once exec'd, never the old command again; and the process row itself holds the newest.
    expect(commands.slice(first).every((c) => c.startsWith('sh |'))).toBe(true);
    const minute = await bubble(['export', '--json', '--db', db, '--what', 'processes', '--tier', 'minute', '--container', dockerId.slice(0, 12)]);
    const last = minute.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['pid'] === execer.pid)
      .at(-1);
    expect(last?.['comm']).toBe('sh');
  }, 40_000);
});
