/**
 * Real cgroups for tests: directories made with mkdir under this host's cgroup mounts (v1, v2 or hybrid) and
 * removed afterwards. Nothing here kills processes: the test owns its children and kills them before remove().
 */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { readCgroupMounts, type CgroupMounts, type ContainerCgroupPaths } from '../../src/collectors/cgroups.js';
import { isRoot } from './real.js';

export interface TestCgroup {
  /** e.g. '/bubble-test-1a2b/docker/<64hex>', the same in every hierarchy. */
  readonly relPath: string;
  readonly mounts: CgroupMounts;
  /** The v1 controllers (and named hierarchies) the cgroup was created in. */
  readonly controllers: readonly string[];
  /** Whether it was created in the cgroup2 hierarchy too. */
  readonly v2: boolean;
  /** What CgroupReader.read takes: relPath for every hierarchy it was created in. */
  readonly paths: ContainerCgroupPaths;
  /** Absolute leaf dir in a v1 controller's hierarchy, or in cgroup2 for 'v2'; undefined where not created. */
  dir(controller: string): string | undefined;
  addPid(pid: number): void;
  remove(): Promise<void>;
}

const DEFAULT_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'blkio', 'name=systemd'] as const;
/** v1 controller -> the v2 controller that does its job (enabled in the dirs we create where the parent offers it). */
const V2_EQUIVALENT: Readonly<Record<string, string>> = { memory: 'memory', cpu: 'cpu', cpuacct: 'cpu', blkio: 'io', pids: 'pids', cpuset: 'cpuset' };

interface Hierarchy {
  readonly mount: string;
  readonly leaf: string;
  /** Dirs this helper created, top first. */
  readonly created: string[];
}

function code(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** mkdir each missing component of relPath under mount; `onCreate` runs for each dir made, with whether it is the leaf. */
function createPath(mount: string, relPath: string, h: Hierarchy, onCreate: (dir: string, parent: string, leaf: boolean) => void): void {
  const parts = relPath.split('/').filter((p) => p !== '');
  let parent = mount;
  for (let i = 0; i < parts.length; i++) {
    const dir = `${parent}/${parts[i]}`;
    try {
      mkdirSync(dir);
      h.created.push(dir);
      onCreate(dir, parent, i === parts.length - 1);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw err;
    }
    parent = dir;
  }
}

/** v1 cpuset: a new cgroup has empty cpus/mems and accepts no task until they are set. */
function inheritCpuset(dir: string, parent: string): void {
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    if (readFileSync(`${dir}/${f}`, 'utf8').trim() === '') writeFileSync(`${dir}/${f}`, readFileSync(`${parent}/${f}`, 'utf8').trim());
  }
}

/** v2: a child only gets a controller's files when its parent enables it in subtree_control. */
function enableV2Controllers(dir: string, wanted: ReadonlySet<string>): void {
  const available = readFileSync(`${dir}/cgroup.controllers`, 'utf8').trim().split(/\s+/);
  const enable = available.filter((c) => wanted.has(c));
  if (enable.length > 0) writeFileSync(`${dir}/cgroup.subtree_control`, enable.map((c) => `+${c}`).join(' '));
}

