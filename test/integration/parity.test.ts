/**
 * Live/replay parity: the real Sampler (with descriptors) over real processes in a Docker-shaped cgroup this test
 * creates (a CPU burner, a sleeper holding a file and a TCP connection, one that execs, one that exits), for 9 ticks
 * at 1 s; every
 * live Snapshot is kept and recorded through a real Recorder into a temp SQLite file. Then each second is rebuilt
 * from the store (snapshotFromStore, filesFromStore, netFromStore) and compared field by field with what live showed
 * at that second.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sampler } from '../../src/collectors/sampler.js';
import type { Sample } from '../../src/model/sample.js';
import { toSnapshot, type ProcessView, type Snapshot } from '../../src/model/snapshot.js';
import { filesFromStore, netFromStore } from '../../src/store/access-queries.js';
import { openStore, type Store } from '../../src/store/database.js';
import { snapshotFromStore } from '../../src/store/history.js';
import { Recorder } from '../../src/store/recorder.js';
import { DEFAULT_RETENTION } from '../../src/store/tiers.js';
import { cgroupsWritable, makeTestCgroup, type TestCgroup } from '../helpers/cgroups.js';
import { needReal } from '../helpers/real.js';

const TICKS = 9;
const dockerId = randomBytes(32).toString('hex');
const KEY = `docker:${dockerId}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-parity-'));
const writable = cgroupsWritable();
const children: ChildProcess[] = [];
const pids: Record<'burner' | 'holder' | 'execer' | 'short', number> = { burner: 0, holder: 0, execer: 0, short: 0 };
let group: TestCgroup | undefined;
let server: net.Server | undefined;
let store: Store | undefined;
const live: Snapshot[] = [];

function start(command: string, args: readonly string[]): number {
  const child = spawn(command, args, { stdio: 'ignore' });
  children.push(child);
  group!.addPid(child.pid!);
  return child.pid!;
}

beforeAll(async () => {
  if (!writable.ok) return;
  group = makeTestCgroup(`/bubble-parity-${dockerId.slice(0, 6)}/docker/${dockerId}`);
  server = net.createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const file = path.join(tmp, 'held.log');
  pids.burner = start('sh', ['-c', 'while :; do :; done']);
  // bash's /dev/tcp: the sleeper holds fd 3 (a file, append) and fd 4 (a TCP connection) and never runs again.
  pids.holder = start('bash', ['-c', `exec 3>>${file}; exec 4<>/dev/tcp/127.0.0.1/${port}; exec sleep 60`]);
  // perl, then sleep: the same pid and start time with a new command after ~3.5 s (no fork: nothing exits). perl
  // holds a file it closes just before the exec: replay must not show it after, as live did not.
  const closed = path.join(tmp, 'closed.log');
  pids.execer = start('perl', ['-e', `open(my $f, ">>", "${closed}") or die; select(undef, undef, undef, 3.5); close($f); exec "sleep", "60"`]);
  await sleep(500);
  // Lives for the first few ticks: the tick that finds it gone lists it in `exited`, and so must replay.
  pids.short = start('sleep', ['3']);

  store = openStore(path.join(tmp, 'bubble.db'));
  const recorder = new Recorder(store, DEFAULT_RETENTION);
  const sampler = new Sampler({ descriptors: true });
  let previous: Sample | undefined;
  try {
    let next = Date.now();
    for (let i = 0; i < TICKS; i++) {
      const sample = sampler.sample();
      const snapshot = toSnapshot(sample, previous, live.at(-1));
      previous = sample;
      live.push(snapshot);
      recorder.record(snapshot);
      next += 1000;
      await sleep(Math.max(0, next - Date.now()));
    }
  } finally {
    sampler.close();
  }
  const { access: _written, ...last } = live.at(-1)!;
  recorder.finish(last);
}, 30_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  server?.close();
  store?.close();
  await sleep(200);
  await group?.remove();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Live snapshots with rates whose second holds no other tick: the ones a second bucket can rebuild exactly. */
function comparable(): Snapshot[] {
  const perSecond = new Map<number, number>();
  for (const s of live) perSecond.set(Math.floor(s.timeMs / 1000), (perSecond.get(Math.floor(s.timeMs / 1000)) ?? 0) + 1);
  return live.slice(1).filter((s) => perSecond.get(Math.floor(s.timeMs / 1000)) === 1);
}

const ours = (s: Snapshot): ProcessView[] => s.processes.filter((p) => Object.values(pids).includes(p.pid));

const liveFiles = (s: Snapshot, key: string): string[] =>
  (s.access ?? []).flatMap((o) => (o.kind === 'file' && o.processKey === key ? [`${o.path} ${o.mode}${o.deleted ? ' deleted' : ''}`] : [])).sort();
