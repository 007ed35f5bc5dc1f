/**
 * Real Docker for integration tests: a tiny busybox image built locally (no registry: CI has no pull credentials and
 * must not depend on Docker Hub), containers named so parallel or leftover runs never clash.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TEST_IMAGE = 'bubble-test/busybox:latest';

/** Debian's busybox-static; the same file .ci/run builds the image from. */
export const BUSYBOX = '/bin/busybox';

/** Applets the tests rely on, linked even if `busybox --list` were to fail. */
const REQUIRED_APPLETS = ['sh', 'sleep', 'yes', 'cat', 'dd', 'nc', 'ls', 'top', 'ps', 'head', 'true', 'false', 'kill'];

export class DockerCommandError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DockerCommandError';
  }
}

function run(cmd: string, args: readonly string[], input?: Buffer, timeoutMs = 120_000): SpawnSyncReturns<Buffer> {
  return spawnSync(cmd, args, { input, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] });
}

function oneLine(buf: Buffer | null | undefined): string {
  return (buf?.toString('utf8') ?? '').trim().split('\n').filter(Boolean).slice(-3).join(' | ');
}

/** `docker ARGS`, stdout trimmed; throws DockerCommandError with stderr on failure. */
export function docker(args: readonly string[], opts: { input?: Buffer; timeoutMs?: number } = {}): string {
  const r = run('docker', args, opts.input, opts.timeoutMs);
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error?.message ?? oneLine(r.stderr);
    throw new DockerCommandError(`docker ${args.join(' ')} failed: ${why}`, { cause: r.error ?? r.stderr?.toString() });
  }
  return r.stdout.toString('utf8').trim();
}

let availability: { ok: boolean; why: string } | undefined;

/** Whether `docker info` works (cached: it does not change during a run). */
export function dockerAvailable(): { ok: boolean; why: string } {
  if (availability !== undefined) return availability;
  const r = run('docker', ['info', '--format', '{{.ServerVersion}}'], undefined, 15_000);
  if (r.error !== undefined) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    availability = { ok: false, why: missing ? 'the docker CLI is not installed' : `docker info: ${r.error.message}` };
  } else if (r.status !== 0) {
    availability = { ok: false, why: `docker info failed: ${oneLine(r.stderr) || `exit ${String(r.status)}`}` };
  } else {
    availability = { ok: true, why: `dockerd ${r.stdout.toString().trim()}` };
  }
  return availability;
}

/**
 * The image recipe (same as .ci/run): a rootfs holding /bin/busybox from busybox-static and a symlink per applet,
 * `tar | docker import -c 'CMD ["/bin/sh"]' - TAG`.
 */
export function buildTestImage(tag: string = TEST_IMAGE): void {
  if (!existsSync(BUSYBOX)) {
    throw new DockerCommandError(`${BUSYBOX} is missing: install busybox-static (apt-get install busybox-static)`);
  }
  const root = mkdtempSync(join(tmpdir(), 'bubble-rootfs-'));
  try {
    for (const dir of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root']) mkdirSync(join(root, dir));
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    const listed = run(BUSYBOX, ['--list']);
    const applets = new Set(REQUIRED_APPLETS);
    if (listed.status === 0) for (const a of listed.stdout.toString().split('\n')) if (/^[\w.[-]+$/.test(a)) applets.add(a);
    applets.delete('busybox');
    for (const a of applets) symlinkSync('busybox', join(root, 'bin', a));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const tar = run('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', root, '-c', '.']);
    if (tar.error !== undefined || tar.status !== 0) {
      throw new DockerCommandError(`tar of the test rootfs failed: ${tar.error?.message ?? oneLine(tar.stderr)}`);
    }
    docker(['import', '-c', 'CMD ["/bin/sh"]', '-', tag], { input: tar.stdout });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Builds TEST_IMAGE if missing (a local `docker import`, no registry). */
export function ensureTestImage(): void {
  const r = run('docker', ['image', 'inspect', '--format', '{{.Id}}', TEST_IMAGE], undefined, 30_000);
  if (r.error === undefined && r.status === 0) return;
  buildTestImage(TEST_IMAGE);
}

/** `docker run -d --name NAME [limits] [extra] TEST_IMAGE CMD`; returns the full id and the host pid of its init. */
export function runContainer(
  name: string,
  cmd: readonly string[],
  opts: { memory?: string; cpus?: string; extra?: readonly string[] } = {},
): { id: string; pid: number } {
  const args = ['run', '-d', '--name', name];
  if (opts.memory !== undefined) args.push('--memory', opts.memory);
  if (opts.cpus !== undefined) args.push('--cpus', opts.cpus);
  args.push(...(opts.extra ?? []), TEST_IMAGE, ...cmd);
  const id = docker(args);
  if (!/^[0-9a-f]{64}$/.test(id)) throw new DockerCommandError(`docker run printed no container id: ${id}`);
  // Pid is 0 once the container has exited (a short command may already be done): that is still a valid answer.
  const pid = Number.parseInt(docker(['inspect', '--format', '{{.State.Pid}}', id]), 10);
  return { id, pid: Number.isFinite(pid) ? pid : 0 };
}

/** `docker rm -f NAME`, ignoring "no such container" (already gone is the goal). */
export function removeContainer(name: string): void {
  const r = run('docker', ['rm', '-f', name], undefined, 60_000);
  if (r.error === undefined && r.status === 0) return;
  const err = r.stderr?.toString() ?? '';
  if (/no such container/i.test(err)) return;
  throw new DockerCommandError(`docker rm -f ${name} failed: ${r.error?.message ?? oneLine(r.stderr)}`, {
    cause: r.error ?? err,
  });
}

/** `prefix` + a random suffix: parallel or leftover runs don't clash on names. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
}
