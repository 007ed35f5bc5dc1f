/**
 * What `top` keeps and skips for issue 11 ("Fast and light"), on the real Monitor over the real /proc: the launch ticks
 * leave out the descriptor pass and still give every process a CPU% on the second one, and LiveSource's ring of past
 * ticks holds them without their access observations (every open file and socket of the host, each tick).
 */
import { describe, expect, it } from 'vitest';
import { Monitor } from '../../src/monitor/monitor.js';
import { LiveSource } from '../../src/tui/live-source.js';

describe('top launch ticks and the live ring', () => {
  it('a tick with descriptors: false reads no descriptors; the next regular tick does', () => {
    const monitor = new Monitor({ intervalMs: 1000, sampler: { descriptors: true } });
    try {
      const first = monitor.tick({ descriptors: false });
      expect(first.access).toBeUndefined();
      const second = monitor.tick({ descriptors: false });
      expect(second.access).toBeUndefined();
      // Rates over the short interval between the two launch ticks: every process that was there for both has one.
      const both = second.processes.filter((p) => first.processes.some((q) => q.key === p.key));
      expect(both.length).toBeGreaterThan(0);
      expect(both.every((p) => p.cpuPercent !== undefined)).toBe(true);
      const third = monitor.tick();
      expect(third.access?.length).toBeGreaterThan(0);
    } finally {
      monitor.close();
    }
  });

  it('the ring keeps past ticks without access; the monitor still has this tick descriptors', async () => {
    const monitor = new Monitor({ intervalMs: 1000, sampler: { descriptors: true } });
    const source = new LiveSource(monitor);
    try {
      const tick = monitor.tick();
      expect(tick.access?.length).toBeGreaterThan(0);
      const kept = source.snapshotAt(undefined, 'second');
      expect(kept?.timeMs).toBe(tick.timeMs);
      expect(kept?.processes).toBe(tick.processes);
      expect(kept?.access).toBeUndefined();
      // The live panes read the monitor's last descriptor pass, not the snapshot.
      const withFiles = tick.processes.find((p) => (monitor.descriptorsOf(p.key)?.files.length ?? 0) > 0);
      expect(withFiles).toBeDefined();
      expect(source.filesOf(withFiles!.key, undefined).length).toBeGreaterThan(0);
    } finally {
      source.close();
      monitor.close();
    }
  });
});
