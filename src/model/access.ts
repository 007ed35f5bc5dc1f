/**
 * What a process touched in one tick: files (path, mode) and network endpoints (protocol, local, remote, state).
 * procfs reports what is open at the tick; sysdig reports what was opened, read and written in its interval, with
 * bytes. The store keeps them as intervals per process (store/access.ts).
 */
import type { ProcessFds } from '../collectors/fds.js';
import { formatEndpoint } from '../collectors/netstat.js';

export type AccessSource = 'procfs' | 'sysdig' | 'bpf';

/** Sources that report events (opens, bytes) of their interval rather than what is open at the tick. */
export function isEventSource(source: string): boolean {
  return source === 'sysdig' || source === 'bpf';
}

export interface FileObservation {
  readonly kind: 'file';
  readonly processKey: string;
  readonly path: string;
  /** r, w, rw, with a appended for append. */
  readonly mode: string;
  readonly deleted: boolean;
  /** Opens in this observation: new descriptors (procfs) or open calls (sysdig). */
  readonly opens: number;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
  readonly source: AccessSource;
}

export interface NetObservation {
  readonly kind: 'net';
  readonly processKey: string;
  readonly protocol: string;
  readonly local: string;
  readonly remote: string;
  readonly state: string;
  readonly opens: number;
  readonly bytesIn?: number;
  readonly bytesOut?: number;
  readonly source: AccessSource;
}

export type AccessObservation = FileObservation | NetObservation;

/** Keys already built: procfs re-emits the same observation objects for idle processes tick after tick. */
const keys = new WeakMap<AccessObservation, string>();

/** The identity of an interval: observations with the same key extend one row while they keep being seen. */
export function accessKey(o: AccessObservation): string {
  let key = keys.get(o);
  if (key === undefined) {
    key =
      o.kind === 'file'
        ? `f\u0000${o.processKey}\u0000${o.path}\u0000${o.mode}`
        : `n\u0000${o.processKey}\u0000${o.protocol}\u0000${o.local}\u0000${o.remote}\u0000${o.state}`;
    keys.set(o, key);
  }
  return key;
}

/** One process's open descriptors (procfs) as observations; each descriptor counts as one open. */
export function observationsFromFds(processKey: string, fds: ProcessFds): AccessObservation[] {
  const merged = new Map<string, AccessObservation>();
  const add = (o: AccessObservation): void => {
    const key = accessKey(o);
    const seen = merged.get(key);
    merged.set(key, seen === undefined ? o : { ...seen, opens: seen.opens + o.opens });
  };
  for (const f of fds.files) {
    const mode = `${f.mode}${f.append ? 'a' : ''}`;
    add({ kind: 'file', processKey, path: f.path, mode, deleted: f.deleted, opens: 1, source: 'procfs' });
  }
  for (const s of fds.sockets) {
    if (s.protocol === 'unix') {
      add({ kind: 'net', processKey, protocol: 'unix', local: s.path, remote: '', state: s.state, opens: 1, source: 'procfs' });
    } else {
      add({
        kind: 'net',
        processKey,
        protocol: s.protocol,
        local: formatEndpoint(s.localAddress, s.localPort),
        remote: formatEndpoint(s.remoteAddress, s.remotePort),
        state: s.state,
        opens: 1,
        source: 'procfs',
      });
    }
  }
  return [...merged.values()];
}
