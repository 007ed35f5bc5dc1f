/**
 * The keys htop, ctop and below users bring (issue 11): F1-F10, P/M/T, < >, I, a; sorting by every column, either
 * way round; the kill menu that sends a real signal to a real process, checked by its start time first.
 */
process.env.TZ = 'UTC';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { once } from 'node:events';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { parseStat } from '../../src/collectors/procfs.js';
import { CONTAINER_SORTS, PROCESS_SORTS, sortContainers, sortProcesses } from '../../src/model/sort.js';
import type { ContainerView } from '../../src/model/snapshot.js';
import { App } from '../../src/tui/App.js';
import { commandForName, functionKeyIn, menuCommandFor } from '../../src/tui/keymap.js';
import { sendSignal } from '../../src/tui/kill.js';
import { menuLines } from '../../src/tui/menu.js';
import { containerHeader, containerInfo, CONTAINER_SORT_COLUMNS, processHeader, PROCESS_SORT_COLUMNS } from '../../src/tui/rows.js';
import { initialState, KILL_SIGNALS, reduce, type Lists, type State } from '../../src/tui/state.js';
import type { Command } from '../../src/tui/keymap.js';
import { containerList } from '../../src/tui/tree.js';
import { FixedSource, snapshotOf, timeline } from '../helpers/fixed-source.js';
import { settle } from './harness.js';
import { BYTES, FKEY_BYTES } from './keys.js';
import { DB_KEY, JOB_KEY, source, WEB_KEY, world } from './world.js';

afterEach(() => cleanup());

const LISTS: Lists = { containers: ['c0', 'c1'], processes: ['4242:1', '4243:2'], parents: [], files: 0, network: 0 };
const run = (state: State, ...commands: Command[]): State => commands.reduce((s, command) => reduce(s, { type: 'command', command, lists: LISTS }), state);
const containersView = (): State => initialState({ columns: 80, rows: 24 });
const processView = (): State => initialState({ columns: 80, rows: 24, containerKey: 'docker:a' });

