/**
 * Sessions of the shipped `bubble record` (dist/bundle/bubble.js) on one real SQLite file: three short sessions
 * inside one minute, ended by SIGINT, by kill -9 and by SIGHUP, then a fourth that recovers what the killed ones left.
 * Every tier must hold the same CPU time, bytes and samples as the second rows (conservation across tiers), every
 * minute must hold all of its seconds, and a partial minute's CPU% must be over the seconds it sampled.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { bubble, Children, jsonLines, startBubble } from '../helpers/cli.js';
import { isRoot, needReal } from '../helpers/real.js';
import { openStore } from '../../src/store/database.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-record-sessions-'));
const children = new Children();

afterAll(() => {
  children.killAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Json = Record<string, unknown>;

/** Runs one recorder for `ms` after it announced itself, then stops it with `signal`; resolves with its exit status. */
async function runSession(db: string, signal: NodeJS.Signals, ms: number): Promise<number> {
  const rec = startBubble(['record', '--db', db, '--interval', '0.25s']);
  await rec.waitFor('recording to');
  await sleep(ms);
  rec.child.kill(signal);
  return rec.exited();
}

describe('bubble record sessions on one store', () => {
  it('three sessions in one minute (SIGINT, kill -9, SIGHUP) add up in every tier', async (ctx) => {
    needReal(ctx, 'root', isRoot, 'the recorder reads every process');
    const db = path.join(tmp, 'three', 'bubble.db');
    const burner = children.burner();
    // Start early in a minute so the three sessions (about 4 s each) share it.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 20_000) await sleep(60_000 - intoMinute + 500);

    expect(await runSession(db, 'SIGINT', 2500)).toBe(0);
    expect(await runSession(db, 'SIGKILL', 2500)).toBe(137);
    // SIGHUP (a closed terminal) stops record like SIGINT: it writes its open minute and ends its session itself.
    expect(await runSession(db, 'SIGHUP', 2500)).toBe(0);
    const fourth = await bubble(['record', '--db', db, '--interval', '0.25s', '--duration', '1s']);
    expect(fourth.status, fourth.stderr).toBe(0);

    const store = openStore(db, { readonly: true });
    let sharedMinute = 0;
    try {
      // Conservation: each tier holds exactly what the second rows hold.
      const sums = (table: string, tier: number): Json =>
        store.db
          .prepare(
            table === 'container_series'
              ? `SELECT sum(cpu_ns) cpu, sum(read_bytes) rd, sum(write_bytes) wr, sum(net_rx_bytes) rx, sum(net_tx_bytes) tx, sum(samples) n, sum(sampled_ms) ms
                   FROM container_series WHERE tier = ?`
              : `SELECT sum(cpu_ns) cpu, sum(read_bytes) rd, sum(write_bytes) wr FROM process_series WHERE tier = ?`,
          )
          .get(tier) as Json;
      for (const table of ['container_series', 'process_series']) {
        const seconds = sums(table, 0);
        expect(seconds.cpu as number).toBeGreaterThan(1e9); // the burner alone burns about a core
        for (const tier of [1, 2, 3]) expect(sums(table, tier), `${table} tier ${tier}`).toEqual(seconds);
      }
      // Per minute and container: the minute row holds every session's seconds, samples included.
      const mismatched = store.db
        .prepare(
          `SELECT m.bucket, m.container_id, m.cpu_ns, m.samples, s.cpu, s.n FROM container_series m
             JOIN (SELECT bucket - bucket % 60000 AS minute, container_id, sum(cpu_ns) AS cpu, sum(samples) AS n
                     FROM container_series WHERE tier = 0 GROUP BY minute, container_id) s
               ON s.minute = m.bucket AND s.container_id = m.container_id
            WHERE m.tier = 1 AND (m.cpu_ns <> s.cpu OR m.samples <> s.n)`,
        )
        .all();
      expect(mismatched).toEqual([]);
      const sessions = store.db.prepare('SELECT started, last_tick, ended FROM sessions ORDER BY id').all() as {
        started: number;
        last_tick: number;
        ended: number | null;
      }[];
      expect(sessions).toHaveLength(4);
      expect(sessions.every((s) => s.ended !== null)).toBe(true);
      const minuteOf = (t: number): number => Math.floor(t / 60_000);
      expect(new Set(sessions.slice(0, 3).flatMap((s) => [minuteOf(s.started), minuteOf(s.last_tick)])).size).toBe(1);
      sharedMinute = minuteOf(sessions[0]!.started) * 60_000;
    } finally {
      store.close();
    }

    // The shared minute is partial (about 12 s sampled): the burner's CPU% is over the sampled seconds, the same rate
    // its second rows give (each second's CPU over that second's sampled time), not the minute's CPU over 60 s.
    const minute = jsonLines((await bubble(['export', '--json', '--db', db, '--what', 'processes', '--tier', 'minute'])).stdout).filter(
      (r) => r.pid === burner.pid,
    );
    const seconds = jsonLines((await bubble(['export', '--json', '--db', db, '--what', 'processes', '--tier', 'second'])).stdout).filter(
      (r) => r.pid === burner.pid && Math.floor(Date.parse(String(r.time)) / 60_000) * 60_000 === sharedMinute && (r.cpu_percent as number) > 0,
    );
    const shared = minute.find((r) => Date.parse(String(r.time)) === sharedMinute)!;
    expect(shared).toBeDefined();
    expect(seconds.length).toBeGreaterThan(5);
    const cpu = seconds.reduce((a, r) => a + (r.cpu_seconds as number), 0);
    const sampled = seconds.reduce((a, r) => a + ((r.cpu_seconds as number) / (r.cpu_percent as number)) * 100, 0);
    expect(shared.cpu_percent as number).toBeCloseTo((cpu / sampled) * 100, 0);
    expect(shared.cpu_percent as number).toBeGreaterThan(3 * ((shared.cpu_seconds as number) / 60) * 100);
  }, 150_000);
});
