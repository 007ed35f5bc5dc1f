/**
 * Open files and sockets, one shape each, as bubble shows them everywhere: the live panes, `ps --files/--net`, the
 * store's access intervals, replay and export. The collector's raw descriptors (collectors/fds.ts) become these
 * shapes in one place (collectors/descriptors.ts); sysdig's I/O records in another (sysdig-ingest.ts
 * observationFromIo), because they are a different source, not a different shape.
 *
 * What a process touched in one tick is an observation: the same file or socket plus who, how often and from which
 * source. procfs reports what is open at the tick; sysdig reports what was opened, read and written in its interval,
 * with bytes. The store keeps them as intervals per process (store/access.ts).
 */

/** A file a process had open. */
export interface FileAccess {
  /** The descriptor, when one source knew it (procfs); sysdig's per-file sums have none. */
  readonly fd?: number;
  /** The path without the kernel's ` (deleted)` suffix: `deleted` says that. Raw: safeText() before printing. */
  readonly path: string;
  /** r, w, rw, with a appended for append. */
  readonly mode: string;
  /** Unlinked while open. */
  readonly deleted: boolean;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
}

/** A socket a process had open. */
export interface SocketAccess {
  readonly fd?: number;
  /** tcp, tcp6, udp, udp6, unix (procfs); ip, ip6 when sysdig did not know the layer-4 protocol. */
  readonly protocol: string;
  /** formatEndpoint() of address and port, or the unix path ('' when unnamed). */
  readonly local: string;
  /** formatEndpoint() of the peer; '' for listeners, unconnected and unix sockets. */
  readonly remote: string;
  /** LISTEN, ESTABLISHED, ... (procfs); accept, connect or '' (sysdig). */
  readonly state: string;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
}

export type AccessSource = 'procfs' | 'sysdig' | 'bpf';

/** Sources that report events (opens, bytes) of their interval rather than what is open at the tick. */
export function isEventSource(source: string): boolean {
  return source === 'sysdig' || source === 'bpf';
}

interface Observed {
  readonly processKey: string;
  /** Opens in this observation: new descriptors (procfs) or open calls (sysdig). */
  readonly opens: number;
  readonly source: AccessSource;
}

export interface FileObservation extends FileAccess, Observed {
  readonly kind: 'file';
}

export interface NetObservation extends SocketAccess, Observed {
  readonly kind: 'net';
}

export type AccessObservation = FileObservation | NetObservation;

/** The suffix the kernel puts on the link target of an unlinked file. */
export const DELETED_SUFFIX = ' (deleted)';

/** `::ffff:a.b.c.d`, an IPv4 peer of a dual-stack socket: the IPv4 address it is. */
const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * '127.0.0.1:80', '[::1]:443': brackets around IPv6 so the port stays readable, and an IPv4-mapped IPv6 address as the
 * IPv4 address it stands for (`[::ffff:172.18.0.2]:8080` is `172.18.0.2:8080`). The one way endpoints are written.
 */
export function formatEndpoint(address: string, port: number): string {
  const plain = MAPPED_IPV4.exec(address)?.[1] ?? address;
  return plain.includes(':') ? `[${plain}]:${port}` : `${plain}:${port}`;
}

/** An endpoint as formatEndpoint() writes it now, from one written before (a store's older rows kept `[::ffff:…]`). */
export function shownEndpoint(text: string): string {
  const m = /^\[(.*)\]:(\d+)$/.exec(text);
  return m === null ? text : formatEndpoint(m[1]!, Number(m[2]));
}

/** The address part of an endpoint (`172.18.0.2` of `172.18.0.2:8080`, `fd00::2` of `[fd00::2]:80`); '' for none. */
export function endpointAddress(text: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(text) ?? /^([^:]*):\d+$/.exec(text);
  return m?.[1] ?? '';
}

/** Address -> the name of the running container on this host that has it (Docker's NetworkSettings). */
export type PeerNames = ReadonlyMap<string, string>;

/**
 * Who has which address: every address of each running container, by name. An address two containers claim (the
 * same subnet on two networks) names neither: the pane would guess.
 */
