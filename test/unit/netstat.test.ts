/**
 * The /proc/net socket table parsers on fixture text (test/fixtures/net/): byte order of IPv4 and IPv6 words,
 * IPv4-mapped and RFC 5952 compressed IPv6, every tcp state, TIME_WAIT/SYN_RECV rows with inode 0, udp 07/01, unix
 * listening flag, abstract and unnamed sockets, paths with spaces, and junk, torn and cut lines.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatIpv6, parseInetTable, parseUnixTable, type InetSocket } from '../../src/collectors/netstat.js';
import { formatEndpoint } from '../../src/model/access.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/net');
const fixture = (name: string): string => readFileSync(path.join(FIXTURES, name), 'utf8');

/** Rows keyed by inode; rows with inode 0 keyed by their local:port -> remote:port. */
function byInode(rows: readonly InetSocket[]): Map<number, InetSocket> {
  return new Map(rows.map((r) => [r.inode, r]));
}

describe('parseInetTable: tcp', () => {
  const rows = parseInetTable(fixture('tcp'), 'tcp', { littleEndian: true });
  const at = byInode(rows);

  it('decodes little-endian IPv4 words and host-order ports', () => {
    expect(at.get(1001)).toEqual({
      protocol: 'tcp',
      localAddress: '127.0.0.1',
      localPort: 80,
      remoteAddress: '0.0.0.0',
      remotePort: 0,
      state: 'LISTEN',
      inode: 1001,
    });
    expect(at.get(1002)).toMatchObject({ localAddress: '127.0.0.1', localPort: 80, remoteAddress: '127.0.0.1', remotePort: 54321, state: 'ESTABLISHED' });
    expect(at.get(1003)).toMatchObject({ localAddress: '10.0.0.10', localPort: 50000, remoteAddress: '8.8.8.8', remotePort: 53 });
    expect(at.get(1005)).toMatchObject({ localAddress: '192.168.1.20', localPort: 443, remoteAddress: '172.17.0.2', remotePort: 40001 });
    // The top bit set: the word must be handled as unsigned.
    expect(at.get(1008)).toMatchObject({ localAddress: '255.255.255.255', localPort: 65535, state: 'CLOSE' });
  });

  it('names all 11 tcp states', () => {
    const states = rows.map((r) => r.state);
    for (const s of ['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING']) {
      expect(states).toContain(s);
    }
  });

  it('keeps TIME_WAIT and SYN_RECV rows, which have inode 0 (no fd can point at them)', () => {
    const timeWait = rows.find((r) => r.state === 'TIME_WAIT');
    expect(timeWait).toMatchObject({ inode: 0, localPort: 443, remoteAddress: '172.17.0.2', remotePort: 40003 });
    expect(rows.find((r) => r.state === 'SYN_RECV')).toMatchObject({ inode: 0, remotePort: 40000 });
  });

  it('skips the header, junk, truncated, malformed, IPv6-shaped and unterminated lines', () => {
    expect(rows.map((r) => r.inode).sort((a, b) => a - b)).toEqual([0, 0, 1001, 1002, 1003, 1005, 1006, 1008, 1009, 1010, 1011, 1017, 1018]);
    // A wide slot number (over 9999 sockets) is still a row.
    expect(at.get(1017)).toMatchObject({ localPort: 8080, remotePort: 54322 });
  });

  it('keeps only wanted inodes when asked', () => {
    const some = parseInetTable(fixture('tcp'), 'tcp', { littleEndian: true, wanted: new Set([1002, 1011, 999]) });
    expect(some.map((r) => r.inode)).toEqual([1002, 1011]);
  });

  it('reads big-endian tables in network order', () => {
    const line = '   0: 7F000001:0050 C0A80114:01BB 01 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 20 4 30 10 -1\n';
    expect(parseInetTable(line, 'tcp', { littleEndian: false })[0]).toMatchObject({
      localAddress: '127.0.0.1',
      localPort: 80,
      remoteAddress: '192.168.1.20',
      remotePort: 443,
    });
  });

  it('returns nothing for empty or header-only text', () => {
    expect(parseInetTable('', 'tcp')).toEqual([]);
    expect(parseInetTable(fixture('tcp').split('\n')[0]! + '\n', 'tcp')).toEqual([]);
  });
});

describe('parseInetTable: tcp6', () => {
  const rows = parseInetTable(fixture('tcp6'), 'tcp6', { littleEndian: true });
  const at = byInode(rows);

  it('decodes the any address, loopback and IPv4-mapped addresses', () => {
    expect(at.get(2001)).toMatchObject({ protocol: 'tcp6', localAddress: '::', localPort: 8081, remoteAddress: '::', state: 'LISTEN' });
    expect(at.get(2002)).toMatchObject({ localAddress: '::ffff:127.0.0.1', localPort: 8080, remoteAddress: '::ffff:127.0.0.1', remotePort: 60768 });
    expect(at.get(2003)).toMatchObject({ localAddress: '::1', localPort: 443, remoteAddress: '::1', remotePort: 49153 });
  });

  it('byte-swaps each of the four words and compresses per RFC 5952', () => {
    expect(at.get(2004)).toMatchObject({ localAddress: '2001:db8::1', localPort: 22, remoteAddress: 'fe80::1:2:3:4', remotePort: 58012 });
    // A single zero group is not compressed; the longest run wins.
    expect(at.get(2005)).toMatchObject({ localAddress: '2001:db8:0:1:1:1:1:1', remoteAddress: '2001:0:0:1::1', state: 'CLOSE_WAIT' });
    // Two runs of the same length: the first is compressed.
    expect(at.get(2007)).toMatchObject({ localAddress: '2001:db8::100:0:1', remoteAddress: '2001:db8::1:0:0:1' });
  });

  it('skips a 33-digit address and an IPv4-shaped row; keeps the TIME_WAIT row with inode 0', () => {
    expect(rows.map((r) => r.inode).sort((a, b) => a - b)).toEqual([0, 2001, 2002, 2003, 2004, 2005, 2007]);
    expect(rows.find((r) => r.inode === 0)).toMatchObject({ state: 'TIME_WAIT', remoteAddress: '::ffff:127.0.0.1', remotePort: 60769 });
  });
});

