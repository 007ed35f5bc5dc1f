/**
 * `bubble serve`'s JSON APIs against real parts: cadvisor-companion's processes API on a real container (sort, limit,
 * count and interval honoured, its fields present, a burner's relativecpuusage near 100), and the store API on a store
 * serve recorded (a container that exited is listed with its exit time; series sums equal `bubble export`'s).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCgroupMounts } from '../../src/collectors/cgroups.js';
import { parseProcCgroup, resolveMembership } from '../../src/collectors/identity.js';
import { bubble } from '../helpers/cli.js';
import { docker, dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { needReal } from '../helpers/real.js';
import { get, startServe, stopServe, type RunningServe } from '../helpers/serve.js';

type Json = Record<string, unknown>;
interface Entry {
  timestamp: string;
  processes: { status: Json; stat: Json; cmdline: string; relativecpuusage: number; cgroup: string }[];
}

const available = dockerAvailable();
const appName = uniqueName('bubble-serve-app');
const shortName = uniqueName('bubble-serve-short');
const dir = mkdtempSync(join(tmpdir(), 'bubble-serve-api-'));
const db = join(dir, 'bubble.db');
let app = { id: '', pid: 0 };
let serve: RunningServe | undefined;
let burnerPid = 0;
const TICK_MS = 1000 / 100; // USER_HZ

/** NaN once the process is gone (the short-lived `yes` and `head` of the memory holder). */
function cpuMsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** The pids in the container's cgroup (v1 cpuacct or v2). */
function containerPids(pid: number): number[] {
  const mounts = readCgroupMounts();
  const { paths } = resolveMembership(parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8')));
  const v1 = paths.v1['cpuacct'];
  const dir = v1 !== undefined && mounts.v1['cpuacct'] !== undefined ? `${mounts.v1['cpuacct']}${v1}` : `${mounts.v2}${paths.v2}`;
  return readFileSync(`${dir}/cgroup.procs`, 'utf8').trim().split('\n').map(Number);
}

beforeAll(async () => {
  if (!available.ok) return;
  ensureTestImage();
  // A burner, a shell holding ~20 MB in a variable (the biggest RSS), and a sleeper.
  // (`: $x` after the sleep keeps the subshell from exec'ing sleep and dropping the variable.)
  app = runContainer(appName, ['sh', '-c', 'while :; do :; done & (x=$(yes | head -c 20000000); sleep 600; : $x) & sleep 600 & wait']);
  // The burner is the process of the container that uses the most CPU.
  const before = new Map(containerPids(app.pid).map((pid) => [pid, cpuMsOf(pid)]));
  await sleep(1500);
  const used = [...before].map(([pid, cpu]) => [pid, cpuMsOf(pid) - cpu] as const).filter(([, ms]) => Number.isFinite(ms));
  burnerPid = used.sort((a, b) => b[1] - a[1])[0]![0];
  serve = await startServe(['--db', db, '--interval', '1s']);
  // A short-lived container that burns a little CPU and exits while serve records.
  runContainer(shortName, ['sh', '-c', 'yes > /dev/null & sleep 2; kill $!']);
  // The history the companion's count and interval reach back into (4 s), and the short container's exit.
  await sleep(5000);
});

afterAll(async () => {
  await stopServe(serve);
  if (available.ok) {
    removeContainer(appName);
    removeContainer(shortName);
  }
  rmSync(dir, { recursive: true, force: true });
});

async function processes(name: string, params: string): Promise<Entry[]> {
  const reply = await get(`${serve!.url}/api/v1.0${name}/processes?${params}`);
  expect(reply.status, reply.body).toBe(200);
  expect(reply.headers['content-type']).toBe('application/json');
  return JSON.parse(reply.body) as Entry[];
}

describe("cadvisor-companion's API", () => {
  it("gives the top process by CPU with its fields, the burner's relativecpuusage near 100", async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const entries = await processes(`/docker/${app.id}`, 'sort=cpu&limit=1');
    expect(entries).toHaveLength(1);
    expect(Date.now() - Date.parse(entries[0]!.timestamp)).toBeLessThan(5000);
    const [top, ...more] = entries[0]!.processes;
    expect(more).toHaveLength(0);
    expect(top!.status).toMatchObject({ Name: 'sh', State: expect.stringMatching(/^R/), PPid: expect.any(Number), Tgid: top!.status['Pid'] });
    expect(top!.status).toHaveProperty('VoluntaryCtxtSwitches');
    expect(top!.status).toHaveProperty('CapBnd');
    expect(top!.stat).toMatchObject({ comm: '(sh)', state: 'R', pid: top!.status['Pid'], utime: expect.any(Number), starttime: expect.any(Number) });
    expect(top!.cmdline).toMatch(/^sh -c while/);
    expect(top!.cgroup).toContain(app.id);
    expect(top!.status['Pid']).toBe(burnerPid);
    // cadvisor-companion's meaning: its share of the container's CPU, which the burner takes nearly all of.
    expect(top!.relativecpuusage).toBeGreaterThan(85);
    expect(top!.relativecpuusage).toBeLessThanOrEqual(100);
  });

  it("answers its Nagios plugin's request as the plugin reads it (check_cadvisor.py -U: sort, limit=5, interval=30)", async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    // The plugin asks companion_url + "/api/v1.0" + <cAdvisor's container name> + "/processes" and reads, of the last
    // entry's processes: status.RealUid, stat.pid, relativecpuusage, status.VmRSS, status.VmSize, stat.state, cmdline.
    for (const sort of ['cpu', 'mem']) {
      const entries = await processes(`/docker/${app.id}`, new URLSearchParams({ sort, limit: '5', interval: '30' }).toString());
      const procs = entries.at(-1)!.processes;
      expect(procs.length).toBeGreaterThan(0);
      expect(procs.length).toBeLessThanOrEqual(5);
      for (const proc of procs) {
        expect(proc.status['RealUid']).toEqual(expect.any(Number));
        expect(proc.stat['pid']).toEqual(expect.any(Number));
        expect(proc.relativecpuusage).toEqual(expect.any(Number));
        expect(proc.status['VmRSS']).toEqual(expect.any(Number));
        expect(proc.status['VmSize']).toEqual(expect.any(Number));
        expect(proc.stat['state']).toEqual(expect.any(String));
        expect(proc.cmdline).toEqual(expect.any(String));
      }
      // Its ps-like line: "%(user)5d %(pid)5d %(cpu)5.1f %(mem)5.1f %(vsz)8d %(rss)8d %(state)6s %(command)s".
      if (sort === 'cpu') expect(procs[0]!.stat['pid']).toBe(burnerPid);
    }
  });

  it('sorts by memory and honours limit', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const [entry] = await processes(`/docker/${app.id}`, 'sort=mem&limit=3');
    const rss = entry!.processes.map((p) => p.stat['rss'] as number);
    expect(rss).toHaveLength(3);
    expect([...rss].sort((a, b) => b - a)).toEqual(rss);
    // The shell holding 20 MB comes first.
    expect(rss[0]! * 4096).toBeGreaterThan(10 * 1024 * 1024);
    // Without sort, every process of the container (limit applies only with sort, as in the README).
    const [all] = await processes(`/docker/${app.id}`, 'limit=1');
    expect(all!.processes.length).toBeGreaterThanOrEqual(4);
  });

  it('honours count and interval: entries oldest first, interval seconds apart, shares adding up to 100', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const three = await processes(`/docker/${app.id}`, 'count=3&interval=1&sort=cpu&limit=1');
    expect(three).toHaveLength(3);
    const times = three.map((e) => Date.parse(e.timestamp));
    for (let i = 1; i < times.length; i++) expect(Math.abs(times[i]! - times[i - 1]! - 1000)).toBeLessThan(300);
    const two = await processes(`/docker/${app.id}`, 'count=2&interval=2&sort=cpu&limit=1');
    expect(two).toHaveLength(2);
    expect(Math.abs(Date.parse(two[1]!.timestamp) - Date.parse(two[0]!.timestamp) - 2000)).toBeLessThan(300);
    expect(two[1]!.processes[0]!.relativecpuusage).toBeGreaterThan(85);
    // Without sort and limit, every process: the shares of the container's CPU add up to 100.
    const [all] = await processes(`/docker/${app.id}`, 'interval=2');
    expect(all!.processes.reduce((sum, p) => sum + p.relativecpuusage, 0)).toBeCloseTo(100, 0);
  });

  it('finds the container by the systemd-style name and by its Docker name; unknown is a JSON 404', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    for (const name of [`/system.slice/docker-${app.id}.scope`, `/${appName}`]) {
      const [entry] = await processes(name, 'sort=cpu&limit=1');
      expect(entry!.processes[0]!.cgroup).toContain(app.id);
    }
    const missing = await get(`${serve!.url}/api/v1.0/docker/${'0'.repeat(64)}/processes`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: expect.any(String) });
    const bad = await get(`${serve!.url}/api/v1.0/docker/${app.id}/processes?sort=pid`);
    expect(bad.status).toBe(400);
    expect(bad.body).not.toMatch(/\n\s+at /);
  });
});

