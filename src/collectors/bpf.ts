/**
 * The bubble side of native/bpf/bubble.bt: runs `bpftrace -f json` on it and turns its JSON lines into typed
 * intervals. The protocol (version 2) is documented in native/bpf/README.md: bpftrace's own JSON lines (`map`,
 * `printf`, `attached_probes`, `lost_events`), where the program's printf lines carry `{"t":"hello"|"tick","v":1}`
 * and the maps printed before a `tick` line are that interval's aggregates.
 *
 * A bad line never stops the stream: malformed, over-long, unknown-version, unknown-type and out-of-range lines
 * (a key or value the protocol does not allow) are counted in the same ParseStats as the sysdig bridge's, and
 * skipped whole.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statfsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { BubbleError } from '../errors/bubble-error.js';
import { LineSplitter } from './line-splitter.js';
import { emptyParseStats, nativeFile, skippedLines, type ParseStats } from './sysdig.js';

export const BPF_PROTOCOL_VERSION = 2;

// ---- what an interval holds ------------------------------------------------------------------------------------

/** A process (thread group) that exited in the interval, as the kernel saw it at its last switch-out. */
export interface BpfExit {
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  readonly comm: string;
  /** Raw wait status (exit(1) is 256, SIGTERM is 15). */
  readonly code: number;
  /** Run time of all its threads (sum_exec_runtime), ns. */
  readonly cpuNs: number;
  /** Start time, ns since boot (the clock /proc/PID/stat's starttime counts in ticks). */
  readonly startBootNs: number;
  /** Exit time, CLOCK_MONOTONIC ns (the clock of the tick's `mono_ns`). */
  readonly exitMonoNs: number;
  /** Its cgroup v2 id (the inode of its directory in the unified hierarchy; 1 is the root). */
  readonly cgroupId: number;
}

export interface BpfOpen {
  readonly pid: number;
  readonly path: string;
  /** Successful openat calls on that path in the interval. */
  readonly count: number;
}

export interface BpfNet {
  readonly pid: number;
  /** Address family: 1 unix, 2 inet, 10 inet6. */
  readonly family: number;
  /** IP protocol: 6 tcp, 17 udp, 0 for unix sockets. */
  readonly protocol: number;
  readonly rxBytes: number;
  readonly txBytes: number;
}

/** A TCP connection's endpoints at a state change in the interval (its last change of the interval). */
export interface BpfConnection {
  /** The connection: the socket's kernel address as bpftrace prints it, and its ports (`0xffff...,40000,80`). */
  readonly id: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** 1 this end connected, 2 it was accepted, 0 unknown (the connection predates bpftrace). */
  readonly side: number;
  /** The state it changed to (TCP_* numbers: 1 ESTABLISHED ... 7 CLOSE, its last). */
  readonly state: number;
}

/** TCP bytes of one process on one connection (`id` as BpfConnection's) in the interval. */
export interface BpfSocketBytes {
  readonly pid: number;
  readonly id: string;
  readonly rxBytes: number;
  readonly txBytes: number;
}

export interface BpfError {
  readonly pid: number;
  /** Syscall number (x86_64 table); -1 when the kernel did not know it. */
  readonly syscall: number;
  readonly errno: number;
  readonly count: number;
}

export interface BpfInterval {
  /** The tick's CLOCK_MONOTONIC time, ns. */
  readonly monoNs: number;
  readonly exits: readonly BpfExit[];
  /** pid -> the file it exec'd in the interval. */
  readonly execs: ReadonlyMap<number, string>;
  readonly opens: readonly BpfOpen[];
  readonly net: readonly BpfNet[];
  readonly connections: readonly BpfConnection[];
  readonly socketBytes: readonly BpfSocketBytes[];
  readonly errors: readonly BpfError[];
}

export type BpfEvent = { readonly t: 'hello'; readonly monoNs: number } | { readonly t: 'tick'; readonly interval: BpfInterval };

