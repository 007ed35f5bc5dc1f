/** Where a command writes: stdout for results, stderr for the one-line notes. Injected so tests can capture it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** Terminal width for plain tables; undefined when not a terminal (nothing is cut). */
  readonly columns?: number;
}

export function processOutput(): Output {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    ...(process.stdout.isTTY && process.stdout.columns !== undefined && { columns: process.stdout.columns }),
  };
}

/** Gaps (no root, no Docker...) go to stderr, one line each, so stdout stays clean for pipes and --json. */
export function reportGaps(output: Output, gaps: readonly string[]): void {
  for (const gap of gaps) output.err(`bubble: ${gap}\n`);
}
