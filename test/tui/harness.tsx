/**
 * Ink with a fake terminal of a fixed size, for frames at 120x40 and for resizing (ink-testing-library's stdout is
 * always 100 columns and has no rows). Like ink-testing-library it renders in debug mode: one whole frame per write.
 */
import { EventEmitter } from 'node:events';
import { render, type Instance } from 'ink';
import type { ReactNode } from 'react';

export class FakeStdout extends EventEmitter {
  columns: number;
  rows: number;
  isTTY = true;
  readonly writes: string[] = [];

  constructor(columns: number, rows: number) {
    super();
    this.columns = columns;
    this.rows = rows;
  }

  write = (data: string, callback?: () => void): boolean => {
    this.writes.push(data);
    callback?.();
    return true;
  };

  /** The terminal is resized: new size, then the 'resize' event, as a TTY does on SIGWINCH. */
  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }

  get output(): string {
    return this.writes.join('');
  }
}

export class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  rawMode = false;

  write(data: string): void {
    this.data = data;
    this.emit('readable');
    this.emit('data', data);
  }
  read = (): string | null => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding(): void {}
  setRawMode(mode: boolean): void {
    this.rawMode = mode;
  }
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export interface Sized {
  readonly stdout: FakeStdout;
  readonly stdin: FakeStdin;
  readonly instance: Instance;
  lastFrame(): string;
}

export function renderSized(node: ReactNode, columns: number, rows: number): Sized {
  const stdout = new FakeStdout(columns, rows);
  const stdin = new FakeStdin();
  const instance = render(node, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  return { stdout, stdin, instance, lastFrame: () => stdout.writes.at(-1) ?? '' };
}

/** Lets Ink read the input and React draw (a lone ESC is told from a sequence on the next turn). */
export function settle(ms = 20): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
