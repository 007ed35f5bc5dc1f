// Times on screen are local time: fix the zone so frames are the same everywhere.
process.env.TZ = 'UTC';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import { App } from '../../src/tui/App.js';
import { dockerSpec, FixedSource, HOST_SPEC, keyOf, snapshotOf, T0, timeline, type World } from '../helpers/fixed-source.js';
import { renderSized, settle } from './harness.js';
import { BYTES } from './keys.js';
import { JOB_KEY, source, WEB_KEY, world } from './world.js';

afterEach(() => cleanup());

type Rendered = { stdin: { write(data: string): void }; lastFrame(): string | undefined };

async function keys(r: Rendered, ...seq: string[]): Promise<void> {
  for (const k of seq) {
    r.stdin.write(k);
    await settle();
  }
}

const frame = (r: Rendered): string => r.lastFrame() ?? '';
const lines = (r: Rendered): string[] => frame(r).split('\n');
const at80 = (s: FixedSource, over: Partial<Parameters<typeof App>[0]> = {}) => render(<App source={s} columns={80} rows={24} color={false} {...over} />);

/** Every line fits, and the frame is one line shorter than the terminal. */
function expectFits(text: string, columns: number, rows: number): void {
  const ls = text.split('\n');
  expect(ls).toHaveLength(rows - 1);
  for (const l of ls) expect(l.length, l).toBeLessThanOrEqual(columns);
}