const liveSockets = (s: Snapshot, key: string): string[] =>
  (s.access ?? []).flatMap((o) => (o.kind === 'net' && o.processKey === key ? [`${o.protocol} ${o.local} ${o.remote} ${o.state}`] : [])).sort();

/** Whether the store knows the seconds each bucket sampled (container_series.sampled_ms, the store-sessions branch). */
const sampledSeconds = (): boolean =>
  (store!.db.prepare(`SELECT count(*) FROM pragma_table_info('container_series') WHERE name = 'sampled_ms'`).pluck().get() as number) > 0;

describe('live/replay parity', () => {
  it('replays each second as live showed it: processes, command, CPU, RSS, files and sockets', (ctx) => {
    needReal(ctx, 'writable cgroups', writable.ok, writable.why);
    const seconds = comparable();
    expect(seconds.length).toBeGreaterThanOrEqual(TICKS - 3);
    const memTotalBytes = live[0]!.host.memTotalBytes;
    let execSeen = false;
    let shortExited = false;
    for (const shown of seconds) {
      const replay = snapshotFromStore(store!.db, 'second', shown.timeMs, { memTotalBytes, containerKey: KEY })!;
      const at = new Date(shown.timeMs).toISOString();
      const livePs = ours(shown);
      const exitedKeys = (s: Snapshot): string[] => s.exited.processes.filter((p) => Object.values(pids).includes(p.pid)).map((p) => p.key);
      expect(exitedKeys(replay), at).toEqual(exitedKeys(shown));
      if (exitedKeys(shown).length > 0) shortExited = true;
      const replayPs = new Map(replay.processes.map((p) => [p.key, p]));
      expect([...replayPs.keys()].sort(), at).toEqual(livePs.map((p) => p.key).sort());
      for (const p of livePs) {
        const r = replayPs.get(p.key)!;
        const where = `${at} pid ${p.pid}`;
        for (const field of ['comm', 'cmdline', 'exe', 'user', 'ppid', 'rssBytes', 'threads', 'memPercent', 'startTimeMs'] as const) {
          expect([where, field, r[field]]).toEqual([where, field, p[field]]);
        }
        expect([where, r.interval]).toEqual([where, p.interval]);
        if (sampledSeconds()) expect(Math.abs(r.cpuPercent! - p.cpuPercent!), where).toBeLessThan(Math.max(1e-3 * p.cpuPercent!, 1e-9));
        expect([
          where,
          filesFromStore(store!.db, p.key, shown.timeMs)
            .map((f) => `${f.path} ${f.mode}${f.deleted ? ' deleted' : ''}`)
            .sort(),
        ]).toEqual([where, liveFiles(shown, p.key)]);
        expect([
          where,
          netFromStore(store!.db, p.key, shown.timeMs)
            .map((n) => `${n.protocol} ${n.local} ${n.remote} ${n.state}`)
            .sort(),
        ]).toEqual([where, liveSockets(shown, p.key)]);
        if (p.pid === pids.execer && p.comm === 'sleep') execSeen = true;
      }

      const c = shown.containers.find((x) => x.key === KEY)!;
      const rc = replay.containers.find((x) => x.key === KEY)!;
      for (const field of ['name', 'cpuSource', 'memoryBytes', 'memoryLimitBytes', 'memoryPercent', 'pids', 'processCount'] as const) {
        expect([at, field, rc[field]]).toEqual([at, field, c[field]]);
      }
      expect([at, rc.interval]).toEqual([at, c.interval]);
      if (sampledSeconds()) expect(Math.abs(rc.cpuPercent! - c.cpuPercent!), at).toBeLessThan(Math.max(1e-3 * c.cpuPercent!, 1e-9));
    }
    // The test saw what it is about: a burner burning, a held file and connection, and an exec.
    const burner = seconds.at(-1)!.processes.find((p) => p.pid === pids.burner)!;
    // Only that it burned: the machine is shared, so how much varies.
    expect(burner.cpuPercent).toBeGreaterThan(5);
    const holderKey = seconds.at(-1)!.processes.find((p) => p.pid === pids.holder)!.key;
    expect(liveFiles(seconds.at(-1)!, holderKey).some((f) => f.includes('held.log'))).toBe(true);
    expect(liveSockets(seconds.at(-1)!, holderKey).some((s) => s.includes('ESTABLISHED'))).toBe(true);
    expect(execSeen).toBe(true);
    expect(shortExited).toBe(true);
    expect(ours(live[1]!).some((p) => p.pid === pids.short)).toBe(true);
    expect(ours(live[1]!).find((p) => p.pid === pids.execer)!.comm).toBe('perl');
    const execerKey = ours(live[1]!).find((p) => p.pid === pids.execer)!.key;
    expect(liveFiles(live[1]!, execerKey).some((f) => f.includes('closed.log'))).toBe(true);
    expect(liveFiles(seconds.at(-1)!, execerKey).some((f) => f.includes('closed.log'))).toBe(false);
  }, 30_000);
});