/** Parse counts plus what bpftrace itself says it lost. */
export interface BpfStats extends ParseStats {
  /** Events bpftrace reported lost (`lost_events`). */
  lostEvents: number;
}

export function emptyBpfStats(): BpfStats {
  return { ...emptyParseStats(), lostEvents: 0 };
}

/** 'bpftrace: skipped 3 of 1200 lines (2 malformed, 1 with a number out of range)', or undefined when none was. */
export function describeBpfStats(s: Readonly<BpfStats>): string | undefined {
  const skipped = skippedLines(s);
  const parts: string[] = [];
  if (s.malformed > 0) parts.push(`${s.malformed} malformed`);
  if (s.outOfRange > 0) parts.push(`${s.outOfRange} with a key or number out of range`);
  if (s.unknownVersion > 0) parts.push(`${s.unknownVersion} of an unknown protocol version`);
  if (s.unknownType > 0) parts.push(`${s.unknownType} of an unknown type`);
  if (s.truncated > 0) parts.push(`${s.truncated} truncated`);
  if (s.tooLong > 0) parts.push(`${s.tooLong} too long`);
  const lost = s.lostEvents > 0 ? `${s.lostEvents} events lost by bpftrace` : undefined;
  if (skipped === 0) return lost === undefined ? undefined : `bpftrace: ${lost}`;
  const head = `bpftrace: skipped ${skipped} of ${s.lines} lines (${parts.join(', ')})`;
  return lost === undefined ? head : `${head}; ${lost}`;
}

// ---- one line ----------------------------------------------------------------------------------------------------

/** Longest line accepted. A map of 4096 paths of 64 bytes is ~300 KiB. */
export const MAX_BPF_LINE = 4 << 20;

const INT = /^-?\d{1,16}$/;
const MAX_U32 = 0xffff_ffff;

/** A whole number the store can hold within [min, max]. */
const whole = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/** `"1234"` or `"1234,5,-6"` -> the numbers, each within its [min, max]; undefined when any is not. */
function intKey(key: string, bounds: readonly (readonly [number, number])[]): number[] | undefined {
  const parts = key.split(',');
  if (parts.length !== bounds.length) return undefined;
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const text = parts[i]!.trim();
    if (!INT.test(text)) return undefined;
    const n = Number(text);
    const [min, max] = bounds[i]!;
    if (n < min || n > max) return undefined;
    out.push(n);
  }
  return out;
}

const PID: readonly [number, number] = [1, 1 << 22];

/** The program's maps, without their generation suffix (`@exit0` and `@exit1` are both `exit`). */
type MapName = 'exit' | 'exec' | 'open' | 'tx' | 'rx' | 'err' | 'conn' | 'ctx' | 'crx';
const MAP_NAME = /^(exit|exec|open|tx|rx|err|conn|ctx|crx)[01]$/;

/** A kernel address as bpftrace prints a pointer: the socket. */
const SOCK = /^0x[0-9a-f]{1,16}$/;
/** An address as bpftrace's ntop() prints it (IPv4 dotted, IPv6 colon-hex, perhaps with a dotted IPv4 tail). */
const ADDRESS = /^[0-9a-f:.]{2,45}$/;
const PORT: readonly [number, number] = [1, 0xffff];

/** `"0xffff...,40000,80"` (socket, local port, remote port) -> [connection id, local port, remote port]. */
function connectionKey(parts: readonly string[]): [string, number, number] | undefined {
  if (parts.length !== 3) return undefined;
  const sock = parts[0]!.trim();
  const ports = intKey(parts.slice(1).join(','), [PORT, PORT]);
  return !SOCK.test(sock) || ports === undefined ? undefined : [`${sock},${ports[0]},${ports[1]}`, ports[0]!, ports[1]!];
}