describe('containers view', () => {
  it('draws header, columns, rows (host last), scrubber and status at 80x24', () => {
    const r = at80(source());
    const ls = lines(r);
    expectFits(frame(r), 80, 24);
    expect(ls[0]).toBe(' bubble  host vm  2 cpu  24G  3 containers  live 1s' + ' '.repeat(23) + '? help');
    // Rates say so: NET/s, BLK/s.
    // PROCS: processes, as the container view counts them (db has one process of 12 threads).
    expect(ls[1]).toBe(' NAME            KIND        CPU%▼    MEM  LIMIT  NET/s rx/tx   BLK/s r/w  PROCS');
    expect(ls[2]).toBe('>web-1           docker      120.0   412M   2.0G    1.2M/340K      0/4.1M      5');
    expect(ls[3]).toBe(' job 4242 sim    slurm        99.8   1.1G   4.0G            -         0/0      2');
    expect(ls[4]).toBe(' db              docker        3.0   900M   4.0G            -         0/0      1');
    expect(ls[5]).toMatch(/^ host {12}host {8}\s+\d+\.\d\s+\d+M\s+-\s+-\s+0\/0\s+3$/);
    // i = 112..119 of the timeline: host CPU 20 + (i % 10) * 10 on a 200% (two core) host.
    // The sparklines follow the selected row (web-1: 2-core limit, 2.0G memory limit), their scales said.
    expect(ls[21]).toMatch(/^ cpu 0-200% [ ▁-█]{10} mem of 2\.0G limit ▂{10} {2}second ◀ 21:23:04 ▶ live$/);
    expect(ls[22]).toBe(' status: no root: I/O hidden, sysdig off, docker ok');
  });

  it('uses the room of a 120x40 terminal', async () => {
    const r = renderSized(<App source={source()} color={false} />, 120, 40);
    await settle();
    const ls = r.lastFrame().split('\n');
    expectFits(r.lastFrame(), 120, 40);
    expect(ls[0]).toMatch(/^ bubble  host vm .* {20,}\? help$/);
    expect(ls[0]).toHaveLength(120);
    // At 120 columns the list has EFF%, THR and UPTIME (STATUS and IMAGE need more): web-1's 120% CPU of its 2-core
    // limit is 60% efficient; the unlimited db has none.
    expect(ls[1]!.indexOf('KIND')).toBe(1 + 36 + 1);
    expect(ls[1]).toMatch(/ CPU%▼  EFF% {4}MEM/);
    expect(ls[1]).toMatch(/ PROCS {3}THR UPTIME$/);
    expect(ls[2]).toMatch(/^>web-1 {32}docker {6}120\.0  60\.0 .* 5 {4}25 {2}1h00m$/);
    expect(ls[4]).toMatch(/^ db .* 3\.0 {5}- /);
    expect(ls[37]).toMatch(/ second ◀ 21:23:04 ▶ live$/);
    r.instance.unmount();
  });

  it('cycles the sort with s, marking the sorted column', async () => {
    const r = at80(source());
    await keys(r, 's');
    expect(lines(r)[1]).toContain('MEM▼');
    expect(lines(r)[1]).not.toContain('CPU%▼');
    expect(
      lines(r)
        .slice(2, 6)
        .map((l) => l.slice(1, 14).trim()),
    ).toEqual(['job 4242 sim', 'db', 'web-1', 'host']);
    await keys(r, 's', 's', 's');
    expect(lines(r)[1]).toContain('NAME▼');
    expect(
      lines(r)
        .slice(2, 6)
        .map((l) => l.slice(1, 14).trim()),
    ).toEqual(['db', 'job 4242 sim', 'web-1', 'host']);
  });

  it('filters by name with /, keeps it with Enter and clears it with Esc', async () => {
    const r = at80(source());
    await keys(r, '/', 'd', 'b');
    // The prompt leaves too little room for every part: the status goes in pages (the next one a few seconds later).
    expect(lines(r)[22]).toBe(' /db█  Enter keeps, Esc drops  status 1/2: no root: I/O hidden, sysdig off');
    expect(lines(r)[2]).toMatch(/^>db /);
    expect(lines(r)[3]).toBe('');
    // While typing, q is text, not quit.
    await keys(r, 'q');
    expect(lines(r)[2]).toBe(' no container matches "dbq"');
    await keys(r, BYTES.backspace, BYTES.enter);
    expect(lines(r)[22]).toMatch(/^ filter "db" \(Esc clears\) {2}status: /);
    expect(lines(r)[2]).toMatch(/^>db /);
    await keys(r, BYTES.escape);
    expect(lines(r)[22]).toBe(' status: no root: I/O hidden, sysdig off, docker ok');
    expect(lines(r)[5]).toMatch(/^ host /);
  });

  it('moves the selection and keeps it on the same container across ticks', async () => {
    const s = source();
    const r = at80(s);
    await keys(r, BYTES.down);
    expect(lines(r)[3]).toMatch(/^>job 4242 sim/);
    // Next tick web-1 drops to 50% CPU (i % 8 = 0) and the job moves to the top: the selection follows the job.
    s.push(snapshotOf(world(120), T0 + 1000));
    await settle();
    expect(lines(r)[2]).toMatch(/^>job 4242 sim/);
    expect(lines(r)[0]).toContain('live 1s');
    expect(lines(r)[21]).toContain('◀ 21:23:05 ▶ live');
  });

  it('shows a container that appears on a live tick, but not while paused', async () => {
    const s = source();
    const r = at80(s);
    const more = (i: number): World => ({ ...world(i), containers: [...world(i).containers, dockerSpec('c', 'cache')] });
    await keys(r, ' ');
    expect(lines(r)[21]).toContain('◀ 21:23:04 ▶ paused');
    s.push(snapshotOf(more(120), T0 + 1000));
    await settle();
    expect(frame(r)).not.toContain('cache');
    expect(lines(r)[0]).toContain('at 2026-11-21 21:23:04');
    await keys(r, ' ');
    expect(frame(r)).toContain(' cache ');
    expect(lines(r)[0]).toContain('4 containers  live 1s');
    expect(lines(r)[21]).toContain('◀ 21:23:05 ▶ live');
  });

  it('says when there is nothing yet', () => {
    const r = at80(new FixedSource({ snapshots: [] }));
    expect(lines(r)[2]).toBe(' waiting for the first sample…');
    expect(lines(r)[0]).toContain('0 containers  live 1s');
  });
});

