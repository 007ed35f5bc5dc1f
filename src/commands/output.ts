/** Where a command writes: stdout for results, stderr for the one-line notes. Injected so tests can capture it. */
import { safeText } from '../format.js';

export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Terminal width for plain tables; undefined when not a terminal (nothing is cut). */
  readonly columns?: number;
}

/**
 * Thrown by out() once stdout's reader has gone (`bubble export | head -1`): the command stops where it is and the CLI
 * exits quietly with status 0, as Unix tools do (the reader had what it wanted).
 */
export class OutputClosedError extends Error {
  override name = 'OutputClosedError';
}

const isEpipe = (error: unknown): boolean => (error as NodeJS.ErrnoException | null)?.code === 'EPIPE';

let guarded = false;

/**
 * A closed pipe is reported as an 'error' event after the write, which unhandled ends bubble with a stack trace. On
 * stdout it ends bubble quietly (status 0 unless the command already failed); on stderr the notes are dropped and the
 * command goes on (a recorder keeps recording).
 */
function guardPipes(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (error) => {
    if (!isEpipe(error)) throw error;
    process.exit(process.exitCode ?? 0);
  });
  process.stderr.on('error', (error) => {
    if (!isEpipe(error)) throw error;
  });
}

export function processOutput(): Output {
  guardPipes();
  return {
    out: (text) => {
      // The write that met EPIPE marks the stream at once, while its 'error' event waits: a loop that streams
      // rows (export) stops at the next write instead of running to its end.
      if (isEpipe(process.stdout.errored)) throw new OutputClosedError('stdout was closed');
      process.stdout.write(text);
    },
    err: (text) => {
      if (process.stderr.errored === null) process.stderr.write(text);
    },
    ...(process.stdout.isTTY && process.stdout.columns !== undefined && { columns: process.stdout.columns }),
  };
}

/** Gaps (no root, no Docker...) go to stderr, one line each, so stdout stays clean for pipes and --json. */
export function reportGaps(output: Output, gaps: readonly string[]): void {
  for (const gap of gaps) output.err(`bubble: ${safeText(gap)}\n`);
}
