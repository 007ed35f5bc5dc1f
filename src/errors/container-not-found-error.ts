import { BubbleError } from './bubble-error.js';

/** `bubble ps X` where X names no container, or several. */
export class ContainerNotFoundError extends BubbleError {
  override name = 'ContainerNotFoundError';
  readonly query: string;
  readonly candidates: readonly string[];

  constructor(query: string, candidates: readonly string[], message: string) {
    super(message);
    this.query = query;
    this.candidates = candidates;
  }
}