describe('container view', () => {
  it('opens with Enter: facts, limits, and the process tree', async () => {
    const r = at80(source());
    await keys(r, BYTES.enter);
    const ls = lines(r);
    expectFits(frame(r), 80, 24);
    // Processes as the list's PROCS counts them, and the cgroup's tasks as threads.
    expect(ls[1]).toBe(' web-1  docker  5 processes, 25 threads  running  image nginx:1.27  peak 500M');
    expect(ls[2]).toBe(' cpu 120.0% of 2.0 cores  mem 412M / 2.0G  throttled 5.0%  oom kills 1');
    expect(ls[3]).toBe('     PID NSPID USER     CPU%▼   RSS  RD/s  WR/s NET/s  THR COMMAND (tree)');
    expect(ls[4]).toBe('>   4242     1 root       1.0   12M     0     0     -    1 ▾ nginx: master proc…');
    expect(ls[5]).toBe('    4243     7 www-da…   60.0  200M     0  4.0M     -    1  ▾ nginx: worker pro…');
    expect(ls[6]).toBe('    4250     9 root       0.5   10M     0     0     -    1     sh -c logrotate');
    expect(ls[7]).toBe('    4244     8 www-da…   40.0  190M     0     0     -    1    nginx: worker pro…');
    expect(ls[8]).toBe('    4300    20 root       0.0   10M     0     0     -    1   cron -f');
    expect(ls[15]).toBe('  files of 4242 nginx (1)                 network (0)');
    expect(ls[16]).toBe('   3 w   /var/run/nginx.pid               no sockets known');
  });

  it('goes flat and sorted with t, folds with c / Enter, and sorts with s', async () => {
    const r = at80(source(), { containerKey: WEB_KEY });
    await keys(r, 'c');
    expect(lines(r)[4]).toBe('>   4242     1 root       1.0   12M     0     0     -    1 ▸[+3] nginx: master …');
    expect(lines(r)[5]).toMatch(/^ {4}4300 .* cron -f$/);
    await keys(r, BYTES.enter);
    expect(lines(r)[5]).toMatch(/^ {4}4243 /);
    await keys(r, '-');
    expect(lines(r)[5]).toMatch(/^ {4}4300 /);
    await keys(r, '+', 't');
    expect(lines(r)[3]).toContain('COMMAND (flat)');
    expect(
      lines(r)
        .slice(4, 9)
        .map((l) => Number(l.slice(1, 8))),
    ).toEqual([4243, 4244, 4242, 4250, 4300]);
    // The selection stayed on 4242, now third.
    expect(lines(r)[6]).toMatch(/^> {3}4242 /);
    expect(frame(r)).not.toContain('▾');
    await keys(r, 's');
    expect(lines(r)[3]).toContain('RSS▼');
    await keys(r, 's', 's');
    expect(lines(r)[3]).toContain('PID▼');
    expect(
      lines(r)
        .slice(4, 9)
        .map((l) => Number(l.slice(1, 8))),
    ).toEqual([4242, 4243, 4244, 4250, 4300]);
  });

  it('shows the selected process files and sockets, and Tab moves the focus between panes', async () => {
    const r = at80(source(), { containerKey: WEB_KEY });
    await keys(r, BYTES.down);
    let ls = lines(r);
    expect(ls[15]).toBe('  files of 4243 nginx (3)                 network (2)');
    // The FD column in both panes; at 80 columns the remote end keeps its room (the local one goes first); a
    // listener shows its local end only.
    expect(ls[16]).toBe('   4 wa  /var/log/nginx/access.log         7 tcp   ESTAB  → 172.17.0.1:51234');
    expect(ls[17]).toBe('   5 r   /etc/nginx/nginx.conf             6 tcp   LISTEN 0.0.0.0:80');
    expect(ls[18]).toBe('   9 rw  /tmp/old-cache (deleted)');
    await keys(r, BYTES.tab, BYTES.down, BYTES.down);
    ls = lines(r);
    expect(ls[15]).toBe('▸ files of 4243 nginx (3)                 network (2)');
    expect(ls[18]).toBe('>  9 rw  /tmp/old-cache (deleted)');
    // The process list keeps its selection while another pane has the focus.
    expect(ls[5]).toMatch(/^> {3}4243 /);
    await keys(r, BYTES.tab);
    ls = lines(r);
    expect(ls[15]).toBe('  files of 4243 nginx (3)               ▸ network (2)');
    expect(ls[16]).toMatch(/^ {3}4 wa .* > {2}7 tcp   ESTAB /);
    await keys(r, BYTES.shiftTab, BYTES.shiftTab);
    expect(lines(r)[15]).toBe('  files of 4243 nginx (3)                 network (2)');
    await keys(r, BYTES.up);
    expect(lines(r)[4]).toMatch(/^> {3}4242 /);
  });

  it('goes back to the containers list with Esc or Backspace, on the same container', async () => {
    const r = at80(source());
    await keys(r, BYTES.down, BYTES.enter);
    expect(lines(r)[1]).toMatch(/^ job 4242 sim  slurm/);
    await keys(r, BYTES.backspace);
    expect(lines(r)[1]).toContain('NAME');
    expect(lines(r)[3]).toMatch(/^>job 4242 sim/);
    await keys(r, BYTES.down, BYTES.enter, BYTES.escape);
    expect(lines(r)[4]).toMatch(/^>db /);
  });

  it('shows a Slurm job with its steps and user', () => {
    const r = at80(source(), { containerKey: JOB_KEY });
    expect(lines(r)[1]).toBe(' job 4242 sim  slurm  2 processes, 2 threads  steps batch, 0  user alice');
    expect(lines(r)[2]).toBe(' cpu 99.8%  mem 1.1G / 4.0G');
    // STEP only in a job's view: which step's cgroup holds each process.
    expect(lines(r)[3]).toMatch(/^ {5}PID NSPID USER {4}STEP {4}CPU%▼/);
    expect(lines(r)[4]).toBe('>   6000     - alice   batch    99.8  1.1G     0     0    1 ▾ /home/alice/sim -…');
    expect(lines(r)[5]).toBe('    6001     - alice   0         0.0   10M     0     0    1    /home/alice/sim-…');
  });

  it('filters processes by command', async () => {
    const r = at80(source(), { containerKey: WEB_KEY });
    await keys(r, '/', 'c', 'r', 'o', 'n', BYTES.enter);
    expect(lines(r)[4]).toMatch(/^> {3}4300 .* cron -f$/);
    expect(lines(r)[5]).toBe('');
    await keys(r, '/', 'x', 'y', 'z');
    expect(lines(r)[4]).toBe(' no process matches "cronxyz"');
  });

  it('says when the container is not there at the cursor', async () => {
    // "cache" exists only in the newest moment.
    const snaps = timeline(5, (i) => (i < 4 ? world(i) : { ...world(i), containers: [...world(i).containers, dockerSpec('c', 'cache')] }));
    const s = new FixedSource({ snapshots: snaps });
    const r = at80(s, { containerKey: keyOf(dockerSpec('c', 'cache')) });
    expect(lines(r)[1]).toMatch(/^ cache  docker {2}0 processes/);
    await keys(r, BYTES.left);
    expect(lines(r)[1]).toBe(' docker cccccccccccc: not present at 2026-11-21 21:23:03');
    expect(lines(r)[4]).toBe(' no processes at 2026-11-21 21:23:03');
    expect(lines(r)[21]).toBe(' cpu 0-100%              mem of 24G RAM               second ◀ 21:23:03 ▶ paused');
  });

  it('hides kernel threads of the host until K', async () => {
    const r = at80(source(), { containerKey: 'host' });
    expect(frame(r)).not.toContain('[kthreadd]');
    await keys(r, 'K');
    expect(frame(r)).toContain('[kthreadd]');
  });
});

