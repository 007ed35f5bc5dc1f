/**
 * Cgroup path -> container identity (spec/cgroups.md sections 0 and 1). Pure: no I/O here; the procfs collector
 * reads /proc/PID/cgroup and hands the text to parseProcCgroup.
 *
 * Matching works on path segments, left to right, and the first (outermost) segment that names a container wins:
 * Docker inside an nspawn machine, or podman inside a Slurm job, belong to the machine or job this host sees.
 * Patterns are unanchored because every runtime lets the parent be configured (`--cgroup-parent`, CgroupSlice,
 * kubelet cgroup root). Decisions the spec leaves open:
 * - Kubernetes: a process in the pod directory itself, or in a pod leaf that is not a container (CRI-O's
 *   `crio-conmon-<id>` with conmon_cgroup=pod), gets the pod-level identity: kind 'kubernetes', id `pod<uid>`,
 *   parent `<uid>`, cgroup = the pod dir. The pod's counters are charged there, so the pod is the honest owner.
 *   Outside a pod `crio-conmon-<id>` is host.
 * - Podman: conmon (`libpod-conmon-<id>.scope`, cgroupfs `<parent>/conmon`) is host, also inside a podman pod: a
 *   pod-level podman identity would need an id that cannot collide with container ids, and podman pods normally hold
 *   no processes of their own. With cgroups=split the payload sits in `<unit>/libpod-payload-<id>`: the identity is
 *   podman `<id>` and, as the payload dir is runtime-internal, cgroup is the enclosing unit.
 * - LXC: a `-<n>` collision suffix stays in the name (`lxc.payload.web-1` -> `web-1`): from the path alone it cannot
 *   be told apart from a container really named `web-1`. `lxc.monitor.<name>` is host.
 * - Host: HOST_IDENTITY (cgroup '/') for every path that matches nothing, including cgroupns views like `/` and
 *   `/../x`.
 */
import { HOST_IDENTITY, type Identity } from '../model/identity.js';

/** Parsed /proc/PID/cgroup. v1 keys are each controller name of a line ('memory', 'cpu', 'cpuacct' for a 'cpu,cpuacct' line both keys, 'name=systemd', ...). */
export interface CgroupMembership {
  readonly v2?: string;
  readonly v1: Readonly<Record<string, string>>;
  readonly deleted: boolean;
}

/** Per hierarchy, the container's own directory where that hierarchy places the process; a hierarchy where the process sits outside the container (Slurm leaves cpu/cpuacct at '/') is absent. */
export interface ContainerCgroupPaths {
  readonly v2?: string;
  readonly v1: Readonly<Record<string, string>>;
}

const DELETED_SUFFIX = ' (deleted)';

/**
 * Parses /proc/PID/cgroup: `0::<path>` is the v2 line, `ID:ctrl[,ctrl]:<path>` are v1 lines. The path may itself
 * contain ':' (only the first two colons separate fields). A zombie whose cgroup was removed has ` (deleted)`
 * appended: it is stripped and `deleted` set. Lines that do not have this shape are skipped.
 */
export function parseProcCgroup(text: string): CgroupMembership {
  let v2: string | undefined;
  const v1: Record<string, string> = {};
  let deleted = false;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const a = line.indexOf(':');
    if (a <= 0) continue;
    const b = line.indexOf(':', a + 1);
    if (b < 0) continue;
    const hierarchy = line.slice(0, a);
    if (!/^\d+$/.test(hierarchy)) continue;
    const controllers = line.slice(a + 1, b);
    let path = line.slice(b + 1);
    if (path.endsWith(DELETED_SUFFIX)) {
      path = path.slice(0, -DELETED_SUFFIX.length);
      deleted = true;
    }
    if (!path.startsWith('/')) continue;
    if (controllers === '') {
      // An empty controller list is only valid for the unified hierarchy, which is always ID 0.
      if (hierarchy === '0') v2 = path;
      continue;
    }
    for (const c of controllers.split(',')) if (c !== '') v1[c] = path;
  }
  return v2 === undefined ? { v1, deleted } : { v2, v1, deleted };
}

// ---- segment patterns (spec/cgroups.md section 1, turned into per-segment regexes) ----

