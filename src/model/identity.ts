/**
 * Who a cgroup belongs to. Derived from a cgroup path alone (collectors/identity.ts), then enriched by Docker
 * (names, image, labels) and Slurm (job name, user from the task environment).
 */

/** The runtimes bubble tells apart. `host` is the pseudo-container for everything that matches no pattern. */
export type ContainerKind = 'docker' | 'podman' | 'kubernetes' | 'containerd' | 'crio' | 'lxc' | 'nspawn' | 'slurm' | 'host';

export interface Identity {
  readonly kind: ContainerKind;
  /**
   * Stable id within its kind: the 64-hex container id (docker, podman, kubernetes, containerd, crio), the machine
   * or container name (lxc, nspawn), the numeric job id or, when only the directory's SLUID is known, the SLUID
   * (slurm), `host` for host.
   */
  readonly id: string;
  /** Best name known from the path alone (short id for docker until Docker names it; job id for slurm). */
  readonly name: string;
  /** The grouping above the container: the pod UID (kubernetes), the podman pod id. */
  readonly parent?: string;
  /** Slurm step: `batch`, `extern`, `interactive`, `0`, `0+1` (het component kept). */
  readonly step?: string;
  /** Slurm task: `0`, `1`, `special`. */
  readonly task?: string;
  /** Slurm v1 `uid_<uid>` directory. */
  readonly uid?: number;
  /** Slurm v2 SLUID directory name (`s` + 13 Crockford base32 characters) when the path used one. */
  readonly sluid?: string;
  /** Slurm node prefix (`slurm_<node>` v1, `<node>_slurmstepd.scope` v2) when multiple-slurmd is used. */
  readonly node?: string;
  /**
   * The container's own cgroup directory: the path up to and including the segment that names the container
   * (runtime-internal leaves such as crun's `/container`, Slurm's `step_*`/`task_*` stripped). Reading counters
   * there covers every process of the container, since cgroup counters are hierarchical.
   */
  readonly cgroup: string;
}

/** `kind:id`, the key containers are stored and looked up by. */
export function containerKey(identity: Pick<Identity, 'kind' | 'id'>): string {
  return identity.kind === 'host' ? 'host' : `${identity.kind}:${identity.id}`;
}

export const HOST_IDENTITY: Identity = { kind: 'host', id: 'host', name: 'host', cgroup: '/' };
