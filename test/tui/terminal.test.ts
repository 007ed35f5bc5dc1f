/**
 * bubble top and bubble replay in a real terminal (tmux), against real Docker containers: navigate to the burner,
 * open it, find its process, scrub back, quit cleanly with the terminal restored; replay a container that exited;
 * and a process named with escape sequences does not change the terminal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, bubble, Children, startBubble } from '../helpers/cli.js';
import { docker as dockerCli, dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { isRoot, needReal } from '../helpers/real.js';
import { Tmux, tmuxAvailable } from '../helpers/tmux.js';

const tmux = tmuxAvailable();
const docker = dockerAvailable();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-tui-'));
const burnerName = uniqueName('bubble-tui-burner');
const idleName = uniqueName('bubble-tui-idle');
const sessions: Tmux[] = [];
const children = new Children();

/** The bundle run as its `bin` entry runs: the file itself, so the node flags of its `#!` line apply too. */
function open(args: string, columns = 100, rows = 30): Tmux {
  const t = new Tmux(`${BIN} ${args}`, columns, rows);
  sessions.push(t);
  return t;
}

beforeAll(() => {
  if (!docker.ok) return;
  ensureTestImage();
  runContainer(burnerName, ['sh', '-c', 'while :; do :; done']);
  runContainer(idleName, ['sleep', '600']);
});

afterEach(() => {
  for (const t of sessions.splice(0)) t.kill();
});

afterAll(() => {
  children.killAll();
  if (docker.ok) {
    removeContainer(burnerName);
    removeContainer(idleName);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The selected row of the screen (the one marked with '>'). */
const selected = (screen: string): string => screen.split('\n').find((l) => l.startsWith('>')) ?? '';

describe('bubble top in a real terminal', () => {
  it('navigates to the burner, opens it, finds its process, scrubs back, and quits restoring the terminal', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    const db = path.join(tmp, 'top.db');
    const t = open(`top --db ${db}`);
    let screen = await t.waitFor((s) => s.includes(burnerName) && s.includes(idleName));
    expect(t.display('#{alternate_on}')).toBe('1');
    expect(screen).toMatch(/^ bubble\s+host \S+\s+\d+ cpu/m);
    // Move the selection to the burner (whatever its row) with the arrow keys.
    for (let i = 0; i < 20 && !selected(screen).includes(burnerName); i++) {
      t.keys('Down');
      await sleep(150);
      screen = t.capture();
    }
    expect(selected(screen)).toContain(burnerName);
    t.keys('Enter');
    screen = await t.waitFor('while :; do :; done');
    expect(screen).toContain(burnerName);
    // Its one process, busy.
    const processLine = screen.split('\n').find((l) => l.includes('while :; do :; done'))!;
    // Busy (it shares 2 cores with the test run)
    expect(processLine).toMatch(/\b([2-9]\d|1\d\d)\.\d\b/);

    await sleep(3000); // history to scrub into
    expect(screen).toMatch(/\blive\b/);
    t.keys('Left');
    t.keys('Left');
    screen = await t.waitFor((s) => !/◀ [\d:]+ ▶\s+live/.test(s) && /◀ \d\d:\d\d:\d\d ▶/.test(s));
    expect(screen).toContain('while :; do :; done');
    t.keys('L');
    await t.waitFor(/▶\s+live/);

    t.keys('q');
    screen = await t.waitFor('EXIT=0');
    expect(t.display('#{alternate_on}')).toBe('0');
    expect(screen).not.toContain('NAME');
  });

  it('says in one line that it needs a terminal when stdout is not one', async () => {
    const run = await bubble(['top', '--no-record']);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('bubble: bubble top needs a terminal; use bubble ls or bubble ps for plain output\n');
  });

  it('a process named with escape sequences does not change the terminal', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'root', isRoot, 'reading other processes');
    // argv[0] (so the command line) carries a title-setting OSC and a screen clear.
    const evil = children.start('bash', ['-c', 'exec -a "$(printf "\\033]0;pwned\\007\\033[2J")" sleep 600']);
    await sleep(500);
    const t = open('top --no-record host');
    await t.waitFor('COMMAND');
    t.keys('/');
    t.type('pwned');
    t.keys('Enter');
    const screen = await t.waitFor(/\\e\]0;pwned|\\x1b\]0;pwned|\\e\[2J/);
    expect(t.display('#{pane_title}')).not.toContain('pwned');
    expect(screen).toMatch(/bubble/);
    t.keys('q');
    await t.waitFor('EXIT=0');
    evil.kill();
  });
});

describe('bubble replay in a real terminal', () => {
  it('replays a container that exited, from the store, showing its exit', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    const db = path.join(tmp, 'replay.db');
    const name = uniqueName('bubble-tui-gone');
    // Recorded until well after the container exited, however long a loaded machine takes to run it.
    const recorder = startBubble(['record', '--db', db, '--interval', '0.5s']);
    await recorder.waitFor('recording to');
    runContainer(name, ['sh', '-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exit 3']);
    for (let i = 0; i < 600 && dockerCli(['inspect', '--format', '{{.State.Status}}', name]) !== 'exited'; i++) await sleep(100);
    await sleep(1500);
    recorder.child.kill('SIGINT');
    expect(await recorder.exited(), recorder.stderr()).toBe(0);
    removeContainer(name);

    const t = open(`replay ${name} --db ${db}`);
    const screen = await t.waitFor(name);
    // It opens where it ended: how it ended, and `r` for its last second with figures (the tick that saw it gone may
    // fall in the second after).
    expect(screen).toMatch(/exit(ed)?\b.*\b3\b|code 3|exit 3/i);
    expect(screen).not.toMatch(/▶\s+live/);
    if (!screen.includes('i=0; while')) {
      t.keys('r');
      await t.waitFor('i=0; while');
    }
    t.keys('q');
    await t.waitFor('EXIT=0');
    expect(t.display('#{alternate_on}')).toBe('0');
  });
});
