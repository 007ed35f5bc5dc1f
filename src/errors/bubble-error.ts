/**
 * A failure the user can act on: the message is one line saying what went wrong and what to do. The CLI prints it
 * (without a stack) and exits with `exitCode`: 1 for a user error, 2 for a usage error.
 */
export class BubbleError extends Error {
  override name = 'BubbleError';
  readonly exitCode: number;

  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options?.exitCode ?? 1;
  }

  get isBubbleError(): true {
    return true;
  }
}

/** Checks by name so it also holds across module copies. */
export function isBubbleError(error: unknown): error is BubbleError {
  return error instanceof Error && (error as Partial<BubbleError>).isBubbleError === true;
}