describe('the store API', () => {
  it('lists live containers while recording', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const reply = await get(`${serve!.url}/api/v1/containers`);
    expect(reply.status).toBe(200);
    const rows = JSON.parse(reply.body) as Json[];
    expect(rows.find((r) => r['name'] === appName)).toMatchObject({ container: `docker:${app.id}`, kind: 'docker', id: app.id, live: true, exit_time: null });
  });

  it('lists an exited container with its exit time, and its series sum to what bubble export gives', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    // The short container is gone; serve stops (writing its buckets), and a read-only serve answers from the store.
    expect(await stopServe(serve)).toBe(0);
    serve = await startServe(['--db', db, '--no-record', '--interval', '1s']);
    const list = JSON.parse((await get(`${serve.url}/api/v1/containers`)).body) as Json[];
    const short = list.find((r) => r['name'] === shortName);
    expect(short).toMatchObject({ kind: 'docker', live: false, exit_time: expect.any(String) });
    expect(Date.parse(short!['exit_time'] as string)).toBeGreaterThan(Date.parse(short!['first_seen'] as string));
    const one = await get(`${serve.url}/api/v1/containers/${shortName}`);
    expect(JSON.parse(one.body)).toEqual(short);

    for (const [path, what] of [
      ['series', 'containers'],
      ['processes', 'processes'],
    ] as const) {
      const reply = await get(`${serve.url}/api/v1/containers/${encodeURIComponent(short!['container'] as string)}/${path}?tier=second`);
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toBe('application/x-ndjson');
      const api = reply.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Json);
      const exported = await bubble(['export', '--json', '--db', db, '--container', shortName, '--tier', 'second', '--what', what]);
      expect(exported.status).toBe(0);
      const rows = exported.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Json);
      expect(api.length).toBeGreaterThan(0);
      expect(api).toEqual(rows);
      const sum = (list: Json[]) => list.reduce((s, r) => s + (r['cpu_seconds'] as number), 0);
      expect(sum(api)).toBeGreaterThan(0.05);
    }
  });

  it('answers bad parameters and unknown containers with JSON errors', async (ctx) => {
    needReal(ctx, 'Docker', available.ok, available.why);
    const cases: [string, number][] = [
      ['/api/v1/containers/no-such-thing', 404],
      [`/api/v1/containers/${shortName}/series?tier=week`, 400],
      [`/api/v1/containers/${shortName}/series?since=yesterdayish`, 400],
      [`/api/v1/containers/${shortName}/series?bogus=1`, 400],
      [`/api/v1/containers/${shortName}/nothing`, 404],
      ['/nothing', 404],
    ];
    for (const [path, status] of cases) {
      const reply = await get(`${serve!.url}${path}`);
      expect(reply.status, path).toBe(status);
      expect(JSON.parse(reply.body)).toEqual({ error: expect.any(String) });
    }
    docker(['inspect', shortName]);
  });
});
