/**
 * Runs the TUI full screen on a terminal until `q`, Ctrl-C, SIGINT, SIGTERM or SIGHUP. The alternate screen is
 * entered only once everything that can fail with a user error (no terminal, unknown container) has been checked,
 * and is always left again: on quit, on an exception (the error propagates after the terminal is restored), on a
 * signal, and as a last resort on process exit.
 */
import { render, type Instance } from 'ink';
import { BubbleError } from '../errors/bubble-error.js';
import { matchContainer } from '../model/match.js';
import type { ContainerView } from '../model/snapshot.js';
import type { Tier } from '../store/tiers.js';
import { App, type AppProps } from './App.js';
import { LineWriter } from './line-writer.js';
import type { Source } from './source.js';

/** Alternate screen on, cursor home, cursor hidden. */
export const ENTER_SCREEN = '\u001b[?1049h\u001b[H\u001b[?25l';
/** Cursor shown, alternate screen off (the shell's screen comes back as it was). */
export const LEAVE_SCREEN = '\u001b[?25h\u001b[?1049l';
/** Erase the screen; written on resize so nothing of the old layout is left beside the new one. */
const ERASE_SCREEN = '\u001b[2J';

/** How long `bubble top NAME` waits for the first live sample before matching NAME. */
const FIRST_SAMPLE_TIMEOUT_MS = 5000;

export interface RunOptions {
  /** Open this container directly: a name, id prefix, Slurm job id or cgroup path (model/match.ts). */
  readonly container?: string;
  /** Open this container, already resolved by the command (its key). */
  readonly containerKey?: string;
  /** Start at this moment instead of live (`bubble replay --at`). */
  readonly atMs?: number;
  /** @default 'second' */
  readonly tier?: Tier;
  /** The command named in the non-terminal message. @default 'top' */
  readonly command?: string;
  /** @default process.stdout */
  readonly stdout?: NodeJS.WriteStream;
  /** @default process.stdin */
  readonly stdin?: NodeJS.ReadStream;
  /** @default NO_COLOR unset or empty */
  readonly color?: boolean;
  /** The lists' first sort orders (the config file's). @default cpu */
  readonly sort?: AppProps['sort'];
  /** The lists' columns (the config file's). @default all that fit */
  readonly listColumns?: AppProps['listColumns'];
}

/** Waits for the source's next data tick, or `ms`. */
function nextTick(source: Source, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let unsubscribe = (): void => {};
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    }
    unsubscribe = source.subscribe(done);
  });
}

/**
 * The key of the container `query` names in the data at the start moment. Throws ContainerNotFoundError (naming the
 * candidates) when it names none or several, or a BubbleError when there is no data to look in.
 */
export async function resolveContainer(source: Source, query: string, atMs: number | undefined, tier: Tier): Promise<string> {
  let snapshot = source.snapshotAt(atMs, tier);
  if (snapshot === undefined && source.mode === 'live' && atMs === undefined) {
    await nextTick(source, FIRST_SAMPLE_TIMEOUT_MS);
    snapshot = source.snapshotAt(undefined, tier);
  }
  if (snapshot === undefined) {
    throw new BubbleError(
      atMs === undefined
        ? `no data to find "${query}" in: nothing is recorded yet`
        : `no data to find "${query}" in at ${new Date(atMs).toISOString()}: nothing is recorded there`,
    );
  }
  const seen = new Map<string, ContainerView>();
  for (const c of [...snapshot.containers, ...snapshot.exited.containers]) if (!seen.has(c.key)) seen.set(c.key, c);
  return matchContainer(query, [...seen.values()]).key;
}

/**
 * `bubble top [container]` and `bubble replay`: refuses a non-terminal with one line, resolves the container, then
 * draws until the user quits. Resolves once the terminal is restored.
 */
export async function runTui(source: Source, options: RunOptions = {}): Promise<void> {
  const stdout = options.stdout ?? process.stdout;
  const stdin = options.stdin ?? process.stdin;
  if (stdout.isTTY !== true || stdin.isTTY !== true) {
    throw new BubbleError(`bubble ${options.command ?? 'top'} needs a terminal; use bubble ls or bubble ps for plain output`);
  }
  const tier = options.tier ?? 'second';
  const containerKey =
    options.containerKey ?? (options.container === undefined ? undefined : await resolveContainer(source, options.container, options.atMs, tier));

  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    try {
      stdout.write(LEAVE_SCREEN);
    } catch {
      // The terminal is gone (SIGHUP): nothing to restore.
    }
  };
  let instance: Instance | undefined;
  const onSignal = (): void => instance?.unmount();
  // The screen is drawn by the line writer (only changed lines); Ink keeps the state, the keys and the redraws.
  const writer = new LineWriter(stdout);
  const onResize = (): void => {
    stdout.write(ERASE_SCREEN);
    writer.invalidate();
  };
  // A closed terminal (ssh dropped) fails the next write with EIO or EPIPE: leave as on SIGHUP, never crash on it.
  const onOutputError = (): void => {
    restored = true;
    instance?.unmount();
  };
  stdout.on('error', onOutputError);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  process.on('exit', restore);
  for (const s of signals) process.on(s, onSignal);
  stdout.write(ENTER_SCREEN);
  try {
    instance = render(
      <App
        source={source}
        tier={tier}
        {...(containerKey !== undefined && { containerKey })}
        {...(options.atMs !== undefined && { atMs: options.atMs })}
        {...(options.color !== undefined && { color: options.color })}
        writer={writer}
        {...(options.sort !== undefined && { sort: options.sort })}
        {...(options.listColumns !== undefined && { listColumns: options.listColumns })}
      />,
      // Ctrl-C is a key of the keymap (quit), so it leaves the same way `q` does.
      { stdout, stdin, exitOnCtrlC: false, patchConsole: stdout === process.stdout },
    );
    // Before Ink's own listener, so the erase comes before the redraw.
    stdout.prependListener('resize', onResize);
    await instance.waitUntilExit();
  } finally {
    stdout.off('resize', onResize);
    stdout.off('error', onOutputError);
    for (const s of signals) process.off(s, onSignal);
    instance?.unmount();
    restore();
    process.off('exit', restore);
  }
}
