/**
 * `bubble ls` and exited containers, against a real Docker engine: a container that ran and exited while nothing
 * recorded is listed by `ls --all` (Docker knows it), and by plain `ls` once a store recorded it; the order is running
 * ones, then `host`, then exited ones (newest exit first). The default store is the test setup's private BUBBLE_DB:
 * a store put there is what `ls` reads without --db, and nothing else is.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/database.js';
import { bubble } from '../helpers/cli.js';
import { docker, dockerAvailable, ensureTestImage, removeContainer, TEST_IMAGE, uniqueName } from '../helpers/docker.js';
import { needReal } from '../helpers/real.js';

type Json = Record<string, unknown>;
const available = dockerAvailable();
const exitedName = uniqueName('bubble-ls-exited');
let exitedId = '';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-ls-exited-'));

beforeAll(() => {
  if (!available.ok) return;
  ensureTestImage();
  // Runs and exits (code 3) with no recorder anywhere: only Docker knows it.
  const run = spawnSync('docker', ['run', '--name', exitedName, TEST_IMAGE, 'sh', '-c', 'exit 3'], { timeout: 60_000 });
  if (run.status !== 3) throw new Error(`docker run: exit ${String(run.status)}: ${run.stderr?.toString() ?? ''}`);
  exitedId = docker(['inspect', '--format', '{{.Id}}', exitedName]);
});

afterAll(() => {
  if (available.ok) removeContainer(exitedName);
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A store holding `key` as recorded (first and last seen `seenMs`), with or without an exit. */
function storeWith(file: string, key: string, name: string, seenMs: number, exit?: { timeMs: number; code: number }): void {
  const store = openStore(file);
  try {
    store.db
      .prepare(
        `INSERT INTO containers (key, kind, cid, name, cgroup, first_seen, last_seen, exit_time, exit_code)
         VALUES (?, 'docker', ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(key, key.slice('docker:'.length), name, `/docker/${key.slice('docker:'.length)}`, seenMs, seenMs, exit?.timeMs ?? null, exit?.code ?? null);
  } finally {
    store.close();
  }
}

/** `ls --json`; a 2 s interval also gives Docker 2 s to list and inspect (the wait is max(1 s, interval)) on a busy host. */
async function ls(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Json[]> {
  const run = await bubble(['ls', '--json', '--interval', '2', ...args], env === undefined ? {} : { env });
  expect(run.status, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { containers: Json[] }).containers;
}

describe('bubble ls and exited containers', () => {
  it('--all lists a container that exited while nothing recorded, after the running ones and host', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const rows = await ls(['--all']);
    const mine = rows.find((r) => r['id'] === exitedId);
    expect(mine).toMatchObject({ key: `docker:${exitedId}`, kind: 'docker', name: exitedName, state: 'exited', exit_code: 3, cgroup: null });
    expect(Date.parse(mine!['exit_time'] as string)).toBeGreaterThan(Date.now() - 120_000);
    // Running ones, host last of them, then exited ones, newest exit first.
    const host = rows.findIndex((r) => r['key'] === 'host');
    expect(host).toBeGreaterThanOrEqual(0);
    expect(rows.slice(0, host).every((r) => r['state'] !== 'exited')).toBe(true);
    const exited = rows.slice(host + 1);
    expect(exited.length).toBeGreaterThan(0);
    expect(exited.every((r) => r['state'] === 'exited')).toBe(true);
    const times = exited.map((r) => (r['exit_time'] === null ? -Infinity : Date.parse(r['exit_time'] as string)));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it("plain ls leaves out what was never recorded, and lists it with Docker's exit once a store recorded it", async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    expect((await ls([])).some((r) => r['id'] === exitedId)).toBe(false);
    // Recorded while it ran, then it stopped while nothing recorded: the store has no exit, Docker has.
    const db = path.join(tmp, 'recorded.db');
    storeWith(db, `docker:${exitedId}`, exitedName, Date.now() - 60_000);
    const mine = (await ls(['--db', db])).find((r) => r['id'] === exitedId);
    expect(mine).toMatchObject({ name: exitedName, state: 'exited', exit_code: 3, cgroup: `/docker/${exitedId}` });
    expect(mine!['exit_time']).not.toBeNull();
  });

  it("reads the default store only where BUBBLE_DB says (the suite's private path), never another one", async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const ghost = `docker:${'e'.repeat(64)}`;
    const db = path.join(tmp, 'default.db');
    storeWith(db, ghost, 'bubble-ls-ghost', Date.now() - 3_600_000, { timeMs: Date.now() - 3_000_000, code: 9 });
    // The setup's own default (a path that does not exist): the ghost is not there.
    expect(process.env['BUBBLE_DB']).toMatch(/bubble-test-default-store-/);
    expect(fs.existsSync(process.env['BUBBLE_DB']!)).toBe(false);
    expect((await ls(['--all'])).some((r) => r['key'] === ghost)).toBe(false);
    // Moved onto the store above, it is read without --db: the variable is what commands take as the default.
    const rows = await ls(['--all'], { BUBBLE_DB: db });
    const i = rows.findIndex((r) => r['key'] === ghost);
    expect(rows[i]).toMatchObject({ name: 'bubble-ls-ghost', state: 'exited', exit_code: 9 });
    expect(i).toBeGreaterThan(rows.findIndex((r) => r['key'] === 'host'));
  });
});
