/**
 * Every view at 60x24, 80x24 and 160x48: names readable, no line wider than the terminal, the columns each width must
 * have, and the extras of a wide terminal (image, status, uptime; process state, start and CPU time) at 160.
 */
// Times on screen are local time: fix the zone so frames are the same everywhere.
process.env.TZ = 'UTC';
import { afterEach, describe, expect, it } from 'vitest';
import { displayWidth } from '../../src/format.js';
import { App } from '../../src/tui/App.js';
import { containerColumns, processColumns } from '../../src/tui/rows.js';
import { renderSized, settle, type Sized } from './harness.js';
import { FixedSource, T0, timeline, type World } from '../helpers/fixed-source.js';
import { source, STATUS, WEB, WEB_KEY, world } from './world.js';

const SIZES = [
  [60, 24],
  [80, 24],
  [160, 48],
] as const;

let open: Sized | undefined;
afterEach(() => {
  open?.instance.unmount();
  open = undefined;
});

async function frameOf(columns: number, rows: number, props: Partial<Parameters<typeof App>[0]> = {}, keys: readonly string[] = []): Promise<string[]> {
  const r = renderSized(<App source={source()} color={false} {...props} />, columns, rows);
  open = r;
  await settle();
  for (const k of keys) {
    r.stdin.write(k);
    await settle();
  }
  const text = r.lastFrame();
  const lines = text.split('\n');
  // One line shorter than the terminal, and not one line wider than it.
  expect(lines).toHaveLength(rows - 1);
  for (const l of lines) expect(displayWidth(l), l).toBeLessThanOrEqual(columns);
  r.instance.unmount();
  open = undefined;
  return lines;
}

/** The header's column names, split where a column starts (two names never share a word here). */
function headerHas(header: string, names: readonly string[], absent: readonly string[] = []): void {
  for (const n of names) expect(header, `${n} in ${header}`).toContain(n);
  for (const n of absent) expect(header, `${n} not in ${header}`).not.toContain(n);
}

const WIDE_CONTAINER = ['EFF%', 'UPTIME', 'STATUS', 'IMAGE'];
const WIDE_PROCESS = [' S ', 'MEM%', 'VIRT', 'START', 'TIME+'];

