/**
 * `top` and `serve` choose their sources as `record` does (src/monitor/sources.ts), with real parts: real bpftrace on
 * native/bpf/bubble.bt, a real busybox container running `cat /nonexistent` in a loop (each cat a process of a few ms
 * that fails one openat with ENOENT and exits 1), tmux as the terminal, real SQLite files read back with `export`.
 * - top, while a `record` holds the store (so top does not record), still runs bpftrace: its errors pane (`e`) fills
 *   live with the container's failed openat, and its status line says `bpf ok`.
 * - serve records what record records: the short cat processes with their exit code (only bpftrace knows it) and their
 *   failed syscalls are in its store.
 * - Without root or without bpftrace, each command says why in one line (stderr; top's status line).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it, type TestContext } from 'vitest';
import { bpfAvailability, findOnPath } from '../../src/collectors/bpf.js';
import { BIN, bubble, jsonLines, startBubble, type RunningBubble } from '../helpers/cli.js';
import { dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { isRoot, needReal } from '../helpers/real.js';
import { startServe, stopServe, type RunningServe } from '../helpers/serve.js';
import { Tmux, tmuxAvailable } from '../helpers/tmux.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-sources-live-'));
// uid 65534 writes its stores here.
fs.chmodSync(tmp, 0o777);
const bpf = bpfAvailability();
const docker = dockerAvailable();
const tmux = tmuxAvailable();
const names: string[] = [];
const sessions: Tmux[] = [];
const running: RunningBubble[] = [];
let serve: RunningServe | undefined;

afterEach(async () => {
  for (const t of sessions.splice(0)) t.kill();
  for (const r of running.splice(0)) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  await stopServe(serve);
  serve = undefined;
});

afterAll(() => {
  for (const name of names) removeContainer(name);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function needBpf(ctx: TestContext): void {
  needReal(ctx, 'bpftrace as root', bpf.ok, bpf.ok ? '' : bpf.why);
  needReal(ctx, 'Docker', docker.ok, docker.why);
}

/** A container failing openat with ENOENT about 15 times a second, each time in a new short-lived cat. */
function catLoop(prefix: string): string {
  ensureTestImage();
  const name = uniqueName(prefix);
  names.push(name);
  runContainer(name, ['sh', '-c', 'while true; do cat /nonexistent 2>/dev/null; sleep 0.05; done']);
  return name;
}

describe('top runs bpftrace for its live views', () => {
  it("fills the errors pane live with a container's failed openat while a record holds the store", async (ctx) => {
    needBpf(ctx);
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    const name = catLoop('bubble-top-err');
    const db = path.join(tmp, 'top', 'bubble.db');
    // A recorder without bpftrace holds the store: top reads history and does not record, but its views still need
    // bpftrace, so it runs its own.
    const recorder = startBubble(['record', '--db', db, '--source', 'procfs']);
    running.push(recorder);
    await recorder.waitFor('recording to');
    const t = new Tmux(`${process.execPath} ${BIN} top ${name} --db ${db}`, 140, 34);
    sessions.push(t);
    await t.waitFor(/history from bubble record \(pid \d+\)/, 20_000);
    t.keys('e');
    // bpftrace compiles its probes for seconds (longer on a loaded host); then each second's failures show.
    const screen = await t.waitFor(/\d+\.\d\/s openat +ENOENT/, 60_000);
    expect(screen).toContain('syscall errors of the container');
    expect(screen).toMatch(/\bcat\b/);
    await t.waitFor('bpf ok', 15_000);
    // The recorder kept the store: top never took it.
    expect(t.capture()).not.toContain('recording to');
    t.keys('q');
    await t.waitFor('EXIT=0', 10_000);
    recorder.child.kill('SIGINT');
    expect(await recorder.exited(), recorder.stderr()).toBe(0);
  }, 120_000);

  it("honours the config file's bpf.errors and --bpf-files beside it: bpftrace runs without those probes, and the status line says so", async (ctx) => {
    needReal(ctx, 'bpftrace as root', bpf.ok, bpf.ok ? '' : bpf.why);
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    const config = path.join(tmp, 'errors-off.json');
    fs.writeFileSync(config, JSON.stringify({ bpf: { errors: false } }));
    const t = new Tmux(`${process.execPath} ${BIN} top --no-record --db ${path.join(tmp, 'top-off.db')} --config ${config} --bpf-files off`, 200, 30);
    sessions.push(t);
    await t.waitFor('bpf ok, errors off, files off', 60_000);
    t.keys('q');
    await t.waitFor('EXIT=0', 10_000);
  }, 90_000);

  it('says in its status line that bpf is off without bpftrace, and why', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    const db = path.join(tmp, 'top-none', 'bubble.db');
    const t = new Tmux(`${process.execPath} ${BIN} top --no-record --db ${db} --bpftrace-bin ${path.join(tmp, 'no-bpftrace')}`, 200, 30);
    sessions.push(t);
    await t.waitFor('bpf off: bpftrace not installed (apt-get install bpftrace)', 15_000);
    t.keys('q');
    await t.waitFor('EXIT=0', 10_000);
  }, 30_000);

  it('says in its status line that bpf is off without root', async (ctx) => {
    needReal(ctx, 'root (to run top as an unprivileged user)', isRoot, 'the test drops to uid 65534 from root');
    needReal(ctx, 'bpftrace installed', findOnPath('bpftrace') !== undefined, 'apt-get install bpftrace');
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    const db = path.join(tmp, 'top-nobody.db');
    const t = new Tmux(
      `setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=${tmp} BUBBLE_CONFIG=${path.join(tmp, 'none.json')} ${process.execPath} ${BIN} top --no-record --db ${db}`,
      200,
      30,
    );
    sessions.push(t);
    await t.waitFor('bpf off: not root (sudo)', 15_000);
    t.keys('q');
    await t.waitFor('EXIT=0', 10_000);
  }, 30_000);
});

