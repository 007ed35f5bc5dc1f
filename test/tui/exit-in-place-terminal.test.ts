/**
 * Exit in place, in a real terminal (tmux) on the real bundle: a real container exits while its view is open; the
 * view keeps its name, shows Docker's exit code and exit time, and `r` goes back to its last second, where its
 * process is shown again.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatTime } from '../../src/format.js';
import { BIN } from '../helpers/cli.js';
import { dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { needReal } from '../helpers/real.js';
import { Tmux, tmuxAvailable } from '../helpers/tmux.js';

const tmux = tmuxAvailable();
const docker = dockerAvailable();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-exit-tui-'));
const sessions: Tmux[] = [];
const containers: string[] = [];

const inspect = (name: string, format: string): string => execFileSync('docker', ['inspect', '--format', format, name], { encoding: 'utf8' }).trim();

beforeAll(() => {
  if (docker.ok) ensureTestImage();
});

afterEach(() => {
  for (const t of sessions.splice(0)) t.kill();
});

afterAll(() => {
  if (docker.ok) for (const name of containers) removeContainer(name);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('exit in place', () => {
  it('keeps the name, shows the exit code and time, and r shows its last second', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    const name = uniqueName('bubble-exit-place');
    containers.push(name);
    runContainer(name, ['sh', '-c', 'sleep 7; exit 3']);
    const t = new Tmux(`${process.execPath} ${BIN} top --no-record --db ${path.join(tmp, 'exit.db')} ${name}`, 100, 30);
    sessions.push(t);
    await t.waitFor((s) => s.includes(name) && s.includes('sleep 7'));

    let screen = await t.waitFor('exited with code 3', 30_000);
    const finished = inspect(name, '{{.State.FinishedAt}}');
    const finishedMs = Date.parse(finished.replace(/\.\d+Z$/, 'Z'));
    const info = screen.split('\n').find((l) => l.includes('exited with code 3')) ?? '';
    // The name stays (not the short id), with Docker's exit time.
    expect(info).toContain(name);
    expect(info).toContain('docker');
    // Docker's time (its die event's, within a second of State.FinishedAt), not the tick that missed the container.
    const shown = /at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/.exec(info)?.[1];
    expect([formatTime(finishedMs), formatTime(finishedMs + 1000)]).toContain(shown);
    expect(screen).not.toMatch(/docker [0-9a-f]{12}: not present/);
    expect(screen).toMatch(/r: its last second \(\d\d:\d\d:\d\d\)/);
    expect(screen).not.toContain('sleep 7');

    t.keys('r');
    screen = await t.waitFor((s) => s.includes('sleep 7'));
    // The past moment, paused: the container is there, with its process.
    expect(screen).toMatch(/ at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(screen).toContain('paused');
    expect(screen).not.toContain('exited with code 3');

    // Back to live: gone again, the exit stays on screen.
    t.keys('L');
    await t.waitFor('exited with code 3');
    t.keys('?');
    screen = await t.waitFor('keys (? or Esc closes this)');
    expect(screen).toContain('ended: its last second');
    t.keys('q');
    await t.waitFor('EXIT=0');
  });

  it('opens a container that exited before top started (from a) with its name and exit code', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    const name = uniqueName('bubble-exit-before');
    containers.push(name);
    runContainer(name, ['sh', '-c', 'exit 4']);
    for (let i = 0; i < 50 && inspect(name, '{{.State.Status}}') !== 'exited'; i++) await new Promise((r) => setTimeout(r, 100));
    const t = new Tmux(`${process.execPath} ${BIN} top --no-record --db ${path.join(tmp, 'before.db')}`, 100, 30);
    sessions.push(t);
    await t.waitFor('NAME');
    t.keys('a');
    await t.waitFor(name);
    // F3 finds it, Enter keeps the selection there, Enter opens it.
    t.keys('F3');
    t.type(name);
    t.keys('Enter');
    await t.waitFor((s) => (s.split('\n').find((l) => l.startsWith('>')) ?? '').includes(name));
    t.keys('Enter');
    const screen = await t.waitFor('exited with code 4');
    expect(screen.split('\n').find((l) => l.includes('exited with code 4'))).toMatch(new RegExp(`^ ${name} +docker +exited with code 4 at `));
    expect(screen).not.toMatch(/docker [0-9a-f]{12}: not present/);
    t.keys('q');
    await t.waitFor('EXIT=0');
  });
});
