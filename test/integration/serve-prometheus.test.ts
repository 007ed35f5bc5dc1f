/**
 * A real Prometheus scrapes two `bubble serve` instances on loopback ports: both targets up, a burner container's
 * `rate(container_cpu_usage_seconds_total[30s])` through Prometheus's HTTP API within 15 % of its cgroup counter, and
 * promtool accepts a real scrape.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCgroupMounts } from '../../src/collectors/cgroups.js';
import { parseProcCgroup, resolveMembership } from '../../src/collectors/identity.js';
import { dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { needReal } from '../helpers/real.js';
import { get, startServe, stopServe, type RunningServe } from '../helpers/serve.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const available = dockerAvailable();
const havePrometheus = existsSync(PROMETHEUS) && existsSync(PROMTOOL);
const burnerName = uniqueName('bubble-serve-burner');
const dir = mkdtempSync(join(tmpdir(), 'bubble-serve-prom-'));
let burner = { id: '', pid: 0 };
const serves: RunningServe[] = [];
let prometheus: ChildProcess | undefined;
let promPort = 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The burner's own CPU counter, nanoseconds (v1 cpuacct.usage or v2 cpu.stat). */
function cgroupCpuNs(pid: number): number {
  const mounts = readCgroupMounts();
  const { paths } = resolveMembership(parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8')));
  const v1 = paths.v1['cpuacct'];
  if (v1 !== undefined && mounts.v1['cpuacct'] !== undefined) return Number(readFileSync(`${mounts.v1['cpuacct']}${v1}/cpuacct.usage`, 'utf8'));
  return Number(/usage_usec (\d+)/.exec(readFileSync(`${mounts.v2}${paths.v2}/cpu.stat`, 'utf8'))![1]) * 1000;
}

interface PromVector {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function query(expr: string, timeSec?: number): Promise<PromVector['data']['result']> {
  const params = new URLSearchParams({ query: expr, ...(timeSec !== undefined && { time: String(timeSec) }) });
  const reply = await get(`http://127.0.0.1:${promPort}/api/v1/query?${params}`);
  expect(reply.status).toBe(200);
  return (JSON.parse(reply.body) as PromVector).data.result;
}

beforeAll(async () => {
  if (!available.ok || !havePrometheus) return;
  ensureTestImage();
  burner = runContainer(burnerName, ['sh', '-c', 'while :; do :; done']);
  for (const name of ['a', 'b']) serves.push(await startServe(['--db', join(dir, `${name}.db`), '--interval', '1s']));
  promPort = await freePort();
  const targets = serves.map((s) => `'127.0.0.1:${s.port}'`).join(', ');
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: bubble\n    static_configs:\n      - targets: [${targets}]\n`,
  );
  prometheus = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`],
    { stdio: 'ignore' },
  );
  // Ready within 20 s (bounded).
  for (let i = 0; i < 80; i++) {
    const ready = await get(`http://127.0.0.1:${promPort}/-/ready`).catch(() => undefined);
    if (ready?.status === 200) break;
    await sleep(250);
  }
});

afterAll(async () => {
  prometheus?.kill('SIGKILL');
  for (const serve of serves) await stopServe(serve);
  if (available.ok) removeContainer(burnerName);
  rmSync(dir, { recursive: true, force: true });
});

describe('bubble serve under a real Prometheus', () => {
  it('both instances are up as targets, and the rate of the burner is within 15 % of its cgroup counter', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    needReal(ctx, 'Prometheus', havePrometheus, `${PROMETHEUS} or ${PROMTOOL} is missing`);
    // A full 30 s window of scrapes: the cgroup counter read at its two ends.
    await sleep(3000);
    const c0 = cgroupCpuNs(burner.pid);
    const t0 = Date.now();
    await sleep(30_000);
    const c1 = cgroupCpuNs(burner.pid);
    const t1 = Date.now();
    const cgroupRate = (c1 - c0) / 1e6 / (t1 - t0);
    expect(cgroupRate).toBeGreaterThan(0.3);

    const up = await query('up{job="bubble"}');
    expect(up.map((r) => r.metric['instance']).sort()).toEqual(serves.map((s) => `127.0.0.1:${s.port}`).sort());
    expect(up.every((r) => r.value[1] === '1')).toBe(true);

    const rates = await query(`rate(container_cpu_usage_seconds_total{name="${burnerName}"}[30s])`, t1 / 1000);
    expect(rates).toHaveLength(2);
    for (const r of rates) {
      expect(r.metric).toMatchObject({ name: burnerName, image: 'bubble-test/busybox:latest', kind: 'docker' });
      expect(r.metric['id']).toContain(burner.id);
      expect(Math.abs(Number(r.value[1]) - cgroupRate)).toBeLessThanOrEqual(0.15 * cgroupRate);
    }
    // Its top process is exposed by pid and comm, never with its command line.
    const top = await query(`bubble_process_cpu_usage_seconds_total{name="${burnerName}"}`);
    expect(top.length).toBeGreaterThan(0);
    expect(top[0]!.metric).toMatchObject({ comm: 'sh', pid: String(burner.pid) });
    expect(Object.keys(top[0]!.metric)).not.toContain('cmdline');
  }, 90_000);

  it('promtool check metrics accepts a real scrape', async (ctx) => {
    needReal(ctx, 'Prometheus', havePrometheus, `${PROMETHEUS} or ${PROMTOOL} is missing`);
    needReal(ctx, 'Docker', available.ok, available.why);
    const scrape = await get(`${serves[0]!.url}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(scrape.body).toContain(`name="${burnerName}"`);
    expect(scrape.body).toMatch(/^bubble_ticks_total \d+$/m);
    const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: scrape.body, encoding: 'utf8', timeout: 30_000 });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