describe('scrubber and time cursor', () => {
  it('steps back a bucket with ←: every pane shows that moment, the sparkline ends there', async () => {
    const s = source();
    const r = at80(s, { containerKey: WEB_KEY });
    // web-1's CPU is 50 + (i % 8) * 10, i = 0..119, on the scale of its 2-core limit: the newest ten buckets are
    // 110, 120, 50..120.
    expect(lines(r)[21]).toBe(' cpu 0-200% ▅▅▃▃▃▄▄▅▅▅ mem of 2.0G limit ▂▂▂▂▂▂▂▂▂▂  second ◀ 21:23:04 ▶ live');
    expect(s.filesCalls.at(-1)).toEqual(['4242:1000', undefined]);
    await keys(r, BYTES.left, BYTES.left);
    const ls = lines(r);
    expect(ls[0]).toContain('at 2026-11-21 21:23:02');
    expect(ls[2]).toMatch(/^ cpu 100\.0% of 2\.0 cores/);
    expect(ls[21]).toBe(' cpu 0-200% ▄▅▅▅▃▃▃▄▄▅ mem of 2.0G limit ▂▂▂▂▂▂▂▂▂▂  second ◀ 21:23:02 ▶ paused');
    expect(s.filesCalls.at(-1)).toEqual(['4242:1000', T0 - 2000]);
    const [tier, from, to, key] = s.seriesCalls.at(-1)!;
    expect([tier, to - from, to, key]).toEqual(['second', 10_000, T0 - 1000, WEB_KEY]);
    await keys(r, BYTES.right);
    expect(lines(r)[21]).toContain('◀ 21:23:03 ▶ paused');
    await keys(r, BYTES.right, BYTES.right);
    expect(lines(r)[21]).toContain('◀ 21:23:04 ▶ live');
  });

  it('zooms out with ] and in with [, showing the buckets of the tier', async () => {
    const r = at80(source());
    await keys(r, ']');
    // 120 seconds of data end at 21:23:04: three minute buckets, at the right end.
    expect(lines(r)[21]).toMatch(/^ cpu 0-200% {8}[▁-█]{3} mem of 2\.0G limit {8}[▁-█]{3} {2}minute ◀ 21:23:04 ▶ live$/);
    // One minute back: the 21:22 bucket, shown by the newest moment it holds.
    await keys(r, BYTES.left);
    // (The list's order at that minute puts the job first: the sparklines follow the selected row.)
    expect(lines(r)[21]).toMatch(/^ cpu 0-100% {9}[▁-█]{2} mem of 4\.0G limit {9}[▁-█]{2} {2}minute ◀ 21:22:59 ▶ paused$/);
    expect(lines(r)[0]).toContain('at 2026-11-21 21:22:59');
    // The hour bucket that holds 21:22 ends at 21:23:04.
    await keys(r, ']');
    expect(lines(r)[21]).toMatch(/^ cpu 0-200% {10}[▁-█] mem of 2\.0G limit {10}[▁-█] {2}hour ◀ 11-21 21:23 ▶ paused$/);
    // Back to seconds: the cursor is still at the start of the minute it stepped to.
    await keys(r, '[', '[');
    expect(lines(r)[21]).toMatch(/ second ◀ 21:22:00 ▶ paused$/);
  });

  it('returns to live with L, and with End on the last row', async () => {
    const r = at80(source());
    await keys(r, BYTES.left, 'L');
    expect(lines(r)[21]).toContain('▶ live');
    await keys(r, BYTES.left, BYTES.end);
    expect(lines(r)[21]).toContain('▶ paused');
    expect(lines(r)[5]).toMatch(/^>host/);
    await keys(r, BYTES.end);
    expect(lines(r)[21]).toContain('▶ live');
  });

  it('in replay, starts at the newest moment and reads the panes at the snapshot time', () => {
    const s = source({ mode: 'replay' });
    const r = at80(s, { containerKey: WEB_KEY });
    expect(lines(r)[0]).toContain('replay 2026-11-21 21:23:04');
    expect(lines(r)[21]).toMatch(/ second ◀ 21:23:04 ▶ newest$/);
    expect(s.filesCalls.at(-1)).toEqual(['4242:1000', T0]);
  });

  it('opens at a given moment (replay --at)', () => {
    const r = at80(source({ mode: 'replay' }), { atMs: T0 - 60_000 });
    expect(lines(r)[0]).toContain('at 2026-11-21 21:22:04');
    expect(lines(r)[21]).toMatch(/ second ◀ 21:22:04 ▶ replay$/);
  });
});

