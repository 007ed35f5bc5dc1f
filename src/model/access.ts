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

/** '127.0.0.1:80', '[::1]:443': brackets around IPv6 so the port stays readable. The one way endpoints are written. */
export function formatEndpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
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
