/**
 * Which interval a rate divides by. Counters are read at different moments of a tick (host first, then every
 * process, then each container's cgroup and network namespace), and a first tick is slower than the next, so the
 * interval between two reads of the same counter group is not the interval between the two ticks' starts: a one-shot
 * `ps`/`ls` read 4-14 % low that way. Each group carries its read time (Sample.hostMonoNs, processesMonoNs,
 * ContainerSample.cgroupMonoNs, netMonoNs); a rate is its counter's delta over the difference of those.
 */

/**
 * Seconds between two reads of one counter group; `startNs`/`previousStartNs` (the samples' monoNs) stand in for a
 * sample that carries no read time (an older recording). 0 when the group was not read again (same time), or when the
 * clock did not advance: a delta over 0 s is no rate.
 */
export function readSeconds(readNs: number | undefined, previousReadNs: number | undefined, startNs: number, previousStartNs: number): number {
  const now = readNs ?? startNs;
  const before = previousReadNs ?? previousStartNs;
  return Math.max(0, (now - before) / 1e9);
}