const K8S_POD = /^(?:.*-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?$/;
const K8S_LEAF = /^(?:cri-containerd-|crio-|docker-)?([0-9a-f]{64})(?:\.scope)?$/;
const DOCKER_UNIT = /^docker-([0-9a-f]{64})(?:\.scope)?$/;
const HEX64_SEGMENT = /^([0-9a-f]{64})(?:\.scope)?$/;
const HEX64_ONLY = /^[0-9a-f]{64}$/;
const CONTAINERD = /^cri-containerd-([0-9a-f]{64})(?:\.scope)?$/;
// `crio-conmon-<id>` cannot match: `conmon-` is not hex. Same for `libpod-conmon-<id>` below.
const CRIO = /^crio-([0-9a-f]{64})(?:\.scope)?$/;
const PODMAN = /^libpod-([0-9a-f]{64})(?:\.scope)?$/;
const PODMAN_PAYLOAD = /^libpod-payload-([0-9a-f]{64})$/;
const PODMAN_POD = /^(?:.*-)?libpod_pod_([0-9a-f]{64})\.slice$/;
const LXC_PAYLOAD = /^lxc\.payload\.(.+)$/;
const NSPAWN_SCOPE = /^machine-(.+)\.scope$/;
const NSPAWN_SERVICE = /^systemd-nspawn@(.+)\.service$/;
const SLURM_V1_ROOT = /^slurm(?:_(.+))?$/;
const SLURM_UID = /^uid_(\d+)$/;
const SLURM_JOB = /^job_(\d+)$/;
// `s` + 13 Crockford base32 characters: upper case, no I, L, O, U.
const SLURM_SLUID = /^s[0-9A-HJKMNP-TV-Z]{13}$/;
const SLURM_STEP = /^step_(\d+|batch|extern|interactive)(\+\d+)?$/;
const SLURM_V1_TASK = /^task_(\d+)$/;
const SLURM_V2_SCOPE = /^(?:(.+)_)?slurmstepd\.scope$/;
const SLURM_V2_TASK = /^task_(\d+|special)$/;
/** cAdvisor's fallback: a 64-hex run in the basename (not inside a longer alphanumeric run). */
const GENERIC_ID = /(?:^|[^0-9a-z])([0-9a-f]{64})(?:[^0-9a-z]|$)/;
/** Leaves runtimes create inside the container's cgroup (crun, nspawn, podman cgroups=split). */
const INTERNAL_LEAVES = new Set(['container', 'payload', 'supervisor']);

function cgroupOf(segs: readonly string[], end: number): string {
  return '/' + segs.slice(0, end + 1).join('/');
}

function shortId(id: string): string {
  return id.slice(0, 12);
}

/** systemd unit-name unescaping: `\xHH` are bytes of a UTF-8 string (`machine-my\x2dvm.scope` -> `my-vm`). */
export function unescapeUnitName(s: string): string {
  if (!s.includes('\\x')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 4;
      continue;
    }
    const cp = s.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
    i += ch.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

function runtimeIdentity(kind: 'docker' | 'podman' | 'containerd' | 'crio', id: string, cgroup: string, parent?: string): Identity {
  return parent === undefined ? { kind, id, name: shortId(id), cgroup } : { kind, id, name: shortId(id), parent, cgroup };
}

/** Slurm v1: `<slurm|slurm_node>/uid_<uid>/job_<id>[/step_<s>[+het][/task_<n>]]` starting at segs[i]. */
function matchSlurmV1(segs: readonly string[], i: number): Identity | undefined {
  const root = SLURM_V1_ROOT.exec(segs[i] ?? '');
  if (!root) return undefined;
  const uid = SLURM_UID.exec(segs[i + 1] ?? '');
  const job = SLURM_JOB.exec(segs[i + 2] ?? '');
  if (!uid || !job) return undefined; // `/slurm/system` (slurmd's own) and anything else that is not a job
  const id = job[1] ?? '';
  const out: { -readonly [K in keyof Identity]: Identity[K] } = {
    kind: 'slurm',
    id,
    name: `job ${id}`,
    uid: Number(uid[1]),
    cgroup: cgroupOf(segs, i + 2),
  };
  if (root[1] !== undefined) out.node = root[1];
  const step = SLURM_STEP.exec(segs[i + 3] ?? '');
  if (step) {
    out.step = (step[1] ?? '') + (step[2] ?? '');
    const task = SLURM_V1_TASK.exec(segs[i + 4] ?? '');
    if (task) out.task = task[1];
  }
  return out;
}

/** Slurm v2: `[<node>_]slurmstepd.scope/(job_<id>|<SLUID>)[/step_<s>[+het][/(user|slurm)[/task_<n>|task_special]]]`. */
function matchSlurmV2(segs: readonly string[], i: number): Identity | undefined {
  const scope = SLURM_V2_SCOPE.exec(segs[i] ?? '');
  if (!scope) return undefined;
  const dir = segs[i + 1] ?? '';
  const job = SLURM_JOB.exec(dir);
  const sluid = job ? undefined : SLURM_SLUID.test(dir) ? dir : undefined;
  if (!job && sluid === undefined) return undefined; // `system/` holds slurmstepds waiting for a job
  const id = job ? (job[1] ?? '') : (sluid ?? '');
  const out: { -readonly [K in keyof Identity]: Identity[K] } = {
    kind: 'slurm',
    id,
    name: `job ${id}`,
    cgroup: cgroupOf(segs, i + 1),
  };
  if (sluid !== undefined) out.sluid = sluid;
  if (scope[1] !== undefined) out.node = scope[1];
  const step = SLURM_STEP.exec(segs[i + 2] ?? '');
  if (step) {
    out.step = (step[1] ?? '') + (step[2] ?? '');
    const sub = segs[i + 3];
    if (sub === 'user' || sub === 'slurm') {
      const task = SLURM_V2_TASK.exec(segs[i + 4] ?? '');
      if (task) out.task = task[1];
    }
  }
  return out;
}

/** Kubernetes: pod dir at segs[i], container leaf (if any) at segs[i+1]. */
function matchKubernetes(segs: readonly string[], i: number): Identity | undefined {
  const pod = K8S_POD.exec(segs[i] ?? '');
  if (!pod) return undefined;
  const uid = (pod[1] ?? '').replaceAll('_', '-');
  const leaf = K8S_LEAF.exec(segs[i + 1] ?? '');
  if (leaf) {
    const id = leaf[1] ?? '';
    return { kind: 'kubernetes', id, name: shortId(id), parent: uid, cgroup: cgroupOf(segs, i + 1) };
  }
  return { kind: 'kubernetes', id: `pod${uid}`, name: `pod ${uid.slice(0, 8)}`, parent: uid, cgroup: cgroupOf(segs, i) };
}

function identifyUncached(path: string): Identity {
  const segs = path.split('/').filter((s) => s !== '');
  let podmanPod: string | undefined;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] ?? '';
    const k8s = matchKubernetes(segs, i);
    if (k8s) return k8s;
    const slurm = matchSlurmV1(segs, i) ?? matchSlurmV2(segs, i);
    if (slurm) return slurm;

    let m = DOCKER_UNIT.exec(seg);
    if (m) return runtimeIdentity('docker', m[1] ?? '', cgroupOf(segs, i));
    if (seg === 'docker') {
      m = HEX64_SEGMENT.exec(segs[i + 1] ?? '');
      if (m) return runtimeIdentity('docker', m[1] ?? '', cgroupOf(segs, i + 1));
    }
    m = CONTAINERD.exec(seg);
    if (m) return runtimeIdentity('containerd', m[1] ?? '', cgroupOf(segs, i));
    m = CRIO.exec(seg);
    if (m) return runtimeIdentity('crio', m[1] ?? '', cgroupOf(segs, i));

    m = PODMAN_POD.exec(seg);
    if (m) {
      podmanPod = m[1];
      continue;
    }
    m = PODMAN.exec(seg);
    if (m) {
      // cgroupfs pods: `<parent>/<podid>/libpod-<id>`.
      const prev = segs[i - 1] ?? '';
      const parent = podmanPod ?? (HEX64_ONLY.test(prev) ? prev : undefined);
      return runtimeIdentity('podman', m[1] ?? '', cgroupOf(segs, i), parent);
    }
    m = PODMAN_PAYLOAD.exec(seg);
    if (m) return runtimeIdentity('podman', m[1] ?? '', i === 0 ? '/' : cgroupOf(segs, i - 1), podmanPod);

    m = LXC_PAYLOAD.exec(seg);
    if (m) {
      const name = m[1] ?? '';
      return { kind: 'lxc', id: name, name, cgroup: cgroupOf(segs, i) };
    }
    if (i === 0 && seg === 'lxc' && segs.length > 1) {
      // Pre-4.0 pattern `lxc/%n`; `lxc.cgroup.dir=lxc` gives `/lxc/lxc.payload.<name>` instead, matched next round.
      const name = segs[1] ?? '';
      if (!name.startsWith('lxc.payload.') && !name.startsWith('lxc.monitor.')) {
        return { kind: 'lxc', id: name, name, cgroup: cgroupOf(segs, 1) };
      }
    }

    m = segs[i - 1] === 'machine.slice' ? NSPAWN_SCOPE.exec(seg) : null;
    m ??= NSPAWN_SERVICE.exec(seg);
    if (m) {
      const name = unescapeUnitName(m[1] ?? '');
      return { kind: 'nspawn', id: name, name, cgroup: cgroupOf(segs, i) };
    }
  }
  // A podman pod slice with no container under it (conmon, or the slice itself) is host; its name holds a 64-hex id
  // that the generic fallback would take for a Docker container.
  return podmanPod === undefined ? genericFallback(segs) : HOST_IDENTITY;
}