export function peerNames(
  containers: Iterable<{ readonly name?: string; readonly state?: string; readonly addresses?: readonly string[] }>,
): Map<string, string> {
  const out = new Map<string, string>();
  const ambiguous = new Set<string>();
  for (const c of containers) {
    if (c.name === undefined || (c.state !== undefined && c.state !== 'running')) continue;
    for (const a of c.addresses ?? []) {
      if (ambiguous.has(a)) continue;
      const had = out.get(a);
      if (had !== undefined && had !== c.name) {
        out.delete(a);
        ambiguous.add(a);
      } else out.set(a, c.name);
    }
  }
  return out;
}

/**
 * A socket as the network pane lists it: once, with every descriptor that holds it (a shell's socket on fd 0 and 1),
 * endpoints as formatEndpoint() writes them, and the container on this host at its remote end.
 */
export interface SocketRow extends SocketAccess {
  /** Ascending; empty when no source knew the descriptor (sysdig's sums). */
  readonly fds: readonly number[];
  /** The name of the container that has the remote address (`web-1`); absent when none on this host does. */
  readonly peer?: string;
}

/**
 * One row per socket. `identity[i]` says which socket `sockets[i]` is (its inode, where procfs read it); without it,
 * inet sockets with the same protocol, ends and state are taken for one (the 4-tuple names a connection), and unix
 * sockets stay one row per descriptor (unnamed ones all look alike).
 */
export function socketRows(sockets: readonly SocketAccess[], peers: PeerNames = new Map(), identity?: readonly (number | undefined)[]): SocketRow[] {
  const rows = new Map<string, { socket: SocketAccess; fds: number[] }>();
  sockets.forEach((s, i) => {
    const inode = identity?.[i];
    const key =
      inode !== undefined && inode > 0
        ? `i${inode}`
        : s.protocol === 'unix'
          ? `u${i}`
          : `n${s.protocol}\u0000${shownEndpoint(s.local)}\u0000${shownEndpoint(s.remote)}\u0000${s.state}`;
    const row = rows.get(key);
    if (row === undefined) rows.set(key, { socket: s, fds: s.fd === undefined ? [] : [s.fd] });
    else if (s.fd !== undefined) row.fds.push(s.fd);
  });
  return [...rows.values()].map(({ socket, fds }) => {
    const local = shownEndpoint(socket.local);
    const remote = shownEndpoint(socket.remote);
    const peer = socket.protocol === 'unix' ? undefined : peers.get(endpointAddress(remote));
    const { fd: _fd, ...rest } = socket;
    return { ...rest, ...(fds.length > 0 && { fd: Math.min(...fds) }), local, remote, fds: fds.sort((a, b) => a - b), ...(peer !== undefined && { peer }) };
  });
}

/** The path as shown: with ` (deleted)` once when the file was unlinked. Raw: safeText() before printing. */
export function shownPath(f: Pick<FileAccess, 'path' | 'deleted'>): string {
  return f.deleted ? `${f.path}${DELETED_SUFFIX}` : f.path;
}

/** Keys already built: procfs re-emits the same observation objects for idle processes tick after tick. */
const keys = new WeakMap<AccessObservation, string>();

/**
 * The identity of an interval: observations with the same key extend one row while they keep being seen. The
 * descriptor is part of it (two fds on one file are two rows, as live shows them), and so is `deleted` (an unlink
 * starts a new interval, so the store says from when the file was gone).
 */
export function accessKey(o: AccessObservation): string {
  let key = keys.get(o);
  if (key === undefined) {
    const fd = o.fd === undefined ? '' : String(o.fd);
    key =
      o.kind === 'file'
        ? `f\u0000${o.processKey}\u0000${fd}\u0000${o.path}\u0000${o.mode}\u0000${o.deleted ? 1 : 0}`
        : `n\u0000${o.processKey}\u0000${fd}\u0000${o.protocol}\u0000${o.local}\u0000${o.remote}\u0000${o.state}`;
    keys.set(o, key);
  }
  return key;
}