describe('htop and ctop keys', () => {
  it('binds F1 F3 F4 F5 F6 F9 F10 as htop does, from the bytes tmux and xterm send', () => {
    const want: Record<string, string> = { f1: 'help', f3: 'search.start', f4: 'filter.start', f5: 'view.tree', f6: 'sort.menu', f9: 'kill', f10: 'quit' };
    for (const [key, command] of Object.entries(want)) expect(commandForName(functionKeyIn(FKEY_BYTES[key]!)!), key).toBe(command);
    // The rxvt / Linux console forms too; and a plain escape sequence is no function key.
    expect(functionKeyIn('\u001b[11~')).toBe('f1');
    expect(functionKeyIn('\u001b[[E')).toBe('f5');
    expect(functionKeyIn(BYTES.up)).toBeUndefined();
  });

  it('P M T pick CPU, memory and CPU time; containers have no CPU time, so T leaves their sort', () => {
    expect(run(processView(), 'sort.mem').processSort).toBe('mem');
    expect(run(processView(), 'sort.mem', 'sort.cpu').processSort).toBe('cpu');
    expect(run(processView(), 'sort.time').processSort).toBe('time');
    expect(run(containersView(), 'sort.mem').containerSort).toBe('mem');
    expect(run(containersView(), 'sort.time').containerSort).toBe('cpu');
  });

  it('< and > step through the sortable columns left to right, stopping at the ends', () => {
    expect(PROCESS_SORT_COLUMNS).toEqual(['pid', 'cpu', 'mem', 'read', 'write', 'time', 'command']);
    expect(CONTAINER_SORT_COLUMNS).toEqual(['name', 'cpu', 'mem', 'net', 'io', 'pids']);
    let s = processView();
    s = run(s, 'sort.nextColumn');
    expect(s.processSort).toBe('mem');
    s = run(s, 'sort.nextColumn', 'sort.nextColumn', 'sort.nextColumn', 'sort.nextColumn', 'sort.nextColumn');
    expect(s.processSort).toBe('command');
    s = run(s, 'sort.prevColumn');
    expect(s.processSort).toBe('time');
    expect(run(containersView(), 'sort.nextColumn', 'sort.nextColumn', 'sort.nextColumn', 'sort.nextColumn', 'sort.nextColumn').containerSort).toBe('pids');
    // From a sort without a column (read + write), > starts at the first column.
    expect(run({ ...processView(), processSort: 'io' }, 'sort.nextColumn').processSort).toBe('pid');
  });

  it("I inverts the current view's order only, and the header turns ▼ into ▲", () => {
    const s = run(processView(), 'sort.invert');
    expect(s.processReverse).toBe(true);
    expect(s.containerReverse).toBe(false);
    expect(run(s, 'sort.invert').processReverse).toBe(false);
    expect(processHeader(80, 'cpu', true, true)).toContain('CPU%▲');
    expect(containerHeader(80, 'pids', false)).toContain('PROCS▼');
    // A sort with no column on screen is named on the command column: TIME+ shows from 120 columns.
    expect(processHeader(80, 'time', false)).toContain('COMMAND (flat) ▼time');
    expect(processHeader(120, 'time', false)).toContain('TIME+▼ COMMAND (flat)');
  });

  it("F6 opens a menu of the view's sort orders at the current one; Enter picks, Esc leaves the sort alone", () => {
    let s = run(processView(), 'sort.menu');
    expect(s.menu).toEqual({ kind: 'sort', index: PROCESS_SORTS.indexOf('cpu') });
    s = run(s, 'cursor.down', 'menu.select');
    expect(s.menu).toBeUndefined();
    expect(s.processSort).toBe(PROCESS_SORTS[PROCESS_SORTS.indexOf('cpu') + 1]);
    const cancelled = run(containersView(), 'sort.menu', 'cursor.end', 'menu.cancel');
    expect(cancelled.menu).toBeUndefined();
    expect(cancelled.containerSort).toBe('cpu');
    expect(menuLines(run(containersView(), 'sort.menu'), { kind: 'sort', index: 0 }, '').lines.slice(1)).toHaveLength(CONTAINER_SORTS.length);
  });

  it('F9 offers signals for the selected process, asks before sending, and only then requests the kill', () => {
    let s = run(processView(), 'cursor.down', 'kill');
    expect(s.menu).toEqual({ kind: 'signal', index: 0, processKey: '4243:2' });
    expect(KILL_SIGNALS[0]).toBe('SIGTERM');
    s = run(s, 'cursor.down', 'cursor.down', 'cursor.down', 'menu.select');
    expect(s.menu).toEqual({ kind: 'confirm', processKey: '4243:2', signal: 'SIGKILL' });
    expect(s.kill).toBeUndefined();
    // Keys other than the menu's do nothing in it: the keymap gives them no command there.
    expect(menuCommandFor('s')).toBeUndefined();
    expect(menuCommandFor('y')).toBe('menu.select');
    const sent = run(s, 'menu.select');
    expect(sent.menu).toBeUndefined();
    expect(sent.kill).toEqual({ id: 1, processKey: '4243:2', signal: 'SIGKILL' });
    // A second kill is a new request.
    expect(run(sent, 'kill', 'menu.select', 'menu.select').kill?.id).toBe(2);
    expect(run(s, 'menu.cancel').kill).toBeUndefined();
    // Replay shows the past: F9 says so instead of opening the menu.
    const replay = run(initialState({ columns: 80, rows: 24, containerKey: 'docker:a', signals: false }), 'kill');
    expect(replay.menu).toBeUndefined();
    expect(replay.notice).toBe('replay shows the past: there is no process to signal');
    // Nothing to kill in the containers list or from the files pane.
    expect(run(containersView(), 'kill').menu).toBeUndefined();
    expect(run(processView(), 'focus.next', 'kill').menu).toBeUndefined();
  });

  it('F3 searches without hiding rows: the selection jumps to the next match from where it is, wrapping; F3 again goes on', () => {
    const lists: Lists = { ...LISTS, processes: ['p1', 'p2', 'p3', 'p4'], processTexts: ['1 nginx master', '2 nginx worker', '3 cron -f', '4 nginx worker'] };
    const type = (s: State, text: string): State => reduce(s, { type: 'filter.input', text, lists });
    const cmd = (s: State, command: Command): State => reduce(s, { type: 'command', command, lists });
    let s = cmd(processView(), 'search.start');
    expect(s.editingFilter).toBe(true);
    expect(s.prompt).toBe('search');
    s = type(s, 'WORK');
    expect(s.processes).toMatchObject({ index: 1, key: 'p2' });
    expect(s.processFilter).toBe('');
    s = cmd(s, 'search.start');
    expect(s.processes).toMatchObject({ index: 3, key: 'p4' });
    s = cmd(s, 'search.start');
    expect(s.processes).toMatchObject({ index: 1, key: 'p2' });
    // No match: the selection stays.
    expect(type(s, 'zzz').processes).toMatchObject({ index: 1, key: 'p2' });
    s = cmd(s, 'filter.commit');
    expect(s.editingFilter).toBe(false);
    expect(s.processes.key).toBe('p2');
    // Esc while typing drops the search, keeps where it went; / is the filter again.
    const dropped = cmd(type(cmd(processView(), 'search.start'), 'cron'), 'filter.cancel');
    expect(dropped).toMatchObject({ search: '', editingFilter: false, processes: { index: 2, key: 'p3' } });
    expect(cmd(dropped, 'filter.start').prompt).toBe('filter');
  });

  it("a notice (the kill's result) stays until the next key", () => {
    const s = reduce(processView(), { type: 'notice', text: 'SIGTERM sent to 4243 (nginx)' });
    expect(s.notice).toBe('SIGTERM sent to 4243 (nginx)');
    expect(run(s, 'cursor.down').notice).toBeUndefined();
  });

  it('a toggles exited containers; they follow the running ones and never repeat one that runs', () => {
    expect(run(containersView(), 'view.exited')).toMatchObject({ showExited: true, notice: 'exited containers listed after the running ones (a hides them)' });
    expect(run(containersView(), 'view.exited', 'view.exited')).toMatchObject({ showExited: false, notice: 'exited containers hidden (a shows them)' });
    const snap = snapshotOf(world());
    const gone: ContainerView = { ...snap.containers.find((c) => c.key === DB_KEY)!, key: 'docker:dead', name: 'old-job', state: 'exited', exitCode: 137 };
    const again: ContainerView = { ...gone, key: WEB_KEY };
    const list = containerList(snap, 'cpu', '', { exited: [gone, again] });
    expect(list.at(-1)?.name).toBe('old-job');
    expect(list.filter((c) => c.key === WEB_KEY)).toHaveLength(1);
  });
});

