/**
 * `bubble record` with sysdig as the source, end to end with the built CLI and the real sysdig binary:
 * `--sysdig-capture` over each capture in ../shared/fixtures/scap through the real bridge, read back with
 * `bubble export`; real bridge output, corrupted, piped into `--source sysdig -`; and live sysdig on a host without
 * its kernel driver (or without sysdig at all), which must fail with one clear line.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { BIN, bubble, jsonLines, ROOT, type RunResult } from '../helpers/cli.js';
import { which } from '../../bench/collector.js';
import { needReal } from '../helpers/real.js';

type Json = Record<string, unknown>;
const SCAP_DIR = path.resolve(ROOT, '../shared/fixtures/scap');
const FIXTURES = path.join(ROOT, 'test/fixtures/sysdig');
const CAPTURES = ['cat_write', 'connect_localhost', 'curl_google', 'open-multiple-files', 'ping_sendto', 'syscall'] as const;
type Capture = (typeof CAPTURES)[number];
const FALCO_ID = '5ea733068030962afe24c88712a2d865516ac6416d875c62ff481c8ab84dd928';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bubble-record-sysdig-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SYSDIG = which('sysdig');
const haveCaptures = existsSync(path.join(SCAP_DIR, 'curl_google.scap'));
const ready = SYSDIG !== undefined && haveCaptures;

function needSysdig(ctx: TestContext): void {
  needReal(ctx, 'sysdig', SYSDIG !== undefined, 'no sysdig binary on PATH (apt-get install sysdig)');
  needReal(ctx, 'scap captures', haveCaptures, `no captures in ${SCAP_DIR}`);
}

const dbOf = (name: string): string => path.join(tmp, `${name}.db`);

async function exported(db: string, what: 'files' | 'network' | 'processes' | 'containers'): Promise<Json[]> {
  const r = await bubble(['export', '--json', '--what', what, '--db', db]);
  expect(r.status, r.stderr).toBe(0);
  return jsonLines(r.stdout);
}

/** The built CLI with `input` on its stdin. */
function bubbleWithStdin(args: readonly string[], input: string | Buffer): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? 1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

const runs = new Map<Capture, RunResult>();
beforeAll(async () => {
  if (!ready) return;
  for (const capture of CAPTURES) {
    runs.set(capture, await bubble(['record', '--sysdig-capture', path.join(SCAP_DIR, `${capture}.scap`), '--db', dbOf(capture)]));
  }
}, 120_000);