describe('parseInetTable: udp', () => {
  it('names 07 UNCONN and 01 ESTABLISHED (connected)', () => {
    const at = byInode(parseInetTable(fixture('udp'), 'udp', { littleEndian: true }));
    expect([...at.keys()]).toEqual([3001, 3002, 3003]);
    expect(at.get(3001)).toMatchObject({ protocol: 'udp', localAddress: '0.0.0.0', localPort: 68, state: 'UNCONN' });
    expect(at.get(3002)).toMatchObject({ localAddress: '127.0.0.1', localPort: 41394, remoteAddress: '127.0.0.1', remotePort: 53, state: 'ESTABLISHED' });
    expect(at.get(3003)).toMatchObject({ localAddress: '127.0.0.53', localPort: 53, state: 'UNCONN' });
  });

  it('reads udp6 with mapped addresses', () => {
    const at = byInode(parseInetTable(fixture('udp6'), 'udp6', { littleEndian: true }));
    expect(at.get(4001)).toMatchObject({ protocol: 'udp6', localAddress: '::', localPort: 5353, state: 'UNCONN' });
    expect(at.get(4002)).toMatchObject({ localAddress: '::ffff:127.0.0.1', localPort: 41395, remotePort: 53, state: 'ESTABLISHED' });
  });
});

describe('parseUnixTable', () => {
  const rows = parseUnixTable(fixture('unix'));
  const at = new Map(rows.map((r) => [r.inode, r]));

  it('reads listeners from the flags, types, states and paths', () => {
    expect(at.get(20001)).toEqual({ protocol: 'unix', path: '/run/dbus/system_bus_socket', type: 'stream', state: 'LISTEN', inode: 20001 });
    expect(at.get(20002)).toMatchObject({ path: '/run/dbus/system_bus_socket', type: 'stream', state: 'CONNECTED' });
    expect(at.get(20005)).toMatchObject({ path: '/run/my app/ctl sock', type: 'seqpacket', state: 'LISTEN' });
    expect(at.get(20010)).toMatchObject({ path: '/x', state: 'DISCONNECTING' });
    expect(at.get(309472)).toMatchObject({ path: '/dev/log', type: 'dgram', state: 'CONNECTED' });
  });

  it('keeps abstract names with @ and unnamed sockets as empty paths', () => {
    expect(at.get(20004)).toMatchObject({ path: '@/org/kernel/udev/udevd', type: 'dgram', state: 'UNCONNECTED' });
    expect(at.get(20007)).toMatchObject({ path: '@abc@def', state: 'CONNECTING' });
    expect(at.get(20003)).toMatchObject({ path: '', state: 'CONNECTED' });
    // The kernel pads the inode (%5lu): a short inode is still read, with no path.
    expect(at.get(2006)).toMatchObject({ path: '', type: 'dgram' });
  });

  it('skips the header, junk, bad flags, unknown types, truncated and unterminated lines', () => {
    expect(rows.map((r) => r.inode).sort((a, b) => a - b)).toEqual([2006, 20001, 20002, 20003, 20004, 20005, 20007, 20010, 309472]);
  });

  it('keeps only wanted inodes when asked', () => {
    expect(parseUnixTable(fixture('unix'), { wanted: new Set([20005, 1]) }).map((r) => r.path)).toEqual(['/run/my app/ctl sock']);
  });
});

describe('formatIpv6 and formatEndpoint', () => {
  it('formats per RFC 5952', () => {
    const bytes = (hex: string): number[] => hex.match(/../g)!.map((h) => Number.parseInt(h, 16));
    expect(formatIpv6(bytes('00000000000000000000000000000000'))).toBe('::');
    expect(formatIpv6(bytes('00000000000000000000000000000001'))).toBe('::1');
    expect(formatIpv6(bytes('20010db8000000000000000000000000'))).toBe('2001:db8::');
    expect(formatIpv6(bytes('20010DB8AAAABBBBCCCCDDDDEEEEFFFF'))).toBe('2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff');
    expect(formatIpv6(bytes('00000000000000000000ffffc0a80114'))).toBe('::ffff:192.168.1.20');
    // Not mapped (group 5 is not ffff): plain hex.
    expect(formatIpv6(bytes('0000000000000000ffff0000c0a80114'))).toBe('::ffff:0:c0a8:114');
  });

  it('brackets IPv6 endpoints only, and writes an IPv4-mapped one as the IPv4 address', () => {
    expect(formatEndpoint('127.0.0.1', 80)).toBe('127.0.0.1:80');
    expect(formatEndpoint('::1', 443)).toBe('[::1]:443');
    expect(formatEndpoint('::ffff:127.0.0.1', 8080)).toBe('127.0.0.1:8080');
  });
});