describe('sorting', () => {
  const snap = snapshotOf(world());
  const web = snap.processes.filter((p) => p.containerKey === WEB_KEY);

  it('sorts processes by WR/s, RD/s, command and CPU time, and reverses any of them', () => {
    expect(sortProcesses(web, 'write')[0]!.pid).toBe(4243);
    expect(sortProcesses(web, 'command').map((p) => p.cmdline)[0]).toBe('cron -f');
    expect(sortProcesses(web, 'command', true).map((p) => p.cmdline)[0]).toBe('sh -c logrotate');
    expect(sortProcesses(web, 'cpu', true).at(-1)!.pid).toBe(4243);
    expect(sortProcesses(web, 'pid', true)[0]!.pid).toBe(4300);
    const byTime = sortProcesses(web, 'time');
    for (let i = 1; i < byTime.length; i++) expect(byTime[i - 1]!.cpuNs).toBeGreaterThanOrEqual(byTime[i]!.cpuNs);
    expect(sortProcesses(web, 'read').map((p) => p.pid)).toEqual([...web].map((p) => p.pid).sort((a, b) => a - b));
  });

  it('sorts containers by processes (PROCS) and reversed, with host last either way', () => {
    // web-1 has 5 processes, the job 2, db 1 (of 12 threads: the threads do not count).
    expect(
      sortContainers(snap.containers, 'pids')
        .map((c) => c.key)
        .slice(0, 3),
    ).toEqual([WEB_KEY, JOB_KEY, DB_KEY]);
    const reversed = sortContainers(snap.containers, 'pids', true).map((c) => c.key);
    expect(reversed.at(-1)).toBe('host');
    expect(reversed.indexOf(JOB_KEY)).toBeLessThan(reversed.indexOf(WEB_KEY));
  });
});

type Rendered = { stdin: { write(data: string): void }; lastFrame(): string | undefined };
async function keys(r: Rendered, ...seq: string[]): Promise<void> {
  for (const k of seq) {
    r.stdin.write(k);
    await settle();
  }
}
const frame = (r: Rendered): string => r.lastFrame() ?? '';

