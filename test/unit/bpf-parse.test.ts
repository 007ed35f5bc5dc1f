/**
 * The bpftrace parser on real output of native/bpf/bubble.bt (test/fixtures/bpf/md5sum-loop.jsonl: `bpftrace -f json`,
 * its first three intervals, while a busybox container ran `cat /nonexistent; md5sum /bin/busybox; wget` of a busybox
 * httpd in another container, in a loop) and on corrupted
 * variants: garbage, cut lines, other versions, unknown maps, keys and values out of range, lines split anywhere,
 * an exit split across two ticks. None may stop the stream; each bad line is counted and skipped whole.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BpfParser, bpfProgram, bpftraceComplaint, describeBpfStats, type BpfEvent, type BpfInterval } from '../../src/collectors/bpf.js';
import { skippedLines } from '../../src/collectors/sysdig.js';

const FIXTURE = readFileSync(path.resolve(import.meta.dirname, '../fixtures/bpf/md5sum-loop.jsonl'), 'utf8');
const LINES = FIXTURE.split('\n').filter((l) => l !== '');

const ticks = (events: readonly BpfEvent[]): BpfInterval[] => events.flatMap((e) => (e.t === 'tick' ? [e.interval] : []));

function parseAll(text: string, chunk?: number): { events: BpfEvent[]; parser: BpfParser } {
  const parser = new BpfParser();
  const events: BpfEvent[] = [];
  if (chunk === undefined) events.push(...parser.push(text));
  else for (let i = 0; i < text.length; i += chunk) events.push(...parser.push(Buffer.from(text.slice(i, i + chunk))));
  parser.end();
  return { events, parser };
}

const map = (name: string, entries: Record<string, unknown>): string => JSON.stringify({ type: 'map', data: { [`@${name}`]: entries } });
const printf = (t: string, monoNs: number, v = 2): string => JSON.stringify({ type: 'printf', data: `${JSON.stringify({ t, v, mono_ns: monoNs })}\n` });

/** The `@exit` tuple of pid `pid`: [comm, code, cpu, start, ppid, uid, cgroup, at]. */
function exitValue(over: Partial<Record<'comm' | 'code' | 'cpu' | 'start' | 'ppid' | 'uid' | 'cgroup' | 'at', unknown>> = {}): unknown[] {
  const f = { comm: 'md5sum', code: 0, cpu: 3_500_000, start: 1_000_000_000, ppid: 7, uid: 0, cgroup: 42, at: 1_500_000_000, ...over };
  return [f.comm, f.code, f.cpu, f.start, f.ppid, f.uid, f.cgroup, f.at];
}

/** One exit line of pid `pid` as the program prints it (generation 0). */
function exitLines(pid: number, over: Parameters<typeof exitValue>[0] = {}): string[] {
  return [map('exit0', { [String(pid)]: exitValue(over) })];
}

