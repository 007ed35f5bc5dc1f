/**
 * Pure parsers for the socket tables of one network namespace: /proc/PID/net/{tcp,tcp6,udp,udp6,unix}.
 *
 * Layouts (spec/cgroups.md §3; kernel net/ipv4/tcp_ipv4.c, net/ipv6/tcp_ipv6.c, net/ipv4/udp.c, net/unix/af_unix.c):
 * - inet: `sl: LOCAL REMOTE st tx:rx tr:when retrnsmt uid timeout inode ...`; an address is `%08X` of a network-order
 *   u32 (bytes reversed on little-endian hosts: `0100007F` = 127.0.0.1), IPv6 is four such words, the port is `%04X`
 *   in host order. TIME_WAIT and SYN_RECV entries have inode 0 (no socket file: no fd can point at them).
 * - unix: `Num: RefCount Protocol Flags Type St Inode [Path]`; Flags 00010000 (__SO_ACCEPTCON) marks a listener,
 *   `@` starts an abstract name (the kernel prints each NUL of the name as `@`), unnamed sockets have no path.
 *
 * Every record the kernel writes ends with a newline; lines that do not parse (headers, junk, a last line cut by a short
 * read) are skipped, never thrown on: the tables are read while sockets come and go.
 */
import os from 'node:os';

export type SocketProtocol = 'tcp' | 'tcp6' | 'udp' | 'udp6' | 'unix';
export type InetProtocol = 'tcp' | 'tcp6' | 'udp' | 'udp6';

export interface InetSocket {
  readonly protocol: InetProtocol;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** tcp: 'LISTEN', 'ESTABLISHED', ...; udp: 'UNCONN' (07) or 'ESTABLISHED' (01, connected). */
  readonly state: string;
  readonly inode: number;
}

export interface UnixSocket {
  readonly protocol: 'unix';
  /** '' when unnamed; '@name' when abstract. Raw: escape it (format.ts safeText) before showing it. */
  readonly path: string;
  readonly type: 'stream' | 'dgram' | 'seqpacket';
  /** 'LISTEN', 'CONNECTED', 'UNCONNECTED', 'CONNECTING', 'DISCONNECTING'. */
  readonly state: string;
  readonly inode: number;
}

export type SocketInfo = InetSocket | UnixSocket;

export interface ParseOptions {
  /** Keep only these inodes; the others are skipped before their addresses are decoded (the cheap path). */
  readonly wanted?: ReadonlySet<number>;
  /** Byte order of the kernel that wrote the table. @default os.endianness() === 'LE' */
  readonly littleEndian?: boolean;
}

/** include/net/tcp_states.h. 0C/0D never reach /proc/net/tcp (request socks print as 03) but cost nothing here. */
const TCP_STATES: readonly string[] = [
  'UNKNOWN',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
  'BOUND_INACTIVE',
];

/** socket_state in include/uapi/linux/net.h (SS_FREE = 0 is never printed). */
const UNIX_STATES: readonly string[] = ['FREE', 'UNCONNECTED', 'CONNECTING', 'CONNECTED', 'DISCONNECTING'];
const SO_ACCEPTCON = 0x10000;

const HOST_LITTLE_ENDIAN = os.endianness() === 'LE';

