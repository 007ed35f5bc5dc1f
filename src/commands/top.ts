/**
 * `bubble top [container]`: the live TUI. It records into the store while it runs (when it can write it and no
 * `bubble record` holds it), so history and replay exist without a daemon.
 */
import { BubbleError } from '../errors/bubble-error.js';
import { LiveSource } from '../tui/live-source.js';
import { runTui } from '../tui/run.js';
import type { Retention } from '../store/tiers.js';

export interface TopOptions {
  readonly container?: string;
  readonly intervalMs: number;
  readonly dbPath: string;
  /** Record into the store while running. */
  readonly record: boolean;
  readonly retention?: Retention;
}

export async function runTop(options: TopOptions): Promise<void> {
  // Say it before starting anything: a pipe gets one line, not a recorder that starts and stops.
  if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
    throw new BubbleError('bubble top needs a terminal; use bubble ls or bubble ps for plain output');
  }
  const source = await LiveSource.start({
    intervalMs: options.intervalMs,
    dbPath: options.dbPath,
    record: options.record,
    waitForDocker: options.container !== undefined,
    ...(options.retention !== undefined && { retention: options.retention }),
  });
  try {
    await runTui(source, { command: 'top', ...(options.container !== undefined && { container: options.container }) });
  } finally {
    source.close();
  }
}
