/**
 * DockerWatcher against the real dockerd: listing, the event stream (exit codes, rename, removal), a missing socket,
 * a broken stream (through a real unix-socket proxy we cut), and that stop() lets the process exit.
 * The pure parsers it relies on are tested in test/unit/docker.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DockerWatcher, parseDockerTime } from '../../src/collectors/docker.js';
import { TEST_IMAGE, docker, dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { needReal } from '../helpers/real.js';

const avail = dockerAvailable();
const created: string[] = [];
const watchers: DockerWatcher[] = [];

function container(prefix: string, cmd: readonly string[], extra: readonly string[] = []): { id: string; name: string } {
  const name = uniqueName(prefix);
  created.push(name);
  const { id } = runContainer(name, cmd, { extra });
  return { id, name };
}

function watcher(opts?: { socketPath?: string }): DockerWatcher {
  const w = new DockerWatcher(opts);
  watchers.push(w);
  return w;
}

/** Polls `pred` until true or `timeoutMs`; returns its last value so the assertion after it shows what was seen. */
async function waitFor(pred: () => boolean, timeoutMs = 15_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function inspectTime(id: string, field: 'StartedAt' | 'FinishedAt'): number | undefined {
  return parseDockerTime(docker(['inspect', '--format', `{{.State.${field}}}`, id]));
}

describe('DockerWatcher with real dockerd', () => {
  beforeAll(() => {
    if (avail.ok) ensureTestImage();
  });

  afterAll(() => {
    for (const w of watchers) w.stop();
    if (avail.ok) for (const name of created) removeContainer(name);
  });

  test('the first listing knows name, image, labels, state and start time', async (ctx) => {
    needReal(ctx, 'Docker', avail.ok, avail.why);
    const { id, name } = container('bubble-dw-list', ['sleep', '300'], ['--label', 'bubble.test=listing']);
    const w = watcher();
    await w.start({ events: false });
    expect(w.status).toEqual({ ok: true });
    const meta = w.get(id);
    expect(meta).toMatchObject({ name, image: TEST_IMAGE, state: 'running' });
    expect(meta?.labels).toEqual({ 'bubble.test': 'listing' });
    expect(meta?.startedAtMs).toBe(inspectTime(id, 'StartedAt'));
    expect(meta?.exitCode).toBeUndefined();
    expect(meta?.finishedAtMs).toBeUndefined();
    expect(w.all().get(id)).toBe(meta);
  });

  test('events: exit code, rename and removal arrive without re-listing', async (ctx) => {
    needReal(ctx, 'Docker', avail.ok, avail.why);
    const w = watcher();
    // The control: a watcher that only listed once never hears of a container created afterwards.
    const listedOnly = watcher();
    await Promise.all([w.start(), listedOnly.start({ events: false })]);
    expect(w.status.ok).toBe(true);
    let changes = 0;
    w.onChange(() => changes++);

    const { id, name } = container('bubble-dw-exit', ['sh', '-c', 'sleep 1; exit 3'], ['--label', 'bubble.test=events']);
    expect(await waitFor(() => w.get(id)?.labels?.['bubble.test'] === 'events')).toBe(true);
    expect(w.get(id)).toMatchObject({ name, image: TEST_IMAGE, labels: { 'bubble.test': 'events' } });
    expect(w.get(id)?.state).toMatch(/^(created|running|exited)$/);
    expect(await waitFor(() => w.get(id)?.state === 'exited')).toBe(true);
    const exited = w.get(id);
    expect(exited?.exitCode).toBe(3);
    expect(exited?.startedAtMs).toBeDefined();
    // finishedAt comes from the die event's time: within a second of what dockerd recorded.
    expect(Math.abs((exited?.finishedAtMs ?? 0) - (inspectTime(id, 'FinishedAt') ?? Infinity))).toBeLessThan(1000);
    expect(changes).toBeGreaterThan(0);
    expect(listedOnly.get(id)).toBeUndefined();

    const renamed = `${name}-renamed`;
    created.push(renamed);
    docker(['rename', name, renamed]);
    expect(await waitFor(() => w.get(id)?.name === renamed)).toBe(true);

    docker(['rm', renamed]);
    expect(await waitFor(() => w.get(id)?.state === 'removed')).toBe(true);
    expect(w.get(id)).toMatchObject({ name: renamed, exitCode: 3, image: TEST_IMAGE, labels: { 'bubble.test': 'events' } });
  });

  test('docker kill and docker stop -t 0 show as exited with the signal exit code', async (ctx) => {
    needReal(ctx, 'Docker', avail.ok, avail.why);
    const w = watcher();
    await w.start();
    const killed = container('bubble-dw-kill', ['sleep', '300']);
    const stopped = container('bubble-dw-stop', ['sleep', '300']);
    expect(await waitFor(() => w.get(killed.id)?.state === 'running' && w.get(stopped.id)?.state === 'running')).toBe(true);
    docker(['kill', killed.name]);
    docker(['stop', '-t', '0', stopped.name]);
    expect(await waitFor(() => w.get(killed.id)?.state === 'exited' && w.get(stopped.id)?.state === 'exited')).toBe(true);
    expect(w.get(killed.id)?.exitCode).toBe(137);
    expect(w.get(stopped.id)?.exitCode).toBe(137);
  });

  test('a missing socket: ok=false, one line naming the path, start() resolves at once', async () => {
    const path = join(tmpdir(), `bubble-no-docker-${process.pid}`, 'docker.sock');
    const w = watcher({ socketPath: path });
    const t0 = Date.now();
    await w.start({ timeoutMs: 5000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(w.status.ok).toBe(false);
    expect(w.status.message).toBe(`no Docker socket at ${path}: container names show as short ids (start dockerd or set DOCKER_HOST)`);
    expect(w.all().size).toBe(0);
  });

  test('a broken event stream reconnects and catches up', async (ctx) => {
    needReal(ctx, 'Docker', avail.ok, avail.why);
    // A real unix-socket proxy to dockerd whose connections we cut, as a dockerd restart or a proxy timeout would.
    const dir = mkdtempSync(join(tmpdir(), 'bubble-dw-proxy-'));
    const proxyPath = join(dir, 'docker.sock');
    const sockets = new Set<Socket>();
    const server: Server = createServer((client) => {
      const upstream = createConnection('/var/run/docker.sock');
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((r) => server.listen(proxyPath, r));
    try {
      const w = watcher({ socketPath: proxyPath });
      await w.start();
      expect(w.status.ok).toBe(true);
      for (const s of sockets) s.destroy();
      expect(await waitFor(() => !w.status.ok, 5000)).toBe(true);
      expect(w.status.message).toContain('reconnecting');
      const { id, name } = container('bubble-dw-reconnect', ['sleep', '300']);
      expect(await waitFor(() => w.get(id)?.name === name && w.status.ok)).toBe(true);
      // And the new stream is live: a change after the reconnect arrives too.
      docker(['kill', name]);
      expect(await waitFor(() => w.get(id)?.exitCode === 137)).toBe(true);
      w.stop();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('stop() ends the stream and lets the process exit', (ctx) => {
    needReal(ctx, 'Docker', avail.ok, avail.why);
    const dir = mkdtempSync(join(tmpdir(), 'bubble-dw-exit-'));
    try {
      const script = join(dir, 'watch.ts');
      const mod = fileURLToPath(new URL('../../src/collectors/docker.ts', import.meta.url));
      writeFileSync(
        script,
        [
          `import { DockerWatcher } from ${JSON.stringify(mod)};`,
          `const live = new DockerWatcher();`,
          `const missing = new DockerWatcher({ socketPath: ${JSON.stringify(join(dir, 'none.sock'))} });`,
          `await Promise.all([live.start(), missing.start()]);`,
          `live.onChange(() => {});`,
          `console.log(JSON.stringify({ live: live.status.ok, missing: missing.status.ok }));`,
          `if (process.argv[2] !== 'nostop') { live.stop(); missing.stop(); }`,
        ].join('\n'),
      );
      const viteNode = fileURLToPath(new URL('../../node_modules/.bin/vite-node', import.meta.url));
      const run = (arg: string, timeout: number): ReturnType<typeof spawnSync> =>
        spawnSync(viteNode, [script, arg], { timeout, encoding: 'utf8', killSignal: 'SIGKILL' });
      const ok = run('stop', 30_000);
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toContain('{"live":true,"missing":false}');
      expect(ok.signal).toBeNull();
      expect(ok.status).toBe(0);
      // The control: without stop() the live event stream keeps the process alive until the timeout kills it.
      expect(run('nostop', 4000).signal).toBe('SIGKILL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
