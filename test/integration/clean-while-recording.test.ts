/**
 * `bubble clean --container X` while a `bubble record` runs (issue 10, item 6): the recorder's cached row ids go
 * stale under it. It must notice, keep recording, and record the cleaned container, still running, afresh. Real
 * parts: the built CLI for both, a Docker-shaped cgroup this test creates with a burner in it, a temp store.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { bubble, Children, startBubble, type RunningBubble } from '../helpers/cli.js';
import { needReal } from '../helpers/real.js';

const dockerId = randomBytes(32).toString('hex');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-clean-rec-'));
const db = path.join(tmp, 'bubble.db');
const writable = cgroupsWritable();
const children = new Children();
let group: TestCgroup | undefined;
let recorder: RunningBubble | undefined;

afterAll(async () => {
  if (recorder !== undefined && recorder.child.exitCode === null) recorder.child.kill('SIGKILL');
  children.killAll();
  await sleep(200);
  await group?.remove();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Counts {
  readonly container: { id: number; first_seen: number } | undefined;
  readonly processes: number;
  readonly rowsSince: number;
}

function counts(sinceMs: number): Counts {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const container = conn.prepare('SELECT id, first_seen FROM containers WHERE cid = ?').get(dockerId) as Counts['container'];
    if (container === undefined) return { container, processes: 0, rowsSince: 0 };
    const processes = conn.prepare('SELECT count(*) FROM processes WHERE container_id = ?').pluck().get(container.id) as number;
    const rowsSince = conn
      .prepare('SELECT count(*) FROM container_series WHERE container_id = ? AND tier = 0 AND bucket >= ?')
      .pluck()
      .get(container.id, sinceMs) as number;
    return { container, processes, rowsSince };
  } finally {
    conn.close();
  }
}

describe('bubble clean --container under a running recorder', () => {
  it('keeps recording, and records the cleaned container that still runs afresh', async (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    group = makeTestCgroup(`/bubble-clean-${dockerId.slice(0, 6)}/docker/${dockerId}`);
    const burner = children.burner();
    group.addPid(burner.pid!);

    recorder = startBubble(['record', '--db', db, '--interval', '0.5s']);
    await recorder.waitFor('recording');
    await sleep(2500);
    const before = counts(0);
    expect(before.container).toBeDefined();
    expect(before.processes).toBe(1);

    const clean = await bubble(['clean', '--db', db, '--container', dockerId.slice(0, 12)]);
    expect(clean.stderr).toMatch(/removed 1 container, 1 process/);
    expect(clean.status).toBe(0);
    const cleanedAt = Date.now();
    expect(counts(0).container).toBeUndefined();

    // Recorded afresh: a new row (first seen after the clean), its process, and second rows after the clean.
    await sleep(4000);
    const after = counts(cleanedAt);
    expect(after.container).toBeDefined();
    expect(after.container!.first_seen).toBeGreaterThanOrEqual(cleanedAt - 1000);
    expect(after.processes).toBe(1);
    expect(after.rowsSince).toBeGreaterThanOrEqual(2);

    recorder.child.kill('SIGINT');
    const status = await recorder.exited();
    expect(recorder.stderr()).not.toMatch(/FOREIGN KEY|could not be written|cannot write/);
    expect(status).toBe(0);
    // Still recorded at shutdown: the newest second rows are written.
    expect(counts(cleanedAt).rowsSince).toBeGreaterThan(after.rowsSince);
  }, 40_000);
});
