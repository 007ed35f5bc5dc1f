/**
 * Exit in place, line by line: the info lines of a container that ended while viewed keep its name and say how and
 * when it ended, and which key shows its last second, down to 60 columns.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatTime } from '../../src/format.js';
import type { ContainerView } from '../../src/model/snapshot.js';
import { openStore } from '../../src/store/database.js';
import { StoreReader } from '../../src/store/reader.js';
import { ReplaySource } from '../../src/tui/replay-source.js';
import { containerInfo } from '../../src/tui/rows.js';

const KEY = `docker:${'9'.repeat(64)}`;
const gone: ContainerView = {
  key: KEY,
  kind: 'docker',
  id: '9'.repeat(64),
  name: 'payments-worker-1',
  cgroup: '',
  state: 'exited',
  exitCode: 137,
  exitedAtMs: Date.UTC(2026, 11, 6, 5, 1, 2),
  cpuSource: 'processes',
  processCount: 0,
  pressure: {},
  interval: {},
};
const lastSeenMs = Date.UTC(2026, 11, 6, 5, 1, 1);

describe('exit in place: the info lines', () => {
  it('keep the name, say the exit code and time, and offer r', () => {
    for (const width of [60, 80, 160]) {
      const [first, second] = containerInfo(undefined, KEY, 'now', width, false, { ended: { view: gone, lastSeenMs } });
      expect(first).toContain('payments-worker-1');
      expect(first).toContain('exited with code 137');
      expect(first.length).toBeLessThanOrEqual(width);
      expect(first + second).toContain(`at ${formatTime(gone.exitedAtMs!)}`);
      expect(second).toContain(`r: its last second (${formatTime(lastSeenMs).slice(11)})`);
      expect(second.length).toBeLessThanOrEqual(width);
    }
  });

  it('without an exit code yet says exited, and without a last second offers no key', () => {
    const { exitCode: _, ...noCode } = gone;
    const [first, second] = containerInfo(undefined, KEY, 'now', 100, false, { ended: { view: noCode } });
    expect(first).toMatch(/payments-worker-1 {2}docker {2}exited at /);
    expect(second).toBe('');
  });

  it('before its last second (scrubbed back past its start) it is not there yet, by name', () => {
    const info = containerInfo(undefined, KEY, 'at 2026-12-06 04:00:00', 80, false, { ended: { view: gone, lastSeenMs }, atMs: lastSeenMs - 3_600_000 });
    expect(info).toEqual([' payments-worker-1  docker: not present at 2026-12-06 04:00:00', '']);
  });

  it('the second of its last sighting (a moment is the start of its second; the exit tick falls inside it) shows how it ended', () => {
    const mid = lastSeenMs + 409;
    const [first] = containerInfo(undefined, KEY, 'at 2026-12-06 05:01:01', 80, false, { ended: { view: gone, lastSeenMs: mid }, atMs: lastSeenMs });
    expect(first).toMatch(/^ payments-worker-1 {2}docker {2}exited with code 137 /);
    const [before] = containerInfo(undefined, KEY, 'at 2026-12-06 05:01:00', 80, false, { ended: { view: gone, lastSeenMs: mid }, atMs: lastSeenMs - 1000 });
    expect(before).toContain('not present');
  });

  it('a container never seen ending is still named by its key', () => {
    expect(containerInfo(undefined, KEY, 'now', 80)[0]).toBe(` docker ${'9'.repeat(12)}: not present now`);
  });
});

describe('exit in place in replay', () => {
  it('knows from the store who an exited container was, how it ended, and its last tick', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bubble-exit-replay-'));
    const store = openStore(join(dir, 'store.db'));
    try {
      const insert = store.db.prepare(
        'INSERT INTO containers (key, kind, cid, name, cgroup, first_seen, last_seen, exit_time, exit_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      insert.run(KEY, 'docker', '9'.repeat(64), 'payments-worker-1', '/docker/999', lastSeenMs - 60_000, lastSeenMs, gone.exitedAtMs, 137);
      insert.run('docker:running', 'docker', 'running', 'web-1', '/docker/running', lastSeenMs - 60_000, lastSeenMs, null, null);
      const source = new ReplaySource(new StoreReader(store));
      const ended = source.endedOf(KEY);
      expect(ended?.lastSeenMs).toBe(lastSeenMs);
      expect(ended?.view).toMatchObject({ name: 'payments-worker-1', kind: 'docker', state: 'exited', exitCode: 137, exitedAtMs: gone.exitedAtMs });
      // Not exited (the recorder stopped first), or unknown: nothing to say in place.
      expect(source.endedOf('docker:running')).toBeUndefined();
      expect(source.endedOf('docker:nosuch')).toBeUndefined();
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
