/**
 * A store holding 24 hours of a busy host, written directly with SQL (one transaction of prepared INSERTs: seconds,
 * where recording it would take a day). The file is made by openStore, so it has the real pragmas and migrations, and
 * its rows follow schema.ts as the recorder writes them:
 *
 * - second tier for the last hour, change-only: every container every second, the busy processes every second, each
 *   other process now and then (an idle process writes no row);
 * - minute tier for all 24 h: every container and every live process every minute;
 * - hour and day tiers: the closed buckets, rolled up from the minute rows in SQL (sums summed, averages averaged).
 *
 * Besides the long-lived processes, a few short-lived ones start and exit every hour, so readers see exited
 * processes too. Values come from a seeded PRNG: the same store on every run.
 */
import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { openStore } from '../src/store/database.js';
import { bucketStart, TIER_ID, TIER_MS } from '../src/store/tiers.js';

export interface HistorySpec {
  readonly hours: number;
  /** Docker-shaped containers; the host pseudo-container comes on top. */
  readonly containers: number;
  /** Long-lived processes, spread over the containers and the host. */
  readonly processes: number;
  /** Of those, how many are busy (a second row every second, tens of % CPU). */
  readonly busy: number;
  /** Short-lived processes started per hour (1 to 10 minutes each). */
  readonly churnPerHour: number;
  /** Chance per second that an idle process still writes a second row (a blip of CPU or a change of RSS). */
  readonly idleRowChance: number;
}

export const DEFAULT_HISTORY: HistorySpec = { hours: 24, containers: 9, processes: 300, busy: 10, churnPerHour: 10, idleRowChance: 0.01 };

export interface HistoryStore {
  readonly path: string;
  /** First and end (exclusive) of the recorded time. */
  readonly startMs: number;
  readonly endMs: number;
  /** Keys of the Docker containers (the container view's choices). */
  readonly containerKeys: readonly string[];
  readonly processes: number;
  readonly rows: Readonly<Record<'second' | 'minute' | 'hour' | 'day', number>>;
  readonly bytes: number;
  readonly writeMs: number;
}

/** mulberry32: small, fast, seeded. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Proc {
  id: number;
  container: number;
  firstSeen: number;
  /** Exit time, or undefined for a process alive at the end. */
  exit: number | undefined;
  /** Share of one core it uses on average. */
  load: number;
  rss: number;
  threads: number;
  busy: boolean;
}

const COMMANDS: readonly (readonly [string, string, string])[] = [
  ['nginx', '/usr/sbin/nginx', 'nginx: worker process'],
  ['postgres', '/usr/lib/postgresql/16/bin/postgres', 'postgres: checkpointer'],
  ['python3', '/usr/bin/python3.12', 'python3 -m gunicorn app:server --workers 4 --bind 0.0.0.0:8000'],
  ['node', '/usr/local/bin/node', 'node /srv/app/dist/server.js --port 3000'],
  ['java', '/opt/java/openjdk/bin/java', 'java -Xmx2g -jar /opt/app/service.jar --spring.profiles.active=prod'],
  ['redis-server', '/usr/local/bin/redis-server', 'redis-server *:6379'],
  ['bash', '/usr/bin/bash', 'bash /entrypoint.sh'],
  ['sleep', '/usr/bin/sleep', 'sleep 30'],
];