describe('the keys on screen', () => {
  it('F6 shows the sort menu and the choice reaches the header; I flips the mark; F1 shows help; F10 quits', async () => {
    const r = render(<App source={source()} columns={80} rows={24} color={false} />);
    await keys(r, FKEY_BYTES.f6!);
    expect(frame(r)).toContain('sort containers by');
    await keys(r, BYTES.down, BYTES.enter);
    expect(frame(r).split('\n')[1]).toContain('MEM▼');
    await keys(r, 'I');
    expect(frame(r).split('\n')[1]).toContain('MEM▲');
    await keys(r, 'P');
    expect(frame(r).split('\n')[1]).toContain('CPU%▲');
    await keys(r, FKEY_BYTES.f1!);
    expect(frame(r)).toContain('F9');
    expect(frame(r)).toContain('signal the process (kill)');
    await keys(r, BYTES.escape, FKEY_BYTES.f10!);
    expect(frame(r)).toContain('NAME');
  });

  it('F3 jumps to a process by its command, F3 again to the next', async () => {
    const r = render(<App source={source()} columns={80} rows={24} color={false} containerKey={WEB_KEY} />);
    await keys(r, FKEY_BYTES.f3!, 'work');
    expect(frame(r)).toContain('search: work█');
    const selectedLine = (): string =>
      frame(r)
        .split('\n')
        .find((l) => l.startsWith('>')) ?? '';
    expect(selectedLine()).toMatch(/^>\s+4243 .*nginx: worker/);
    await keys(r, FKEY_BYTES.f3!);
    expect(selectedLine()).toMatch(/^>\s+4244 .*nginx: worker/);
    await keys(r, BYTES.enter);
    expect(frame(r)).not.toContain('search:');
    expect(frame(r)).toContain('cron -f');
    expect(selectedLine()).toMatch(/^>\s+4244 /);
  });

  it('a lists the exited containers the source knows, saying how they ended', async () => {
    class WithExited extends FixedSource {
      exited(): readonly ContainerView[] {
        const c = snapshotOf(world()).containers.find((x) => x.key === DB_KEY)!;
        return [{ ...c, key: 'docker:feed', id: 'feed', name: 'batch-old', state: 'exited', exitCode: 137 }];
      }
    }
    const s = new WithExited({ snapshots: timeline(10, world), mode: 'live', files: {}, net: {}, status: [] });
    const r = render(<App source={s} columns={80} rows={24} color={false} />);
    expect(frame(r)).not.toContain('batch-old');
    await keys(r, 'a');
    expect(frame(r)).toMatch(/batch-old\s+exit 137/);
    await keys(r, 'a');
    expect(frame(r)).not.toContain('batch-old');
  });
});

describe('without root', () => {
  it('a Slurm job without its name says why: the name is in its environment, which needs root', () => {
    const job = snapshotOf(world()).containers.find((c) => c.key === JOB_KEY)!;
    expect(job.name).toBe('job 4242 sim');
    const unnamed: ContainerView = { ...job, name: 'job 4242' };
    expect(containerInfo(unnamed, JOB_KEY, 'now', 160, true)[0]).toContain("job 4242  slurm  name hidden: it is in the job's environment (sudo)");
    expect(containerInfo(unnamed, JOB_KEY, 'now', 160, false)[0]).not.toContain('name hidden');
    expect(containerInfo(job, JOB_KEY, 'now', 160, true)[0]).not.toContain('name hidden');
  });

  it('the files and network panes say "hidden by permissions" where the descriptors were unreadable', () => {
    class Hidden extends FixedSource {
      descriptorsHidden(): boolean {
        return true;
      }
    }
    const hidden = new Hidden({ snapshots: timeline(10, world), mode: 'live', files: {}, net: {}, status: [] });
    const r = render(<App source={hidden} columns={80} rows={24} color={false} containerKey={WEB_KEY} />);
    expect(frame(r)).toContain('hidden by permissions (sudo)');
    expect(frame(r)).not.toContain('no open files known');
    const visible = new FixedSource({ snapshots: timeline(10, world), mode: 'live', files: {}, net: {}, status: [] });
    const plain = render(<App source={visible} columns={80} rows={24} color={false} containerKey={WEB_KEY} />);
    expect(frame(plain)).toContain('no open files known');
  });
});

describe('sendSignal', () => {
  it("sends the signal to the real process, and refuses a key whose start time is not the process's", async () => {
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const startTicks = parseStat(fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8'))!.startTicks;
    // A reused pid: same number, another start time. Nothing is sent.
    expect(sendSignal(`${child.pid}:${startTicks + 1}`, 'SIGTERM', 'sleep')).toBe(`SIGTERM not sent: ${child.pid} (sleep) has exited`);
    expect(child.exitCode).toBeNull();
    const exited = once(child, 'exit');
    expect(sendSignal(`${child.pid}:${startTicks}`, 'SIGTERM', 'sleep')).toBe(`SIGTERM sent to ${child.pid} (sleep)`);
    const [, signal] = await exited;
    expect(signal).toBe('SIGTERM');
    expect(sendSignal(`${child.pid}:${startTicks}`, 'SIGTERM', 'sleep')).toMatch(/not sent: .* has exited/);
  });

  it('escapes the name it prints', () => {
    expect(sendSignal('999999999:1', 'SIGKILL', 'evil\u001b]0;x\u0007')).not.toMatch(/[\u0000-\u001f]/);
  });
});
