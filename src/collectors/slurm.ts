/**
 * Slurm job metadata without slurmctld: the job id, name and user come from the task environment
 * (/proc/PID/environ: SLURM_JOB_ID, SLURM_JOB_NAME, SLURM_JOB_USER, SLURM_JOB_SLUID) and from slurmstepd's proctitle
 * (`slurmstepd: [<jobid>.<step>]`), which also maps a SLUID job directory (Slurm >= 26.05) to its numeric job id.
 * slurmstepd's own environ is slurmd's, not the job's, so only task processes are asked (spec/cgroups.md 5).
 */
import type { ContainerMeta } from '../model/sample.js';

export const SLURM_ENV_KEYS = [
  'SLURM_JOB_ID',
  'SLURM_JOB_NAME',
  'SLURM_JOB_USER',
  'SLURM_JOB_SLUID',
  'SLURM_STEP_ID',
  // Set when the job has a memory request (its own or a configured default): without one, the memory cgroup's limit
  // is the node's memory (ConstrainRAMSpace), not a limit of the job's.
  'SLURM_MEM_PER_NODE',
  'SLURM_MEM_PER_CPU',
  'SLURM_MEM_PER_GPU',
] as const;

const MEMORY_KEYS = ['SLURM_MEM_PER_NODE', 'SLURM_MEM_PER_CPU', 'SLURM_MEM_PER_GPU'] as const;

const PROCTITLE = /^slurmstepd: \[(\d+)\.([^\]\s]+)\]/;

/** The job id a slurmstepd names in its proctitle, e.g. `slurmstepd: [3385.0]` -> "3385". */
export function jobIdFromProctitle(cmdline: string): string | undefined {
  return PROCTITLE.exec(cmdline)?.[1];
}

export interface SlurmFacts {
  readonly jobId?: string;
  readonly jobName?: string;
  readonly jobUser?: string;
  readonly sluid?: string;
  /** Whether the job has a memory request; known from a task's environment only. */
  readonly memoryRequested?: boolean;
}

/** What one process tells about its job, from its environment (task processes) or proctitle (slurmstepd). */
export function slurmFacts(comm: string, cmdline: string, env: Readonly<Record<string, string>>): SlurmFacts {
  if (comm === 'slurmstepd') {
    const jobId = jobIdFromProctitle(cmdline);
    return jobId === undefined ? {} : { jobId };
  }
  const facts: { -readonly [K in keyof SlurmFacts]: SlurmFacts[K] } = {};
  if (env['SLURM_JOB_ID']) facts.jobId = env['SLURM_JOB_ID'];
  if (env['SLURM_JOB_NAME']) facts.jobName = env['SLURM_JOB_NAME'];
  if (env['SLURM_JOB_USER']) facts.jobUser = env['SLURM_JOB_USER'];
  if (env['SLURM_JOB_SLUID']) facts.sluid = env['SLURM_JOB_SLUID'];
  // Only an environment that was read (it names the job) tells that no memory was requested.
  if (facts.jobId !== undefined) facts.memoryRequested = MEMORY_KEYS.some((k) => env[k] !== undefined && env[k] !== '');
  return facts;
}

/** Folds what processes tell into one job's metadata; the first value seen wins (environments do not change). */
export function mergeSlurmMeta(meta: ContainerMeta, facts: SlurmFacts): ContainerMeta {
  const name = meta.jobName === undefined && facts.jobName !== undefined;
  const user = meta.jobUser === undefined && facts.jobUser !== undefined;
  const memory = meta.memoryRequested === undefined && facts.memoryRequested !== undefined;
  if (!name && !user && !memory) return meta;
  return {
    ...meta,
    ...(name && { jobName: facts.jobName }),
    ...(user && { jobUser: facts.jobUser }),
    ...(memory && { memoryRequested: facts.memoryRequested }),
  };
}
