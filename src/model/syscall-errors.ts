/**
 * Failed system calls, counted per process, syscall and errno over one interval: what bpftrace's syscall-error probe
 * and the sysdig bridge's `err` records report. The store sums the counts per bucket (syscall_errors), so they are
 * conserved from second to day like CPU time.
 */

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