/** cAdvisor's rule for custom parents: a 64-hex id in the basename is a Docker container; `*.mount` units are not. */
function genericFallback(segs: readonly string[]): Identity {
  let end = segs.length - 1;
  while (end >= 0 && INTERNAL_LEAVES.has(segs[end] ?? '')) end--;
  const base = segs[end];
  if (base === undefined || base.endsWith('.mount') || base.includes('conmon')) return HOST_IDENTITY;
  const m = GENERIC_ID.exec(base);
  return m ? runtimeIdentity('docker', m[1] ?? '', cgroupOf(segs, end)) : HOST_IDENTITY;
}

/** Paths repeat across processes and ticks; the cap keeps a host with container churn from growing it forever. */
const MEMO_LIMIT = 8192;
const memo = new Map<string, Identity>();

/** The identity a cgroup path names; HOST_IDENTITY when nothing matches. Results are frozen and memoized. */
export function identifyPath(path: string): Identity {
  const hit = memo.get(path);
  if (hit) return hit;
  const identity = Object.freeze(identifyUncached(path));
  if (memo.size >= MEMO_LIMIT) {
    const oldest = memo.keys().next();
    if (!oldest.done) memo.delete(oldest.value);
  }
  memo.set(path, identity);
  return identity;
}

/** v1 controllers in the order that best tells a container (Slurm often leaves cpu/cpuacct at the root). */
const V1_PREFERENCE = ['memory', 'cpu', 'cpuacct', 'pids', 'blkio'] as const;

