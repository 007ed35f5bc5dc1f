/**
 * `bubble report` on what a real `bubble record` stored of real Docker containers: one with `--cpus 1 --memory 64m`
 * that allocates until the kernel OOM-kills it (exit 137), a client that fetched a page from a server container into
 * a file, and one that was running before the recorder started and after it stopped (recorded only in part).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bubble, startBubble } from '../helpers/cli.js';
import { docker, dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { isRoot, needReal } from '../helpers/real.js';

type Json = Record<string, unknown>;
const available = dockerAvailable();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-report-'));
const db = path.join(tmp, 'store.db');
const oomName = uniqueName('bubble-report-oom');
const serverName = uniqueName('bubble-report-server');
const clientName = uniqueName('bubble-report-client');
const partName = uniqueName('bubble-report-part');
let serverIp = '';
let recordStatus = -1;
/** `record` as root takes kernel events from bpftrace when it is installed: processes' exit codes come from there. */
const bpftrace = spawnSync('bpftrace', ['--version']).status === 0;

// Appends 1 MiB to a shell variable every 50 ms: memory climbs for ~2 s, so the 0.2 s ticks see it near the limit.
const ALLOCATE = 'sleep 1; c=$(head -c 1048576 /dev/zero | tr "\\0" a); x=; while :; do x="$x$c"; sleep 0.05; done';
// Answers one request and holds the connection 3 s, so the recorder's ticks see the client's socket and its file.
const SERVE = 'while :; do (printf "HTTP/1.0 200 OK\\r\\n\\r\\nhello\\n"; sleep 3) | nc -l -p 8080; done';