/** A `@conn` entry: key socket,lport,rport; value [local address, remote address, side, state], each within range. */
function connectionOf(key: string, v: unknown): BpfConnection | undefined {
  const k = connectionKey(key.split(','));
  if (k === undefined || !Array.isArray(v) || v.length !== 4) return undefined;
  const [local, remote, side, state] = v as unknown[];
  if (typeof local !== 'string' || typeof remote !== 'string' || !ADDRESS.test(local) || !ADDRESS.test(remote)) return undefined;
  if (!whole(side, 0, 2) || !whole(state, 1, 12)) return undefined;
  return { id: k[0], localAddress: local, localPort: k[1], remoteAddress: remote, remotePort: k[2], side, state };
}

/** `"1234,0xffff...,40000,80"` -> [pid, connection id]; undefined when any part is not. */
function pidConnectionKey(key: string): [number, string] | undefined {
  const parts = key.split(',');
  if (parts.length !== 4) return undefined;
  const pid = intKey(parts[0]!, [PID]);
  const conn = connectionKey(parts.slice(1));
  return pid === undefined || conn === undefined ? undefined : [pid[0]!, conn[0]];
}

/** An `@exit` value: [comm, code, cpu, start, ppid, uid, cgroup, at], each number within its range. */
const EXIT_FIELDS: readonly (readonly [number, number])[] = [
  [0, 0xffff], // code
  [0, Number.MAX_SAFE_INTEGER], // cpu ns
  [0, Number.MAX_SAFE_INTEGER], // start, boot ns
  [0, 1 << 22], // ppid
  [0, MAX_U32], // uid
  [0, Number.MAX_SAFE_INTEGER], // cgroup id
  [0, Number.MAX_SAFE_INTEGER], // exit, monotonic ns
];

function exitOf(pid: number, v: unknown): BpfExit | undefined {
  if (!Array.isArray(v) || v.length !== 1 + EXIT_FIELDS.length) return undefined;
  const [comm, ...numbers] = v as unknown[];
  if (typeof comm !== 'string' || comm.length > 64) return undefined;
  for (let i = 0; i < EXIT_FIELDS.length; i++) {
    const [min, max] = EXIT_FIELDS[i]!;
    if (!whole(numbers[i], min, max)) return undefined;
  }
  const [code, cpuNs, startBootNs, ppid, uid, cgroupId, exitMonoNs] = numbers as number[];
  return { pid, ppid: ppid!, uid: uid!, comm, code: code!, cpuNs: cpuNs!, startBootNs: startBootNs!, exitMonoNs: exitMonoNs!, cgroupId: cgroupId! };
}

/** The maps of the open interval, as parsed so far. */
class OpenInterval {
  readonly exits = new Map<number, BpfExit>();
  readonly execs = new Map<number, string>();
  readonly opens: BpfOpen[] = [];
  readonly tx = new Map<string, number>();
  readonly rx = new Map<string, number>();
  readonly errors: BpfError[] = [];
  readonly connections = new Map<string, BpfConnection>();
  /** `pid,connection id` -> bytes. */
  readonly ctx = new Map<string, number>();
  readonly crx = new Map<string, number>();
}

type LineResult = BpfEvent | 'ok' | keyof ParseStats | 'lost';

/**
 * One map line's entries into `into`, all or nothing: a line with any key or value the protocol does not allow is
 * out of range and adds nothing.
 */
