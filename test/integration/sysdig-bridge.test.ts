/**
 * The real bridge under the real sysdig: `sysdig -r <capture> -c native/sysdig-bridge/bubble.lua` over each capture
 * in ../shared/fixtures/scap (public falco/libs test traces), parsed by runBridge. Checks that what the captures hold
 * arrives in the records (file opens, byte counts, IPv4/IPv6 tuples, exec/exit of short-lived processes, syscall
 * errors), that byte counts agree with sysdig's own event formatter, and that missing sysdig or driver gives one
 * clear BubbleError. No kernel driver is needed: sysdig reads capture files without one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { resolveMembership } from '../../src/collectors/identity.js';
import {
  BridgeParser,
  bridgeMembership,
  bridgePath,
  bridgeProcessKey,
  runBridge,
  skippedLines,
  sysdigArgs,
  type BridgeRecord,
  type ErrRecord,
  type ExecRecord,
  type IoRecord,
  type ParseStats,
  type ProcRecord,
} from '../../src/collectors/sysdig.js';
import { isBubbleError } from '../../src/errors/bubble-error.js';
import { which } from '../../bench/collector.js';
import { needReal } from '../helpers/real.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCAP_DIR = path.resolve(ROOT, '../shared/fixtures/scap');
const FIXTURES = path.resolve(ROOT, 'test/fixtures/sysdig');
const CAPTURES = ['cat_write', 'connect_localhost', 'curl_google', 'open-multiple-files', 'ping_sendto', 'syscall'] as const;
type Capture = (typeof CAPTURES)[number];

const SYSDIG = which('sysdig');
const capturePath = (c: Capture): string => path.join(SCAP_DIR, `${c}.scap`);

function needSysdig(ctx: TestContext): string {
  needReal(ctx, 'sysdig', SYSDIG !== undefined, 'no sysdig binary on PATH (apt-get install sysdig)');
  needReal(ctx, 'scap captures', existsSync(capturePath('curl_google')), `no captures in ${SCAP_DIR}`);
  return SYSDIG!;
}

interface Run {
  readonly records: BridgeRecord[];
  readonly stats: ParseStats;
}
const runs = new Map<Capture, Promise<Run>>();

/** The bridge over one capture, once per file (every test of a capture reads the same run). */
function bridgeOver(c: Capture): Promise<Run> {
  let run = runs.get(c);
  if (run === undefined) {
    const records: BridgeRecord[] = [];
    run = runBridge({ capture: capturePath(c), sysdigBin: SYSDIG }, (rs) => records.push(...rs)).done.then((stats) => ({
      records,
      stats,
    }));
    runs.set(c, run);
  }
  return run;
}

const ios = (r: Run, pid: number): IoRecord[] => r.records.filter((x): x is IoRecord => x.t === 'io' && x.pid === pid);
const errs = (r: Run, pid: number): ErrRecord[] => r.records.filter((x): x is ErrRecord => x.t === 'err' && x.pid === pid);
const identityOf = (r: Run, pid: number): ProcRecord | ExecRecord | undefined =>
  r.records.find((x): x is ProcRecord | ExecRecord => (x.t === 'proc' || x.t === 'exec') && x.pid === pid);
const sum = (xs: readonly IoRecord[], f: (x: IoRecord) => number): number => xs.reduce((a, x) => a + f(x), 0);

