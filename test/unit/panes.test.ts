/**
 * The pane and scrubber lines as pure functions: the network pane (fds folded, mapped addresses, the remote end kept,
 * peers named), the files pane's FD column, the sparklines' scales and labels, and the container info's counts.
 */
import { describe, expect, it } from 'vitest';
import { networkAddresses, metaFromInspect, metaFromListing } from '../../src/collectors/docker.js';
import { endpointAddress, formatEndpoint, peerNames, shownEndpoint, socketRows, type SocketAccess } from '../../src/model/access.js';
import type { ContainerView } from '../../src/model/snapshot.js';
import { containerInfo, cpuScale, fdCell, fileLine, netLine, scrubberLine, sparkLabels, sparkLayout, sparkline } from '../../src/tui/rows.js';

const MiB = 1024 ** 2;

describe('endpoints', () => {
  it('writes an IPv4-mapped IPv6 address as the IPv4 address, other IPv6 in brackets', () => {
    expect(formatEndpoint('::ffff:172.18.0.2', 8080)).toBe('172.18.0.2:8080');
    expect(formatEndpoint('::FFFF:10.0.0.1', 1)).toBe('10.0.0.1:1');
    expect(formatEndpoint('::1', 443)).toBe('[::1]:443');
    expect(formatEndpoint('::ffff:1:2', 5)).toBe('[::ffff:1:2]:5');
    expect(formatEndpoint('127.0.0.1', 80)).toBe('127.0.0.1:80');
  });

  it('rewrites endpoints stored the old way, and finds the address of one', () => {
    expect(shownEndpoint('[::ffff:172.18.0.2]:8080')).toBe('172.18.0.2:8080');
    expect(shownEndpoint('[fd00::2]:80')).toBe('[fd00::2]:80');
    expect(shownEndpoint('/run/app.sock')).toBe('/run/app.sock');
    expect(endpointAddress('172.18.0.2:8080')).toBe('172.18.0.2');
    expect(endpointAddress('[fd00::2]:80')).toBe('fd00::2');
    expect(endpointAddress('')).toBe('');
  });
});

describe('socketRows', () => {
  const shell: SocketAccess[] = [
    { fd: 1, protocol: 'tcp6', local: '[::ffff:172.18.0.3]:41234', remote: '[::ffff:172.18.0.2]:8080', state: 'ESTABLISHED' },
    { fd: 0, protocol: 'tcp6', local: '[::ffff:172.18.0.3]:41234', remote: '[::ffff:172.18.0.2]:8080', state: 'ESTABLISHED' },
    { fd: 5, protocol: 'tcp', local: '0.0.0.0:80', remote: '0.0.0.0:0', state: 'LISTEN' },
  ];

  it('lists a socket held by two fds once, fds ascending, endpoints as IPv4, the peer named', () => {
    const rows = socketRows(shell, new Map([['172.18.0.2', 'web-1']]));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      fd: 0,
      fds: [0, 1],
      protocol: 'tcp6',
      local: '172.18.0.3:41234',
      remote: '172.18.0.2:8080',
      state: 'ESTABLISHED',
      peer: 'web-1',
    });
    expect(rows[1]).toMatchObject({ fds: [5], local: '0.0.0.0:80' });
    expect(rows[1]!.peer).toBeUndefined();
  });

  it('folds by inode where procfs gave it: two sockets with the same ends stay two', () => {
    const twins: SocketAccess[] = [
      { fd: 3, protocol: 'udp', local: '0.0.0.0:53', remote: '0.0.0.0:0', state: 'UNCONN' },
      { fd: 4, protocol: 'udp', local: '0.0.0.0:53', remote: '0.0.0.0:0', state: 'UNCONN' },
      { fd: 7, protocol: 'udp', local: '0.0.0.0:53', remote: '0.0.0.0:0', state: 'UNCONN' },
    ];
    expect(socketRows(twins, new Map(), [100, 200, 100]).map((r) => r.fds)).toEqual([[3, 7], [4]]);
  });

  it('keeps unix sockets one per fd without an inode (unnamed ones all look alike)', () => {
    const pair: SocketAccess[] = [
      { fd: 3, protocol: 'unix', local: '', remote: '', state: 'CONNECTED' },
      { fd: 4, protocol: 'unix', local: '', remote: '', state: 'CONNECTED' },
    ];
    expect(socketRows(pair).map((r) => r.fds)).toEqual([[3], [4]]);
  });

  it('has no fds for rows of a source that did not know them', () => {
    expect(socketRows([{ protocol: 'ip', local: '10.0.0.1:5', remote: '10.0.0.2:6', state: 'connect' }])[0]!.fds).toEqual([]);
  });
});

