/**
 * A private tmux server for the `top` section: each program gets a real pty of a fixed size, its screen can be read
 * back (`capture-pane`), keys sent, and its pid and exit status asked for. The server runs on its own socket
 * (`-L bubble-bench-<pid>`) with no config file (`-f /dev/null`), so a user's tmux and ~/.tmux.conf are not touched
 * and do not change the figures (a status bar would take a line of the 40). Panes stay after their program exits
 * (remain-on-exit), so a fast exit is seen as one, with its status, instead of a vanished session.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

export interface PaneState {
  readonly pid: number;
  readonly dead: boolean;
  /** Exit status once dead; undefined while alive (or killed by a signal). */
  readonly status: number | undefined;
}

export class TmuxServer {
  readonly socket = `bubble-bench-${process.pid}`;
  readonly columns: number;
  readonly rows: number;
  private started = false;

  constructor(columns = 120, rows = 40) {
    this.columns = columns;
    this.rows = rows;
  }

  private tmux(args: readonly string[]): { ok: boolean; out: string; err: string } {
    const r = spawnSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    if (r.error !== undefined) return { ok: false, out: '', err: r.error.message };
    return { ok: r.status === 0, out: r.stdout, err: r.stderr.trim() };
  }

  private must(args: readonly string[]): string {
    const r = this.tmux(args);
    if (!r.ok) throw new Error(`tmux ${args.join(' ')}: ${r.err}`);
    return r.out;
  }

  /** Starts the server with one idle session holding it up, so no launch below pays the server's start. */
  start(): void {
    this.must(['new-session', '-d', '-s', 'keep', '-x', String(this.columns), '-y', String(this.rows), 'sleep', '3600']);
    this.started = true;
    this.must(['set-option', '-g', 'remain-on-exit', 'on']);
    this.must(['set-option', '-g', 'status', 'off']);
  }

  /**
   * Runs argv (exec'd directly, no shell: more than one argument) in a new detached session of the server's size;
   * returns its pid, which is the program's own.
   */
  open(name: string, argv: readonly string[], env: Readonly<Record<string, string>> = {}): number {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const out = this.must([
      'new-session',
      '-d',
      '-P',
      '-F',
      '#{pane_pid}',
      '-s',
      name,
      '-x',
      String(this.columns),
      '-y',
      String(this.rows),
      ...envArgs,
      '--',
      ...argv,
    ]);
    return Number(out.trim());
  }

  /** The pane's visible text, one line per row. */
  capture(name: string): string {
    return this.must(['capture-pane', '-p', '-t', name]);
  }

  pane(name: string): PaneState {
    const [pid, dead, status] = this.must(['display-message', '-p', '-t', name, '#{pane_pid} #{pane_dead} #{pane_dead_status}']).trim().split(' ');
    return { pid: Number(pid), dead: dead === '1', status: status === undefined || status === '' ? undefined : Number(status) };
  }

  keys(name: string, ...keys: string[]): void {
    this.must(['send-keys', '-t', name, ...keys]);
  }

  /** Kills a session (and its program, with SIGHUP) if it is still there. */
  kill(name: string): void {
    this.tmux(['kill-session', '-t', name]);
  }

  /** Kills this bench's server and whatever still runs in it; safe to call twice and from an exit handler. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.tmux(['kill-server']);
    // tmux leaves the socket file behind (in TMUX_TMPDIR or /tmp, not TMPDIR).
    const dir = process.env['TMUX_TMPDIR'] || '/tmp';
    rmSync(path.join(dir, `tmux-${process.getuid?.() ?? 0}`, this.socket), { force: true });
  }
}

/**
 * utime + stime + cutime + cstime of a process (fields 14-17 of /proc/<pid>/stat), clock ticks: its CPU so far,
 * every thread included, and that of children it reaped. undefined once it is gone.
 */
export function processCpuTicks(pid: number, procRoot = '/proc'): number | undefined {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(f[14 - 3]) + Number(f[15 - 3]) + Number(f[16 - 3]) + Number(f[17 - 3]);
}