describe.each(CAPTURES)('%s through the real bridge', (capture) => {
  it('parses cleanly: hello first, end last, ticks between, every process announced before use', async (ctx) => {
    needSysdig(ctx);
    const run = await bridgeOver(capture);
    expect(skippedLines(run.stats)).toBe(0);
    expect(run.stats.records).toBe(run.records.length);
    const first = run.records[0];
    expect(first?.t === 'hello' && first.live).toBe(false);
    const end = run.records.at(-1);
    expect(end?.t).toBe('end');
    if (end?.t === 'end') {
      expect(end.records).toBe(run.records.length - 1);
      expect(end.events).toBeGreaterThan(0);
    }
    expect(run.records.filter((r) => r.t === 'tick').length).toBeGreaterThan(0);

    // Identity once per process (and on exec); every other record refers to an announced (pid, start).
    const announced = new Set<string>();
    for (const r of run.records) {
      if (r.t === 'proc' || r.t === 'exec') {
        if (r.t === 'proc') expect(announced.has(bridgeProcessKey(r)), `${r.pid} announced twice`).toBe(false);
        announced.add(bridgeProcessKey(r));
        expect(Number.isInteger(r.pid) && r.pid > 0).toBe(true);
        expect(typeof r.comm).toBe('string');
        expect(typeof r.cgroups).toBe('string');
        // Identity works as for procfs: the cgroup path names what sysdig's container id says.
        const { identity } = resolveMembership(bridgeMembership(r.cgroups));
        if (r.container === 'host') expect(identity.kind).toBe('host');
        else expect(identity.id.slice(0, 12)).toBe(r.container);
      } else if (r.t === 'exit' || r.t === 'cpu' || r.t === 'io' || r.t === 'err') {
        expect(announced.has(bridgeProcessKey(r)), `${r.t} for unannounced ${bridgeProcessKey(r)}`).toBe(true);
      }
    }
  });

  it('counts the same bytes and I/O calls per process as sysdig’s own formatter', async (ctx) => {
    const sysdig = needSysdig(ctx);
    const run = await bridgeOver(capture);
    const own = spawnSync(
      sysdig,
      ['-r', capturePath(capture), '-p', '%proc.pid %evt.is_io_read %evt.rawres', 'evt.dir=< and evt.is_io=true and evt.rawres>=0'],
      { encoding: 'utf8' },
    );
    expect(own.status).toBe(0);
    const expected = new Map<string, number>();
    for (const line of own.stdout.split('\n')) {
      const [pid, isRead, res] = line.split(' ');
      if (pid === undefined || res === undefined) continue;
      const dir = isRead === 'true' ? 'in' : 'out';
      expected.set(`${pid} ${dir} bytes`, (expected.get(`${pid} ${dir} bytes`) ?? 0) + Number(res));
      expected.set(`${pid} ops`, (expected.get(`${pid} ops`) ?? 0) + 1);
    }
    const got = new Map<string, number>();
    for (const r of run.records) {
      if (r.t !== 'io' || r.ops === 0) continue;
      const add = (k: string, n: number): void => {
        got.set(k, (got.get(k) ?? 0) + n);
      };
      add(`${r.pid} ops`, r.ops);
      if (r.bytes_in > 0) add(`${r.pid} in bytes`, r.bytes_in);
      if (r.bytes_out > 0) add(`${r.pid} out bytes`, r.bytes_out);
    }
    for (const [k, v] of [...expected]) if (v === 0) expected.delete(k);
    expect(got).toEqual(expected);
  });

  it('matches the saved sample the unit tests parse (regenerate it when the bridge changes)', async (ctx) => {
    needSysdig(ctx);
    const run = await bridgeOver(capture);
    const parser = new BridgeParser();
    const saved = [...parser.push(readFileSync(path.join(FIXTURES, `${capture}.jsonl`))), ...parser.end()];
    const withoutWallClock = (rs: BridgeRecord[]): unknown[] => rs.map((r) => (r.t === 'hello' ? { ...r, ts: 0 } : r));
    expect(
      withoutWallClock(run.records),
      `test/fixtures/sysdig/${capture}.jsonl is stale, regenerate it: sysdig -r ${capturePath(capture)} ` +
        `-c native/sysdig-bridge/bubble.lua > test/fixtures/sysdig/${capture}.jsonl`,
    ).toEqual(withoutWallClock(saved));
  });
});