function takeMap(name: MapName, entries: Record<string, unknown>, into: OpenInterval): LineResult {
  const keys = Object.keys(entries);
  switch (name) {
    case 'exit': {
      const got: BpfExit[] = [];
      for (const key of keys) {
        const k = intKey(key, [PID]);
        const e = k === undefined ? undefined : exitOf(k[0]!, entries[key]);
        if (e === undefined) return 'outOfRange';
        got.push(e);
      }
      for (const e of got) into.exits.set(e.pid, e);
      return 'ok';
    }
    case 'exec': {
      const got = new Map<number, string>();
      for (const key of keys) {
        const k = intKey(key, [PID]);
        const v = entries[key];
        if (k === undefined || typeof v !== 'string' || v.length > 4096) return 'outOfRange';
        got.set(k[0]!, v);
      }
      for (const [k, v] of got) into.execs.set(k, v);
      return 'ok';
    }
    case 'open': {
      const got: BpfOpen[] = [];
      for (const key of keys) {
        const comma = key.indexOf(',');
        const pid = comma < 0 ? undefined : intKey(key.slice(0, comma), [PID]);
        const path = comma < 0 ? '' : key.slice(comma + 1);
        const v = entries[key];
        if (pid === undefined || path === '' || !whole(v, 1)) return 'outOfRange';
        got.push({ pid: pid[0]!, path, count: v });
      }
      into.opens.push(...got);
      return 'ok';
    }
    case 'tx':
    case 'rx':
      return addBytes(keys, entries, (key) => intKey(key, [PID, [0, 0xffff], [0, 0xffff]]), name === 'tx' ? into.tx : into.rx);
    case 'conn': {
      const got: BpfConnection[] = [];
      for (const key of keys) {
        const c = connectionOf(key, entries[key]);
        if (c === undefined) return 'outOfRange';
        got.push(c);
      }
      for (const c of got) into.connections.set(c.id, c);
      return 'ok';
    }
    case 'ctx':
    case 'crx':
      return addBytes(keys, entries, pidConnectionKey, name === 'ctx' ? into.ctx : into.crx);
    case 'err': {
      const got: BpfError[] = [];
      for (const key of keys) {
        const k = intKey(key, [PID, [-1, 4095], [1, 4095]]);
        const v = entries[key];
        if (k === undefined || !whole(v, 1)) return 'outOfRange';
        got.push({ pid: k[0]!, syscall: k[1]!, errno: k[2]!, count: v });
      }
      into.errors.push(...got);
      return 'ok';
    }
  }
}

/** Byte sums of one map, keyed as `parse` reads its keys, added to `target`; nothing is added when any entry is bad. */
function addBytes(
  keys: readonly string[],
  entries: Readonly<Record<string, unknown>>,
  parse: (key: string) => readonly (number | string)[] | undefined,
  target: Map<string, number>,
): 'ok' | 'outOfRange' {
  const got = new Map<string, number>();
  for (const key of keys) {
    const k = parse(key);
    const v = entries[key];
    if (k === undefined || !whole(v, 0)) return 'outOfRange';
    got.set(k.join(','), v);
  }
  for (const [k, v] of got) target.set(k, (target.get(k) ?? 0) + v);
  return 'ok';
}

/** The open interval, closed by a tick at `monoNs`. */
function closeInterval(open: OpenInterval, monoNs: number): BpfInterval {
  const net: BpfNet[] = [];
  for (const key of new Set([...open.tx.keys(), ...open.rx.keys()])) {
    const [pid, family, protocol] = key.split(',').map(Number) as [number, number, number];
    net.push({ pid, family, protocol, rxBytes: open.rx.get(key) ?? 0, txBytes: open.tx.get(key) ?? 0 });
  }
  const socketBytes: BpfSocketBytes[] = [];
  for (const key of new Set([...open.ctx.keys(), ...open.crx.keys()])) {
    const comma = key.indexOf(',');
    socketBytes.push({ pid: Number(key.slice(0, comma)), id: key.slice(comma + 1), rxBytes: open.crx.get(key) ?? 0, txBytes: open.ctx.get(key) ?? 0 });
  }
  return {
    monoNs,
    exits: [...open.exits.values()],
    execs: open.execs,
    opens: open.opens,
    net,
    connections: [...open.connections.values()],
    socketBytes,
    errors: open.errors,
  };
}

