/**
 * The bubble side of the sysdig bridge: runs `sysdig ... -c native/sysdig-bridge/bubble.lua` (or reads an existing
 * pipe of its output) and turns its JSON lines into typed records. The protocol is documented in
 * native/sysdig-bridge/README.md; the types below mirror it field for field (snake_case, as on the wire).
 *
 * A bad line never stops the stream: malformed, truncated, over-long and unknown-version lines are counted in
 * `ParseStats` and skipped, and `describeParseStats()` turns the counts into one status line.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BubbleError } from '../errors/bubble-error.js';
import type { CgroupMembership } from './identity.js';
import { LineSplitter } from './line-splitter.js';

export const BRIDGE_PROTOCOL_VERSION = 1;

// ---- records --------------------------------------------------------------------------------------------------

/** Every record: protocol version and time. `ts` is milliseconds since the epoch with microsecond decimals. */
interface RecordBase {
  readonly v: typeof BRIDGE_PROTOCOL_VERSION;
  readonly ts: number;
}

/** A process is (pid, start): `start` (ms) tells a reused pid apart; it is exact when `start_exact` said so. */
export interface ProcessRef {
  readonly pid: number;
  readonly start: number;
}

/** First line of a run. `ts` is the bridge's wall clock (whole seconds), not an event time. */
export interface HelloRecord extends RecordBase {
  readonly t: 'hello';
  readonly bridge: string;
  readonly bridge_version: string;
  readonly protocol: number;
  readonly live: boolean;
  readonly interval_ms: number;
  /** The traced machine (from a capture: the machine it was taken on); '' when sysdig could not start. */
  readonly host: string;
  readonly ncpu: number;
}

/** What identity needs, as for procfs. Unknown strings are '', unknown numbers -1. */
export interface IdentityFields extends ProcessRef {
  /** true: `start` is the process's start time; false: the time the bridge first saw it. */
  readonly start_exact: boolean;
  readonly ppid: number;
  /** pid inside the process's pid namespace. */
  readonly vpid: number;
  readonly uid: number;
  readonly comm: string;
  /** Full path of the executable; '' when sysdig does not know it (older captures). */
  readonly exe: string;
  /** argv joined by spaces, like /proc/PID/cmdline. */
  readonly cmdline: string;
  /** sysdig's container id: `host`, or the 12-character id of a container it recognised. */
  readonly container: string;
  /** sysdig's `thread.cgroups`: `controller=/path` pairs separated by spaces. See bridgeMembership(). */
  readonly cgroups: string;
}

/** A process seen for the first time (it existed before, or sysdig missed its exec). */
export interface ProcRecord extends RecordBase, IdentityFields {
  readonly t: 'proc';
}

/** A successful execve: the process's identity from now on (also its first record when its exec was seen). */
export interface ExecRecord extends RecordBase, IdentityFields {
  readonly t: 'exec';
}

export interface ExitRecord extends RecordBase, ProcessRef {
  readonly t: 'exit';
  /** Raw exit status as sysdig reports it; -1 when unknown. */
  readonly status: number;
}

/** Per interval and process. Records of an interval come before the interval's `tick`. */
export interface CpuRecord extends RecordBase, ProcessRef {
  readonly t: 'cpu';
  /** utime + stime from procinfo events (10 ms resolution). */
  readonly cpu_ns: number;
  /** Time on a CPU between context switches (switch events). */
  readonly run_ns: number;
}

export type IoKind = 'file' | 'net' | 'unix' | 'pipe' | 'other';

/** Per interval, process and fd (number + name). */
export interface IoRecord extends RecordBase, ProcessRef {
  readonly t: 'io';
  readonly fd: number;
  readonly kind: IoKind;
  /** File path, unix socket path, pipe name; absent on a net fd that has a tuple. */
  readonly path?: string;
  /** tcp, udp, icmp, raw: absent when sysdig does not know (a socket opened before it started). */
  readonly l4proto?: string;
  readonly cip?: string;
  readonly cport?: number;
  readonly sip?: string;
  readonly sport?: number;
  /** true when this process is the server end (accepted the connection). */
  readonly server?: boolean;
  readonly bytes_in: number;
  readonly bytes_out: number;
  /** Successful open/openat/creat, connect (incl. EINPROGRESS) and accept calls that produced this fd. */
  readonly opens: number;
  /** Successful read/write-family calls. */
  readonly ops: number;
}