describe('BpfParser on real bpftrace output', () => {
  const { events, parser } = parseAll(FIXTURE);
  const intervals = ticks(events);

  it('reads every line, skips none, and closes one interval per tick line', () => {
    expect(skippedLines(parser.stats)).toBe(0);
    expect(parser.stats.lines).toBe(LINES.length);
    expect(events[0]).toEqual({ t: 'hello', monoNs: expect.any(Number) });
    expect(intervals).toHaveLength(LINES.filter((l) => l.includes('\\"t\\":\\"tick\\"')).length);
    expect(intervals.length).toBeGreaterThanOrEqual(2);
  });

  it("has the loop's processes with their CPU, exit code, opens and errors", () => {
    const exits = intervals.flatMap((i) => i.exits);
    const md5 = exits.filter((e) => e.comm === 'md5sum');
    const cat = exits.filter((e) => e.comm === 'cat' && e.code === 256);
    expect(md5.length).toBeGreaterThan(20);
    expect(cat.length).toBeGreaterThan(20);
    for (const e of md5) {
      expect(e.cpuNs).toBeGreaterThan(0);
      expect(e.code).toBe(0);
      expect(e.cgroupId).toBeGreaterThan(1); // the container's cgroup, not the root
      expect(e.exitMonoNs).toBeGreaterThanOrEqual(e.startBootNs - 10e9); // both near boot-relative ns, not garbage
    }
    const md5Pids = new Set(md5.map((e) => e.pid));
    const opens = intervals.flatMap((i) => i.opens).filter((o) => md5Pids.has(o.pid) && o.path === '/bin/busybox');
    expect(opens.length).toBeGreaterThan(md5.length * 0.8);
    // cat /nonexistent: openat (257 on x86_64) failing with ENOENT (2), once per cat.
    const catPids = new Set(cat.map((e) => e.pid));
    const enoent = intervals.flatMap((i) => i.errors).filter((e) => catPids.has(e.pid) && e.syscall === 257 && e.errno === 2);
    // Once per cat, but for a cat whose error came before the probes attached (its exit after).
    const failures = enoent.reduce((n, e) => n + e.count, 0);
    expect(failures).toBeLessThanOrEqual(cat.length);
    expect(failures).toBeGreaterThanOrEqual(cat.length - 2);
    expect(intervals.flatMap((i) => i.net).some((n) => n.rxBytes + n.txBytes > 0)).toBe(true);
  });

  it("has the wget loop's connections with both endpoints, and each side's bytes on the same socket", () => {
    const connections = intervals.flatMap((i) => i.connections);
    const bytes = intervals.flatMap((i) => i.socketBytes);
    // The client's sockets connected to port 80; the server's were accepted on it (IPv4-mapped on httpd's v6 socket).
    const clients = connections.filter((c) => c.remotePort === 80 && c.side === 1);
    const servers = connections.filter((c) => c.localPort === 80 && c.side === 2);
    expect(clients.length).toBeGreaterThan(5);
    expect(servers.length).toBeGreaterThan(5);
    for (const c of clients) expect(c.localAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    for (const c of servers) expect(c.remoteAddress).toMatch(/^::ffff:\d+\.\d+\.\d+\.\d+$/);
    // A client connection's bytes: the request out, the 20000-byte page (and headers) in. Each has a port of its own.
    expect(new Set(clients.map((c) => c.localPort)).size).toBe(clients.length);
    const ids = new Set(clients.map((c) => c.id));
    const got = bytes.filter((b) => ids.has(b.id));
    expect(got.length).toBeGreaterThan(5);
    expect(got.filter((b) => b.rxBytes >= 20_000 && b.txBytes > 0).length).toBeGreaterThan(got.length / 2);
  });

  it('gives the same intervals whatever the chunking (lines and UTF-8 split anywhere)', () => {
    for (const size of [1, 7, 4096]) {
      const again = parseAll(FIXTURE, size);
      expect(ticks(again.events)).toEqual(intervals);
      expect(again.parser.stats).toEqual(parser.stats);
    }
  });
});

describe('BpfParser on bad input', () => {
  const good = [printf('hello', 1), ...exitLines(100), printf('tick', 2_000_000_000)];

  it.each([
    ['garbage', 'malformed', 'garbage\u0007\u00ff'],
    ['a cut JSON line', 'malformed', '{"type": "map", "data": {"@exit0": {"1'],
    ['an array', 'malformed', '[1,2]'],
    ['a map with two names', 'malformed', JSON.stringify({ type: 'map', data: { '@exit0': {}, '@exec0': {} } })],
    ['another protocol version', 'unknownVersion', printf('tick', 5, 1)],
    ['an unknown printf record', 'unknownType', printf('bye', 5)],
    ['an unknown map', 'unknownType', map('hist', { '1': 2 })],
    ['a map of a third generation', 'unknownType', map('exit2', { '100': exitValue() })],
    ['an unknown line type', 'unknownType', JSON.stringify({ type: 'stats', data: {} })],
    ['a negative CPU time', 'outOfRange', map('exit1', { '101': exitValue({ cpu: -5 }) })],
    ['a CPU time beyond 2^53', 'outOfRange', map('exit1', { '101': exitValue({ cpu: 1e300 }) })],
    ['pid 0', 'outOfRange', map('exit1', { '0': exitValue() })],
    ['a pid that is not a number', 'outOfRange', map('exit1', { '1x': exitValue() })],
    ['an exit code beyond 16 bits', 'outOfRange', map('exit1', { '101': exitValue({ code: 70000 }) })],
    ['an exit with a field missing', 'outOfRange', map('exit1', { '101': exitValue().slice(0, 7) })],
    ['an exit that is not a tuple', 'outOfRange', map('exit1', { '101': 5 })],
    ['a comm that is a number', 'outOfRange', map('exit1', { '101': exitValue({ comm: 5 }) })],
    ['an errno of 0', 'outOfRange', map('err0', { '100,257,0': 1 })],
    ['an error key with two parts', 'outOfRange', map('err0', { '100,257': 1 })],
    ['an open without a path', 'outOfRange', map('open0', { '100,': 1 })],
    ['an exec of a number', 'outOfRange', map('exec0', { '100': 1 })],
    ['a negative tick time', 'outOfRange', printf('tick', -1)],
    ['a connection keyed by a number', 'outOfRange', map('conn0', { '12345,1234,80': ['10.0.0.1', '10.0.0.2', 1, 1] })],
    ['a connection with an address that is not one', 'outOfRange', map('conn0', { '0xffff1,1234,80': ['10.0.0.1\u001b[2J', '10.0.0.2', 1, 1] })],
    ['a connection with a port beyond 16 bits', 'outOfRange', map('conn1', { '0xffff1,70000,80': ['10.0.0.1', '10.0.0.2', 1, 1] })],
    ['a connection without its ports', 'outOfRange', map('conn1', { '0xffff1': ['10.0.0.1', '10.0.0.2', 1, 1] })],
    ['a connection with a field missing', 'outOfRange', map('conn1', { '0xffff1,1234,80': ['10.0.0.1', '10.0.0.2', 1] })],
    ['a connection in state 0', 'outOfRange', map('conn1', { '0xffff1,1234,80': ['10.0.0.1', '10.0.0.2', 1, 0] })],
    ['connection bytes without the connection', 'outOfRange', map('ctx0', { '100': 5 })],
    ['connection bytes without its ports', 'outOfRange', map('ctx0', { '100,0xffff1': 5 })],
    ['connection bytes of a negative count', 'outOfRange', map('crx0', { '100,0xffff1,1234,80': -5 })],
  ])('%s is counted (%s) and skipped whole; the stream goes on', (_what, counter, bad) => {
    const lines = [good[0]!, bad, ...good.slice(1)];
    const { events, parser } = parseAll(lines.join('\n') + '\n');
    expect(parser.stats[counter as 'malformed']).toBe(1);
    expect(skippedLines(parser.stats)).toBe(1);
    const [interval] = ticks(events);
    expect(interval?.exits).toEqual([expect.objectContaining({ pid: 100, comm: 'md5sum', cpuNs: 3_500_000 })]);
    expect(describeBpfStats(parser.stats)).toMatch(/^bpftrace: skipped 1 of \d+ lines/);
  });

  it('a line whose one entry is out of range adds none of its entries', () => {
    const lines = [good[0]!, map('open0', { '100,/etc/passwd': 1, '100,/etc/hosts': -1 }), ...good.slice(1)];
    const { events } = parseAll(lines.join('\n') + '\n');
    expect(ticks(events)[0]!.opens).toEqual([]);
  });

  it('joins bytes sent and received per process and connection (socket and ports)', () => {
    const lines = [
      printf('hello', 1),
      map('conn0', { '0xffff0001,40000,8080': ['::1', '::1', 1, 1] }),
      map('ctx0', { '100,0xffff0001,40000,8080': 300, '101,0xffff0001,40000,8080': 1 }),
      map('crx0', { '100,0xffff0001,40000,8080': 4000 }),
      printf('tick', 2e9),
    ];
    const [one] = ticks(parseAll(lines.join('\n') + '\n').events);
    const id = '0xffff0001,40000,8080';
    expect(one!.connections).toEqual([{ id, localAddress: '::1', localPort: 40000, remoteAddress: '::1', remotePort: 8080, side: 1, state: 1 }]);
    expect(one!.socketBytes).toEqual([
      { pid: 100, id, rxBytes: 4000, txBytes: 300 },
      { pid: 101, id, rxBytes: 0, txBytes: 1 },
    ]);
  });

  it('takes both generations of a map into the interval they are printed in', () => {
    const lines = [
      printf('hello', 1),
      map('tx0', { '100,2,6': 10 }),
      printf('tick', 2e9),
      map('tx1', { '100,2,6': 20 }),
      map('exit1', { '100': exitValue() }),
      printf('tick', 3e9),
    ];
    const [first, second] = ticks(parseAll(lines.join('\n') + '\n').events);
    expect(first!.net).toEqual([{ pid: 100, family: 2, protocol: 6, rxBytes: 0, txBytes: 10 }]);
    expect(second!.net).toEqual([{ pid: 100, family: 2, protocol: 6, rxBytes: 0, txBytes: 20 }]);
    expect(second!.exits.map((e) => e.pid)).toEqual([100]);
  });

  it('counts a cut last line as truncated, a huge line as too long, and lost events as bpftrace reports them', () => {
    const parser = new BpfParser({ maxLineLength: 1000 });
    const events = [
      ...parser.push(`${good.join('\n')}\n`),
      ...parser.push(`${map('open0', { [`100,/${'x'.repeat(2000)}`]: 1 })}\n`),
      ...parser.push(`${JSON.stringify({ type: 'lost_events', data: { events: 12 } })}\n`),
      ...parser.push('{"type": "map", "data"'),
    ];
    parser.end();
    expect(ticks(events)).toHaveLength(1);
    expect(parser.stats).toMatchObject({ truncated: 1, tooLong: 1, lostEvents: 12 });
    expect(describeBpfStats(parser.stats)).toBe(`bpftrace: skipped 2 of ${parser.stats.lines} lines (1 truncated, 1 too long); 12 events lost by bpftrace`);
  });

  it('drops maps printed before the hello (another run of the program) without an interval', () => {
    const { events, parser } = parseAll([...exitLines(5), ...good].join('\n') + '\n');
    expect(ticks(events).flatMap((i) => i.exits.map((e) => e.pid))).toEqual([100]);
    expect(skippedLines(parser.stats)).toBe(0);
  });
});

describe('the program and its stderr', () => {
  it('has the syscall-error probe by default, and leaves it out (and nothing else) when switched off', () => {
    const all = bpfProgram();
    expect(bpfProgram({ errors: true })).toBe(all);
    const without = bpfProgram({ errors: false });
    expect(all).toContain('raw_syscalls:sys_exit');
    expect(without).not.toContain('raw_syscalls:sys_exit');
    expect(without).not.toMatch(/@err/);
    expect(without).toContain('print(@tx0)');
    expect(all.length - without.length).toBeLessThan(500);
  });

  it('leaves out the openat probes and their maps (and nothing else) with files off, alone or with errors off', () => {
    const all = bpfProgram();
    expect(bpfProgram({ files: true })).toBe(all);
    const without = bpfProgram({ files: false });
    expect(all).toContain('tracepoint:syscalls:sys_enter_openat');
    for (const text of [without, bpfProgram({ files: false, errors: false })]) {
      expect(text).not.toContain('tracepoint:syscalls:');
      expect(text).not.toMatch(/@open/);
      expect(text).toContain('print(@exec0); print(@tx0)');
      expect(text).toContain('clear(@gen); clear(@born);\n');
      expect(text).toContain('tracepoint:sched:sched_process_exec');
    }
    expect(without).toContain('raw_syscalls:sys_exit');
    expect(bpfProgram({ files: false, errors: false })).not.toMatch(/tracepoint:raw_syscalls|@err/);
    expect(all.length - without.length).toBeLessThan(1000);
  });

  it("does not take bpftrace's memlock warning for the reason it failed", () => {
    const stderr =
      'ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem\n' +
      'ERROR: tracepoint not found: sched:sched_switch\n';
    expect(bpftraceComplaint(stderr)).toBe('ERROR: tracepoint not found: sched:sched_switch');
    expect(bpftraceComplaint(stderr.split('\n')[0]!)).toBe('');
  });
});
