/**
 * The one conversion from the descriptor collector's raw form (fds.ts: link targets, open flags, socket table rows)
 * to the shapes bubble shows and stores (model/access.ts). The live panes, `ps`, the sampler's access observations
 * and so the store all go through here.
 */
import { DELETED_SUFFIX, formatEndpoint, type FileAccess, type FileObservation, type NetObservation, type SocketAccess } from '../model/access.js';
import type { OpenFile, OpenSocket, ProcessFds } from './fds.js';

export function fileAccess(f: OpenFile): FileAccess {
  return {
    fd: f.fd,
    path: f.deleted && f.path.endsWith(DELETED_SUFFIX) ? f.path.slice(0, -DELETED_SUFFIX.length) : f.path,
    mode: f.append ? `${f.mode}a` : f.mode,
    deleted: f.deleted,
  };
}

export function socketAccess(s: OpenSocket): SocketAccess {
  return s.protocol === 'unix'
    ? { fd: s.fd, protocol: 'unix', local: s.path, remote: '', state: s.state }
    : {
        fd: s.fd,
        protocol: s.protocol,
        local: formatEndpoint(s.localAddress, s.localPort),
        remote: formatEndpoint(s.remoteAddress, s.remotePort),
        state: s.state,
      };
}

/** One process's open descriptors as observations: one per descriptor, each counting as one open. */
export function observationsFromFds(processKey: string, fds: ProcessFds): (FileObservation | NetObservation)[] {
  const out: (FileObservation | NetObservation)[] = [];
  for (const f of fds.files) out.push({ kind: 'file', processKey, ...fileAccess(f), opens: 1, source: 'procfs' });
  for (const s of fds.sockets) out.push({ kind: 'net', processKey, ...socketAccess(s), opens: 1, source: 'procfs' });
  return out;
}