/** Per interval, process, syscall and errno: failed syscalls. */
export interface ErrRecord extends RecordBase, ProcessRef {
  readonly t: 'err';
  readonly syscall: string;
  /** Errno name (ENOENT, EINPROGRESS...). */
  readonly errno: string;
  readonly count: number;
}

/** End of an interval: every cpu/io/err record of it came before. */
export interface TickRecord extends RecordBase {
  readonly t: 'tick';
  readonly dt_ms: number;
  /** Events the bridge handled in the interval. */
  readonly events: number;
}

/** Last line of a run. */
export interface EndRecord extends RecordBase {
  readonly t: 'end';
  readonly events: number;
  /** Lines written before this one. */
  readonly records: number;
}

export type BridgeRecord = HelloRecord | ProcRecord | ExecRecord | ExitRecord | CpuRecord | IoRecord | ErrRecord | TickRecord | EndRecord;

// ---- one line -------------------------------------------------------------------------------------------------

export type BridgeLineError = 'empty' | 'malformed' | 'unknown-version' | 'unknown-type' | 'too-long' | 'truncated' | 'out-of-range';

export interface BridgeLineFailure {
  readonly error: BridgeLineError;
}

/** Longest line accepted (characters). Real records are a few hundred; a command line can make one a few KiB. */
export const MAX_LINE_LENGTH = 1 << 20;

type FieldType = 'n' | 's' | 'b';
type Shape = readonly (readonly [string, FieldType])[];

const REF: Shape = [
  ['pid', 'n'],
  ['start', 'n'],
];
const IDENTITY: Shape = [
  ...REF,
  ['start_exact', 'b'],
  ['ppid', 'n'],
  ['vpid', 'n'],
  ['uid', 'n'],
  ['comm', 's'],
  ['exe', 's'],
  ['cmdline', 's'],
  ['container', 's'],
  ['cgroups', 's'],
];

/** Required fields per record type (beyond v, t, ts). Unknown extra fields are allowed: a v1 bridge may add some. */
const SHAPES: Readonly<Record<string, Shape>> = {
  hello: [
    ['bridge', 's'],
    ['bridge_version', 's'],
    ['protocol', 'n'],
    ['live', 'b'],
    ['interval_ms', 'n'],
    ['host', 's'],
    ['ncpu', 'n'],
  ],
  proc: IDENTITY,
  exec: IDENTITY,
  exit: [...REF, ['status', 'n']],
  cpu: [...REF, ['cpu_ns', 'n'], ['run_ns', 'n']],
  io: [...REF, ['fd', 'n'], ['kind', 's'], ['bytes_in', 'n'], ['bytes_out', 'n'], ['opens', 'n'], ['ops', 'n']],
  err: [...REF, ['syscall', 's'], ['errno', 's'], ['count', 'n']],
  tick: [
    ['dt_ms', 'n'],
    ['events', 'n'],
  ],
  end: [
    ['events', 'n'],
    ['records', 'n'],
  ],
};

const IO_OPTIONAL: Shape = [
  ['path', 's'],
  ['l4proto', 's'],
  ['cip', 's'],
  ['cport', 'n'],
  ['sip', 's'],
  ['sport', 'n'],
  ['server', 'b'],
];
const IO_KINDS: ReadonlySet<string> = new Set<IoKind>(['file', 'net', 'unix', 'pipe', 'other']);

const TYPE_NAMES = { n: 'number', s: 'string', b: 'boolean' } as const;

// Failures are shared objects: a stream of garbage allocates nothing per line.
const FAIL: { readonly [K in BridgeLineError]: BridgeLineFailure } = {
  empty: { error: 'empty' },
  malformed: { error: 'malformed' },
  'unknown-version': { error: 'unknown-version' },
  'unknown-type': { error: 'unknown-type' },
  'too-long': { error: 'too-long' },
  truncated: { error: 'truncated' },
  'out-of-range': { error: 'out-of-range' },
};