describe('serve records what record records', () => {
  it("stores a container's short-lived processes with their exit codes, and their failed syscalls", async (ctx) => {
    needBpf(ctx);
    const name = catLoop('bubble-serve-bpf');
    const db = path.join(tmp, 'serve', 'bubble.db');
    serve = await startServe(['--db', db]);
    await serve.bubble.waitFor('bpftrace attached', 60_000);
    const attachedAt = Date.now();
    await sleep(6000);
    expect(await stopServe(serve), serve.bubble.stderr()).toBe(0);
    serve = undefined;

    const processes = await bubble(['export', '--json', '--what', 'processes', '--tier', 'second', '--container', name, '--db', db]);
    expect(processes.status, processes.stderr).toBe(0);
    // Started once bpftrace was attached and seen to their end: only bpftrace knows a process's exit code.
    const cats = jsonLines(processes.stdout).filter((r) => r['comm'] === 'cat' && Date.parse(r['start_time'] as string) > attachedAt + 1000);
    const keys = new Set(cats.filter((r) => r['exit_code'] === 1).map((r) => `${r['pid']}:${r['start_time']}`));
    // ~15 a second for ~4 s; procfs alone sees a few, without a code.
    expect(keys.size).toBeGreaterThan(20);

    const errors = await bubble(['export', '--json', '--what', 'errors', '--tier', 'second', '--container', name, '--db', db]);
    expect(errors.status, errors.stderr).toBe(0);
    const enoent = jsonLines(errors.stdout).filter((r) => r['syscall'] === 'openat' && r['errno'] === 'ENOENT' && r['comm'] === 'cat');
    expect(enoent.reduce((a, r) => a + (r['count'] as number), 0)).toBeGreaterThan(20);
  }, 120_000);
});

describe('without bpftrace or without root, one line says why', () => {
  for (const command of ['record', 'serve'] as const) {
    const args = (db: string): string[] => [command, '--db', db, '--duration', '2s', ...(command === 'serve' ? ['--listen', '127.0.0.1:0'] : [])];

    it(`${command}: bpftrace not installed`, async () => {
      const r = await bubble([...args(path.join(tmp, `${command}-none.db`)), '--bpftrace-bin', path.join(tmp, 'no-bpftrace')]);
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stderr.split('\n').filter((l) => /bpf/.test(l));
      expect(lines).toEqual(['bubble: procfs only: bpftrace is not installed: install it with `apt-get install bpftrace` for short-lived processes']);
    });

    it(`${command}: not root`, async (ctx) => {
      needReal(ctx, 'root (to run the CLI as an unprivileged user)', isRoot, 'the test drops to uid 65534 from root');
      needReal(ctx, 'bpftrace installed', findOnPath('bpftrace') !== undefined, 'apt-get install bpftrace');
      const r = await bubble(args(path.join(tmp, `${command}-nobody.db`)), {
        uid: 65534,
        gid: 65534,
        env: { HOME: tmp, BUBBLE_CONFIG: path.join(tmp, 'none.json') },
      });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stderr.split('\n').filter((l) => /bpf/.test(l));
      expect(lines).toEqual(['bubble: procfs only: bpftrace needs root: run as root (sudo) for short-lived processes']);
    });
  }

  it('--source procfs says nothing about bpftrace', async () => {
    const r = await bubble(['serve', '--listen', '127.0.0.1:0', '--db', path.join(tmp, 'procfs.db'), '--duration', '1s', '--source', 'procfs']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/bpf/);
  });
});