beforeAll(async () => {
  if (!available.ok || !isRoot) return;
  ensureTestImage();
  runContainer(partName, ['sleep', '60']);
  await sleep(3000);
  const recorder = startBubble(['record', '--db', db, '--interval', '0.2s', '--duration', '12s']);
  await recorder.waitFor('recording to');
  runContainer(oomName, ['sh', '-c', ALLOCATE], { cpus: '1', memory: '64m' });
  runContainer(serverName, ['sh', '-c', SERVE]);
  serverIp = docker(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', serverName]);
  runContainer(clientName, ['sh', '-c', `sleep 1; wget -O /tmp/page.html http://${serverIp}:8080/; sleep 2`]);
  recordStatus = await recorder.exited();
}, 60_000);

afterAll(() => {
  for (const name of [oomName, serverName, clientName, partName]) removeContainer(name);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ready = (ctx: Parameters<typeof needReal>[0]): void => {
  needReal(ctx, 'Docker', available.ok, available.why);
  needReal(ctx, 'root', isRoot, 'recording needs root');
};

async function reportJson(name: string): Promise<Json> {
  const run = await bubble(['report', name, '--db', db, '--json']);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Json;
}

describe('bubble report', () => {
  it('shows the OOM kill, the memory peak near the 64M limit, exit 137 and CPU efficiency against 1 core', async (ctx) => {
    ready(ctx);
    expect(recordStatus).toBe(0);
    expect(docker(['inspect', '--format', '{{.State.OOMKilled}} {{.State.ExitCode}}', oomName])).toBe('true 137');
    const r = await reportJson(oomName);
    expect(r).toMatchObject({ name: oomName, kind: 'docker', exit_code: 137, running: false, oom_kills: 1, cpu_limit_cores: 1 });
    expect(r['memory_limit_bytes']).toBe(64 * 1024 * 1024);
    expect(r['memory_peak_bytes'] as number).toBeGreaterThan(0.6 * 64 * 1024 * 1024);
    expect(r['memory_peak_bytes'] as number).toBeLessThanOrEqual(64 * 1024 * 1024);
    // Efficiency is average cores over the limit: the same figure, one core allowed.
    expect(r['cpu_efficiency_percent']).toBeCloseTo((r['cpu_avg_cores'] as number) * 100, 0);
    expect(r['process_count'] as number).toBeGreaterThanOrEqual(2);
    // pid 1 is stored by what it exec'd into, not runc init, the command runc replaced (fails without the exec update).
    const commands = (r['top_cpu'] as Json[]).concat(r['top_memory'] as Json[]).map((p) => String(p['cmdline']));
    expect(commands).not.toContain('runc init');
    expect(commands.some((c) => c.startsWith('sh -c sleep 1; c=$(head'))).toBe(true);
    if (bpftrace) {
      // The allocating shell is the process the kernel killed: SIGKILL, 128 + 9, in its row of the top lists.
      const shell = (r['top_memory'] as Json[]).find((p) => String(p['cmdline']).startsWith('sh -c sleep 1; c=$(head'));
      expect(shell?.['exit_code']).toBe(137);
    }
    expect((r['sparklines'] as Json)['memory_bytes']).toEqual(expect.arrayContaining([expect.any(Number)]));

    const text = await bubble(['report', oomName, '--db', db]);
    expect(text.status).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    for (const l of lines) expect([...l].length, l).toBeLessThanOrEqual(80);
    expect(text.stdout).toContain('with code 137');
    expect(text.stdout).toContain('OOM-killed');
    expect(text.stdout).toMatch(/Memory {3}peak \d+M of 64M/);
    expect(text.stdout).toMatch(/efficiency \d+\.\d% of the allocation/);
    if (bpftrace) expect(text.stdout).toMatch(/^ +\d+ .* 137 {2}sh -c sleep 1; c=\$\(head/m);
    expect(lines.some((l) => /^memory +\|[▁-█ ]+\| \d+M$/.test(l))).toBe(true);
  });

  it('lists the file the client wrote and the server it fetched from', async (ctx) => {
    ready(ctx);
    const r = await reportJson(clientName);
    expect((r['files_written'] as Json[]).map((f) => f['path'])).toContain('/tmp/page.html');
    expect((r['endpoints'] as Json[]).map((e) => e['remote'])).toContain(`${serverIp}:8080`);
    expect((r['top_cpu'] as Json[]).concat(r['top_memory'] as Json[]).some((p) => String(p['cmdline']).startsWith('wget'))).toBe(true);
    const text = await bubble(['report', clientName, '--db', db]);
    for (const l of text.stdout.trimEnd().split('\n')) expect([...l].length, l).toBeLessThanOrEqual(80);
    expect(text.stdout).toMatch(/Files written:\n {2}\/tmp\/page\.html /);
    expect(text.stdout).toContain(`Remote endpoints:\n  tcp ${serverIp}:8080`);
  });

  it('says which part of a container recorded only in part is missing', async (ctx) => {
    ready(ctx);
    const r = await reportJson(partName);
    expect(r['exit_code']).toBeNull();
    const missing = (r['missing'] as string[]).join(' | ');
    expect(missing).toMatch(/its start: recording began \d+ s after/);
    expect(missing).toMatch(/its end: the recorder stopped while it still ran/);
  });

  it('answers an unknown name with one line naming candidates, and a range with no data with one line', async (ctx) => {
    ready(ctx);
    const unknown = await bubble(['report', 'no-such-container-xyz', '--db', db]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr.trimEnd().split('\n')).toHaveLength(1);
    // What the store recorded, not what runs: these containers exited.
    expect(unknown.stderr).toMatch(/no container or job "no-such-container-xyz" in the store .*: recorded: .*bubble-report-/);
    expect(unknown.stderr).not.toContain('running:');
    const later = await bubble(['report', oomName, '--db', db, '--since', String(Math.floor(Date.now() / 1000) + 3600)]);
    expect(later.status).toBe(1);
    expect(later.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(later.stderr).toMatch(/did not live in the range asked \(recorded .* to .*\)/);
    const backwards = await bubble(['report', oomName, '--db', db, '--since', '1 min ago', '--until', '2 min ago']);
    expect(backwards.status).toBe(2);
    expect(backwards.stderr).toMatch(/^bubble: --since \(.*\) is not before --until \(.*\)\n$/);
  });
});