/** Which ParseStats counter each failure adds to. */
const COUNTER: { readonly [K in BridgeLineError]: Exclude<keyof ParseStats, 'lines' | 'records'> } = {
  empty: 'empty',
  malformed: 'malformed',
  'unknown-version': 'unknownVersion',
  'unknown-type': 'unknownType',
  'too-long': 'tooLong',
  truncated: 'truncated',
  'out-of-range': 'outOfRange',
};

/**
 * Counters and sizes: never negative. Every number of a record must also be one the store can hold exactly (a
 * finite value within ±2^53): `"cpu_ns":1e400` parses as Infinity, `1e300` or `"bytes_in":1e20` would make SQLite
 * refuse the tick, and one such line used to stop the recorder writing for good.
 */
const NON_NEGATIVE: ReadonlySet<string> = new Set([
  'ts',
  'pid',
  'start',
  'cpu_ns',
  'run_ns',
  'fd',
  'bytes_in',
  'bytes_out',
  'opens',
  'ops',
  'count',
  'dt_ms',
  'events',
  'records',
  'interval_ms',
  'ncpu',
  'cport',
  'sport',
]);

/** Whether every number of the record is in range (see NON_NEGATIVE). */
function inRange(o: Record<string, unknown>): boolean {
  for (const key in o) {
    const value = o[key];
    if (typeof value !== 'number') continue;
    if (!Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) return false;
    if (value < 0 && NON_NEGATIVE.has(key)) return false;
  }
  return true;
}

function hasShape(o: Record<string, unknown>, shape: Shape, optional: boolean): boolean {
  for (const [key, type] of shape) {
    const value = o[key];
    if (value === undefined && optional) continue;
    if (typeof value !== TYPE_NAMES[type]) return false;
  }
  return true;
}

export function isLineFailure(r: BridgeRecord | BridgeLineFailure): r is BridgeLineFailure {
  return 'error' in r;
}

/**
 * One line (without its newline) -> a record, or why it was rejected. JSON.parse plus the few checks that make the
 * record's type honest: the version, the type, and the type of every field the type requires.
 */
export function parseBridgeLine(line: string): BridgeRecord | BridgeLineFailure {
  if (line.length === 0) return FAIL.empty;
  if (line.length > MAX_LINE_LENGTH) return FAIL['too-long'];
  if (line.charCodeAt(0) !== 0x7b /* { */) return line.trim() === '' ? FAIL.empty : FAIL.malformed;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return FAIL.malformed;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return FAIL.malformed;
  const o = parsed as Record<string, unknown>;
  if (typeof o['v'] !== 'number') return FAIL.malformed;
  if (o['v'] !== BRIDGE_PROTOCOL_VERSION) return FAIL['unknown-version'];
  const t = o['t'];
  if (typeof t !== 'string') return FAIL.malformed;
  const shape = Object.hasOwn(SHAPES, t) ? SHAPES[t] : undefined;
  if (shape === undefined) return FAIL['unknown-type'];
  if (typeof o['ts'] !== 'number' || !hasShape(o, shape, false)) return FAIL.malformed;
  if (t === 'io' && (!IO_KINDS.has(o['kind'] as string) || !hasShape(o, IO_OPTIONAL, true))) return FAIL.malformed;
  if (!inRange(o)) return FAIL['out-of-range'];
  return o as unknown as BridgeRecord;
}

// ---- a stream of lines ----------------------------------------------------------------------------------------

export interface ParseStats {
  /** Lines seen, good or bad (a truncated last line included). */
  lines: number;
  records: number;
  /** Not JSON, not an object, or a field of the wrong type. */
  malformed: number;
  /** A `v` this parser does not know (a newer or older bridge). */
  unknownVersion: number;
  /** v1 with a record type this parser does not know. */
  unknownType: number;
  /** The stream ended in the middle of a line. */
  truncated: number;
  /** Lines longer than MAX_LINE_LENGTH (dropped without being buffered whole). */
  tooLong: number;
  /** A number the store cannot hold (not finite, beyond ±2^53) or a negative counter. */
  outOfRange: number;
  /** Blank lines: skipped, not errors. */
  empty: number;
}

