/**
 * Frames of the network pane and the scrubber through Ink (ink-testing-library and a sized fake terminal): one socket
 * on fd 0 and 1 listed once, mapped addresses as IPv4, the peer by name; the sparklines labelled, following the
 * selected row, and memory drawn against the limit or the host's memory.
 */
process.env.TZ = 'UTC';
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { SocketAccess } from '../../src/model/access.js';
import { App } from '../../src/tui/App.js';
import { dockerSpec, FixedSource, HOST_SPEC, keyOf, timeline, type World } from '../helpers/fixed-source.js';
import { renderSized, settle } from './harness.js';
import { BYTES } from './keys.js';
import { FILES, JOB_KEY, source, STATUS, WEB_KEY, world } from './world.js';

afterEach(() => cleanup());

/** web-1's worker as a shell would hold a connection to another container: one socket on fd 0 and fd 1. */
const SHELL_NET: Record<string, SocketAccess[]> = {
  '4243:1000': [
    { fd: 0, protocol: 'tcp6', local: '[::ffff:172.18.0.3]:41234', remote: '[::ffff:172.18.0.2]:8080', state: 'ESTABLISHED' },
    { fd: 1, protocol: 'tcp6', local: '[::ffff:172.18.0.3]:41234', remote: '[::ffff:172.18.0.2]:8080', state: 'ESTABLISHED' },
    { fd: 6, protocol: 'tcp', local: '0.0.0.0:80', remote: '0.0.0.0:0', state: 'LISTEN' },
  ],
};

function netSource(): FixedSource {
  return new FixedSource({
    snapshots: timeline(30, world),
    files: FILES,
    net: SHELL_NET,
    peers: new Map([['172.18.0.2', 'db-1']]),
    status: STATUS,
  });
}

function paneOf(frame: string, title: RegExp): string[] {
  const ls = frame.split('\n');
  const i = ls.findIndex((l) => title.test(l));
  expect(i, frame).toBeGreaterThan(0);
  return ls.slice(i, i + 4);
}

describe('network pane frames', () => {
  it('80x24: one row per socket, fds folded, the peer by name where the local end is cut', async () => {
    const r = render(<App source={netSource()} containerKey={WEB_KEY} columns={80} rows={24} color={false} />);
    r.stdin.write(BYTES.down);
    await settle();
    const pane = paneOf(r.lastFrame() ?? '', /files of 4243/);
    expect(pane[0]).toBe('  files of 4243 nginx (3)                 network (2)');
    expect(pane[1]).toBe('   4 wa  /var/log/nginx/access.log       0,1 tcp6  ESTAB  …0.3:41234 → db-1:8080');
    expect(pane[2]).toBe('   5 r   /etc/nginx/nginx.conf             6 tcp   LISTEN 0.0.0.0:80');
    for (const l of (r.lastFrame() ?? '').split('\n')) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('160x48: both ends whole, no raw ::ffff: anywhere', async () => {
    const r = renderSized(<App source={netSource()} containerKey={WEB_KEY} color={false} />, 160, 48);
    await settle();
    r.stdin.write(BYTES.down);
    await settle();
    const frame = r.lastFrame();
    expect(frame).toContain(' 0,1 tcp6  ESTAB  172.18.0.3:41234 → db-1:8080');
    expect(frame).not.toContain('::ffff:');
    r.instance.unmount();
  });

  it('60x24: the remote end still readable', async () => {
    const r = renderSized(<App source={netSource()} containerKey={WEB_KEY} color={false} />, 60, 24);
    await settle();
    r.stdin.write(BYTES.down);
    await settle();
    const frame = r.lastFrame();
    expect(frame).toMatch(/0,1 tcp6 {2}ESTAB {2}→ db-1:8080/);
    for (const l of frame.split('\n')) expect(l.length).toBeLessThanOrEqual(60);
    r.instance.unmount();
  });
});

describe('scrubber frames', () => {
  const scrubber = (frame: string | undefined): string => (frame ?? '').split('\n')[21]!;

  it('labels the scales and follows the selected row of the list', async () => {
    const s = source();
    const r = render(<App source={s} columns={80} rows={24} color={false} />);
    // web-1 first: its 2-core CPU limit and 2.0G memory limit.
    expect(scrubber(r.lastFrame())).toMatch(/^ cpu 0-200% [ ▁-█]{10} mem of 2\.0G limit [▁-█]{10} {2}second ◀ 21:23:04 ▶ live$/);
    expect(s.seriesCalls.at(-1)![3]).toBe(WEB_KEY);
    r.stdin.write(BYTES.down);
    await settle();
    // The job (no CPU limit, 99.8% busy: one core; 1.1G of its 4.0G limit).
    expect(scrubber(r.lastFrame())).toBe(' cpu 0-100% ██████████ mem of 4.0G limit ▃▃▃▃▃▃▃▃▃▃  second ◀ 21:23:04 ▶ live');
    expect(s.seriesCalls.at(-1)![3]).toBe(JOB_KEY);
  });

  it('draws a flat small memory against the host memory when there is no limit, not as a full bar', () => {
    const tiny = dockerSpec('d', 'tiny', { cpuPercent: 1, memoryBytes: 316 * 1024 });
    const flat = (): World => ({ hostname: 'vm', ncpu: 2, memTotalBytes: 8 * 1024 ** 3, containers: [tiny, HOST_SPEC], processes: [] });
    const s = new FixedSource({ snapshots: timeline(30, flat) });
    const r = render(<App source={s} columns={80} rows={24} color={false} />);
    expect(s.seriesCalls.at(-1)![3]).toBe(keyOf(tiny));
    expect(scrubber(r.lastFrame())).toBe(' cpu 0-100% ▁▁▁▁▁▁▁▁▁▁▁ mem of 8.0G RAM ▁▁▁▁▁▁▁▁▁▁▁  second ◀ 21:23:04 ▶ live');
  });
});