describe('what each capture holds arrives in the records', () => {
  it('open-multiple-files: the python process opens /tmp/file-1 .. /tmp/file-13, once each', async (ctx) => {
    needSysdig(ctx);
    const run = await bridgeOver('open-multiple-files');
    const python = identityOf(run, 16569);
    expect(python).toMatchObject({ t: 'proc', comm: 'python', cmdline: 'python open.py', ppid: 2089, container: 'host' });
    const files = ios(run, 16569).filter((r) => r.kind === 'file');
    const paths = new Set(files.map((r) => r.path));
    // The capture's script opened file-1..file-13 (not file-0..9): 13 distinct paths.
    expect([...paths].sort()).toEqual(Array.from({ length: 13 }, (_, i) => `/tmp/file-${i + 1}`).sort());
    for (const p of paths)
      expect(
        sum(
          files.filter((r) => r.path === p),
          (r) => r.opens,
        ),
        p,
      ).toBe(1);
    // Two fds alternate: each open is recorded on the fd it got.
    expect(files.find((r) => r.path === '/tmp/file-1')?.fd).toBe(3);
    expect(files.find((r) => r.path === '/tmp/file-2')?.fd).toBe(4);
    expect(run.records.some((r) => r.t === 'exit' && r.pid === 16569 && r.status === 0)).toBe(true);
    // falco, in the Docker container next to it, is attributed to that container.
    expect(run.records.find((r) => (r.t === 'proc' || r.t === 'exec') && r.comm === 'falco')).toMatchObject({
      container: '5ea733068030',
      vpid: 1,
    });
  });

  it('cat_write: the short-lived cat is exec’d and exits; its opens and reads arrive', async (ctx) => {
    needSysdig(ctx);
    const run = await bridgeOver('cat_write');
    const exec = identityOf(run, 20072);
    expect(exec).toMatchObject({ t: 'exec', comm: 'cat', cmdline: 'cat /dev/null', ppid: 11310, container: 'host' });
    const exit = run.records.find((r) => r.t === 'exit' && r.pid === 20072);
    expect(exit).toMatchObject({ status: 0, start: exec?.start });
    expect(exit!.ts).toBeGreaterThan(exec!.ts);
    const io = ios(run, 20072);
    expect(io.find((r) => r.path === '/dev/null')).toMatchObject({ kind: 'file', opens: 1, ops: 1, bytes_in: 0, bytes_out: 0 });
    expect(io.find((r) => r.path === '/lib/x86_64-linux-gnu/libc.so.6')).toMatchObject({ opens: 1, bytes_in: 832 });
    expect(io.map((r) => r.path).sort()).toEqual(['/dev/null', '/etc/ld.so.cache', '/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/locale/locale-archive'].sort());
    // Despite its name the capture holds no write event: cat copied an empty /dev/null. Nothing is invented.
    expect(sum(io, (r) => r.bytes_out)).toBe(0);
    expect(errs(run, 20072)).toEqual([expect.objectContaining({ syscall: 'access', errno: 'ENOENT', count: 3 })]);
  });

  it('connect_localhost: the 127.0.0.1:47192 -> 127.0.0.1:80 TCP connect (EINPROGRESS) arrives as a tuple', async (ctx) => {
    needSysdig(ctx);
    const run = await bridgeOver('connect_localhost');
    const [conn, ...more] = ios(run, 31699);
    expect(more).toEqual([]);
    expect(conn).toMatchObject({
      kind: 'net',
      l4proto: 'tcp',
      cip: '127.0.0.1',
      cport: 47192,
      sip: '127.0.0.1',
      sport: 80,
      server: false,
      opens: 1,
      fd: 4,
    });
    expect(errs(run, 31699)).toEqual([expect.objectContaining({ syscall: 'connect', errno: 'EINPROGRESS', count: 1 })]);
    // The capture has no process table entry for it: unknown strings are '', the container still host.
    expect(identityOf(run, 31699)).toMatchObject({ comm: '', cmdline: '', ppid: -1, container: 'host' });
  });

  it('curl_google: curl’s IPv6 DNS and HTTP tuples, its stdout writes, exec, exit and errors', async (ctx) => {
    needSysdig(ctx);
    const run = await bridgeOver('curl_google');
    const curl = identityOf(run, 17497);
    expect(curl).toMatchObject({ t: 'exec', comm: 'curl', cmdline: 'curl -6 http://www.google.com' });
    const net = ios(run, 17497).filter((r) => r.kind === 'net');
    const local6 = '2600:1f18:262c:6542:9aa6:df7a:9a47:d29e';
    expect(net).toEqual([
      expect.objectContaining({
        l4proto: 'udp',
        cip: local6,
        cport: 40251,
        sip: '2001:4860:4860::8888',
        sport: 53,
        bytes_out: 32,
        bytes_in: 60,
        opens: 1,
      }),
      expect.objectContaining({
        l4proto: 'tcp',
        cip: local6,
        cport: 37140,
        sip: '2607:f8b0:4004:802::2004',
        sport: 80,
        bytes_out: 78,
        bytes_in: 6040 + 5457 + 5,
        opens: 1,
        server: false,
      }),
    ]);
    // stdout existed before the capture: sysdig knows neither its type nor its name, the bytes still count.
    expect(ios(run, 17497).find((r) => r.fd === 1)).toMatchObject({
      kind: 'other',
      bytes_out: 5120 + 1024 + 4096 + 491 + 65,
      ops: 5,
    });
    // The resolver thread (tid 17498) exits first: not a process exit.
    expect(run.records.filter((r) => r.t === 'exit' && r.pid === 17497)).toHaveLength(1);
    const byCall = Object.fromEntries(errs(run, 17497).map((e) => [`${e.syscall} ${e.errno}`, e.count]));
    expect(byCall).toMatchObject({ 'connect ENOENT': 2, 'connect EINPROGRESS': 1, 'open ENOENT': 1 });
    // The capture holds context switches: curl's time on a CPU arrives as run_ns.
    const cpu = run.records.filter((r) => r.t === 'cpu' && r.pid === 17497);
    expect(cpu.reduce((a, r) => a + (r.t === 'cpu' ? r.run_ns : 0), 0)).toBeGreaterThan(10_000_000);
  });

  it('ping_sendto: ping’s sends on a socket sysdig never saw open still carry the destination', async (ctx) => {
    needSysdig(ctx);
    const run = await bridgeOver('ping_sendto');
    const sends = ios(run, 738);
    expect(sends).toHaveLength(10); // one per second, one per interval
    for (const r of sends) {
      expect(r).toMatchObject({ kind: 'net', fd: 3, cip: '0.0.0.0', sip: '128.32.41.1', sport: 0, bytes_out: 64, ops: 1 });
      expect(r.l4proto).toBeUndefined(); // the raw/ICMP socket predates the capture: sysdig does not know its protocol
    }
    expect(sum(sends, (r) => r.bytes_out)).toBe(640);
  });

  it('syscall: /dev/null opened twice, ld.so.cache and libc once', async (ctx) => {
    needSysdig(ctx);
    const run = await bridgeOver('syscall');
    const opens = Object.fromEntries(ios(run, 16518).map((r) => [r.path, r.opens]));
    expect(opens).toEqual({ '/dev/null': 2, '/etc/ld.so.cache': 1, '/lib/x86_64-linux-gnu/libc.so.6': 1 });
  });
});