export function emptyParseStats(): ParseStats {
  return { lines: 0, records: 0, malformed: 0, unknownVersion: 0, unknownType: 0, truncated: 0, tooLong: 0, outOfRange: 0, empty: 0 };
}

/** Lines that were skipped as bad (blank lines are not bad). */
export function skippedLines(s: Readonly<ParseStats>): number {
  return s.malformed + s.unknownVersion + s.unknownType + s.truncated + s.tooLong + s.outOfRange;
}

/**
 * One status line when lines were skipped, else undefined:
 * 'sysdig bridge: skipped 3 of 1200 lines (2 malformed, 1 truncated)'.
 */
export function describeParseStats(s: Readonly<ParseStats>): string | undefined {
  const skipped = skippedLines(s);
  if (skipped === 0) return undefined;
  const parts: string[] = [];
  if (s.malformed > 0) parts.push(`${s.malformed} malformed`);
  if (s.outOfRange > 0) parts.push(`${s.outOfRange} with a number out of range`);
  if (s.unknownVersion > 0) parts.push(`${s.unknownVersion} of an unknown protocol version`);
  if (s.unknownType > 0) parts.push(`${s.unknownType} of an unknown type`);
  if (s.truncated > 0) parts.push(`${s.truncated} truncated`);
  if (s.tooLong > 0) parts.push(`${s.tooLong} too long`);
  return `sysdig bridge: skipped ${skipped} of ${s.lines} lines (${parts.join(', ')})`;
}

/**
 * Splits a byte or text stream into lines and parses them. A line may arrive in any number of chunks (a UTF-8
 * character split between two Buffers included); a line still open at end() is counted as truncated.
 */
export class BridgeParser {
  private readonly counts: ParseStats = emptyParseStats();
  private readonly maxLine: number;
  private readonly lines: LineSplitter;

  constructor(options?: { maxLineLength?: number }) {
    this.maxLine = options?.maxLineLength ?? MAX_LINE_LENGTH;
    this.lines = new LineSplitter(this.maxLine, () => {
      this.counts.lines++;
      this.counts.tooLong++;
    });
  }

  get stats(): Readonly<ParseStats> {
    return this.counts;
  }

  push(chunk: string | Buffer): BridgeRecord[] {
    const out: BridgeRecord[] = [];
    this.lines.push(chunk, (line) => this.take(line, out));
    return out;
  }

  /** The stream ended: a partial last line is counted as truncated (never parsed: its end is missing). */
  end(): BridgeRecord[] {
    if (this.lines.end()) {
      this.counts.lines++;
      this.counts.truncated++;
    }
    return [];
  }

  private take(raw: string, out: BridgeRecord[]): void {
    this.counts.lines++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const r = line.length > this.maxLine ? FAIL['too-long'] : parseBridgeLine(line);
    if (!isLineFailure(r)) {
      this.counts.records++;
      out.push(r);
      return;
    }
    this.counts[COUNTER[r.error]]++;
  }
}

// ---- identity ---------------------------------------------------------------------------------------------------

// A pair starts at a controller name (or `name=<hierarchy>`, or nothing for the unified hierarchy) followed by `=/`.
const CGROUP_PAIR_START = /^(?:[A-Za-z0-9_.,-]+(?:=[A-Za-z0-9_.,-]+)?)?=\//;

/**
 * sysdig's `thread.cgroups` (`cpuset=/a memory=/a name=systemd=/a`) -> the CgroupMembership that
 * collectors/identity.ts resolves, so a bridge process is filed under the same container as its procfs twin. A
 * space inside a path is kept (a token that does not start a new pair continues the previous path); an empty
 * controller name is the unified (v2) hierarchy.
 */