function tcpStateName(st: number): string {
  return TCP_STATES[st] ?? `UNKNOWN_${st.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** UDP sockets only use TCP_ESTABLISHED (connected) and TCP_CLOSE (unconnected); ss calls the latter UNCONN. */
function udpStateName(st: number): string {
  return st === 7 ? 'UNCONN' : tcpStateName(st);
}

// ---------------------------------------------------------------------------------------------------------------
// Scanning helpers: index-based, so a table of thousands of lines is parsed without splitting or regexes.

/** Value of hex digits text[start, end), or -1 when empty, too long for 32 bits, or not hex. */
function hexAt(text: string, start: number, end: number): number {
  if (end <= start || end - start > 8) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Value of decimal digits text[start, end), or -1. */
function decAt(text: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Token boundaries of one line, reused across lines: starts[i], ends[i] for i < count. */
class Tokens {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  count = 0;

  /** Splits text[start, end) at spaces and tabs, keeping at most `max` tokens; the last end is where scanning stopped. */
  scan(text: string, start: number, end: number, max: number): void {
    let n = 0;
    let i = start;
    while (i < end && n < max) {
      let c = text.charCodeAt(i);
      while (i < end && (c === 0x20 || c === 0x09)) c = text.charCodeAt(++i);
      if (i >= end) break;
      const s = i;
      while (i < end && c !== 0x20 && c !== 0x09) c = text.charCodeAt(++i);
      this.starts[n] = s;
      this.ends[n] = i;
      n++;
    }
    this.count = n;
  }
}

/** Whether token `t` is `N:` with N in `digits` (decimal for inet `sl`, hex for the unix `Num` pointer). */
function isSlot(text: string, s: number, e: number, hex: boolean): boolean {
  if (e - s < 2 || text.charCodeAt(e - 1) !== 0x3a) return false;
  if (hex) {
    for (let i = s; i < e - 1; i++) {
      const c = text.charCodeAt(i) | 0x20;
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
    }
    return true;
  }
  return decAt(text, s, e - 1) >= 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Addresses

function ipv4FromWord(v: number, littleEndian: boolean): string {
  return littleEndian ? `${v & 255}.${(v >>> 8) & 255}.${(v >>> 16) & 255}.${v >>> 24}` : `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/**
 * RFC 5952 text of 16 bytes: lowercase, no leading zeros, the longest run (>= 2) of zero groups as `::` (the first
 * on a tie), and an IPv4-mapped address as `::ffff:a.b.c.d`.
 */
export function formatIpv6(bytes: ArrayLike<number>): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${bytes[12] ?? 0}.${bytes[13] ?? 0}.${bytes[14] ?? 0}.${bytes[15] ?? 0}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

const v6Bytes = new Uint8Array(16);

/** The 32 hex digits at text[start, start+32): four u32 words, each printed in host byte order. */
function ipv6At(text: string, start: number, littleEndian: boolean): string | undefined {
  for (let w = 0; w < 4; w++) {
    const v = hexAt(text, start + 8 * w, start + 8 * w + 8);
    if (v < 0) return undefined;
    const o = 4 * w;
    if (littleEndian) {
      v6Bytes[o] = v & 255;
      v6Bytes[o + 1] = (v >>> 8) & 255;
      v6Bytes[o + 2] = (v >>> 16) & 255;
      v6Bytes[o + 3] = v >>> 24;
    } else {
      v6Bytes[o] = v >>> 24;
      v6Bytes[o + 1] = (v >>> 16) & 255;
      v6Bytes[o + 2] = (v >>> 8) & 255;
      v6Bytes[o + 3] = v & 255;
    }
  }
  return formatIpv6(v6Bytes);
}

/** `ADDR:PORT` token -> [address, port], or undefined when malformed or of the other family. */
function endpointAt(text: string, s: number, e: number, v6: boolean, littleEndian: boolean): [string, number] | undefined {
  const addrLen = v6 ? 32 : 8;
  if (e - s !== addrLen + 5 || text.charCodeAt(s + addrLen) !== 0x3a) return undefined;
  const port = hexAt(text, s + addrLen + 1, e);
  if (port < 0) return undefined;
  if (v6) {
    const address = ipv6At(text, s, littleEndian);
    return address === undefined ? undefined : [address, port];
  }
  const word = hexAt(text, s, s + 8);
  return word < 0 ? undefined : [ipv4FromWord(word, littleEndian), port];
}

// ---------------------------------------------------------------------------------------------------------------
// Tables

/** Fields up to the inode, plus one: a line cut right after its inode is told apart from a whole one. */
const INET_MIN_TOKENS = 11;

/** Parses /proc/net/{tcp,tcp6,udp,udp6}; the header, junk and truncated lines are skipped. */
export function parseInetTable(text: string, protocol: InetProtocol, opts: ParseOptions = {}): InetSocket[] {
  const v6 = protocol === 'tcp6' || protocol === 'udp6';
  const udp = protocol === 'udp' || protocol === 'udp6';
  const littleEndian = opts.littleEndian ?? HOST_LITTLE_ENDIAN;
  const wanted = opts.wanted;
  const tok = new Tokens();
  const out: InetSocket[] = [];
  let pos = 0;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) break; // no newline: a cut read, not a record
    const lineStart = pos;
    pos = nl + 1;
    tok.scan(text, lineStart, nl, INET_MIN_TOKENS);
    if (tok.count < INET_MIN_TOKENS) continue;
    const { starts: s, ends: e } = tok;
    if (!isSlot(text, s[0]!, e[0]!, false)) continue;
    const inode = decAt(text, s[9]!, e[9]!);
    if (inode < 0) continue;
    if (wanted !== undefined && !wanted.has(inode)) continue;
    if (e[3]! - s[3]! !== 2) continue;
    const st = hexAt(text, s[3]!, e[3]!);
    if (st < 0) continue;
    const local = endpointAt(text, s[1]!, e[1]!, v6, littleEndian);
    const remote = endpointAt(text, s[2]!, e[2]!, v6, littleEndian);
    if (local === undefined || remote === undefined) continue;
    out.push({
      protocol,
      localAddress: local[0],
      localPort: local[1],
      remoteAddress: remote[0],
      remotePort: remote[1],
      state: udp ? udpStateName(st) : tcpStateName(st),
      inode,
    });
  }
  return out;
}

