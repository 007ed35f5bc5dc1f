/**
 * Podman names without Podman's API: each container has a conmon process whose argv carries `-c <id>` and
 * `-n <name>` (podman libpod/oci_conmon_common.go). conmon itself sits outside the container's cgroup, in host.
 */

export interface ConmonArgs {
  readonly id: string;
  readonly name: string;
}

/** `conmon --api-version 1 -c <id> -u <id> -r /usr/bin/crun -b ... -n web-1 ...` -> {id, name}. */
export function parseConmonArgs(cmdline: string): ConmonArgs | undefined {
  const args = cmdline.split(' ');
  let id: string | undefined;
  let name: string | undefined;
  for (let i = 0; i < args.length - 1; i++) {
    const flag = args[i];
    const value = args[i + 1]!;
    if ((flag === '-c' || flag === '--cid') && /^[0-9a-f]{64}$/.test(value)) id = value;
    else if (flag === '-n' || flag === '--name') name = value;
  }
  return id !== undefined && name !== undefined && name !== '' ? { id, name } : undefined;
}