describe('help and status', () => {
  it('lists every key with ? and closes with Esc', async () => {
    const r = at80(source());
    await keys(r, '?');
    const text = frame(r);
    expectFits(text, 80, 24);
    expect(lines(r)[1]).toMatch(/^ keys \(\? or Esc closes this\)/);
    for (const want of ['↑ k', 'PgUp', 'Home g', 'End G', 'Enter', 'Esc Bksp', '/ ', 'Tab', '←', '→', '[', ']', 'Space', 'L ', 'q ^C', 'c ', 't ']) {
      expect(text).toContain(want);
    }
    await keys(r, BYTES.escape);
    expect(lines(r)[1]).toContain('NAME');
  });

  it('tells what is missing, warnings first, in pages when it does not fit the width', () => {
    const status = [
      { name: 'docker', level: 'ok' as const, text: 'docker ok' },
      { name: 'store', level: 'warn' as const, text: 'store read-only: history not recorded' },
      { name: 'docker', level: 'warn' as const, text: 'no Docker socket: names are short ids' },
      { name: 'sysdig', level: 'off' as const, text: 'sysdig off' },
    ];
    const r = at80(source({ status }));
    expect(lines(r)[22]).toBe(' status 1/2: store read-only: history not recorded');
  });

  it('quits with q', async () => {
    const r = renderSized(<App source={source()} color={false} />, 80, 24);
    const exited = r.instance.waitUntilExit();
    r.stdin.write('q');
    await expect(exited).resolves.toBeUndefined();
  });

  it('takes keys that arrive in one chunk one by one (a paste, tmux send-keys)', async () => {
    const r = renderSized(<App source={source()} color={false} />, 80, 24);
    await settle();
    r.stdin.write('jj');
    await settle();
    expect(r.lastFrame().split('\n')[4]).toMatch(/^>db /);
    const exited = r.instance.waitUntilExit();
    // Filter text, Enter to keep it, then q: quit, not a filter of "dbq".
    r.stdin.write('/db\rq');
    await expect(exited).resolves.toBeUndefined();
  });

  it('quits with Ctrl-C, even while typing a filter', async () => {
    const r = renderSized(<App source={source()} color={false} />, 80, 24);
    const exited = r.instance.waitUntilExit();
    r.stdin.write('/');
    await settle();
    r.stdin.write(BYTES.ctrlC);
    await expect(exited).resolves.toBeUndefined();
  });

  it('unsubscribes from the source when it leaves', () => {
    const s = source();
    const r = renderSized(<App source={s} color={false} />, 80, 24);
    expect(s.listenerCount).toBe(1);
    r.instance.unmount();
    expect(s.listenerCount).toBe(0);
  });
});