describe('bubble record --sysdig-capture over the real captures', () => {
  it.for(CAPTURES)('%s: runs to the end of the capture, exits 0 and prints one summary line', (capture, ctx) => {
    needSysdig(ctx);
    const run = runs.get(capture)!;
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(`^bubble: replayed .*${capture}\\.scap into .*: \\d+ ticks?, \\d+ process(es)?, \\d+ files?, \\d+ endpoints?, 0 lines skipped$`),
    );
  });

  it("open-multiple-files: python's opens of /tmp/file-1 … /tmp/file-13 are in the store and in export", async (ctx) => {
    needSysdig(ctx);
    expect(runs.get('open-multiple-files')!.stderr).toContain('13 files, 0 endpoints');
    const rows = (await exported(dbOf('open-multiple-files'), 'files')).filter((r) => r['comm'] === 'python');
    expect(rows.map((r) => r['path'])).toEqual(Array.from({ length: 13 }, (_, i) => `/tmp/file-${i + 1}`));
    for (const r of rows) {
      expect(r).toMatchObject({ container: 'host', pid: 16569, opens: 1, bytes_in: 0, bytes_out: 0, source: 'sysdig', deleted: false });
      // Stored in the capture's time, not now.
      expect(r['first_seen']).toBe('2017-02-04T01:22:15.999Z');
    }
  });

  it('open-multiple-files: python exits, falco is attributed to its Docker container', async (ctx) => {
    needSysdig(ctx);
    const processes = await exported(dbOf('open-multiple-files'), 'processes');
    const python = processes.filter((r) => r['comm'] === 'python');
    expect(python.length).toBeGreaterThan(0);
    expect(python[0]).toMatchObject({ pid: 16569, ppid: 2089, cmdline: 'python open.py', exit_time: '2017-02-04T01:22:15.289Z' });
    const falco = processes.filter((r) => r['comm'] === 'falco');
    expect(falco.length).toBeGreaterThan(0);
    for (const r of falco)
      expect(r).toMatchObject({ container: `docker:${FALCO_ID}`, container_name: FALCO_ID.slice(0, 12), nspid: 1, cmdline: '/usr/bin/falco' });
    // Its 2 × 10 ms of procinfo CPU, and nothing else, in its rows.
    expect(falco.reduce((a, r) => a + (r['cpu_seconds'] as number), 0)).toBeCloseTo(0.02, 9);
    const containers = await exported(dbOf('open-multiple-files'), 'containers');
    const docker = containers.filter((r) => r['container'] === `docker:${FALCO_ID}`);
    expect(docker.length).toBeGreaterThan(0);
    expect(docker[0]).toMatchObject({ kind: 'docker', id: FALCO_ID });
    expect(docker.reduce((a, r) => a + (r['cpu_seconds'] as number), 0)).toBeCloseTo(0.02, 9);
  });

  it("cat_write: cat's /dev/null open and the bytes it read from libc", async (ctx) => {
    needSysdig(ctx);
    const rows = (await exported(dbOf('cat_write'), 'files')).filter((r) => r['comm'] === 'cat');
    const byPath = new Map(rows.map((r) => [r['path'], r]));
    expect(byPath.get('/dev/null')).toMatchObject({ pid: 20072, opens: 1, bytes_in: 0, bytes_out: 0, mode: '' });
    expect(byPath.get('/lib/x86_64-linux-gnu/libc.so.6')).toMatchObject({ opens: 1, bytes_in: 832, bytes_out: 0, mode: 'r' });
    expect(rows.every((r) => r['bytes_out'] === 0)).toBe(true);
    const cat = (await exported(dbOf('cat_write'), 'processes')).filter((r) => r['comm'] === 'cat');
    expect(cat.reduce((a, r) => a + (r['read_bytes'] as number), 0)).toBe(832);
    expect(cat[0]).toMatchObject({ cmdline: 'cat /dev/null', exit_time: expect.stringMatching(/^2016-08-04T16:17:57\.882Z$/) });
  });

  it('connect_localhost: the connect to 127.0.0.1:80 is a tcp endpoint', async (ctx) => {
    needSysdig(ctx);
    const rows = await exported(dbOf('connect_localhost'), 'network');
    expect(rows).toEqual([
      expect.objectContaining({ pid: 31699, protocol: 'tcp', local: '127.0.0.1:47192', remote: '127.0.0.1:80', state: 'connect', opens: 1, source: 'sysdig' }),
    ]);
  });

  it("curl_google: curl's IPv6 DNS and HTTP tuples, with their bytes, also as CSV", async (ctx) => {
    needSysdig(ctx);
    const rows = (await exported(dbOf('curl_google'), 'network')).filter((r) => r['comm'] === 'curl');
    const local = '[2600:1f18:262c:6542:9aa6:df7a:9a47:d29e]';
    expect(rows).toHaveLength(2);
    expect(rows).toContainEqual(
      expect.objectContaining({ protocol: 'udp6', local: `${local}:40251`, remote: '[2001:4860:4860::8888]:53', bytes_in: 60, bytes_out: 32, opens: 1 }),
    );
    expect(rows).toContainEqual(
      expect.objectContaining({ protocol: 'tcp6', local: `${local}:37140`, remote: '[2607:f8b0:4004:802::2004]:80', bytes_in: 11502, bytes_out: 78 }),
    );
    const csv = await bubble(['export', '--csv', '--what', 'network', '--db', dbOf('curl_google')]);
    expect(csv.status).toBe(0);
    expect(csv.stdout).toContain(`tcp6,${local}:37140,[2607:f8b0:4004:802::2004]:80,connect`);
  });

  it("ping_sendto: ping's sends to 128.32.41.1, one interval with every byte", async (ctx) => {
    needSysdig(ctx);
    const rows = await exported(dbOf('ping_sendto'), 'network');
    expect(rows).toEqual([expect.objectContaining({ pid: 738, protocol: 'ip', remote: '128.32.41.1:0', bytes_out: 10 * 64, bytes_in: 0 })]);
  });

  it('syscall: the /dev/null opens', async (ctx) => {
    needSysdig(ctx);
    const rows = await exported(dbOf('syscall'), 'files');
    expect(rows.find((r) => r['path'] === '/dev/null')).toMatchObject({ pid: 16518, opens: 2, source: 'sysdig' });
  });
});

