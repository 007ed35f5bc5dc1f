/**
 * The network pane names the container at the other end of a socket: two real containers on a user network, one
 * connected to the other, sampled by the real Monitor (procfs sockets) with the real DockerWatcher (NetworkSettings),
 * read through the LiveSource the TUI reads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerWatcher } from '../../src/collectors/docker.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { openStore } from '../../src/store/database.js';
import { StoreReader } from '../../src/store/reader.js';
import { Recorder } from '../../src/store/recorder.js';
import { DEFAULT_RETENTION } from '../../src/store/tiers.js';
import { LiveSource } from '../../src/tui/live-source.js';
import { netLine } from '../../src/tui/rows.js';
import { docker, dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { isRoot, needReal } from '../helpers/real.js';

const avail = dockerAvailable();
const containers: string[] = [];
let network: string | undefined;

beforeAll(() => {
  if (avail.ok) ensureTestImage();
});

afterAll(() => {
  if (!avail.ok) return;
  for (const name of containers) removeContainer(name);
  if (network !== undefined) docker(['network', 'rm', network]);
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 15_000): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('peer naming in the network pane', () => {
  it('shows a connection to another container on this host by its name, from both ends', async (ctx) => {
    needReal(ctx, 'Docker', avail.ok, avail.why);
    needReal(ctx, 'root', isRoot, "other users' sockets (the containers' processes) need root");
    network = uniqueName('bubble-peers-net');
    docker(['network', 'create', network]);
    const server = uniqueName('bubble-peer-srv');
    const client = uniqueName('bubble-peer-cli');
    containers.push(server, client);
    // Each nc's stdin is a pipe held open: on EOF busybox nc closes the connection.
    runContainer(server, ['sh', '-c', 'sleep 600 | nc -l -p 8080'], { extra: ['--network', network] });
    const serverIp = docker(['inspect', '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, server]);
    expect(serverIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const { id: clientId } = runContainer(client, ['sh', '-c', `sleep 600 | nc ${serverIp} 8080`], { extra: ['--network', network] });

    const watcher = new DockerWatcher();
    await watcher.start({ events: false });
    const monitor = new Monitor({ intervalMs: 1000, docker: watcher, sampler: { descriptors: true } });
    const source = new LiveSource(monitor);
    try {
      // The client's nc, connected (the connect may take a moment after the container starts).
      const row = await waitFor(() => {
        const snapshot = monitor.tick();
        const nc = snapshot.processes.find((p) => p.containerKey === `docker:${clientId}` && p.comm === 'nc');
        if (nc === undefined) return undefined;
        return source.netOf(nc.key, undefined).find((s) => s.state === 'ESTABLISHED');
      });
      expect(row).toMatchObject({ protocol: 'tcp', remote: `${serverIp}:8080`, peer: server });
      expect(row!.fds.length).toBeGreaterThan(0);
      // On a narrow pane the remote end is kept, by name; the local end goes first.
      expect(netLine(row!, 40, false)).toContain(`→ ${server}`.slice(0, 20));
      expect(netLine(row!, 200, false)).toMatch(new RegExp(`ESTAB  \\d+\\.\\d+\\.\\d+\\.\\d+:\\d+ → ${server}:8080$`));

      // The server's end names the client.
      const serverRow = (() => {
        const snapshot = monitor.last!;
        const nc = snapshot.processes.find((p) => p.containerKey !== `docker:${clientId}` && p.comm === 'nc' && p.containerKey.startsWith('docker:'));
        return nc === undefined ? undefined : source.netOf(nc.key, undefined).find((s) => s.state === 'ESTABLISHED');
      })();
      expect(serverRow).toMatchObject({ local: `${serverIp}:8080`, peer: client });

      // Recorded, the addresses name the peer in the past too (replay, export).
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-peers-'));
      const store = openStore(path.join(tmp, 'bubble.db'));
      try {
        const recorder = new Recorder(store, DEFAULT_RETENTION);
        const snapshot = monitor.tick();
        recorder.record(snapshot);
        recorder.finish(snapshot);
        const peers = new StoreReader(store).peersAt(snapshot.timeMs);
        expect(peers.get(serverIp)).toBe(server);
      } finally {
        store.close();
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    } finally {
      source.close();
      monitor.close();
      watcher.stop();
    }
  }, 60_000);
});
