/**
 * The lists' columns in a real terminal (tmux) on the real bundle: the config file's `columns` picks and orders them,
 * --columns and --process-columns override it, and a bad name stops top with one line.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { needReal } from '../helpers/real.js';
import { Tmux, tmuxAvailable } from '../helpers/tmux.js';

const tmux = tmuxAvailable();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-columns-tui-'));
const sessions: Tmux[] = [];

function open(args: string, env: Record<string, string> = {}): Tmux {
  const t = new Tmux(`${process.execPath} ${BIN} ${args}`, 100, 30, env);
  sessions.push(t);
  return t;
}

afterEach(() => {
  for (const t of sessions.splice(0)) t.kill();
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The containers list's header line on screen. */
const header = (screen: string): string => screen.split('\n').find((l) => /^ +(\S+ +)*NAME\b/.test(l)) ?? '';

describe('columns in a real terminal', () => {
  it('the config file picks and orders the columns; --columns overrides it', async (ctx) => {
    needReal(ctx, 'tmux', tmux.ok, tmux.why);
    const config = path.join(tmp, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ columns: { containers: ['procs', 'name', 'cpu'] } }, null, 2));
    const db = path.join(tmp, 'columns.db');
    const t = open(`top --no-record --db ${db}`, { BUBBLE_CONFIG: config });
    let screen = await t.waitFor((s) => header(s).includes('CPU%▼'));
    expect(header(screen)).toMatch(/^ +PROCS NAME +CPU%▼$/);
    t.keys('q');
    await t.waitFor('EXIT=0');
    const flagged = open(`top --no-record --db ${db} --columns name,mem,kind`, { BUBBLE_CONFIG: config });
    screen = await flagged.waitFor((s) => /MEM/.test(header(s)));
    // The sort (CPU) has no column here: the NAME column names it.
    expect(header(screen)).toMatch(/^ NAME ▼cpu +MEM KIND$/);
    flagged.keys('q');
    await flagged.waitFor('EXIT=0');
  });

  it('a column name it does not know stops top with one line, before the screen opens', () => {
    const run = spawnSync(process.execPath, [BIN, 'top', '--columns', 'name,memory'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(
      'bubble: --columns: "memory" is not a column (known: name, kind, cpu, eff, mem, limit, net, blk, procs, threads, uptime, status, image)\n',
    );
    const noCommand = spawnSync(process.execPath, [BIN, 'top', '--process-columns', 'pid,cpu'], { encoding: 'utf8' });
    expect(noCommand.status).toBe(2);
    expect(noCommand.stderr).toBe('bubble: --process-columns: "command" is missing (the column that names each row)\n');
  });
});
