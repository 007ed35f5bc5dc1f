// Times on screen are local time: fix the zone so frames are the same everywhere.
process.env.TZ = 'UTC';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../src/model/snapshot.js';
import { App } from '../../src/tui/App.js';
import type { Source } from '../../src/tui/source.js';
import { settle } from './harness.js';
import { BYTES } from './keys.js';
import { source, WEB_KEY } from './world.js';

afterEach(() => cleanup());

type Rendered = { stdin: { write(data: string): void }; lastFrame(): string | undefined };

async function keys(r: Rendered, ...seq: string[]): Promise<void> {
  for (const k of seq) {
    r.stdin.write(k);
    await settle();
  }
}

const lines = (r: Rendered): string[] => (r.lastFrame() ?? '').split('\n');

/** The fixed world, with web-1's failed syscalls: nginx's accept4 EAGAIN, and 40 short-lived cats that exited. */
function failing(): Source {
  const base = source();
  const withErrors = (s: Snapshot | undefined): Snapshot | undefined => {
    if (s === undefined) return s;
    const nginx = s.processes.find((p) => p.pid === 4242)!;
    const cats = Array.from({ length: 40 }, (_, i) => ({ ...nginx, key: `${9000 + i}:1`, pid: 9000 + i, comm: 'cat', exitedAtMs: s.timeMs - 10 }));
    return {
      ...s,
      processes: [...s.processes, ...cats],
      exited: { ...s.exited, processes: [...s.exited.processes, ...cats] },
      syscallErrors: [
        { processKey: nginx.key, syscall: 'accept4', errno: 'EAGAIN', count: 12 },
        ...cats.map((c) => ({ processKey: c.key, syscall: 'openat', errno: 'ENOENT', count: 1 })),
      ],
    };
  };
  return Object.assign(Object.create(base) as Source, {
    snapshotAt: (at: number | undefined, tier: Parameters<Source['snapshotAt']>[1]) => withErrors(base.snapshotAt(at, tier)),
  });
}

describe('the errors pane (e)', () => {
  it("shows the container's failed syscalls in the network pane's place, a loop's exited cats on one line, and e goes back", async () => {
    const r = render(<App source={failing()} columns={120} rows={30} color={false} containerKey={WEB_KEY} />);
    await settle();
    expect(lines(r).some((l) => l.includes('network ('))).toBe(true);
    await keys(r, 'e');
    const shown = lines(r);
    const title = shown.findIndex((l) => l.includes('syscall errors of the container (52; e: network)'));
    expect(title).toBeGreaterThan(0);
    const pane = shown.slice(title + 1).map((l) => l.slice(l.indexOf('│') + 1));
    // Most frequent first: 40 cats' ENOENT, then nginx's EAGAIN, with a rate over the tick's interval.
    expect(pane.find((l) => l.includes('openat'))).toMatch(/ 40 +40\.0\/s openat +ENOENT +40x cat/);
    expect(pane.find((l) => l.includes('accept4'))).toMatch(/ 12 +12\.0\/s accept4 +EAGAIN +4242 nginx/);
    expect(shown.findIndex((l) => l.includes('openat'))).toBeLessThan(shown.findIndex((l) => l.includes('accept4')));
    await keys(r, 'e');
    expect(lines(r).some((l) => l.includes('syscall errors'))).toBe(false);
    expect(lines(r).some((l) => l.includes('network ('))).toBe(true);
  });

  it('says where the counts come from when nothing counted them, and is listed in the help', async () => {
    const r = render(<App source={source()} columns={120} rows={30} color={false} containerKey={WEB_KEY} />);
    await settle();
    await keys(r, 'e');
    expect(lines(r).some((l) => l.includes('not counted here (bpftrace as root, --bpf-errors on)'))).toBe(true);
    await keys(r, BYTES.escape, '?');
    expect(lines(r).some((l) => /\be +net pane: syscall errors/.test(l))).toBe(true);
  });
});
