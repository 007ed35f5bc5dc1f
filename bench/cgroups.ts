/**
 * Real cgroups for the benchmark workload, made with mkdir under this host's mounts and removed afterwards. A trimmed
 * copy of test/helpers/cgroups.ts (bench is built by tsconfig.json, which does not include test/), with one change:
 * several cgroups share a parent dir here, so one set remembers every dir it made and removes them newest first.
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import type { CgroupMounts } from '../src/collectors/cgroups.js';
import { sleep } from './measure.js';

export interface CgroupSpec {
  /** e.g. '/bubble-bench-1a2b/docker/<64hex>', the same in every hierarchy it is made in. */
  readonly relPath: string;
  /** v1 controllers (and named hierarchies like 'name=systemd') to make it in, where mounted. */
  readonly controllers: readonly string[];
  /** Make it in the cgroup2 mount too. */
  readonly v2: boolean;
}

/** v1 controller -> the v2 controller doing its job (enabled in the dirs we make where the parent offers it). */
const V2_EQUIVALENT: Readonly<Record<string, string>> = { memory: 'memory', cpu: 'cpu', cpuacct: 'cpu', blkio: 'io', pids: 'pids' };

export class BenchCgroupError extends Error {
  override readonly name = 'BenchCgroupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

function code(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

interface Made {
  readonly dir: string;
  readonly mount: string;
}

export class CgroupSet {
  /** Every dir this set made, in creation order (parents before children). */
  private readonly made: Made[] = [];
  /** relPath -> leaf dirs, one per hierarchy, where pids are written. */
  private readonly leaves = new Map<string, string[]>();

  readonly mounts: CgroupMounts;

  constructor(mounts: CgroupMounts) {
    this.mounts = mounts;
  }

  /** Makes spec.relPath in each mounted hierarchy asked for; throws BenchCgroupError (what was made stays for removeAll). */
  create(spec: CgroupSpec): void {
    const parts = spec.relPath.split('/').filter((p) => p !== '');
    if (!spec.relPath.startsWith('/') || parts.length === 0 || parts.includes('..')) {
      throw new BenchCgroupError(`bench cgroup path must be absolute, below the root, without '..': ${spec.relPath}`);
    }
    const mountsUsed = new Set<string>();
    for (const c of spec.controllers) {
      const m = this.mounts.v1[c];
      if (m !== undefined) mountsUsed.add(m); // co-mounted controllers share one dir
    }
    const leaves: string[] = [];
    try {
      for (const mount of mountsUsed) leaves.push(this.mkdirs(mount, parts, undefined));
      if (spec.v2 && this.mounts.v2 !== undefined) {
        const wanted = new Set(spec.controllers.map((c) => V2_EQUIVALENT[c]).filter((c): c is string => c !== undefined));
        leaves.push(this.mkdirs(this.mounts.v2, parts, wanted));
      }
    } catch (err) {
      throw new BenchCgroupError(`cannot create bench cgroup ${spec.relPath}`, { cause: err });
    }
    this.leaves.set(spec.relPath, leaves);
  }

  /** Writes pid into cgroup.procs of each leaf of relPath. */
  addPid(relPath: string, pid: number): void {
    for (const leaf of this.leaves.get(relPath) ?? []) writeFileSync(`${leaf}/cgroup.procs`, String(pid));
  }

  /**
   * Removes every dir made, newest first. Pids still inside (none once the workload is killed) go back to the
   * hierarchy's root; a dir whose last task is still exiting is busy for a moment, so EBUSY is retried.
   */
  async removeAll(): Promise<void> {
    const errors: unknown[] = [];
    while (this.made.length > 0) {
      const m = this.made.pop()!;
      for (let attempt = 0; ; attempt++) {
        try {
          drain(m.dir, m.mount);
          rmdirSync(m.dir);
          break;
        } catch (err) {
          const c = code(err);
          if (c === 'ENOENT') break;
          if (c !== 'EBUSY' || attempt >= 60) {
            errors.push(new BenchCgroupError(`cannot remove bench cgroup ${m.dir}`, { cause: err }));
            break;
          }
          await sleep(50);
        }
      }
    }
    this.leaves.clear();
    if (errors.length > 0) throw new AggregateError(errors, 'bench cgroups were not fully removed');
  }

  /** Same as removeAll without waiting, for an exit handler: whatever is still busy stays (and is reported). */
  removeAllSync(): string[] {
    const left: string[] = [];
    while (this.made.length > 0) {
      const m = this.made.pop()!;
      try {
        drain(m.dir, m.mount);
        rmdirSync(m.dir);
      } catch (err) {
        if (code(err) !== 'ENOENT') left.push(m.dir);
      }
    }
    return left;
  }

  private mkdirs(mount: string, parts: readonly string[], v2Wanted: ReadonlySet<string> | undefined): string {
    let dir = mount;
    for (let i = 0; i < parts.length; i++) {
      const parent = dir;
      dir = `${dir}/${parts[i]}`;
      try {
        mkdirSync(dir);
      } catch (err) {
        if (code(err) === 'EEXIST') continue;
        throw err;
      }
      this.made.push({ dir, mount });
      if (mount === this.mounts.v1['cpuset']) inheritCpuset(dir, parent);
      // v2: a child gets a controller's files only when its parent enables it; pids only ever go in leaves.
      if (v2Wanted !== undefined && i < parts.length - 1) enableV2Controllers(dir, v2Wanted);
    }
    return dir;
  }
}

/** v1 cpuset: a new cgroup has empty cpus/mems and takes no task until they are set. */
function inheritCpuset(dir: string, parent: string): void {
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    if (readFileSync(`${dir}/${f}`, 'utf8').trim() === '') writeFileSync(`${dir}/${f}`, readFileSync(`${parent}/${f}`, 'utf8').trim());
  }
}

function enableV2Controllers(dir: string, wanted: ReadonlySet<string>): void {
  const available = readFileSync(`${dir}/cgroup.controllers`, 'utf8').trim().split(/\s+/);
  const enable = available.filter((c) => wanted.has(c));
  if (enable.length > 0) writeFileSync(`${dir}/cgroup.subtree_control`, enable.map((c) => `+${c}`).join(' '));
}

function drain(dir: string, mount: string): void {
  let pids: string[];
  try {
    pids = readFileSync(`${dir}/cgroup.procs`, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      writeFileSync(`${mount}/cgroup.procs`, pid);
    } catch (err) {
      if (code(err) !== 'ESRCH') throw err;
    }
  }
}

/** Whether cgroups can be made here: root, and mkdir works under the v1 memory (or cgroup2) mount. */
export function cgroupsWritable(mounts: CgroupMounts): { ok: boolean; why: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: `not root (uid ${process.getuid?.() ?? '?'})` };
  const mount = mounts.v1['memory'] ?? mounts.v2;
  if (mount === undefined) return { ok: false, why: 'no v1 memory or cgroup2 hierarchy is mounted' };
  const probe = `${mount}/bubble-bench-probe-${process.pid}`;
  try {
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (err) {
    return { ok: false, why: `cannot mkdir under ${mount}: ${code(err) ?? String(err)}` };
  }
  return { ok: true, why: `cgroups writable under ${mount}` };
}
