/**
 * Slurm job metadata without slurmctld: the job id, name and user come from the task environment
 * (/proc/PID/environ: SLURM_JOB_ID, SLURM_JOB_NAME, SLURM_JOB_USER, SLURM_JOB_SLUID) and from slurmstepd's proctitle
 * (`slurmstepd: [<jobid>.<step>]`), which also maps a SLUID job directory (Slurm >= 26.05) to its numeric job id.
 * slurmstepd's own environ is slurmd's, not the job's, so only task processes are asked (spec/cgroups.md 5).
 */
import { execFile } from 'node:child_process';
import type { ContainerMeta } from '../model/sample.js';

export const SLURM_ENV_KEYS = [
  'SLURM_JOB_ID',
  'SLURM_JOB_NAME',
  'SLURM_JOB_USER',
  'SLURM_JOB_SLUID',
  'SLURM_STEP_ID',
  'SLURM_JOB_PARTITION',
  'SLURM_CPUS_ON_NODE',
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
  readonly partition?: string;
  readonly cpusOnNode?: number;
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
  if (env['SLURM_JOB_PARTITION']) facts.partition = env['SLURM_JOB_PARTITION'];
  const cpus = Number(env['SLURM_CPUS_ON_NODE']);
  if (Number.isInteger(cpus) && cpus > 0) facts.cpusOnNode = cpus;
  // Only an environment that was read (it names the job) tells that no memory was requested.
  if (facts.jobId !== undefined) facts.memoryRequested = MEMORY_KEYS.some((k) => env[k] !== undefined && env[k] !== '');
  return facts;
}

/** Folds what processes tell into one job's metadata; the first value seen wins (environments do not change). */
export function mergeSlurmMeta(meta: ContainerMeta, facts: SlurmFacts): ContainerMeta {
  const name = meta.jobName === undefined && facts.jobName !== undefined;
  const user = meta.jobUser === undefined && facts.jobUser !== undefined;
  const memory = meta.memoryRequested === undefined && facts.memoryRequested !== undefined;
  const partition = meta.partition === undefined && facts.partition !== undefined;
  const cpus = meta.cpusOnNode === undefined && facts.cpusOnNode !== undefined;
  if (!name && !user && !memory && !partition && !cpus) return meta;
  return {
    ...meta,
    ...(name && { jobName: facts.jobName }),
    ...(user && { jobUser: facts.jobUser }),
    ...(memory && { memoryRequested: facts.memoryRequested }),
    ...(partition && { partition: facts.partition }),
    ...(cpus && { cpusOnNode: facts.cpusOnNode }),
  };
}

/**
 * A job's state as its cgroup tells it, without slurmctld: running while a task step (batch, interactive, a numbered
 * step) has processes; completing when only slurmstepd or the extern step is left (the tasks ended, the epilog runs).
 */
export function slurmJobState(steps: Iterable<string>): 'running' | 'completing' {
  for (const step of steps) if (step !== 'extern') return 'running';
  return 'completing';
}

/**
 * A finished job's exit code from `scontrol show job -o` (`ExitCode=3:0`: the code, then the signal that ended it):
 * the code, or 128 + the signal as a shell reports it. undefined when the text has none.
 */
export function parseScontrolExitCode(text: string): number | undefined {
  const m = /(?:^|\s)ExitCode=(\d+):(\d+)(?:\s|$)/.exec(text);
  if (m === null) return undefined;
  const signal = Number(m[2]);
  return signal > 0 ? 128 + signal : Number(m[1]);
}

/**
 * Exit codes of ended jobs, asked of slurmctld once per job through `scontrol` (in the background: the answer is there
 * on a later tick). Nothing else of bubble needs slurmctld; where scontrol is missing or fails, jobs keep no code.
 * slurmctld keeps a finished job for MinJobAge (300 s by default), well within the recorder's wait for a code.
 */
export class SlurmExitCodes {
  private readonly known = new Map<string, { code?: number; done: boolean }>();
  private unavailable = false;
  private readonly scontrol: string;

  constructor(scontrol = 'scontrol') {
    this.scontrol = scontrol;
  }

  /** The job's exit code when known; the first call starts the query. */
  exitOf(jobId: string): number | undefined {
    const entry = this.known.get(jobId);
    if (entry !== undefined) {
      // Answered: handed over once (the recorder stores it), or asked again on a later tick when it had no code.
      if (entry.done) this.known.delete(jobId);
      return entry.code;
    }
    if (this.unavailable || !/^\d+$/.test(jobId)) return undefined;
    const pending: { code?: number; done: boolean } = { done: false };
    this.known.set(jobId, pending);
    execFile(this.scontrol, ['show', 'job', '-o', jobId], { timeout: 5000 }, (error, stdout) => {
      pending.done = true;
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') this.unavailable = true;
      // A job still completing has ExitCode=0:0 while its state is COMPLETING: wait for its final state.
      if (error === null && !/JobState=(?:RUNNING|COMPLETING|PENDING|CONFIGURING)\b/.test(stdout)) {
        const code = parseScontrolExitCode(stdout);
        if (code !== undefined) pending.code = code;
      }
    });
    return undefined;
  }
}