describe('peerNames', () => {
  it('maps each address of a running container to its name; an address two claim names neither', () => {
    const peers = peerNames([
      { name: 'web-1', state: 'running', addresses: ['172.18.0.2', 'fd00::2'] },
      { name: 'old', state: 'exited', addresses: ['172.18.0.9'] },
      { name: 'a', state: 'running', addresses: ['10.1.0.2'] },
      { name: 'b', state: 'running', addresses: ['10.1.0.2'] },
      { name: 'c', state: 'running', addresses: ['10.1.0.2'] },
    ]);
    expect([...peers]).toEqual([
      ['172.18.0.2', 'web-1'],
      ['fd00::2', 'web-1'],
    ]);
  });
});

describe('Docker addresses', () => {
  it('reads every network address from inspect and from the listing, none for --network none', () => {
    const settings = {
      IPAddress: '172.17.0.4',
      Networks: {
        bridge: { IPAddress: '172.17.0.4', GlobalIPv6Address: '' },
        app: { IPAddress: '172.20.0.3', GlobalIPv6Address: 'fd00:20::3' },
      },
    };
    expect(networkAddresses(settings)).toEqual(['172.17.0.4', '172.20.0.3', 'fd00:20::3']);
    expect(networkAddresses({ Networks: { none: { IPAddress: '' } } })).toBeUndefined();
    expect(metaFromInspect({ Name: '/web-1', State: { Status: 'running' }, NetworkSettings: settings }).addresses).toEqual([
      '172.17.0.4',
      '172.20.0.3',
      'fd00:20::3',
    ]);
    expect(metaFromListing({ Names: ['/web-1'], State: 'running', NetworkSettings: { Networks: { app: { IPAddress: '172.20.0.3' } } } }).addresses).toEqual([
      '172.20.0.3',
    ]);
    expect('addresses' in metaFromListing({ Names: ['/x'], State: 'running' })).toBe(false);
  });
});

describe('netLine', () => {
  const [conn, listener] = socketRows(
    [
      { fd: 0, protocol: 'tcp6', local: '[::ffff:172.18.0.3]:41234', remote: '[::ffff:172.18.0.2]:8080', state: 'ESTABLISHED' },
      { fd: 1, protocol: 'tcp6', local: '[::ffff:172.18.0.3]:41234', remote: '[::ffff:172.18.0.2]:8080', state: 'ESTABLISHED' },
      { fd: 255, protocol: 'tcp', local: '0.0.0.0:80', remote: '0.0.0.0:0', state: 'LISTEN' },
    ],
    new Map([['172.18.0.2', 'web-1']]),
  ) as [ReturnType<typeof socketRows>[number], ReturnType<typeof socketRows>[number]];

  it('shows the folded fds, the state short, and the peer by name with its port', () => {
    expect(netLine(conn, 80, false)).toBe(' 0,1 tcp6  ESTAB  172.18.0.3:41234 → web-1:8080');
    expect(netLine(listener, 80, true)).toBe('>255 tcp   LISTEN 0.0.0.0:80');
  });

  it('keeps the remote end on a narrow pane: the local end is cut from the left, then left out', () => {
    // 40 columns: the network pane of an 80-column screen.
    expect(netLine(conn, 40, false)).toBe(' 0,1 tcp6  ESTAB  ….3:41234 → web-1:8080');
    expect(netLine(conn, 34, false)).toBe(' 0,1 tcp6  ESTAB  → web-1:8080');
    const unnamed = socketRows([{ fd: 3, protocol: 'tcp', local: '10.0.0.3:41234', remote: '10.0.0.2:5432', state: 'ESTABLISHED' }])[0]!;
    expect(netLine(unnamed, 40, false)).toBe('   3 tcp   ESTAB  …41234 → 10.0.0.2:5432');
    expect(netLine(unnamed, 38, false)).toBe('   3 tcp   ESTAB  → 10.0.0.2:5432');
    expect(netLine(unnamed, 50, false)).toBe('   3 tcp   ESTAB  10.0.0.3:41234 → 10.0.0.2:5432');
  });

  it('escapes what a container controls: its name as a peer', () => {
    const evil = socketRows(
      [{ fd: 3, protocol: 'tcp', local: '10.0.0.3:1', remote: '10.0.0.2:80', state: 'ESTABLISHED' }],
      new Map([['10.0.0.2', 'x\u001b[2J']]),
    )[0]!;
    expect(netLine(evil, 80, false)).toBe('   3 tcp   ESTAB  10.0.0.3:1 → x\\e[2J:80');
  });
});