export function writeHistoryStore(path: string, spec: HistorySpec = DEFAULT_HISTORY, seed = 0x62756231): HistoryStore {
  const t0 = process.hrtime.bigint();
  const rand = prng(seed);
  const endMs = bucketStart('minute', Date.now());
  const startMs = endMs - spec.hours * TIER_MS.hour;
  const secondFrom = endMs - TIER_MS.hour;
  const store = openStore(path);
  const db = store.db;
  try {
    const insertContainer = db.prepare(
      `INSERT INTO containers (key, kind, cid, name, image, labels, cgroup, parent, user, memory_limit, cpu_limit, first_seen, last_seen)
       VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?) RETURNING id`,
    );
    const insertProcess = db.prepare(
      `INSERT INTO processes (container_id, pid, start_time, ppid, parent_id, nspid, comm, exe, cmdline, uid, user, first_seen, last_seen, exit_time)
       VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    );
    const containerRow = db.prepare(
      `INSERT INTO container_series (tier, bucket, container_id, cpu_ns, mem_avg, mem_max, read_bytes, write_bytes, net_rx_bytes, net_tx_bytes, pids_max, samples)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const processRow = db.prepare(
      `INSERT INTO process_series (tier, bucket, process_id, cpu_ns, rss_avg, rss_max, read_bytes, write_bytes, threads_max, samples)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const lastSeen = endMs - 1000; // refreshed by the writer every minute: live

    const containerIds: number[] = [];
    const containerKeys: string[] = [];
    const procs: Proc[] = [];
    let nextPid = 2000;

    const write = db.transaction(() => {
      // The host, then the Docker containers.
      containerIds.push((insertContainer.get('host', 'host', 'host', 'host', null, null, '/', null, null, startMs, lastSeen) as { id: number }).id);
      for (let i = 0; i < spec.containers; i++) {
        const cid = randomHex(rand, 64);
        const key = `docker:${cid}`;
        const labels = JSON.stringify({ 'com.docker.compose.project': 'shop', 'com.docker.compose.service': `svc${i}` });
        const row = insertContainer.get(
          key,
          'docker',
          cid,
          `shop-svc${i}-1`,
          `registry.example.com/shop/svc${i}:1.${i}.0`,
          labels,
          `/docker/${cid}`,
          (1 + (i % 4)) * 2 ** 30,
          i % 3 === 0 ? 2 : null,
          startMs,
          lastSeen,
        ) as { id: number };
        containerIds.push(row.id);
        containerKeys.push(key);
      }
      const addProcess = (container: number, firstSeen: number, exit: number | undefined, busy: boolean): void => {
        const [comm, exe, cmdline] = COMMANDS[Math.floor(rand() * COMMANDS.length)]!;
        const pid = nextPid++;
        const row = insertProcess.get(
          containerIds[container]!,
          pid,
          firstSeen - Math.floor(rand() * 86_400_000),
          1 + Math.floor(rand() * 1000),
          container === 0 ? null : 1 + Math.floor(rand() * 200),
          comm,
          exe,
          cmdline,
          0,
          'root',
          firstSeen,
          exit ?? lastSeen,
          exit ?? null,
        ) as { id: number };
        procs.push({
          id: row.id,
          container,
          firstSeen,
          exit,
          load: busy ? 0.2 + rand() * 0.6 : rand() * 0.005,
          rss: Math.floor((5 + rand() * 400) * 2 ** 20),
          threads: 1 + Math.floor(rand() * 16),
          busy,
        });
      };
      for (let i = 0; i < spec.processes; i++) addProcess(i % containerIds.length, startMs, undefined, i < spec.busy);
      for (let h = 0; h < spec.hours; h++) {
        for (let i = 0; i < spec.churnPerHour; i++) {
          const first = bucketStart('second', startMs + h * TIER_MS.hour + rand() * TIER_MS.hour);
          const exit = Math.min(first + Math.floor((1 + rand() * 9) * 60_000), lastSeen);
          addProcess(Math.floor(rand() * containerIds.length), first, exit, false);
        }
      }

      // One bucket of `size` ms for every container and every process alive in it.
      const bucket = (tier: number, at: number, size: number, secondTier: boolean): void => {
        const seconds = size / 1000;
        const cpu = new Array<number>(containerIds.length).fill(0);
        const mem = new Array<number>(containerIds.length).fill(0);
        const pids = new Array<number>(containerIds.length).fill(0);
        for (const p of procs) {
          if (p.firstSeen >= at + size || (p.exit !== undefined && p.exit < at)) continue;
          const cpuNs = Math.floor(p.load * (0.5 + rand()) * seconds * 1e9);
          const rss = Math.floor(p.rss * (0.95 + rand() * 0.1));
          cpu[p.container]! += cpuNs;
          mem[p.container]! += rss;
          pids[p.container]! += p.threads;
          // Change-only: an idle process writes a second row only now and then.
          if (secondTier && !p.busy && p.exit === undefined && rand() >= spec.idleRowChance) continue;
          const io = p.busy ? Math.floor(rand() * 65536 * seconds) : 0;
          processRow.run(tier, at, p.id, cpuNs, rss, Math.floor(rss * 1.05), io, io >> 1, p.threads, seconds);
        }
        for (let c = 0; c < containerIds.length; c++) {
          const net = c === 0 ? null : Math.floor(rand() * 200_000 * seconds);
          containerRow.run(
            tier,
            at,
            containerIds[c]!,
            cpu[c]!,
            mem[c]!,
            Math.floor(mem[c]! * 1.1),
            Math.floor(rand() * 100_000 * seconds),
            Math.floor(rand() * 400_000 * seconds),
            net,
            net === null ? null : net >> 2,
            pids[c]!,
            seconds,
          );
        }
      };
      for (let at = startMs; at < endMs; at += TIER_MS.minute) bucket(TIER_ID.minute, at, TIER_MS.minute, false);
      for (let at = secondFrom; at < endMs; at += TIER_MS.second) bucket(TIER_ID.second, at, TIER_MS.second, true);
      // Coarse tiers: closed buckets only (the rollup writes a bucket once it has ended), summed from the minutes.
      for (const tier of ['hour', 'day'] as const) rollUp(db, TIER_ID[tier], TIER_MS[tier], bucketStart(tier, endMs));
    });
    write();

    const count = (table: string, tier: number): number => db.prepare(`SELECT count(*) FROM ${table} WHERE tier = ?`).pluck().get(tier) as number;
    const rows = {
      second: count('container_series', 0) + count('process_series', 0),
      minute: count('container_series', 1) + count('process_series', 1),
      hour: count('container_series', 2) + count('process_series', 2),
      day: count('container_series', 3) + count('process_series', 3),
    };
    store.close(); // checkpoints the WAL into the file: its size is the store's
    return {
      path,
      startMs,
      endMs,
      containerKeys,
      processes: procs.length,
      rows,
      bytes: statSync(path).size,
      writeMs: Number(process.hrtime.bigint() - t0) / 1e6,
    };
  } finally {
    store.close();
  }
}

/** Container ids from the seeded PRNG too: the same store on every run, ids included. */
function randomHex(rand: () => number, length: number): string {
  let s = '';
  while (s.length < length) s += Math.floor(rand() * 16).toString(16);
  return s;
}

/** Buckets of `size` ending by `closedBefore`, from the minute rows: sums summed, averages averaged, maxima kept. */
function rollUp(db: Database.Database, tier: number, size: number, closedBefore: number): void {
  db.prepare(
    `INSERT INTO container_series (tier, bucket, container_id, cpu_ns, mem_avg, mem_max, read_bytes, write_bytes, net_rx_bytes, net_tx_bytes,
                                   pids_max, samples)
       SELECT ?, bucket / ${size} * ${size} AS b, container_id, sum(cpu_ns), CAST(avg(mem_avg) AS INTEGER), max(mem_max),
              sum(read_bytes), sum(write_bytes), sum(net_rx_bytes), sum(net_tx_bytes), max(pids_max), sum(samples)
         FROM container_series WHERE tier = ${TIER_ID.minute} AND bucket < ? GROUP BY b, container_id`,
  ).run(tier, closedBefore);
  db.prepare(
    `INSERT INTO process_series (tier, bucket, process_id, cpu_ns, rss_avg, rss_max, read_bytes, write_bytes, threads_max, samples)
       SELECT ?, bucket / ${size} * ${size} AS b, process_id, sum(cpu_ns), CAST(avg(rss_avg) AS INTEGER), max(rss_max),
              sum(read_bytes), sum(write_bytes), max(threads_max), sum(samples)
         FROM process_series WHERE tier = ${TIER_ID.minute} AND bucket < ? GROUP BY b, process_id`,
  ).run(tier, closedBefore);
}
