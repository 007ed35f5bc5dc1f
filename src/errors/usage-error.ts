import { BubbleError } from './bubble-error.js';

/** Bad flags or arguments: exit code 2, like every Unix tool. */
export class UsageError extends BubbleError {
  override name = 'UsageError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, exitCode: 2 });
  }
}
