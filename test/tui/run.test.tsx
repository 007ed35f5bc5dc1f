process.env.TZ = 'UTC';
import { describe, expect, it } from 'vitest';
import { isBubbleError } from '../../src/errors/bubble-error.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import type { Tier } from '../../src/store/tiers.js';
import { ENTER_SCREEN, LEAVE_SCREEN, runTui } from '../../src/tui/run.js';
import { FixedSource, snapshotOf, T0 } from '../helpers/fixed-source.js';
import { FakeStdin, FakeStdout, settle } from './harness.js';
import { source, world } from './world.js';

function terminal(columns = 80, rows = 24): { stdout: FakeStdout; stdin: FakeStdin; streams: { stdout: NodeJS.WriteStream; stdin: NodeJS.ReadStream } } {
  const stdout = new FakeStdout(columns, rows);
  const stdin = new FakeStdin();
  return { stdout, stdin, streams: { stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream } };
}

/** Waits until the screen shows `text`. */
async function shows(stdout: FakeStdout, text: string): Promise<void> {
  await expect.poll(() => stdout.output, { timeout: 5000 }).toContain(text);
}

describe('runTui', () => {
  it('refuses a terminal-less run in one line, before writing anything', async () => {
    const t = terminal();
    t.stdout.isTTY = false;
    const err = await runTui(source(), t.streams).catch((e: unknown) => e);
    expect(isBubbleError(err)).toBe(true);
    expect((err as Error).message).toBe('bubble top needs a terminal; use bubble ls or bubble ps for plain output');
    expect(t.stdout.writes).toEqual([]);
    const noStdin = terminal();
    noStdin.stdin.isTTY = false;
    await expect(runTui(source(), { ...noStdin.streams, command: 'replay' })).rejects.toThrow('bubble replay needs a terminal');
  });

  it('names the candidates of an unknown container, before entering the alternate screen', async () => {
    const t = terminal();
    const err = await runTui(source(), { ...t.streams, container: 'nope' }).catch((e: unknown) => e);
    expect(isBubbleError(err)).toBe(true);
    expect((err as Error).message).toMatch(/^no container or job "nope": running: /);
    expect((err as Error).message).toContain('web-1 (docker aaaaaaaaaaaa)');
    expect((err as Error).message).toContain('job 4242 sim (slurm 4242)');
    expect(t.stdout.writes).toEqual([]);
  });

  it('enters the alternate screen, opens the named container, and restores the terminal on q', async () => {
    const t = terminal();
    const done = runTui(source(), { ...t.streams, container: 'job 4242', color: false });
    await shows(t.stdout, 'steps batch, 0  user alice');
    expect(t.stdout.writes[0]).toBe(ENTER_SCREEN);
    expect(t.stdin.rawMode).toBe(true);
    t.stdin.write('q');
    await done;
    expect(t.stdout.output.endsWith(LEAVE_SCREEN)).toBe(true);
    expect(t.stdin.rawMode).toBe(false);
    // The frame leaves the last line free, so Ink never clears the whole screen to draw it.
    expect(t.stdout.output).not.toContain('\u001b[2J');
  });

  it('quits on Ctrl-C', async () => {
    const t = terminal();
    const done = runTui(source(), { ...t.streams, color: false });
    await shows(t.stdout, 'web-1');
    t.stdin.write('\u0003');
    await done;
    expect(t.stdout.output.endsWith(LEAVE_SCREEN)).toBe(true);
  });

  it('restores the terminal on SIGTERM and SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const t = terminal();
      const before = process.listenerCount(signal);
      const done = runTui(source(), { ...t.streams, color: false });
      await shows(t.stdout, 'web-1');
      expect(process.listenerCount(signal)).toBeGreaterThan(before);
      process.emit(signal, signal);
      await done;
      expect(t.stdout.output.endsWith(LEAVE_SCREEN)).toBe(true);
      expect(process.listenerCount(signal)).toBe(before);
    }
  });

  it('restores the terminal when drawing throws, and passes the error on', async () => {
    class Broken extends FixedSource {
      calls = 0;
      override snapshotAt(atMs: number | undefined, tier: Tier): Snapshot | undefined {
        if (++this.calls > 1) throw new Error('the store went away');
        return super.snapshotAt(atMs, tier);
      }
    }
    const s = new Broken({ snapshots: [snapshotOf(world())] });
    const t = terminal();
    const exitListeners = process.listenerCount('exit');
    const done = runTui(s, { ...t.streams, color: false });
    await shows(t.stdout, 'web-1');
    s.push(snapshotOf(world(1), T0 + 1000));
    await expect(done).rejects.toThrow('the store went away');
    expect(t.stdout.output.endsWith(LEAVE_SCREEN)).toBe(true);
    expect(process.listenerCount('exit')).toBe(exitListeners);
  });

  it('waits for the first live sample to find the container', async () => {
    const s = new FixedSource({ snapshots: [] });
    const t = terminal();
    const done = runTui(s, { ...t.streams, container: 'web-1', color: false });
    await settle(50);
    expect(t.stdout.writes).toEqual([]);
    s.push(snapshotOf(world()));
    await shows(t.stdout, 'web-1  docker  5 processes');
    t.stdin.write('q');
    await done;
  });

  it('redraws a resized terminal from a clean screen', async () => {
    const t = terminal(120, 40);
    const done = runTui(source(), { ...t.streams, color: false });
    await shows(t.stdout, 'web-1');
    const before = t.stdout.writes.length;
    t.stdout.resize(80, 24);
    await settle(100);
    const after = t.stdout.writes.slice(before).join('');
    expect(after.startsWith('\u001b[2J')).toBe(true);
    expect(after).toContain(' NAME            KIND');
    t.stdin.write('q');
    await done;
  });
});