/** A printf line's data: the program's own `{"t":...,"v":2,"mono_ns":N}`. */
function takePrintf(data: unknown): keyof ParseStats | { t: 'hello' | 'tick'; monoNs: number } {
  if (typeof data !== 'string') return 'malformed';
  let o: unknown;
  try {
    o = JSON.parse(data);
  } catch {
    return 'malformed';
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'malformed';
  const r = o as Record<string, unknown>;
  if (typeof r['v'] !== 'number') return 'malformed';
  if (r['v'] !== BPF_PROTOCOL_VERSION) return 'unknownVersion';
  if (r['t'] !== 'hello' && r['t'] !== 'tick') return 'unknownType';
  if (!whole(r['mono_ns'], 0)) return 'outOfRange';
  return { t: r['t'], monoNs: r['mono_ns'] };
}

// ---- a stream of lines ---------------------------------------------------------------------------------------------

/**
 * Splits bpftrace's stdout into lines and folds them into intervals: push() returns the hello and one `tick` event
 * per closed interval. A line may arrive in any number of chunks; a line still open at end() is truncated.
 */
export class BpfParser {
  private readonly counts: BpfStats = emptyBpfStats();
  private readonly maxLine: number;
  private readonly lines: LineSplitter;
  private open = new OpenInterval();
  /** True once the program's hello came: maps before it belong to no interval of this program. */
  private greeted = false;

  constructor(options?: { maxLineLength?: number }) {
    this.maxLine = options?.maxLineLength ?? MAX_BPF_LINE;
    this.lines = new LineSplitter(this.maxLine, () => {
      this.counts.lines++;
      this.counts.tooLong++;
    });
  }

  get stats(): Readonly<BpfStats> {
    return this.counts;
  }

  push(chunk: string | Buffer): BpfEvent[] {
    const out: BpfEvent[] = [];
    this.lines.push(chunk, (line) => this.take(line, out));
    return out;
  }

  /** The stream ended: a partial last line is truncated; maps after the last tick are dropped (no interval end). */
  end(): void {
    if (this.lines.end()) {
      this.counts.lines++;
      this.counts.truncated++;
    }
    this.open = new OpenInterval();
  }

  private take(raw: string, out: BpfEvent[]): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') {
      // bpftrace prints blank lines around its own output at exit: not part of the protocol, not errors.
      this.counts.empty++;
      return;
    }
    this.counts.lines++;
    const r = line.length > this.maxLine ? 'tooLong' : this.parse(line);
    if (r === 'ok' || r === 'lost') {
      this.counts.records++;
      return;
    }
    if (typeof r === 'object') {
      this.counts.records++;
      out.push(r);
      return;
    }
    this.counts[r]++;
  }

  private parse(line: string): LineResult {
    if (line.charCodeAt(0) !== 0x7b /* { */) return 'malformed';
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return 'malformed';
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'malformed';
    const o = parsed as Record<string, unknown>;
    const type = o['type'];
    const data = o['data'];
    if (typeof type !== 'string') return 'malformed';
    switch (type) {
      case 'attached_probes':
        return 'ok';
      case 'lost_events': {
        const events = (data as Record<string, unknown> | null)?.['events'];
        if (!whole(events, 0)) return 'outOfRange';
        this.counts.lostEvents += events;
        return 'lost';
      }
      case 'printf': {
        const r = takePrintf(data);
        if (typeof r !== 'object') return r;
        if (r.t === 'hello') {
          this.greeted = true;
          this.open = new OpenInterval();
          return { t: 'hello', monoNs: r.monoNs };
        }
        if (!this.greeted) return 'ok';
        const interval = closeInterval(this.open, r.monoNs);
        this.open = new OpenInterval();
        return { t: 'tick', interval };
      }
      case 'map': {
        if (typeof data !== 'object' || data === null || Array.isArray(data)) return 'malformed';
        const names = Object.keys(data);
        if (names.length !== 1 || !names[0]!.startsWith('@')) return 'malformed';
        const name = names[0]!.slice(1);
        const entries = (data as Record<string, unknown>)[names[0]!];
        const known = MAP_NAME.exec(name);
        if (known === null) return 'unknownType';
        if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) return 'malformed';
        return takeMap(known[1] as MapName, entries as Record<string, unknown>, this.open);
      }
      default:
        return 'unknownType';
    }
  }
}

// ---- can it run here ---------------------------------------------------------------------------------------------

export const BPFTRACE_INSTALL_HINT = '`apt-get install bpftrace`';
const TRACEFS = '/sys/kernel/tracing';
const TRACEFS_MAGIC = 0x74726163;

