/**
 * Exit in place, line by line: the info lines of a container that ended while viewed keep its name and say how and
 * when it ended, and which key shows its last second, down to 60 columns.
 */
import { describe, expect, it } from 'vitest';
import { formatTime } from '../../src/format.js';
import type { ContainerView } from '../../src/model/snapshot.js';
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

  it('a container never seen ending is still named by its key', () => {
    expect(containerInfo(undefined, KEY, 'now', 80)[0]).toBe(` docker ${'9'.repeat(12)}: not present now`);
  });
});