describe('bubble record --source sysdig - (the bridge output on stdin)', () => {
  // One capture: another one from a year later would make retention (run at the capture's time) prune this one.
  const real = readFileSync(path.join(FIXTURES, 'open-multiple-files.jsonl'), 'utf8');
  const lines = real.trimEnd().split('\n');

  it('counts and skips cut lines, garbage and a wrong version, says so exactly, and stores every valid record', async () => {
    const corrupted = [...lines];
    const sysdigProc = corrupted.findIndex((l) => l.includes('"comm":"sysdig"'));
    corrupted[sysdigProc] = corrupted[sysdigProc]!.slice(0, 90); // a line cut short
    const cpu = corrupted.findIndex((l) => l.includes('"t":"cpu"'));
    corrupted[cpu] = corrupted[cpu]!.replace('"v":1', '"v":2'); // a future protocol
    corrupted.splice(10, 0, 'sysdig: garbage \u0001\u0002 {"v":1', '{"v":1,"t":"io","ts":"soon"}');
    const input = `${corrupted.join('\n')}\n{"v":1,"t":"io","ts":14861713359`; // the stream ends mid-line
    const total = corrupted.length + 1;
    const db = path.join(tmp, 'stdin-corrupted.db');
    const r = await bubbleWithStdin(['record', '--source', 'sysdig', '-', '--db', db, '--verbose'], input);
    expect(r.status, r.stderr).toBe(0);
    const status = `bubble: sysdig bridge: skipped 5 of ${total} lines (3 malformed, 1 of an unknown protocol version, 1 truncated); 1 records of processes whose identity line was lost`;
    expect(r.stderr.split('\n')).toContain(status);
    expect(r.stderr).toMatch(/recorded to .*stdin-corrupted\.db: 12 ticks, 6 processes, 13 files, 0 endpoints, 5 lines skipped/);

    const files = (await exported(db, 'files')).filter((f) => f['comm'] === 'python');
    expect(files.map((f) => f['path'])).toEqual(Array.from({ length: 13 }, (_, i) => `/tmp/file-${i + 1}`));
    const processes = await exported(db, 'processes');
    expect(processes.some((p) => p['comm'] === 'falco' && p['container'] === `docker:${FALCO_ID}`)).toBe(true);
    // falco's first cpu record was the wrong-version line: only its second 10 ms is stored.
    const falcoCpu = processes.filter((p) => p['comm'] === 'falco').reduce((a, p) => a + (p['cpu_seconds'] as number), 0);
    expect(falcoCpu).toBeCloseTo(0.01, 9);
    // The process whose identity line was cut is still there, as a placeholder.
    expect(processes.some((p) => p['pid'] === 16573 && p['comm'] === '')).toBe(true);
  });

  it('skips numbers the store cannot hold (1e400, 1e300, bytes 1e20, a negative counter) and keeps writing after them', async () => {
    const bad = [...lines];
    const cpu = bad.findIndex((l) => l.includes('"t":"cpu"'));
    const io = bad.findIndex((l) => l.includes('"t":"io"') && l.includes('"bytes_in"'));
    const cpuLine = bad[cpu]!;
    const ioLine = bad[io]!;
    // Early in the stream: everything after them must still be stored.
    bad.splice(
      Math.min(cpu, io),
      0,
      cpuLine.replace(/"cpu_ns":\d+/, '"cpu_ns":1e400'),
      cpuLine.replace(/"cpu_ns":\d+/, '"cpu_ns":1e300'),
      ioLine.replace(/"bytes_in":\d+/, '"bytes_in":1e20'),
      ioLine.replace(/"bytes_out":\d+/, '"bytes_out":-5'),
    );
    const db = path.join(tmp, 'stdin-bad-numbers.db');
    const r = await bubbleWithStdin(['record', '--source', 'sysdig', '-', '--db', db, '--verbose'], `${bad.join('\n')}\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('4 with a number out of range');
    expect(r.stderr).not.toMatch(/cannot write|internal error/);
    const files = (await exported(db, 'files')).filter((f) => f['comm'] === 'python');
    expect(files.map((f) => f['path'])).toEqual(Array.from({ length: 13 }, (_, i) => `/tmp/file-${i + 1}`));
    const processes = await exported(db, 'processes');
    expect(processes.every((p) => Number.isFinite(p['cpu_seconds'] as number) && (p['cpu_seconds'] as number) < 1e6)).toBe(true);
  });

  it('a tick 400 days ahead is counted and skipped; retention deletes nothing because of it', async () => {
    // The capture moved to the last minute, as a live stream would be, with one tick from a clock 400 days ahead.
    const first = Number(/"ts":([\d.]+)/.exec(lines.find((l) => l.includes('"t":"tick"'))!)![1]);
    const shift = Date.now() - 60_000 - first;
    const moved = lines.map((l) => l.replace(/"(ts|start)":([\d.]+)/g, (_m, k: string, v: string) => `"${k}":${(Number(v) + shift).toFixed(3)}`));
    const ticks = moved.map((l, i) => (l.includes('"t":"tick"') ? i : -1)).filter((i) => i >= 0);
    const middle = ticks[Math.floor(ticks.length / 2)]!;
    const future = moved[middle]!.replace(/"ts":([\d.]+)/, (_m, v: string) => `"ts":${(Number(v) + 400 * 86_400_000).toFixed(3)}`);
    moved.splice(middle + 1, 0, future);
    const db = path.join(tmp, 'stdin-future.db');
    const r = await bubbleWithStdin(['record', '--source', 'sysdig', '-', '--db', db], `${moved.join('\n')}\n`);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/skipped a tick timed \d{4}-.*a clock step or a bad source timestamp; 1 skipped so far/);
    const files = (await exported(db, 'files')).filter((f) => f['comm'] === 'python');
    expect(files).toHaveLength(13);
    const seconds = await bubble(['export', '--json', '--what', 'containers', '--tier', 'second', '--db', db]);
    expect(jsonLines(seconds.stdout).length).toBeGreaterThan(3);
  });

  it('prints the line count with --verbose even when nothing was skipped, and no status line without it', async () => {
    const verbose = await bubbleWithStdin(['record', '--source', 'sysdig', '-', '--db', path.join(tmp, 'stdin-clean-v.db'), '--verbose'], real);
    expect(verbose.status, verbose.stderr).toBe(0);
    expect(verbose.stderr.split('\n')).toContain(`bubble: sysdig bridge: skipped 0 of ${lines.length} lines`);
    const plain = await bubbleWithStdin(['record', '--source', 'sysdig', '-', '--db', path.join(tmp, 'stdin-clean.db')], real);
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stderr).not.toContain('sysdig bridge:');
    expect(plain.stderr).toContain('0 lines skipped');
  });
});

describe('live sysdig that cannot run', () => {
  it('fails at once with one line when the kernel driver is missing', async (ctx) => {
    needSysdig(ctx);
    // /dev/scap0 is the device sysdig opens live; where it exists the recorder would rightly start.
    needReal(ctx, 'a host without the sysdig kernel driver', !existsSync('/dev/scap0'), 'the sysdig driver is loaded here');
    const started = Date.now();
    const r = await bubble(['record', '--source', 'sysdig', '--db', path.join(tmp, 'live.db')]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^bubble: sysdig could not open its kernel driver \(.+\): run as root with the driver installed .*apt-get install sysdig.*; capture files \(--sysdig-capture FILE\) still work/,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('--source both goes on with procfs alone, and says why once', async (ctx) => {
    needSysdig(ctx);
    needReal(ctx, 'a host without the sysdig kernel driver', !existsSync('/dev/scap0'), 'the sysdig driver is loaded here');
    const db = path.join(tmp, 'both.db');
    // A process holding a file open for append, for procfs to see (bubble leaves its own descriptors out).
    const held = path.join(tmp, 'held.log');
    const holder = spawn('sh', ['-c', `exec 3>>${held}; sleep 30`], { stdio: 'ignore' });
    const r = await bubble(['record', '--source', 'both', '--db', db, '--duration', '2s', '--interval', '0.5s']);
    holder.kill('SIGKILL');
    expect(r.status, r.stderr).toBe(0);
    const why = r.stderr.split('\n').filter((l) => l.startsWith('bubble: sysdig: sysdig could not open its kernel driver'));
    expect(why).toHaveLength(1);
    expect(why[0]).toMatch(/; recording procfs only$/);
    expect(r.stderr).toMatch(/recorded \d+ ticks to /);
    // procfs's descriptors are recorded.
    const files = await exported(db, 'files');
    expect(files.some((f) => f['path'] === held && f['mode'] === 'wa' && f['source'] === 'procfs')).toBe(true);
    expect(files.some((f) => f['path'] === db)).toBe(false);
  });

  it('fails with one line naming what to install when sysdig is not there (BUBBLE_SYSDIG)', async () => {
    const r = await bubble(['record', '--source', 'sysdig', '--db', path.join(tmp, 'none.db')], { env: { BUBBLE_SYSDIG: path.join(tmp, 'no-sysdig') } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `bubble: sysdig not found at ${path.join(tmp, 'no-sysdig')}: install it with \`apt-get install sysdig\`; capture files (--sysdig-capture FILE) still work without the kernel driver\n`,
    );
  });

  it('an unreadable capture is one line and exit 1', async (ctx) => {
    needSysdig(ctx);
    const r = await bubble(['record', '--sysdig-capture', path.join(tmp, 'missing.scap'), '--db', path.join(tmp, 'missing.db')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^bubble: sysdig failed on .*missing\.scap \(exit \d+\): /);
  });
});

describe('record --source usage', () => {
  it.each([
    [['record', '--source', 'dtrace'], /--source: "dtrace" is not one of procfs\+bpf, procfs, bpf, both, sysdig$/m],
    [['record', '-'], /"-" reads the sysdig bridge output on stdin: use it with --source sysdig/],
    [['record', '--sysdig-capture', 'x.scap', '--source', 'both'], /--sysdig-capture replays a capture on its own/],
    [['record', '--source', 'sysdig', 'extra'], /bubble record takes no arguments \(got "extra"\)/],
  ])('%j is a usage error (exit 2, one line)', async (args, message) => {
    const r = await bubble([...args, '--db', path.join(tmp, 'usage.db')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
