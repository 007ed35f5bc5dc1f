/**
 * bubble against a real Docker engine: containers from the local busybox image (built by `docker import`, no
 * registry), one burning CPU. `ls --json` names it and measures its CPU within 15% of what its own cgroup counter says
 * over the same interval; `ps` finds the burner by the container's name.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProcCgroup, resolveMembership } from '../../src/collectors/identity.js';
import { readCgroupMounts } from '../../src/collectors/cgroups.js';
import { bubble } from '../helpers/cli.js';
import { dockerAvailable, ensureTestImage, removeContainer, runContainer, TEST_IMAGE, uniqueName } from '../helpers/docker.js';
import { needReal } from '../helpers/real.js';

type Json = Record<string, unknown>;
const available = dockerAvailable();
const burnerName = uniqueName('bubble-burner');
const limitedName = uniqueName('bubble-limited');
const netName = uniqueName('bubble-net');
let net = { id: '', pid: 0 };
let burner = { id: '', pid: 0 };
let limited = { id: '', pid: 0 };

beforeAll(async () => {
  if (!available.ok) return;
  ensureTestImage();
  burner = runContainer(burnerName, ['sh', '-c', 'while :; do :; done']);
  limited = runContainer(limitedName, ['sleep', '300'], { memory: '64m' });
  // A listener, and a shell holding a log open for append: what `ps --files --net` must show.
  net = runContainer(netName, ['sh', '-c', 'exec 3>>/tmp/app.log; nc -l -p 8080 & wait']);
  await sleep(1000);
});

afterAll(() => {
  if (!available.ok) return;
  removeContainer(burnerName);
  removeContainer(limitedName);
  removeContainer(netName);
});

/** The container's own CPU counter, nanoseconds: v1 cpuacct.usage, or v2 cpu.stat usage_usec. */
function cgroupCpuNs(pid: number): number {
  const mounts = readCgroupMounts();
  const { paths } = resolveMembership(parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8')));
  const v1 = paths.v1['cpuacct'];
  if (v1 !== undefined && mounts.v1['cpuacct'] !== undefined) {
    return Number(readFileSync(`${mounts.v1['cpuacct']}${v1}/cpuacct.usage`, 'utf8'));
  }
  const stat = readFileSync(`${mounts.v2}${paths.v2}/cpu.stat`, 'utf8');
  return Number(/usage_usec (\d+)/.exec(stat)![1]) * 1000;
}

describe('bubble with a real Docker engine', () => {
  it('identifies a container from its /proc/PID/cgroup', (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const { identity, paths } = resolveMembership(parseProcCgroup(readFileSync(`/proc/${limited.pid}/cgroup`, 'utf8')));
    expect(identity).toMatchObject({ kind: 'docker', id: limited.id, name: limited.id.slice(0, 12) });
    const mounts = readCgroupMounts();
    // The directory it names is the container's real cgroup: it holds the process.
    const dir = paths.v1['memory'] !== undefined ? `${mounts.v1['memory']}${paths.v1['memory']}` : `${mounts.v2}${paths.v2}`;
    expect(readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n')).toContain(String(limited.pid));
  });

  it('ls --json names the burner and measures its CPU within 15% of its cgroup counter', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const t0 = process.hrtime.bigint();
    const c0 = cgroupCpuNs(burner.pid);
    const run = await bubble(['ls', '--json', '--interval', '2']);
    const c1 = cgroupCpuNs(burner.pid);
    const t1 = process.hrtime.bigint();
    expect(run.status).toBe(0);
    const rows = (JSON.parse(run.stdout) as { containers: Json[] }).containers;
    const row = rows.find((r) => r['id'] === burner.id);
    expect(row).toMatchObject({ kind: 'docker', name: burnerName, image: TEST_IMAGE, state: 'running', cpu_source: 'cgroup' });
    const cgroupPercent = ((c1 - c0) / Number(t1 - t0)) * 100;
    expect(cgroupPercent).toBeGreaterThan(30);
    expect(Math.abs((row!['cpu_percent'] as number) - cgroupPercent)).toBeLessThanOrEqual(0.15 * cgroupPercent);
    // Its own network namespace: counters of its eth0, not the host's.
    expect(row!['net_rx_bytes']).toEqual(expect.any(Number));
  });

  it('ls reports a memory limit set with docker run --memory', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const run = await bubble(['ls', '--json', '--interval', '0.3']);
    const row = (JSON.parse(run.stdout) as { containers: Json[] }).containers.find((r) => r['name'] === limitedName);
    expect(row).toMatchObject({ memory_limit_bytes: 64 * 1024 * 1024, processes: 1 });
    expect(row!['memory_percent']).toBeGreaterThan(0);
    expect(row!['memory_percent']).toBeLessThan(50);
  });

  it('ps finds the burner by container name, with its in-container pid', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const cpuNs = (): number => {
      const fields = readFileSync(`/proc/${burner.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1e9) / 100;
    };
    const c0 = cpuNs();
    const t0 = process.hrtime.bigint();
    const run = await bubble(['ps', burnerName, '--json', '--sort', 'cpu']);
    const kernelPercent = ((cpuNs() - c0) / Number(process.hrtime.bigint() - t0)) * 100;
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as { container: Json; processes: Json[] };
    expect(result.container).toMatchObject({ id: burner.id, name: burnerName });
    expect(result.processes[0]).toMatchObject({ pid: burner.pid, nspid: 1, comm: 'sh', cmdline: 'sh -c while :; do :; done' });
    // Against the burner's own counter over the same run (the machine is shared: never assume a whole core).
    expect(kernelPercent).toBeGreaterThan(5);
    expect(Math.abs((result.processes[0]!['cpu_percent'] as number) - kernelPercent)).toBeLessThanOrEqual(0.25 * kernelPercent);
  });

  it('ps finds a container by its short id, in a plain table', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const run = await bubble(['ps', limited.id.slice(0, 12), '--interval', '0.3']);
    expect(run.status).toBe(0);
    const [summary, header, row] = run.stdout.split('\n');
    expect(summary).toMatch(new RegExp(`^${limitedName} \\(docker ${limited.id.slice(0, 12)}\\)`));
    expect(summary).toContain('/ 64M');
    expect(header).toMatch(/PID\s+CPID\s+PPID\s+USER\s+CPU%/);
    expect(row).toMatch(new RegExp(`^\\s*${limited.pid}\\s+1\\s+\\d+\\s+root\\b.*sleep 300$`));
  });
});

describe('bubble ps --files --net in a container with its own network namespace', () => {
  it("lists the appended log file and the listening socket from the container's netns", async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const run = await bubble(['ps', netName, '--files', '--net', '--json', '--interval', '0.3']);
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout) as { files: Json[]; network: Json[] };
    expect(result.files).toContainEqual(expect.objectContaining({ pid: net.pid, fd: 3, path: '/tmp/app.log', mode: 'wa', deleted: false }));
    expect(result.network).toContainEqual(
      expect.objectContaining({ protocol: expect.stringMatching(/^tcp6?$/), state: 'LISTEN', local: expect.stringMatching(/:8080$/) }),
    );
    // Not the host's: nothing listens on 8080 in the host's network namespace.
    const hostTcp = readFileSync('/proc/net/tcp', 'utf8') + readFileSync('/proc/net/tcp6', 'utf8');
    expect(hostTcp).not.toMatch(/:1F90 [0-9A-F:]+ 0A /);

    const table = await bubble(['ps', netName, '--files', '--net', '--interval', '0.3']);
    expect(table.stdout).toMatch(/files \(\d+\):\n\s*PID\s+FD\s+MODE\s+PATH/);
    expect(table.stdout).toMatch(/\bwa\s+\/tmp\/app\.log/);
    expect(table.stdout).toMatch(/LISTEN/);
  });
});
