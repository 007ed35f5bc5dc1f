/**
 * The one way the collectors read kernel files (procfs.ts, fds.ts, cgroups.ts): into one shared, growing buffer per
 * reader, through fds held open across ticks where that pays, with errno classified in one place.
 *
 * procfs and cgroupfs regenerate a file's text on each read at offset 0, so a held fd re-read with pread gives the
 * current numbers without a path walk, an open and a close (~1 µs instead of ~2.3 µs for a stat file). A held fd
 * never serves a stale or a foreign file: one of a process that exited fails with ESRCH (so a reused pid is never
 * read through it), one of a removed cgroup with ENODEV. Reads are synchronous: nothing else uses the buffer between
 * a read and the parse that follows it.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';

/**
 * Why a read failed. gone: the process or file left (ENOENT, ESRCH); removed: the cgroup was removed under a held fd
 * (ENODEV); denied: a permission or ptrace check refused (EACCES, EPERM); other: anything else, an error to report.
 */
export type ReadFailure = 'gone' | 'removed' | 'denied' | 'other';

export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function classifyReadError(error: unknown): ReadFailure {
  const code = errnoCode(error);
  if (code === 'ENOENT' || code === 'ESRCH') return 'gone';
  if (code === 'ENODEV') return 'removed';
  if (code === 'EACCES' || code === 'EPERM') return 'denied';
  return 'other';
}

/** Sentinels of HeldFiles.open, so the hot path compares numbers; -1 means "no fd held: read by path". */
export const FD_NONE = -1;
export const FD_GONE = -2;
export const FD_DENIED = -3;

/**
 * How far a read goes. once: one read (a single-record file the kernel returns whole: stat, io, fdinfo). short: until
 * a read returns less than asked (kernfs and small seq_files: one more read would only return 0). eof: until a read
 * returns 0 (seq_files larger than a page, cmdline, environ).
 */
export type ReadExtent = 'once' | 'short' | 'eof';

/** A bounded set of fds held open across ticks, and the shared buffer every read goes into. */
export class HeldFiles {
  /** The bytes of the last read; valid until the next read. */
  buf: Buffer;
  readonly max: number;
  #held = 0;

  /** max: most fds held at once (beyond it, files are read by path). */
  constructor(opts: { max: number; bufferBytes?: number }) {
    this.max = opts.max;
    this.buf = Buffer.allocUnsafe(opts.bufferBytes ?? 64 * 1024);
  }

  /** Number of fds held now. */
  get held(): number {
    return this.#held;
  }

  /** Whether `n` more fds may be held (under `max`, or a lower limit a user of a shared instance keeps to). */
  room(n = 1, max = this.max): boolean {
    return this.#held + n <= max;
  }

  /**
   * Opens `path` to hold (counted against max, whether or not there is room: callers ask room() first); FD_GONE or
   * FD_DENIED instead of throwing for those; throws anything else (with `removed` as gone: a removed cgroup's file).
   */
  open(path: string): number {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY);
    } catch (error) {
      const failure = classifyReadError(error);
      if (failure === 'gone' || failure === 'removed') return FD_GONE;
      if (failure === 'denied') return FD_DENIED;
      throw error;
    }
    this.#held++;
    return fd;
  }

  /** Closes a held fd (no-op for a sentinel). */
  close(fd: number): void {
    if (fd < 0) return;
    this.#held--;
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing to release.
    }
  }

  /** Reads `fd` from offset 0 into buf (growing it up to `cap`); returns the length. Throws errno errors. */
  read(fd: number, extent: ReadExtent, cap = Number.MAX_SAFE_INTEGER): number {
    if (extent === 'once') return readSync(fd, this.buf, 0, Math.min(this.buf.length, cap), 0);
    let len = 0;
    for (;;) {
      if (len === this.buf.length) {
        if (len >= cap) return len;
        const bigger = Buffer.allocUnsafe(Math.min(cap, this.buf.length * 2));
        this.buf.copy(bigger, 0, 0, len);
        this.buf = bigger;
      }
      const want = Math.min(this.buf.length, cap) - len;
      if (want <= 0) return len;
      const n = readSync(fd, this.buf, len, want, len);
      len += n;
      if (n === 0 || (extent === 'short' && n < want)) return len;
    }
  }

  /** open + read + close, nothing held: for files read once, or when no more fds may be held. Throws errno errors. */
  readPath(path: string, extent: ReadExtent, cap?: number): number {
    const fd = openSync(path, constants.O_RDONLY);
    try {
      return this.read(fd, extent, cap);
    } finally {
      closeSync(fd);
    }
  }
}