describe('containers list', () => {
  it.each(SIZES)('at %ix%i: every container row drawn with its whole name, the columns the width allows', async (columns, rows) => {
    const ls = await frameOf(columns, rows);
    const header = ls[1]!;
    // Four containers, each on its own line, named in full (the 60-column list used to wrap and lose rows).
    expect(ls[2]).toMatch(/^>web-1 /);
    expect(ls[3]).toMatch(/^ job 4242 sim /);
    expect(ls[4]).toMatch(/^ db /);
    expect(ls[5]).toMatch(/^ host /);
    headerHas(header, ['NAME', 'CPU%▼', 'MEM', 'PROCS', 'NET/s rx/tx']);
    // NAME keeps at least its least width, whatever went.
    expect(header.indexOf('CPU%') - header.indexOf('NAME')).toBeGreaterThanOrEqual(12);
    if (columns >= 80) headerHas(header, ['KIND', 'LIMIT', 'BLK/s r/w']);
    if (columns < 160) headerHas(header, [], ['IMAGE']);
    if (columns === 60) headerHas(header, [], ['KIND', 'BLK/s', ...WIDE_CONTAINER]);
    if (columns === 160) {
      headerHas(header, WIDE_CONTAINER);
      // web-1 started an hour before the moment shown (its oldest process: the fixture's start time), runs nginx:1.27.
      expect(ls[2]).toMatch(/ 1h00m running {4}nginx:1\.27$/);
      // NAME gets what the columns leave, not all of it.
      expect(header.indexOf('KIND') - header.indexOf('NAME')).toBe(41);
    }
  });

  it("UPTIME counts from Docker's StartedAt where Docker gives it, else from the oldest process", async () => {
    const started = (i: number): World => {
      const w = world(i);
      return { ...w, containers: w.containers.map((c) => (c.id === WEB.id ? { ...c, meta: { ...c.meta, startedAtMs: T0 - 2 * 86_400_000 } } : c)) };
    };
    const s = new FixedSource({ snapshots: timeline(120, started), mode: 'live', status: STATUS });
    const r = renderSized(<App source={s} color={false} />, 160, 48);
    open = r;
    await settle();
    const ls = r.lastFrame().split('\n');
    expect(ls[2]).toMatch(/^>web-1 .* 2d00h running /);
    expect(ls[4]).toMatch(/^ db .* 1h00m running /);
  });

  it('drops columns by priority, one mechanism for both lists: the least important first, the named ones last', () => {
    const names = (w: number): string[] => containerColumns(w).cols.map((c) => c.header);
    const procs = (w: number): string[] => processColumns(w).cols.map((c) => c.header);
    expect(names(40)).toEqual(['NAME', 'CPU%', 'MEM', 'PROCS']);
    expect(names(70)).toEqual(['NAME', 'CPU%', 'MEM', 'LIMIT', 'NET/s rx/tx', 'BLK/s r/w', 'PROCS']);
    // At 100 NAME keeps 36 columns and no extra yet; at 120 three of them.
    expect(names(100)).toEqual(['NAME', 'KIND', 'CPU%', 'MEM', 'LIMIT', 'NET/s rx/tx', 'BLK/s r/w', 'PROCS']);
    expect(names(120)).toEqual(['NAME', 'KIND', 'CPU%', 'EFF%', 'MEM', 'LIMIT', 'NET/s rx/tx', 'BLK/s r/w', 'PROCS', 'THR', 'UPTIME']);
    expect(procs(40)).toEqual(['PID', 'CPU%', 'RSS', 'COMMAND']);
    expect(procs(60)).toEqual(['PID', 'USER', 'CPU%', 'RSS', 'RD/s', 'WR/s', 'COMMAND']);
    for (let w = 40; w <= 220; w++) {
      for (const fitted of [containerColumns(w), processColumns(w)]) {
        const used = 1 + fitted.widths.reduce((a, b) => a + b, 0) + fitted.widths.length - 1;
        expect(used, `width ${w}`).toBeLessThanOrEqual(w);
        // The flex column never below its least width (12 for NAME, 16 for COMMAND).
        const flex = fitted.cols.findIndex((c) => c.header === 'NAME' || c.header === 'COMMAND');
        expect(fitted.widths[flex]).toBeGreaterThanOrEqual(fitted.cols[flex]!.header === 'NAME' ? 12 : 16);
        // The extras never squeeze the names: with any of them, NAME keeps 32 columns (a compose name), COMMAND 40.
        if (fitted.cols.some((c) => c.wide === true)) expect(fitted.widths[flex]).toBeGreaterThanOrEqual(fitted.cols[flex]!.header === 'NAME' ? 32 : 40);
      }
    }
  });

  it('the configured columns, in their order; a narrow terminal still drops by priority', async () => {
    const listColumns = { containers: ['procs', 'name', 'image', 'cpu'] as const, processes: ['command', 'pid', 'time'] as const };
    const wide = await frameOf(160, 48, { listColumns });
    expect(wide[1]).toMatch(/^ {2}PROCS NAME +IMAGE +CPU%▼$/);
    expect(wide[2]).toMatch(/^> {5}5 web-1 +nginx:1\.27 +120\.0$/);
    const narrow = await frameOf(60, 24, { listColumns });
    expect(narrow[1]).toMatch(/^ {2}PROCS NAME +CPU%▼$/);
    const procs = await frameOf(160, 48, { listColumns, containerKey: WEB_KEY });
    // CPU%, the sort, is not among them: the command column names it.
    expect(procs[3]).toMatch(/^ COMMAND \(tree\) ▼cpu +PID {4}TIME\+$/);
    expect(procs[4]).toMatch(/^>▾ nginx: master process +4242 {2}0:20\.01$/);
  });
});

describe('container view', () => {
  it.each(SIZES)('at %ix%i: facts, processes with readable commands, and both panes', async (columns, rows) => {
    const ls = await frameOf(columns, rows, { containerKey: WEB_KEY });
    expect(ls[1]).toMatch(/^ web-1 {2}docker /);
    const header = ls[3]!;
    headerHas(header, ['PID', 'CPU%▼', 'RSS', 'COMMAND (tree)']);
    expect(ls[4]).toMatch(/^> {3}4242 .* ▾ nginx: master/);
    expect(ls.some((l) => l.includes('4300') && l.includes('cron -f'))).toBe(true);
    expect(ls.find((l) => l.includes('files of 4242 nginx (1)'))).toContain('network (0)');
    expect(ls.some((l) => l.includes('/var/run/nginx.pid'))).toBe(true);
    if (columns >= 80) headerHas(header, ['NSPID', 'USER', 'RD/s', 'WR/s', 'THR']);
    if (columns < 160) headerHas(header, [], ['START', 'TIME+']);
    if (columns === 160) {
      headerHas(header, WIDE_PROCESS);
      // Started an hour before T0 (21:23:04 UTC); 10 s of CPU time plus 60% of the 120 s of the timeline.
      expect(ls.find((l) => l.includes(' 4243 '))).toMatch(/ S .* 20:23 10:10\.60 +▾ nginx: worker process$/);
    }
  });
});