export function bridgeMembership(cgroups: string): CgroupMembership {
  const v1: Record<string, string> = {};
  let v2: string | undefined;
  const pairs: string[] = [];
  for (const token of cgroups.split(' ')) {
    if (CGROUP_PAIR_START.test(token) || pairs.length === 0) pairs.push(token);
    else pairs[pairs.length - 1] += ` ${token}`;
  }
  for (const pair of pairs) {
    const at = pair.indexOf('=/');
    if (at < 0) continue;
    const key = pair.slice(0, at);
    const path = pair.slice(at + 1);
    if (key === '') {
      v2 = path;
      continue;
    }
    if (key.startsWith('name=')) v1[key] = path;
    else for (const c of key.split(',')) if (c !== '') v1[c] = path;
  }
  return v2 === undefined ? { v1, deleted: false } : { v2, v1, deleted: false };
}

/** `${pid}:${start}`: the key of a bridge process (start in ms, as on the wire). */
export function bridgeProcessKey(r: ProcessRef): string {
  return `${r.pid}:${r.start}`;
}

// ---- running sysdig -----------------------------------------------------------------------------------------------

const BRIDGE_RELATIVE = join('native', 'sysdig-bridge', 'bubble.lua');
const nativeMemo = new Map<string, string>();

/**
 * Absolute path of a file under native/ (`relative` from the checkout's root): the nearest ancestor of this module
 * that holds it, so it works from src/collectors (tsx, vitest) and from dist/ (the built CLI, where native/ ships
 * next to dist/).
 */
export function nativeFile(relative: string): string {
  const memo = nativeMemo.get(relative);
  if (memo !== undefined) return memo;
  const here = dirname(fileURLToPath(import.meta.url));
  let dir = here;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) {
      nativeMemo.set(relative, candidate);
      return candidate;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  // Not found: the path it would have in a source checkout, so the error names a sensible place.
  return resolve(here, '..', '..', relative);
}

/** Absolute path of native/sysdig-bridge/bubble.lua (see nativeFile()). */
export function bridgePath(): string {
  return nativeFile(BRIDGE_RELATIVE);
}

export interface SysdigRunOptions {
  /** `-r FILE`: replay a capture (no kernel driver needed). */
  capture?: string;
  /** Read bridge output from an existing pipe (`--source sysdig -`) instead of spawning sysdig. */
  stdin?: NodeJS.ReadableStream;
  /** Default `sysdig` (from PATH). */
  sysdigBin?: string;
  /** More sysdig options, placed before `-c` (e.g. `['-s', '0']`, or `['-k', URL]` for Kubernetes metadata). */
  extraArgs?: readonly string[];
  /** Interval length in ms (the chisel's argument, a whole number >= 10); default the chisel's 1000. */
  intervalMs?: number;
  /** Another chisel file (default bridgePath()). */
  bridge?: string;
}

/** The sysdig command line for `options` (without the binary). */
export function sysdigArgs(options: SysdigRunOptions): string[] {
  const args = options.capture !== undefined ? ['-r', options.capture] : ['-pc'];
  args.push(...(options.extraArgs ?? []), '-c', options.bridge ?? bridgePath());
  if (options.intervalMs !== undefined) args.push(String(options.intervalMs));
  return args;
}

export interface BridgeRun {
  /** Resolves with the parse counts when the stream ends (or after stop()); rejects with a BubbleError. */
  readonly done: Promise<ParseStats>;
  /** Live counts, for a status line while the run goes on. */
  readonly stats: Readonly<ParseStats>;
  /** Asks sysdig to finish (SIGINT, so the bridge still writes its last interval and `end`; SIGKILL after 3 s). */
  stop(): void;
}

const KILL_AFTER_MS = 3000;
const STDERR_KEEP = 16 * 1024;
const INSTALL_HINT = '`apt-get install sysdig`';
const CAPTURE_HINT = 'capture files (--sysdig-capture FILE) still work without the kernel driver';

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '');
  return (line ?? '').trim().replace(/[\x00-\x1f\x7f]/g, ' ');
}

/** The one-line error for a sysdig that could not be started at all. */
export function sysdigMissingError(bin: string, cause: unknown): BubbleError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not executable' : `could not start (${String(code ?? cause)})`;
  return new BubbleError(`sysdig ${why} at ${bin}: install it with ${INSTALL_HINT}; ${CAPTURE_HINT}`, { cause });
}

