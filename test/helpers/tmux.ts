/**
 * A real terminal for TUI tests: tmux runs the command in a pty of a fixed size; send-keys types, capture-pane
 * reads the screen as the user sees it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function tmuxAvailable(): { ok: boolean; why: string } {
  const r = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
  return r.status === 0 ? { ok: true, why: '' } : { ok: false, why: 'tmux is not installed (apt-get install tmux)' };
}

export class Tmux {
  readonly session = `bubble-test-${randomBytes(4).toString('hex')}`;

  /** Starts `command` (a shell command line) in a detached session of columns x rows. */
  constructor(command: string, columns = 100, rows = 30, env: Record<string, string> = {}) {
    // The tmux server may be older than this test run (another suite started it): its environment is not ours, so
    // the suite's private default store and config (test/setup.ts) are passed on explicitly.
    const hermetic: Record<string, string> = {};
    for (const name of ['BUBBLE_DB', 'BUBBLE_CONFIG', 'BUBBLE_RUN_DIR']) if (process.env[name] !== undefined) hermetic[name] = process.env[name];
    const exports = Object.entries({ NO_COLOR: '1', ...hermetic, ...env })
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(' ');
    // `; echo EXIT=$?; sleep` keeps the pane after the program ends, so the test can read how it left.
    execFileSync('tmux', [
      'new-session',
      '-d',
      '-s',
      this.session,
      '-x',
      String(columns),
      '-y',
      String(rows),
      `env ${exports} ${command}; echo EXIT=$?; sleep 600`,
    ]);
  }

  capture(): string {
    return execFileSync('tmux', ['capture-pane', '-t', this.session, '-p'], { encoding: 'utf8' });
  }

  /** tmux format variables of the pane, e.g. alternate_on, pane_title. */
  display(format: string): string {
    return execFileSync('tmux', ['display-message', '-t', this.session, '-p', format], { encoding: 'utf8' }).trim();
  }

  keys(...keys: string[]): void {
    execFileSync('tmux', ['send-keys', '-t', this.session, ...keys]);
  }

  /** Literal text (no key-name lookup). */
  type(text: string): void {
    execFileSync('tmux', ['send-keys', '-t', this.session, '-l', text]);
  }

  async waitFor(test: string | RegExp | ((screen: string) => boolean), timeoutMs = 15_000): Promise<string> {
    const started = Date.now();
    let screen = '';
    for (;;) {
      screen = this.capture();
      const ok = typeof test === 'string' ? screen.includes(test) : test instanceof RegExp ? test.test(screen) : test(screen);
      if (ok) return screen;
      if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${String(test)}; the screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  kill(): void {
    spawnSync('tmux', ['kill-session', '-t', this.session]);
  }
}
