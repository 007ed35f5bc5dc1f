/** Orderings shared by `ps`, `ls` and the TUI. Pure; they return new arrays. */
import type { ContainerView, ProcessView } from './snapshot.js';

/** `io` is reads plus writes; `time` is CPU time used since start (htop's TIME+); `command` is alphabetical. */
export const PROCESS_SORTS = ['cpu', 'mem', 'io', 'pid', 'read', 'write', 'time', 'command'] as const;
export type ProcessSort = (typeof PROCESS_SORTS)[number];

const io = (p: ProcessView): number => (p.readBytesPerSec ?? 0) + (p.writeBytesPerSec ?? 0);
const commandOf = (p: ProcessView): string => (p.cmdline !== '' ? p.cmdline : p.comm);

/** Numeric keys sort highest first; pid and command sort ascending (what htop does for them). */
const PROCESS_COMPARE: Readonly<Record<ProcessSort, (a: ProcessView, b: ProcessView) => number>> = {
  cpu: (a, b) => (b.cpuPercent ?? 0) - (a.cpuPercent ?? 0),
  mem: (a, b) => b.rssBytes - a.rssBytes,
  io: (a, b) => io(b) - io(a),
  read: (a, b) => (b.readBytesPerSec ?? 0) - (a.readBytesPerSec ?? 0),
  write: (a, b) => (b.writeBytesPerSec ?? 0) - (a.writeBytesPerSec ?? 0),
  time: (a, b) => b.cpuNs - a.cpuNs,
  pid: (a, b) => a.pid - b.pid,
  command: (a, b) => commandOf(a).localeCompare(commandOf(b)),
};

/** In the sort's own direction (`reverse` flips it); ties by pid, ascending either way, so ticks keep the order. */
export function sortProcesses(processes: readonly ProcessView[], by: ProcessSort, reverse = false): ProcessView[] {
  const compare = PROCESS_COMPARE[by];
  const sign = reverse ? -1 : 1;
  return [...processes].sort((a, b) => sign * compare(a, b) || a.pid - b.pid);
}

export const CONTAINER_SORTS = ['cpu', 'mem', 'net', 'io', 'name', 'pids'] as const;
export type ContainerSort = (typeof CONTAINER_SORTS)[number];

const CONTAINER_KEYS: Readonly<Record<Exclude<ContainerSort, 'name'>, (c: ContainerView) => number>> = {
  cpu: (c) => c.cpuPercent ?? 0,
  mem: (c) => c.memoryBytes ?? 0,
  net: (c) => (c.netRxBytesPerSec ?? 0) + (c.netTxBytesPerSec ?? 0),
  io: (c) => (c.blkReadBytesPerSec ?? 0) + (c.blkWriteBytesPerSec ?? 0),
  // The figure the PROCS column shows (`pids` is the sort's name in the config file and on the command line).
  pids: (c) => c.processCount,
};

/**
 * Highest first (name: alphabetical), or the other way with `reverse`; ties by name. The `host` pseudo-container is
 * last either way: it is not one of the containers being compared.
 */
export function sortContainers(containers: readonly ContainerView[], by: ContainerSort, reverse = false): ContainerView[] {
  const byName = (a: ContainerView, b: ContainerView): number => a.name.localeCompare(b.name);
  const sign = reverse ? -1 : 1;
  const compare =
    by === 'name'
      ? (a: ContainerView, b: ContainerView) => sign * byName(a, b)
      : (a: ContainerView, b: ContainerView) => sign * (CONTAINER_KEYS[by](b) - CONTAINER_KEYS[by](a)) || byName(a, b);
  return [...containers].sort((a, b) => {
    if ((a.kind === 'host') !== (b.kind === 'host')) return a.kind === 'host' ? 1 : -1;
    return compare(a, b);
  });
}
