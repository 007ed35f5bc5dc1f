/**
 * Failed system calls, counted per process, syscall and errno over one interval: what bpftrace's syscall-error probe
 * and the sysdig bridge's `err` records report. The store sums the counts per bucket (syscall_errors), so they are
 * conserved from second to day like CPU time.
 */
import type { ProcessView, Snapshot } from './snapshot.js';

/** One process's failures of one syscall with one errno in an interval. */
export interface SyscallErrorCount {
  /** The process (ProcessView.key). */
  readonly processKey: string;
  /** The syscall's name ('openat'), or its number as text when the source did not know the name. */
  readonly syscall: string;
  /** The errno's name ('ENOENT'), or its number as text. */
  readonly errno: string;
  readonly count: number;
}

/** The counts summed per (process, syscall, errno), highest count first (ties by syscall, errno): the panes' order. */
export function sumSyscallErrors(list: readonly SyscallErrorCount[]): SyscallErrorCount[] {
  const sums = new Map<string, { -readonly [K in keyof SyscallErrorCount]: SyscallErrorCount[K] }>();
  for (const e of list) {
    const key = `${e.processKey}\u0000${e.syscall}\u0000${e.errno}`;
    const seen = sums.get(key);
    if (seen === undefined) sums.set(key, { ...e });
    else seen.count += e.count;
  }
  return [...sums.values()].sort(
    (a, b) => b.count - a.count || a.syscall.localeCompare(b.syscall) || a.errno.localeCompare(b.errno) || a.processKey.localeCompare(b.processKey),
  );
}

/**
 * A container's failed syscalls in one interval as shown (`ps --errors`, the TUI's errors pane): one line per process
 * and (syscall, errno), except that processes that exited in the interval are one line per command (a loop's
 * short-lived children, each failing once, would otherwise fill the list), most frequent first.
 */
export interface ErrorLine {
  /** undefined for several exited processes (`processes` says how many). */
  readonly pid?: number;
  readonly processes: number;
  readonly comm: string;
  readonly syscall: string;
  readonly errno: string;
  readonly count: number;
  /** Over the interval; 0 when it has no length (a first sample). */
  readonly perSecond: number;
}

/** The error lines of `containerKey`'s processes in `snapshot` (those that exited in its interval included). */
export function containerErrorLines(snapshot: Snapshot, containerKey: string): ErrorLine[] {
  const mine = new Map<string, ProcessView>();
  for (const p of snapshot.exited.processes) if (p.containerKey === containerKey) mine.set(p.key, p);
  for (const p of snapshot.processes) if (p.containerKey === containerKey) mine.set(p.key, p);
  const seconds = snapshot.intervalMs / 1000;
  const lines = new Map<string, { pids: Set<number>; comm: string; syscall: string; errno: string; count: number }>();
  for (const e of snapshot.syscallErrors ?? []) {
    const p = mine.get(e.processKey);
    if (p === undefined) continue;
    const key = `${p.exitedAtMs === undefined ? `p${p.key}` : `c${p.comm}`}\u0000${e.syscall}\u0000${e.errno}`;
    const line = lines.get(key);
    if (line === undefined) lines.set(key, { pids: new Set([p.pid]), comm: p.comm, syscall: e.syscall, errno: e.errno, count: e.count });
    else {
      line.pids.add(p.pid);
      line.count += e.count;
    }
  }
  return [...lines.values()]
    .map((l) => ({
      ...(l.pids.size === 1 && { pid: [...l.pids][0]! }),
      processes: l.pids.size,
      comm: l.comm,
      syscall: l.syscall,
      errno: l.errno,
      count: l.count,
      perSecond: seconds > 0 ? l.count / seconds : 0,
    }))
    .sort((a, b) => b.count - a.count || a.comm.localeCompare(b.comm) || a.syscall.localeCompare(b.syscall) || a.errno.localeCompare(b.errno));
}
