/**
 * CPU efficiency, seff's figure: the cores a container or job used on average over the cores it was given, percent.
 * One formula for the live views (`ls`, the containers list) and `bubble report`.
 */

/**
 * What a container was given: its CPU limit (CFS quota / period), else the CPUs of a cpuset narrower than the host
 * (how Slurm's task/cgroup allocates a job's cores, SLURM_CPUS_ON_NODE of them; docker --cpuset-cpus).
 */
export interface CpuAllocation {
  readonly cpuLimitCores?: number;
  readonly cpusetCpus?: number;
}

/** The cores allocated, or undefined when unlimited (efficiency is then not defined). */
export function allocatedCores(c: CpuAllocation): number | undefined {
  if (c.cpuLimitCores !== undefined && c.cpuLimitCores > 0) return c.cpuLimitCores;
  return c.cpusetCpus !== undefined && c.cpusetCpus > 0 ? c.cpusetCpus : undefined;
}

/**
 * Used cores over allocated cores, percent (100 = it kept every allocated core busy). `cpuPercent` is CPU over time,
 * 100 = one core, as everywhere in bubble. undefined when either is unknown.
 */
export function cpuEfficiencyPercent(cpuPercent: number | undefined, c: CpuAllocation): number | undefined {
  const cores = allocatedCores(c);
  if (cpuPercent === undefined || !Number.isFinite(cpuPercent) || cores === undefined) return undefined;
  return cpuPercent / cores;
}