/** The first `name` on PATH that is executable, or undefined. */
export function findOnPath(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function tracefsMounted(): boolean {
  try {
    return statfsSync(TRACEFS).type === TRACEFS_MAGIC;
  } catch {
    return false;
  }
}

/** Why bpftrace cannot run here, as a kind (the status line's short word) beside the sentence (`why`). */
export type BpfUnavailable = 'not-installed' | 'not-root' | 'no-tracefs';

export type BpfAvailability = { readonly ok: true; readonly bin: string } | { readonly ok: false; readonly reason: BpfUnavailable; readonly why: string };

/**
 * Whether bpftrace can run here: root, the binary, and tracefs (mounted now when root and missing, as the kernel's
 * tracepoints are only listed there). `why` is one line saying what to install or why not.
 */
export function bpfAvailability(options: { readonly bin?: string; readonly root?: boolean } = {}): BpfAvailability {
  const root = options.root ?? process.getuid?.() === 0;
  const bin = options.bin ?? findOnPath('bpftrace');
  if (bin === undefined || !existsSync(bin))
    return { ok: false, reason: 'not-installed', why: `bpftrace is not installed: install it with ${BPFTRACE_INSTALL_HINT} for short-lived processes` };
  if (!root) return { ok: false, reason: 'not-root', why: 'bpftrace needs root: run as root (sudo) for short-lived processes' };
  if (!tracefsMounted()) {
    const r = spawnSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { stdio: 'ignore', timeout: 5000 });
    if (r.status !== 0 || !tracefsMounted())
      return {
        ok: false,
        reason: 'no-tracefs',
        why: `tracefs is not mounted at ${TRACEFS} and mounting it failed: mount -t tracefs nodev ${TRACEFS}`,
      };
  }
  return { ok: true, bin };
}

// ---- running bpftrace ----------------------------------------------------------------------------------------------

export interface BpfRunOptions {
  /** Interval in ms (whole, >= 10). */
  readonly intervalMs: number;
  /** The bpftrace binary. @default `bpftrace` from PATH */
  readonly bin?: string;
  /**
   * The syscall-error probe (raw_syscalls:sys_exit, which fires on every syscall). @default true; false leaves it out
   * where its cost on syscall-heavy work matters (`--bpf-errors off`).
   */
  readonly errors?: boolean;
  /**
   * The files-opened probes (syscalls:sys_enter_openat/sys_exit_openat: opens of processes too short for the fd
   * sampler). @default true; false leaves them out (`--bpf-files off`): any syscall tracepoint slows every syscall.
   */
  readonly files?: boolean;
  /** Another program file (tests). @default native/bpf/bubble.bt */
  readonly program?: string;
}

export interface BpfRun {
  /** Resolves when bpftrace ends after stop(); rejects with a one-line BubbleError when it failed or ended by itself. */
  readonly done: Promise<void>;
  readonly stats: Readonly<BpfStats>;
  /** True once the program said hello (its probes are attached). */
  readonly started: boolean;
  /** The bpftrace process id (undefined when it could not be spawned). */
  readonly pid: number | undefined;
  stop(): void;
}

/**
 * bubble.bt without the block between `/* NAME:begin` and `NAME:end *\/`, and without the interval and END probes'
 * print() and clear() of the maps only that block writes (an undefined map does not compile).
 */
function withoutBlock(text: string, name: string, maps: readonly string[]): string {
  const block = new RegExp(`\\/\\* ${name}:begin[\\s\\S]*?${name}:end \\*\\/\\n?`);
  const uses = new RegExp(` ?(?:print|clear)\\(@(?:${maps.join('|')})\\);`, 'g');
  return text.replace(block, '').replace(uses, '');
}