describe('files pane FD column', () => {
  it('pads the fd to a fixed width, so fd 255 lines up with fd 3, and says - when unknown', () => {
    const a = fileLine({ fd: 3, path: '/a', mode: 'r', deleted: false }, 40, false);
    const b = fileLine({ fd: 255, path: '/b', mode: 'w', deleted: false }, 40, false);
    const c = fileLine({ path: '/c', mode: 'rw', deleted: false, bytesIn: 2048 }, 40, false);
    expect([a, b, c]).toEqual(['   3 r   /a', ' 255 w   /b', '   - rw  /c  2.0K/-']);
    expect(fdCell([3, 4, 5])).toBe('3+2');
    expect(fdCell([0, 1])).toBe('0,1');
  });
});

describe('sparklines', () => {
  it('CPU against the limit, else whole cores above the peak', () => {
    expect(cpuScale(30, 2)).toBe(200);
    expect(cpuScale(30)).toBe(100);
    expect(cpuScale(100)).toBe(100);
    expect(cpuScale(101)).toBe(200);
    expect(cpuScale(0)).toBe(100);
  });

  it('memory against the limit: a flat 316K under 512M draws the lowest bar, not a full one', () => {
    const flat = new Array(6).fill(316 * 1024);
    expect(sparkline(flat, 512 * MiB)).toBe('▁▁▁▁▁▁');
    expect(sparkline([0, 256 * MiB, 512 * MiB, undefined], 512 * MiB)).toBe('▁▅█ ');
  });

  it('labels the scales, long where they leave room, short where not', () => {
    const scale = { cpuMax: 200, memMax: 512 * MiB, memOf: 'limit' } as const;
    expect(sparkLabels(scale, false)).toEqual({ cpu: 'cpu 0-200%', mem: 'mem of 512M limit' });
    expect(sparkLabels({ ...scale, memMax: 24 * 1024 * MiB, memOf: 'RAM' }, true)).toEqual({ cpu: 'cpu/200%', mem: 'mem/24G' });
    const right = '  second ◀ 21:23:04 ▶ live  ';
    expect(sparkLayout(80, right, scale)).toEqual({ labels: sparkLabels(scale, false), width: 10 });
    expect(sparkLayout(60, right, scale)).toEqual({ labels: sparkLabels(scale, true), width: 6 });
    const wide = sparkLayout(160, right, scale);
    expect(scrubberLine('▁'.repeat(wide.width), '▂'.repeat(wide.width), right, 160, wide.labels)).toBe(
      ` cpu 0-200% ${'▁'.repeat(50)} mem of 512M limit ${'▂'.repeat(50)}  second ◀ 21:23:04 ▶ live`,
    );
  });
});

describe('container info', () => {
  const base: ContainerView = {
    key: 'docker:x',
    kind: 'docker',
    id: 'x'.repeat(64),
    name: 'web-1',
    cgroup: '/docker/x',
    cpuSource: 'cgroup',
    cpuPercent: 12,
    memoryBytes: 100 * MiB,
    processCount: 9,
    pids: 17,
    pressure: {},
    interval: {},
  };

  it('says processes and threads, each named', () => {
    expect(containerInfo(base, base.key, 'now', 160)[0]).toBe(' web-1  docker  9 processes, 17 threads  id xxxxxxxxxxxx');
    const { pids: _p, ...noPids } = base;
    expect(containerInfo({ ...noPids, processCount: 1 }, base.key, 'now', 160)[0]).toBe(' web-1  docker  1 process  id xxxxxxxxxxxx');
  });

  it('says no data where nothing was recorded, instead of cpu -%', () => {
    const { cpuPercent: _c, memoryBytes: _m, ...gap } = base;
    const [, second] = containerInfo(gap, base.key, 'at 2026-11-21 21:01:42', 160);
    expect(second).toBe(' no data at 2026-11-21 21:01:42 (not recorded)');
    expect(containerInfo(base, base.key, 'now', 160)[1]).toBe(' cpu 12.0%  mem 100M');
  });
});
