/**
 * Container network bytes are read per network namespace, through a process sure to live. A real client container runs
 * a wget loop (and a few echo processes between downloads) against a real httpd container: its short-lived processes are the ones listed first once pids wrap
 * (forced here by writing the kernel's ns_last_pid below the client's shell: what pid_max 32768 does on a busy host),
 * and a read through one of them failed as soon as it exited, losing the interval's bytes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sampler } from '../../src/collectors/sampler.js';
import { parseNetDev } from '../../src/collectors/procfs.js';
import { readSeconds } from '../../src/model/read-time.js';
import type { Sample } from '../../src/model/sample.js';
import { docker, dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { isRoot, needReal } from '../helpers/real.js';

const available = dockerAvailable();
const serverName = uniqueName('bubble-httpd');
const clientName = uniqueName('bubble-wget');
let client = { id: '', pid: 0 };

beforeAll(async () => {
  if (!available.ok || !isRoot) return;
  ensureTestImage();
  runContainer(serverName, ['sh', '-c', 'mkdir -p /www && dd if=/dev/zero of=/www/f bs=1k count=32 2>/dev/null && exec httpd -f -p 8080 -h /www']);
  const ip = docker(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', serverName]);
  client = runContainer(clientName, [
    'sh',
    '-c',
    `while true; do wget -q -O /dev/null http://${ip}:8080/f; for i in 1 2 3 4 5 6; do /bin/echo >/dev/null; done; done`,
  ]);
  // The next pids go below the client's shell, as after a wrap: the wget children are now the container's lowest.
  writeFileSync('/proc/sys/kernel/ns_last_pid', '300');
  await sleep(500);
});

afterAll(() => {
  if (!available.ok || !isRoot) return;
  removeContainer(clientName);
  removeContainer(serverName);
});

const netDev = (pid: number): { rxBytes: number; txBytes: number } => parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'utf8'));

describe('container network bytes', () => {
  it('are read every tick of a container of short-lived processes, and add up to the namespace counters', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    needReal(ctx, 'root', isRoot, 'writing ns_last_pid needs root');
    const key = `docker:${client.id}`;
    const sampler = new Sampler();
    const samples: Sample[] = [];
    try {
      // The namespace's own counters, read through the client's shell right after the first and the last tick.
      samples.push(sampler.sample());
      const before = netDev(client.pid);
      for (let i = 1; i < 20; i++) {
        await sleep(100);
        samples.push(sampler.sample());
      }
      const after = netDev(client.pid);
      const containers = samples.map((s) => s.containers.get(key));
      // The wget loop really ran in the container, with pids below its shell's.
      expect(containers.every((c) => c !== undefined)).toBe(true);
      const lowest = samples.map((s) => Math.min(...s.containers.get(key)!.processKeys.map((k) => s.processes.get(k)!.pid)));
      expect(lowest.some((pid) => pid < client.pid)).toBe(true);
      for (const c of containers) {
        expect(c!.netRxBytes).toBeTypeOf('number');
        expect(c!.netTxBytes).toBeTypeOf('number');
        expect(c!.netMonoNs).toBeTypeOf('number');
      }
      let rx = 0;
      for (let i = 1; i < containers.length; i++) {
        const delta = containers[i]!.netRxBytes! - containers[i - 1]!.netRxBytes!;
        expect(delta).toBeGreaterThanOrEqual(0);
        // A repeated read (every process left before it) carries no bytes and no time: the next interval has both.
        const seconds = readSeconds(containers[i]!.netMonoNs, containers[i - 1]!.netMonoNs, samples[i]!.monoNs, samples[i - 1]!.monoNs);
        if (seconds === 0) expect(delta).toBe(0);
        rx += delta;
      }
      const truth = after.rxBytes - before.rxBytes;
      expect(truth).toBeGreaterThan(1e6);
      expect(Math.abs(rx - truth)).toBeLessThanOrEqual(truth * 0.02);
    } finally {
      sampler.close();
    }
  });
});
