/**
 * The htop and ctop keys in a real terminal (tmux) on the real bundle: F1 help, F6 sort menu, I, F10; F9 kills a real
 * process after a confirmation (and `n` cancels); `a` lists a real exited Docker container; the config file sets the
 * first sort, tier and interval, flags override it, and a malformed one stops with one line naming file and line.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { needReal } from '../helpers/real.js';
import { Tmux, tmuxAvailable } from '../helpers/tmux.js';

const tmux = tmuxAvailable();
const docker = dockerAvailable();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-habits-tui-'));
const sessions: Tmux[] = [];
const containers: string[] = [];
const node = process.execPath;

function open(args: string, env: Record<string, string> = {}): Tmux {
  const t = new Tmux(`${node} ${BIN} ${args}`, 100, 30, env);
  sessions.push(t);
  return t;
}

function container(prefix: string, cmd: readonly string[]): { name: string; id: string } {
  const name = uniqueName(prefix);
  containers.push(name);
  return { name, id: runContainer(name, cmd).id };
}

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

/** The header line of the list on screen (the line with NAME or PID and a sort mark). */
const header = (screen: string): string => screen.split('\n').find((l) => /^ +(NAME|PID)\b/.test(l)) ?? '';
const selected = (screen: string): string => screen.split('\n').find((l) => l.startsWith('>')) ?? '';

describe('htop keys in a real terminal', () => {
  it('F1 shows help, F6 picks a sort column from a menu, I inverts it, F10 quits', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    const t = open(`top --no-record --db ${path.join(tmp, 'keys.db')}`);
    let screen = await t.waitFor((s) => header(s).includes('CPU%▼'));
    t.keys('F1');
    screen = await t.waitFor('keys (? or Esc closes this)');
    expect(screen).toContain('F9');
    expect(screen).toContain('signal the process (kill)');
    t.keys('Escape');
    await t.waitFor((s) => header(s).includes('NAME'));
    t.keys('F6');
    screen = await t.waitFor('sort containers by');
    t.keys('Down');
    await sleep(200);
    t.keys('Enter');
    screen = await t.waitFor((s) => header(s).includes('MEM▼'));
    t.keys('I');
    screen = await t.waitFor((s) => header(s).includes('MEM▲'));
    t.keys('P');
    await t.waitFor((s) => header(s).includes('CPU%▲'));
    t.keys('F10');
    await t.waitFor('EXIT=0');
    expect(t.display('#{alternate_on}')).toBe('0');
  });

  it('F9 sends the chosen signal to a real process after a confirmation; n cancels', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    // The container's only process: its init, which SIGKILL from the host ends (SIGTERM it would ignore).
    const { name } = container('bubble-habits-victim', ['sleep', '600']);
    const t = open(`top --no-record --db ${path.join(tmp, 'kill.db')} ${name}`);
    await t.waitFor((s) => /^>.*sleep 600/m.test(s));
    expect(selected(t.capture())).toContain('sleep 600');
    // First: the menu, a signal, and No.
    t.keys('F9');
    await t.waitFor('send a signal to');
    t.keys('Enter');
    await t.waitFor(/send SIGTERM to \d+ sleep\?/);
    t.keys('n');
    await t.waitFor((s) => header(s).includes('PID'));
    await sleep(500);
    expect(inspect(name, '{{.State.Running}}')).toBe('true');
    // Then SIGKILL (fourth in the menu), confirmed.
    t.keys('F9');
    await t.waitFor('send a signal to');
    for (let i = 0; i < 3; i++) t.keys('Down');
    await t.waitFor(/^>\s+9 SIGKILL/m);
    t.keys('Enter');
    await t.waitFor(/send SIGKILL to \d+ sleep\?/);
    t.keys('y');
    await t.waitFor(/SIGKILL sent to \d+ \(sleep\)/);
    for (let i = 0; i < 50 && inspect(name, '{{.State.Running}}') === 'true'; i++) await sleep(100);
    expect(inspect(name, '{{.State.Running}} {{.State.ExitCode}}')).toBe('false 137');
    t.keys('q');
    await t.waitFor('EXIT=0');
  });
});

describe('ctop keys in a real terminal', () => {
  it('a lists a real exited container with its exit code, and hides it again', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    needReal(ctx, 'Docker', docker.ok, docker.why);
    const { name } = container('bubble-habits-gone', ['sh', '-c', 'exit 3']);
    for (let i = 0; i < 50 && inspect(name, '{{.State.Status}}') !== 'exited'; i++) await sleep(100);
    const t = open(`top --no-record --db ${path.join(tmp, 'exited.db')}`);
    await t.waitFor((s) => header(s).includes('NAME'));
    // Docker's listing arrives after the first frame: give it time to, then check the name is not shown yet.
    await sleep(2000);
    expect(t.capture()).not.toContain(name);
    t.keys('a');
    const screen = await t.waitFor(name);
    expect(screen.split('\n').find((l) => l.includes(name))).toMatch(/exit 3\b/);
    t.keys('a');
    await t.waitFor((s) => !s.includes(name));
    t.keys('q');
    await t.waitFor('EXIT=0');
  });
});

describe('the config file in a real terminal', () => {
  it('sets the first sort, tier and interval; a flag overrides it', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    const config = path.join(tmp, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ sort: { containers: 'name' }, tier: 'minute', interval: '3s' }, null, 2));
    // Found where bubble looks by default (BUBBLE_CONFIG moves that place, as XDG_CONFIG_HOME does for users).
    const t = open(`top --no-record --db ${path.join(tmp, 'config.db')}`, { BUBBLE_CONFIG: config });
    let screen = await t.waitFor((s) => header(s).includes('NAME▼'));
    expect(screen).toMatch(/live 3s/);
    expect(screen).toMatch(/ minute ◀ /);
    t.keys('q');
    await t.waitFor('EXIT=0');
    const flagged = open(`top --no-record --db ${path.join(tmp, 'config.db')} --config ${config} --interval 2s --tier hour`);
    screen = await flagged.waitFor((s) => header(s).includes('NAME▼'));
    expect(screen).toMatch(/live 2s/);
    expect(screen).toMatch(/ hour ◀ /);
    flagged.keys('q');
    await flagged.waitFor('EXIT=0');
  });

  it('a malformed file stops top with one line naming the file and the line', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    const config = path.join(tmp, 'broken.json');
    fs.writeFileSync(config, '{\n  "sort": {"containers": "name"},\n  "tier": minute\n}\n');
    const t = open(`top --no-record --db ${path.join(tmp, 'broken.db')}`, { BUBBLE_CONFIG: config });
    const screen = await t.waitFor('EXIT=1');
    // One message (the terminal wraps it at 100 columns), then the exit.
    const text = screen.slice(0, screen.indexOf('EXIT=1')).trim();
    expect(text.match(/bubble:/g)).toHaveLength(1);
    // (A space at the wrap is lost in the capture: compare without spaces.)
    const squeeze = (x: string): string => x.replace(/\s+/g, '');
    expect(squeeze(text)).toBe(squeeze(`bubble: ${config} line 3: is not valid JSON (stops at: minute): fix it or remove it`));
  });
});