/**
 * Chooses the identity from the most telling hierarchy (v1 memory, cpu, cpuacct, pids, blkio, then v2, then
 * name=systemd, then any other): the first non-host identity wins, since on hybrid hosts the unified path is often
 * `/`. Then, per hierarchy, the container's own dir where that hierarchy identifies the same container (same kind
 * and id). A host process gets '/' in every hierarchy it has: the root is host's own dir.
 */
export function resolveMembership(m: CgroupMembership): { identity: Identity; paths: ContainerCgroupPaths } {
  const candidates: string[] = [];
  for (const c of V1_PREFERENCE) {
    const p = m.v1[c];
    if (p !== undefined) candidates.push(p);
  }
  if (m.v2 !== undefined) candidates.push(m.v2);
  const systemd = m.v1['name=systemd'];
  if (systemd !== undefined) candidates.push(systemd);
  for (const [c, p] of Object.entries(m.v1)) {
    if (c !== 'name=systemd' && !(V1_PREFERENCE as readonly string[]).includes(c)) candidates.push(p);
  }

  let identity: Identity = HOST_IDENTITY;
  for (const p of candidates) {
    const id = identifyPath(p);
    if (id.kind !== 'host') {
      identity = id;
      break;
    }
  }

  const dirIn = (p: string): string | undefined => {
    const id = identifyPath(p);
    return id.kind === identity.kind && id.id === identity.id ? id.cgroup : undefined;
  };
  const v1: Record<string, string> = {};
  for (const [c, p] of Object.entries(m.v1)) {
    const dir = dirIn(p);
    if (dir !== undefined) v1[c] = dir;
  }
  const v2 = m.v2 === undefined ? undefined : dirIn(m.v2);
  return { identity, paths: v2 === undefined ? { v1 } : { v2, v1 } };
}