describe('escaping', () => {
  const EVIL = '\u001b]0;pwned\u0007';
  const CLEAR = '\u001b[2J';
  const badWorld: World = {
    containers: [dockerSpec('e', `evil${CLEAR}`, { cpuPercent: 5 }), HOST_SPEC],
    processes: [{ pid: 666, comm: EVIL, cmdline: `evil ${CLEAR} --x`, user: `u${CLEAR}`, container: keyOf(dockerSpec('e', 'x')), cpuPercent: 5 }],
  };
  const badSource = (): FixedSource =>
    new FixedSource({
      snapshots: [snapshotOf(badWorld)],
      files: { '666:1000': [{ path: `/tmp/${EVIL}`, mode: 'r', deleted: false }] },
      net: { '666:1000': [{ protocol: 'tcp', local: '1.2.3.4:1', remote: `5.6.7.8:9${CLEAR}`, state: `X${EVIL}` }] },
      status: [{ name: 'x', level: 'warn', text: `warn${EVIL}` }],
    });

  it('a process named with escape sequences does not reach the terminal as such', async () => {
    // Wide enough for the whole socket line (at 80 columns its ends are cut).
    const r = at80(badSource(), { columns: 120 });
    await keys(r, BYTES.enter);
    await keys(r, '/', EVIL);
    const all = frame(r);
    expect(all).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(all).toContain('evil \\e[2J --x');
    expect(all).toContain('files of 666 \\e]0;pwned\\x07 (1)');
    expect(all).toContain('/tmp/\\e]0;pwned\\x07');
    expect(all).toContain('5.6.7.8:9\\e[2J');
    expect(all).toContain('warn\\e]0;pwned\\x07');
    await keys(r, BYTES.enter, BYTES.escape, BYTES.escape);
    expect(frame(r)).toContain('>evil\\e[2J');
    expect(frame(r)).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});

describe('fits the terminal', () => {
  const bigWorld: World = {
    containers: [dockerSpec('a', 'big', { cpuPercent: 300 }), HOST_SPEC],
    processes: Array.from({ length: 1000 }, (_, i) => ({
      pid: 1000 + i,
      ppid: i === 0 ? 1 : 1000 + Math.floor((i - 1) / 4),
      comm: `worker${i}`,
      cmdline: `/usr/bin/worker --id ${i} --with-a-rather-long-argument-list-that-does-not-fit`,
      container: keyOf(dockerSpec('a', 'big')),
      cpuPercent: (i * 7) % 100,
    })),
  };

  it('windows 1,000 processes to the visible rows, at 80x24 with every column', async () => {
    const r = at80(new FixedSource({ snapshots: [snapshotOf(bigWorld)] }), { containerKey: keyOf(dockerSpec('a', 'big')) });
    expectFits(frame(r), 80, 24);
    const header = lines(r)[3]!;
    for (const col of ['PID', 'NSPID', 'USER', 'CPU%', 'RSS', 'RD/s', 'WR/s', 'THR', 'COMMAND']) expect(header).toContain(col);
    expect(lines(r).filter((l) => /^[> ] {2,3}\d{4} /.test(l))).toHaveLength(11);
    await keys(r, 't', BYTES.end);
    expectFits(frame(r), 80, 24);
    // Flat by CPU: the last row is the lowest CPU with the highest pid among equals.
    expect(lines(r)[14]).toMatch(/^> {3}1900 .* 0\.0 /);
    await keys(r, BYTES.pageup);
    expect(lines(r)[4]).toMatch(/^> /);
  });

  it('redraws on resize', async () => {
    const r = renderSized(<App source={source()} containerKey={WEB_KEY} color={false} />, 120, 40);
    await settle();
    expectFits(r.lastFrame(), 120, 40);
    r.stdout.resize(80, 24);
    await settle();
    expectFits(r.lastFrame(), 80, 24);
    expect(r.lastFrame().split('\n')[3]).toBe('     PID NSPID USER     CPU%▼   RSS  RD/s  WR/s NET/s  THR COMMAND (tree)');
    r.stdout.resize(100, 30);
    await settle();
    expectFits(r.lastFrame(), 100, 30);
    // Too small to draw: one line saying so, and the keys still work.
    r.stdout.resize(30, 8);
    await settle();
    expect(r.lastFrame().split('\n').length).toBeLessThanOrEqual(3);
    expect(r.lastFrame().replace(/\s+/g, ' ')).toBe('bubble needs 40x10, this is 30x8; q quits');
    const exited = r.instance.waitUntilExit();
    r.stdin.write('q');
    await expect(exited).resolves.toBeUndefined();
  });
});