describe('the bridge’s JSON encoder inside sysdig’s LuaJIT', () => {
  it('escapes controls and quotes and replaces bytes that are not UTF-8', (ctx) => {
    const sysdig = needSysdig(ctx);
    const r = spawnSync(sysdig, ['-r', capturePath('syscall'), '-c', path.join(FIXTURES, 'json-selftest.lua'), bridgePath()], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => {
          const o = JSON.parse(l) as { name: string; value: string };
          return [o.name, o.value];
        }),
    );
    expect(got).toEqual({
      plain: '/tmp/file-1',
      'quote-backslash': 'say "hi" \\ bye',
      controls: '\0\x01\b\t\n\f\r\x1b\x1fx\x7f',
      utf8: 'héllo € 😀 \ufeff',
      'invalid-byte': 'a\ufffdb',
      overlong: '\ufffd\ufffd',
      surrogate: '\ufffd\ufffd\ufffd',
      'above-max': '\ufffd\ufffd\ufffd\ufffd',
      'cut-sequence': 'ok\ufffd\ufffd',
      'lone-continuation': '\ufffdz',
      'escape-sequence': '\x1b[31mred\x1b[0m',
      tuple6: '2001:db8::1|40251|2001:4860:4860::8888|53',
      ms: '1470327477881.730',
    });
  });
});