/** The one-line error for a sysdig that started and failed; stderr is what it said. */
export function sysdigFailedError(stderr: string, exit: string, live: boolean, capture?: string): BubbleError {
  const said = firstLine(stderr) || exit;
  if (live && /driver|\/dev\/scap|scap module|kernel module|probe|root credentials/i.test(stderr)) {
    return new BubbleError(
      `sysdig could not open its kernel driver (${said}): run as root with the driver installed ` +
        `(${INSTALL_HINT} brings falcosecurity-scap-dkms, or run scap-driver-loader); ${CAPTURE_HINT}`,
    );
  }
  const on = capture === undefined ? '' : ` on ${capture}`;
  return new BubbleError(`sysdig failed${on} (${exit}): ${said}`);
}

/**
 * Runs the bridge: spawns `sysdig -pc -c <bridge>` (live) or `sysdig -r FILE -c <bridge>`, or reads `stdin`, and
 * hands each chunk's records to onRecords. A missing sysdig binary or driver rejects `done` with a one-line
 * BubbleError saying what to install. Bad lines are counted, never fatal. If onRecords throws, the run stops and
 * `done` rejects with that error.
 */
export function runBridge(options: SysdigRunOptions, onRecords: (records: BridgeRecord[]) => void): BridgeRun {
  const parser = new BridgeParser();
  let settle!: { resolve: (s: ParseStats) => void; reject: (e: unknown) => void };
  const done = new Promise<ParseStats>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let finished = false;
  let stopped = false;
  let failure: unknown;
  const finish = (error?: unknown): void => {
    if (finished) return;
    finished = true;
    if (error === undefined) settle.resolve({ ...parser.stats });
    else settle.reject(error);
  };
  let halt: () => void = () => undefined;
  const deliver = (records: BridgeRecord[]): void => {
    if (records.length === 0 || failure !== undefined) return;
    try {
      onRecords(records);
    } catch (err) {
      failure = err;
      halt();
    }
  };

  if (options.stdin !== undefined) {
    const stream = options.stdin;
    const onData = (chunk: string | Buffer): void => deliver(parser.push(chunk));
    const onEnd = (): void => {
      deliver(parser.end());
      cleanup();
      finish(failure);
    };
    const onError = (err: Error): void => {
      cleanup();
      finish(new BubbleError(`reading the sysdig bridge pipe failed: ${err.message}`, { cause: err }));
    };
    const cleanup = (): void => {
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('error', onError);
    };
    halt = () => {
      cleanup();
      stream.pause(); // no listener is left to take the data; the pipe's writer blocks instead of being read into the void
      finish(failure);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    return {
      done,
      stats: parser.stats,
      stop: () => {
        stopped = true;
        halt();
      },
    };
  }

  const noop: BridgeRun = { done, stats: parser.stats, stop: () => undefined };
  const interval = options.intervalMs;
  if (interval !== undefined && !(Number.isInteger(interval) && interval >= 10)) {
    finish(new BubbleError(`the sysdig bridge interval must be a whole number of milliseconds >= 10, not ${interval}`));
    return noop;
  }

  const bin = options.sysdigBin ?? 'sysdig';
  const live = options.capture === undefined;
  const child = spawn(bin, sysdigArgs(options), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let killTimer: NodeJS.Timeout | undefined;
  halt = () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    killTimer.unref();
  };
  child.stdout.on('data', (chunk: Buffer) => deliver(parser.push(chunk)));
  child.stdout.on('end', () => deliver(parser.end()));
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < STDERR_KEEP) stderr += chunk.toString('utf8');
  });
  child.on('error', (err) => {
    if (killTimer !== undefined) clearTimeout(killTimer);
    finish(sysdigMissingError(bin, err));
  });
  child.on('close', (code, signal) => {
    if (killTimer !== undefined) clearTimeout(killTimer);
    if (failure !== undefined) finish(failure);
    else if (stopped || code === 0) finish();
    else {
      const exit = signal === null ? `exit ${code}` : `killed by ${signal}`;
      finish(sysdigFailedError(stderr, exit, live, options.capture));
    }
  });
  return {
    done,
    stats: parser.stats,
    stop: () => {
      stopped = true;
      halt();
    },
  };
}