function procsOf(dir: string): number[] {
  try {
    return readFileSync(`${dir}/cgroup.procs`, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** Moves what is left in dir to the hierarchy's root; a pid that exited meanwhile is fine. */
function drain(dir: string, mount: string): void {
  for (const pid of procsOf(dir)) {
    try {
      writeFileSync(`${mount}/cgroup.procs`, String(pid));
    } catch (err) {
      if (code(err) !== 'ESRCH') throw err;
    }
  }
}

async function removeHierarchy(h: Hierarchy): Promise<void> {
  for (const dir of [...h.created].reverse()) {
    for (let attempt = 0; ; attempt++) {
      try {
        drain(dir, h.mount);
        rmdirSync(dir);
        break;
      } catch (err) {
        const c = code(err);
        if (c === 'ENOENT') break;
        // A task still exiting keeps the cgroup busy for a moment.
        if (c !== 'EBUSY' || attempt >= 40) throw new Error(`cannot remove test cgroup ${dir}`, { cause: err });
        await sleep(50);
      }
    }
  }
}

/**
 * mkdir relPath in each named v1 controller hierarchy that is mounted (default: memory, cpu, cpuacct, pids, blkio,
 * and name=systemd; co-mounted controllers share one dir) and, unless opts.v2 is false, in the cgroup2 mount, where
 * the matching v2 controllers are enabled in the intermediate dirs it creates. addPid writes the pid to cgroup.procs
 * of each leaf (only leaves get pids: v2 forbids processes in a cgroup whose children have controllers). remove()
 * moves any remaining pids back to the root cgroup and rmdirs the dirs it created, leaf to top.
 */
export function makeTestCgroup(relPath: string, opts: { controllers?: readonly string[]; v2?: boolean } = {}): TestCgroup {
  if (!relPath.startsWith('/') || relPath === '/' || relPath.split('/').includes('..')) {
    throw new Error(`test cgroup path must be absolute, below the root, without '..': ${relPath}`);
  }
  const mounts = readCgroupMounts();
  const requested = opts.controllers ?? DEFAULT_CONTROLLERS;
  const controllers: string[] = [];
  const byMount = new Map<string, Hierarchy>();
  const v1Dirs: Record<string, string> = {};
  let v2h: Hierarchy | undefined;
  const all = (): Hierarchy[] => [...byMount.values(), ...(v2h === undefined ? [] : [v2h])];

  try {
    for (const c of requested) {
      const mount = mounts.v1[c];
      if (mount === undefined) continue;
      controllers.push(c);
      let h = byMount.get(mount);
      if (h === undefined) {
        h = { mount, leaf: mount + relPath, created: [] };
        byMount.set(mount, h);
        const isCpuset = mounts.v1['cpuset'] === mount;
        createPath(mount, relPath, h, (dir, parent) => {
          if (isCpuset) inheritCpuset(dir, parent);
        });
      }
      v1Dirs[c] = h.leaf;
    }
    if ((opts.v2 ?? true) && mounts.v2 !== undefined) {
      const wanted = new Set(requested.map((c) => V2_EQUIVALENT[c]).filter((c): c is string => c !== undefined));
      const h: Hierarchy = { mount: mounts.v2, leaf: mounts.v2 + relPath, created: [] };
      v2h = h;
      createPath(mounts.v2, relPath, h, (dir, _parent, leaf) => {
        if (!leaf) enableV2Controllers(dir, wanted);
      });
    }
  } catch (err) {
    // Leave nothing behind when creation fails halfway (no pids were added yet, so rmdir suffices).
    for (const h of all()) for (const dir of [...h.created].reverse()) rmdirSync(dir);
    throw new Error(`cannot create test cgroup ${relPath}`, { cause: err });
  }

  const v1Paths: Record<string, string> = {};
  for (const c of controllers) v1Paths[c] = relPath;
  const paths: ContainerCgroupPaths = v2h === undefined ? { v1: v1Paths } : { v2: relPath, v1: v1Paths };
  return {
    relPath,
    mounts,
    controllers,
    v2: v2h !== undefined,
    paths,
    dir: (controller) => (controller === 'v2' ? v2h?.leaf : v1Dirs[controller]),
    addPid(pid) {
      for (const h of all()) writeFileSync(`${h.leaf}/cgroup.procs`, String(pid));
    },
    async remove() {
      const errors: unknown[] = [];
      for (const h of all()) {
        try {
          await removeHierarchy(h);
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, `test cgroup ${relPath} was not fully removed`);
    },
  };
}

/** Whether this process can create cgroups: root, and a cgroup mount where mkdir works. */
export function cgroupsWritable(): { ok: boolean; why: string } {
  if (!isRoot) return { ok: false, why: `not root (uid ${process.getuid?.() ?? '?'})` };
  let mounts: CgroupMounts;
  try {
    mounts = readCgroupMounts();
  } catch (err) {
    return { ok: false, why: `cannot read mountinfo: ${String(err)}` };
  }
  const mount = mounts.v1['memory'] ?? mounts.v2;
  if (mount === undefined) return { ok: false, why: 'no v1 memory or cgroup2 hierarchy is mounted' };
  const probe = `${mount}/bubble-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    mkdirSync(probe);
    rmdirSync(probe);
  } catch (err) {
    return { ok: false, why: `cannot mkdir under ${mount}: ${code(err) ?? String(err)}` };
  }
  return { ok: true, why: `cgroups writable under ${mount}` };
}
