/**
 * The processes a benchmark measures: a few hundred `sleep 600` spread over a few real cgroups shaped like
 * containers, so the collector classifies them as it would on a busy host: three Docker (cgroupfs driver paths,
 * `<root>/docker/<64hex>`, in every usual hierarchy) and one Slurm v1 batch task (`<root>/slurm/uid_<uid>/job_<n>/
 * step_batch/task_0`, memory and pids only, as Slurm leaves cpu/cpuacct at the root). Everything sits under one
 * `/bubble-bench-<tag>` dir per hierarchy; identity matching is unanchored, so the prefix changes nothing.
 *
 * Without root (or where mkdir fails) the cgroups are skipped and the sleeps stay host processes: the tick cost is
 * still measured, the reason is reported. stop() kills every child and removes every dir; it is idempotent so the
 * signal handlers and the normal path can both call it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { readCgroupMounts } from '../src/collectors/cgroups.js';
import { cgroupsWritable, CgroupSet, type CgroupSpec } from './cgroups.js';

export interface BenchContainer {
  /** What the report calls it: 'docker 1a2b3c4d5e6f', 'slurm job 912345'. */
  readonly label: string;
  readonly kind: 'docker' | 'slurm';
  /** The key the Sampler should file its processes under (containerKey of the identity). */
  readonly expectedKey: string;
  readonly spec: CgroupSpec;
  readonly env: NodeJS.ProcessEnv;
  readonly pids: number[];
}

const DOCKER_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'blkio', 'name=systemd'] as const;
const SLURM_CONTROLLERS = ['memory', 'pids'] as const;

export interface WorkloadOptions {
  /** Sleeps to spawn. @default 300 */
  readonly processes?: number;
  /** Docker-shaped cgroups (plus one Slurm job). @default 3 */
  readonly dockerContainers?: number;
  readonly log?: (line: string) => void;
}

export class Workload {
  readonly root: string;
  readonly containers: BenchContainer[] = [];
  /** Whether the sleeps went into the cgroups above. */
  cgroupsMade = false;
  /** Why there are no cgroups, when there are none. */
  skipReason: string | undefined;
  private readonly children: ChildProcess[] = [];
  private cgroups: CgroupSet | undefined;
  private stopping: Promise<void> | undefined;
  private readonly processes: number;
  private readonly log: (line: string) => void;

  constructor(opts: WorkloadOptions = {}) {
    this.processes = opts.processes ?? 300;
    this.log = opts.log ?? (() => {});
    this.root = `/bubble-bench-${process.pid}-${randomBytes(3).toString('hex')}`;
    const uid = process.getuid?.() ?? 0;
    for (let i = 0; i < (opts.dockerContainers ?? 3); i++) {
      const id = randomBytes(32).toString('hex');
      this.containers.push({
        label: `docker ${id.slice(0, 12)}`,
        kind: 'docker',
        expectedKey: `docker:${id}`,
        spec: { relPath: `${this.root}/docker/${id}`, controllers: DOCKER_CONTROLLERS, v2: true },
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
        pids: [],
      });
    }
    const job = String(900_000 + randomBytes(2).readUInt16BE(0));
    this.containers.push({
      label: `slurm job ${job}`,
      kind: 'slurm',
      expectedKey: `slurm:${job}`,
      spec: { relPath: `${this.root}/slurm/uid_${uid}/job_${job}/step_batch/task_0`, controllers: SLURM_CONTROLLERS, v2: false },
      // What slurmstepd puts in a batch task's environment; the Sampler reads these once per process.
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        SLURM_JOB_ID: job,
        SLURM_JOB_NAME: 'bubble-bench',
        SLURM_JOB_USER: 'root',
        SLURM_STEP_ID: 'batch',
      },
      pids: [],
    });
  }

  get pids(): number[] {
    return this.children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
  }

  /** Makes the cgroups (when it can) and spawns the sleeps into them. On failure, call stop() to undo. */
  async start(): Promise<void> {
    const mounts = readCgroupMounts();
    const writable = cgroupsWritable(mounts);
    if (writable.ok) {
      this.cgroups = new CgroupSet(mounts);
      for (const c of this.containers) this.cgroups.create(c.spec);
      this.cgroupsMade = true;
    } else {
      this.skipReason = writable.why;
      this.log(`cgroup setup skipped: ${writable.why}; the sleeps stay host processes`);
    }
    for (let i = 0; i < this.processes; i++) {
      const c = this.containers[i % this.containers.length]!;
      const child = spawn('sleep', ['600'], { stdio: 'ignore', env: c.env });
      this.children.push(child);
      await once(child, 'spawn');
      if (child.pid === undefined) continue;
      c.pids.push(child.pid);
      if (this.cgroups !== undefined) this.cgroups.addPid(c.spec.relPath, child.pid);
    }
    if (this.cgroupsMade) this.verify();
  }

  /** Every container's first sleep lists the container's dir in /proc/PID/cgroup: the move took. */
  private verify(): void {
    for (const c of this.containers) {
      const pid = c.pids[0];
      if (pid === undefined) continue;
      const text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (!text.includes(c.spec.relPath)) throw new Error(`pid ${pid} is not in ${c.spec.relPath}:\n${text}`);
    }
  }

  /** Kills the sleeps, waits for them, removes the cgroups. Safe to call more than once, and concurrently. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const exits: Promise<unknown>[] = [];
    for (const child of this.children) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) continue;
      exits.push(once(child, 'exit'));
      child.kill('SIGKILL');
    }
    await Promise.all(exits);
    await this.cgroups?.removeAll();
  }

  /** Last resort from an 'exit' handler (no awaiting there): SIGKILL our children, rmdir what is already empty. */
  stopSync(): string[] {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGKILL');
    }
    return this.cgroups?.removeAllSync() ?? [];
  }

  describe(): string {
    const where = this.cgroupsMade
      ? `${this.containers.length} cgroups under ${this.root} (${this.containers.map((c) => `${c.label}: ${c.pids.length}`).join(', ')})`
      : `no cgroups (${this.skipReason ?? 'not made'})`;
    return `${this.pids.length} bench sleeps in ${where}`;
  }
}