describe('help', () => {
  it.each(SIZES)('at %ix%i: every key listed within the width', async (columns, rows) => {
    const ls = await frameOf(columns, rows, {}, ['?']);
    const text = ls.join('\n');
    expect(ls[1]).toMatch(/^ keys \(\? or Esc closes this\)/);
    for (const want of ['↑ k', 'Enter', 'Esc Bksp', 'Tab', 'q ^C', 'F6']) expect(text).toContain(want);
  });
});

describe('replay', () => {
  it.each(SIZES)('at %ix%i: the container view of the past, with the same columns as live', async (columns, rows) => {
    const r = renderSized(<App source={source({ mode: 'replay' })} containerKey={WEB_KEY} color={false} />, columns, rows);
    open = r;
    await settle();
    const ls = r.lastFrame().split('\n');
    expect(ls).toHaveLength(rows - 1);
    for (const l of ls) expect(displayWidth(l), l).toBeLessThanOrEqual(columns);
    expect(ls[0]).toContain('replay');
    expect(ls[1]).toMatch(/^ web-1 /);
    expect(ls[4]).toMatch(/nginx: master/);
    expect(ls.at(-2)).toMatch(/▶ newest$/);
    if (columns === 160) headerHas(ls[3]!, WIDE_PROCESS);
    else headerHas(ls[3]!, [], ['TIME+']);
  });
});

describe('status line', () => {
  const LONG = {
    name: 'descriptors',
    level: 'warn' as const,
    text: 'open files of 14 processes unreadable: /proc/4243/fd: permission denied (run as root or give CAP_SYS_PTRACE to read them)',
  };

  /** The status line's pages, in order, read while the line turns them (every 40 ms here); a page missed comes round again. */
  async function statusPagesSeen(columns: number, status: typeof STATUS): Promise<string[]> {
    const r = renderSized(<App source={source({ status })} color={false} statusCycleMs={40} />, columns, 24);
    open = r;
    await settle();
    const pages = new Map<number, string>();
    let count = 1;
    for (let i = 0; i < 300 && pages.size < count; i++) {
      const line = r.lastFrame().split('\n')[22]!;
      expect(displayWidth(line), line).toBeLessThanOrEqual(columns);
      const m = /^ status (\d+)\/(\d+): /.exec(line);
      count = m === null ? 1 : Number(m[2]);
      pages.set(m === null ? 1 : Number(m[1]), line);
      await settle(15);
    }
    expect(pages.size).toBe(count);
    return [...pages.entries()].sort((a, b) => a[0] - b[0]).map(([, line]) => line);
  }

  /** The text of the pages read one after the other: labels off, a part cut over two pages joined again. */
  function readAll(pages: readonly string[]): string {
    return pages
      .map((p) => p.replace(/^ status \d+\/\d+: /, ''))
      .join(' ')
      .replace(/… /g, ' ');
  }

  it.each([80, 200])('at %i columns a long permission-denied item is read whole, over pages the line cycles through', async (columns) => {
    const status = [
      ...STATUS,
      LONG,
      { name: 'store', level: 'warn' as const, text: 'store read-only: history not recorded (another bubble record holds it)' },
      { name: 'bpftrace', level: 'off' as const, text: 'bpftrace off: per-process network and exits not measured' },
    ];
    const pages = await statusPagesSeen(columns, status);
    expect(pages.length).toBeGreaterThan(1);
    pages.forEach((p, i) => expect(p).toMatch(new RegExp(`^ status ${i + 1}/${pages.length}: `)));
    const all = readAll(pages);
    for (const item of status) expect(all).toContain(item.text);
    // Warnings first.
    expect(all.indexOf('no root')).toBeLessThan(all.indexOf('sysdig off'));
  });

  it('stays one line, with no page number, when everything fits', async () => {
    const pages = await statusPagesSeen(80, STATUS);
    expect(pages).toEqual([' status: no root: I/O hidden, sysdig off, docker ok']);
  });
});