/** The program text: bubble.bt, without its syscall-error probe when `errors` is false, its openat probes when `files` is. */
export function bpfProgram(options: Pick<BpfRunOptions, 'errors' | 'files' | 'program'> = {}): string {
  let text = readFileSync(options.program ?? nativeFile(join('native', 'bpf', 'bubble.bt')), 'utf8');
  if (options.errors === false) text = withoutBlock(text, 'errors', ['err0', 'err1']);
  if (options.files === false) text = withoutBlock(text, 'files', ['open0', 'open1', 'opening']);
  return text;
}

/** bpftrace says this on hosts with a low memlock limit, then attaches anyway (BPF memory is cgroup-accounted). */
const HARMLESS_STDERR = /RLIMIT_MEMLOCK/;
const KILL_AFTER_MS = 3000;
const STDERR_KEEP = 16 * 1024;

/** The first line of bpftrace's stderr that says something (the memlock warning is not). */
export function bpftraceComplaint(stderr: string): string {
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !HARMLESS_STDERR.test(l));
  return (line ?? '').replace(/[\x00-\x1f\x7f]/g, ' ');
}

/** Spawns bpftrace on the program and hands each closed interval to onEvents. Bad lines are counted, never fatal. */
export function runBpftrace(options: BpfRunOptions, onEvents: (events: BpfEvent[]) => void): BpfRun {
  const parser = new BpfParser();
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let finished = false;
  const finish = (error?: unknown): void => {
    if (finished) return;
    finished = true;
    if (error === undefined) settle.resolve();
    else settle.reject(error);
  };
  const interval = options.intervalMs;
  const state = { started: false, stopped: false };
  if (!(Number.isInteger(interval) && interval >= 10)) {
    finish(new BubbleError(`the bpftrace interval must be a whole number of milliseconds >= 10, not ${interval}`));
    return { done, stats: parser.stats, started: false, pid: undefined, stop: () => undefined };
  }
  let program: string;
  try {
    program = bpfProgram(options);
  } catch (error) {
    finish(new BubbleError(`cannot read the bpftrace program: ${(error as Error).message}`, { cause: error }));
    return { done, stats: parser.stats, started: false, pid: undefined, stop: () => undefined };
  }
  const bin = options.bin ?? 'bpftrace';
  const child = spawn(bin, ['-f', 'json', '-B', 'none', '-e', program, String(interval), String(process.pid)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Maps hold one interval's keys; the default 4096 is a few seconds of a busy host's exits.
    env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: process.env['BPFTRACE_MAP_KEYS_MAX'] ?? '65536' },
  });
  let stderr = '';
  let killTimer: NodeJS.Timeout | undefined;
  const deliver = (events: BpfEvent[]): void => {
    if (events.length === 0) return;
    if (events.some((e) => e.t === 'hello')) state.started = true;
    onEvents(events);
  };
  child.stdout.on('data', (chunk: Buffer) => deliver(parser.push(chunk)));
  child.stdout.on('end', () => parser.end());
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < STDERR_KEEP) stderr += chunk.toString('utf8');
  });
  child.on('error', (err: NodeJS.ErrnoException) => {
    if (killTimer !== undefined) clearTimeout(killTimer);
    const why = err.code === 'ENOENT' ? 'not found' : err.code === 'EACCES' ? 'not executable' : `could not start (${err.code ?? err.message})`;
    finish(new BubbleError(`bpftrace ${why} at ${bin}: install it with ${BPFTRACE_INSTALL_HINT}`, { cause: err }));
  });
  child.on('close', (code, signal) => {
    if (killTimer !== undefined) clearTimeout(killTimer);
    if (state.stopped) return finish();
    const exit = signal === null ? `exit ${code}` : `killed by ${signal}`;
    const said = bpftraceComplaint(stderr);
    const when = state.started ? 'ended' : 'could not attach its probes';
    finish(new BubbleError(`bpftrace ${when} (${exit})${said === '' ? '' : `: ${said}`}`));
  });
  return {
    done,
    stats: parser.stats,
    get started() {
      return state.started;
    },
    pid: child.pid,
    stop: () => {
      state.stopped = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
      killTimer.unref();
    },
  };
}