describe('runBridge', () => {
  it('finds the bridge next to the sources and builds sysdig’s command line', () => {
    expect(path.isAbsolute(bridgePath())).toBe(true);
    expect(existsSync(bridgePath())).toBe(true);
    expect(bridgePath()).toBe(path.join(ROOT, 'native/sysdig-bridge/bubble.lua'));
    expect(sysdigArgs({ capture: '/x.scap' })).toEqual(['-r', '/x.scap', '-c', bridgePath()]);
    expect(sysdigArgs({ extraArgs: ['-s', '0'], intervalMs: 500 })).toEqual(['-pc', '-s', '0', '-c', bridgePath(), '500']);
  });

  it('reads an existing pipe (--source sysdig -) like its own sysdig', async (ctx) => {
    const sysdig = needSysdig(ctx);
    const child = spawn(sysdig, ['-r', capturePath('curl_google'), '-c', bridgePath()], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const records: BridgeRecord[] = [];
    const stats = await runBridge({ stdin: child.stdout }, (rs) => records.push(...rs)).done;
    const direct = await bridgeOver('curl_google');
    const noHelloTs = (rs: BridgeRecord[]): unknown[] => rs.map((r) => (r.t === 'hello' ? { ...r, ts: 0 } : r));
    expect(noHelloTs(records)).toEqual(noHelloTs(direct.records));
    expect(stats).toEqual(direct.stats);
  });

  it('honours the interval argument', async (ctx) => {
    needSysdig(ctx);
    const records: BridgeRecord[] = [];
    const options = { capture: capturePath('ping_sendto'), sysdigBin: SYSDIG, intervalMs: 250 };
    await runBridge(options, (rs) => records.push(...rs)).done;
    const hello = records[0];
    expect(hello?.t === 'hello' && hello.interval_ms).toBe(250);
    const oneSecond = (await bridgeOver('ping_sendto')).records.filter((r) => r.t === 'tick').length;
    expect(records.filter((r) => r.t === 'tick').length).toBeGreaterThan(oneSecond);
  });

  it('a missing sysdig binary is one clear BubbleError: what to install, and that captures need no driver', async () => {
    const run = runBridge({ sysdigBin: '/nonexistent/sysdig', capture: capturePath('syscall') }, () => undefined);
    const err: unknown = await run.done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBubbleError(err)).toBe(true);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('/nonexistent/sysdig');
    expect(message).toContain('apt-get install sysdig');
    expect(message).toMatch(/capture files .* without the kernel driver/);
  });

  it('live mode: without the kernel driver a BubbleError says so; with it, records flow until stop()', async (ctx) => {
    needSysdig(ctx);
    const records: BridgeRecord[] = [];
    const run = runBridge({ sysdigBin: SYSDIG }, (rs) => records.push(...rs));
    const timer = setTimeout(() => run.stop(), 3000);
    const outcome = await run.done.then(
      (stats) => ({ stats }),
      (error: unknown) => ({ error }),
    );
    clearTimeout(timer);
    if ('error' in outcome) {
      // No driver on this host (the usual case in a container): the message says what to install.
      expect(isBubbleError(outcome.error)).toBe(true);
      const message = (outcome.error as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toMatch(/kernel driver/);
      expect(message).toContain('apt-get install sysdig');
      expect(message).toMatch(/capture files .* without the kernel driver/);
    } else {
      // A driver is loaded: the live bridge says hello, ticks, and ends cleanly on SIGINT.
      expect(records[0]?.t === 'hello' && records[0].live).toBe(true);
      expect(records.some((r) => r.t === 'tick')).toBe(true);
      expect(records.at(-1)?.t).toBe('end');
      expect(skippedLines(outcome.stats)).toBe(0);
    }
  });

  it('a capture sysdig cannot read is a BubbleError naming the file and saying what sysdig said', async (ctx) => {
    needSysdig(ctx);
    const failure = async (options: Parameters<typeof runBridge>[0]): Promise<string> => {
      const err: unknown = await runBridge({ sysdigBin: SYSDIG, ...options }, () => undefined).done.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isBubbleError(err)).toBe(true);
      return (err as Error).message;
    };
    expect(await failure({ capture: '/nonexistent.scap' })).toMatch(/^sysdig failed on \/nonexistent\.scap \(exit 1\): can't open file \/nonexistent\.scap$/);
    const notScap = path.join(ROOT, 'package.json');
    expect(await failure({ capture: notScap })).toMatch(/^sysdig failed on .*package\.json \(exit 1\): \S/);
    expect(await failure({ capture: capturePath('syscall'), intervalMs: 5 })).toMatch(/interval .* >= 10, not 5$/);
  });

  it('stop() ends a run without an error; a throwing consumer stops it with its error', async (ctx) => {
    needSysdig(ctx);
    const run = runBridge({ sysdigBin: SYSDIG, capture: capturePath('curl_google') }, () => undefined);
    run.stop();
    const stats = await run.done;
    expect(skippedLines(stats)).toBe(0);

    const boom = new Error('consumer failed');
    const failing = runBridge({ sysdigBin: SYSDIG, capture: capturePath('curl_google') }, () => {
      throw boom;
    });
    await expect(failing.done).rejects.toBe(boom);
  });
});