function unixType(code: number): UnixSocket['type'] | undefined {
  switch (code) {
    case 1:
      return 'stream';
    case 2:
      return 'dgram';
    case 5:
      return 'seqpacket';
    default:
      return undefined;
  }
}

/** Parses /proc/net/unix; the header, junk and truncated lines are skipped. Paths keep spaces and are not unescaped. */
export function parseUnixTable(text: string, opts: Pick<ParseOptions, 'wanted'> = {}): UnixSocket[] {
  const wanted = opts.wanted;
  const tok = new Tokens();
  const out: UnixSocket[] = [];
  let pos = 0;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) break; // a path cut by a short read cannot be told from a whole one: drop the unterminated line
    const lineStart = pos;
    pos = nl + 1;
    tok.scan(text, lineStart, nl, 7);
    if (tok.count < 7) continue;
    const { starts: s, ends: e } = tok;
    if (!isSlot(text, s[0]!, e[0]!, true)) continue;
    const inode = decAt(text, s[6]!, e[6]!);
    if (inode < 0) continue;
    if (wanted !== undefined && !wanted.has(inode)) continue;
    if (e[3]! - s[3]! !== 8 || e[4]! - s[4]! !== 4 || e[5]! - s[5]! !== 2) continue;
    const flags = hexAt(text, s[3]!, e[3]!);
    const type = unixType(hexAt(text, s[4]!, e[4]!));
    const st = hexAt(text, s[5]!, e[5]!);
    if (flags < 0 || st < 0 || type === undefined) continue;
    if (hexAt(text, s[1]!, e[1]!) < 0 || hexAt(text, s[2]!, e[2]!) < 0) continue;
    // The kernel writes exactly one space, then the path to the end of the line (spaces included).
    const inodeEnd = e[6]!;
    const path = inodeEnd + 1 < nl && text.charCodeAt(inodeEnd) === 0x20 ? text.slice(inodeEnd + 1, nl) : '';
    const state = (flags & SO_ACCEPTCON) !== 0 ? 'LISTEN' : (UNIX_STATES[st] ?? `UNKNOWN_${st}`);
    out.push({ protocol: 'unix', path, type, state, inode });
  }
  return out;
}
