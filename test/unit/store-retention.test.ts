/**
 * Retention against a real store file with an injected clock: bounded pruning per tier, entity cleanup,
 * `bubble clean` deletions, and the retention settings (flags, config file).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BubbleError } from '../../src/errors/bubble-error.js';
import { UsageError } from '../../src/errors/usage-error.js';
import { parseDuration } from '../../src/model/duration.js';
import { openStore, type Store } from '../../src/store/database.js';
import { deleteContainers, keepFrom, loadConfig, parseRetention, pruneEntities, pruneStep } from '../../src/store/retention.js';
import { bucketStart, DEFAULT_RETENTION, type Retention, type Tier, TIER_ID, TIER_MS, TIERS } from '../../src/store/tiers.js';

const NOW = Date.UTC(2030, 0, 15, 12, 0, 0, 500); // mid-bucket on purpose
const SHORT: Retention = { second: 10_000, minute: 5 * 60_000, hour: 3 * 3_600_000, day: 3 * 86_400_000 };

let tmp: string;
let store: Store;
let db: Database.Database;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-retention-'));
  store = openStore(path.join(tmp, 'bubble.db'));
  db = store.db;
});

afterEach(() => {
  store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Entity {
  readonly id: number;
}

function addContainer(key: string, lastSeen: number, exitTime: number | null = null): Entity {
  const id = db
    .prepare(
      `INSERT INTO containers (key, kind, cid, name, cgroup, first_seen, last_seen, exit_time)
       VALUES (?, 'docker', ?, ?, ?, 0, ?, ?)`,
    )
    .run(key, key, key, `/docker/${key}`, lastSeen, exitTime).lastInsertRowid;
  return { id: Number(id) };
}

let nextPid = 100;
function addProcess(container: Entity, lastSeen: number, exitTime: number | null = null, parent?: Entity): Entity {
  const id = db
    .prepare(
      `INSERT INTO processes (container_id, pid, start_time, ppid, parent_id, comm, exe, cmdline, uid, user, first_seen, last_seen, exit_time)
       VALUES (?, ?, 1, 1, ?, 'sh', '/bin/sh', 'sh', 0, 'root', 0, ?, ?)`,
    )
    .run(container.id, nextPid++, parent?.id ?? null, lastSeen, exitTime).lastInsertRowid;
  return { id: Number(id) };
}

function addContainerRow(tier: Tier, bucket: number, container: Entity): void {
  db.prepare(`INSERT INTO container_series (tier, bucket, container_id, cpu_ns, read_bytes, write_bytes, samples) VALUES (?, ?, ?, 1, 0, 0, 1)`).run(
    TIER_ID[tier],
    bucket,
    container.id,
  );
}

function addProcessRow(tier: Tier, bucket: number, process: Entity): void {
  db.prepare(
    `INSERT INTO process_series (tier, bucket, process_id, cpu_ns, rss_avg, rss_max, read_bytes, write_bytes, threads_max, samples)
     VALUES (?, ?, ?, 1, 1, 1, 0, 0, 1, 1)`,
  ).run(TIER_ID[tier], bucket, process.id);
}

function buckets(table: 'container_series' | 'process_series', tier: Tier): number[] {
  return db.prepare(`SELECT DISTINCT bucket FROM ${table} WHERE tier = ? ORDER BY bucket`).pluck().all(TIER_ID[tier]) as number[];
}

function count(sql: string, ...params: unknown[]): number {
  return db
    .prepare(sql)
    .pluck()
    .get(...params) as number;
}

/** Every tier holds one bucket per bucket-width from now - 2 x retention up to now, for 2 containers x 2 processes. */
function fillTiers(): { containers: Entity[]; processes: Entity[] } {
  const containers = [addContainer('docker:a', NOW), addContainer('docker:b', NOW)];
  const processes = containers.flatMap((c) => [addProcess(c, NOW), addProcess(c, NOW)]);
  for (const tier of TIERS) {
    const size = TIER_MS[tier];
    for (let b = bucketStart(tier, NOW - 2 * SHORT[tier]); b <= NOW; b += size) {
      for (const c of containers) addContainerRow(tier, b, c);
      for (const p of processes) addProcessRow(tier, b, p);
    }
  }
  return { containers, processes };
}

describe('pruneStep', () => {
  it("removes each tier's rows older than its retention, keeps newer rows and the coarser tiers", () => {
    fillTiers();
    const before = Object.fromEntries(TIERS.map((t) => [t, buckets('process_series', t)]));
    let calls = 0;
    let result;
    do {
      result = pruneStep(db, NOW, SHORT, { maxBucketsPerStep: 3 });
      calls++;
    } while (!result.done && calls < 100);
    expect(result.done).toBe(true);
    for (const tier of TIERS) {
      const limit = keepFrom(tier, NOW, SHORT);
      // The bucket holding the cutoff stays: it is not wholly older than the retention.
      expect(limit).toBe(bucketStart(tier, NOW - SHORT[tier]));
      const kept = before[tier]!.filter((b) => b >= limit);
      expect(kept.length).toBeGreaterThan(0);
      expect(before[tier]!.length).toBeGreaterThan(kept.length);
      expect(buckets('process_series', tier)).toEqual(kept);
      expect(buckets('container_series', tier)).toEqual(kept);
      // Every entity's row in a kept bucket survived.
      expect(count(`SELECT count(*) FROM process_series WHERE tier = ?`, TIER_ID[tier])).toBe(kept.length * 4);
      expect(count(`SELECT count(*) FROM container_series WHERE tier = ?`, TIER_ID[tier])).toBe(kept.length * 2);
    }
    // A coarser tier keeps the times the finer one dropped.
    expect(buckets('process_series', 'minute')[0]).toBeLessThan(buckets('process_series', 'second')[0]!);
    expect(pruneStep(db, NOW, SHORT)).toEqual({ deletedRows: 0, done: true });
  });

  it('deletes at most maxBucketsPerStep buckets per tier and table per call, oldest first', () => {
    fillTiers();
    const before = Object.fromEntries(TIERS.map((t) => [t, buckets('container_series', t)]));
    const first = pruneStep(db, NOW, SHORT, { maxBucketsPerStep: 3 });
    expect(first.done).toBe(false);
    let expected = 0;
    for (const tier of TIERS) {
      const limit = keepFrom(tier, NOW, SHORT);
      const expired = before[tier]!.filter((b) => b < limit);
      const gone = expired.slice(0, 3);
      expect(buckets('container_series', tier)).toEqual(before[tier]!.filter((b) => !gone.includes(b)));
      expect(buckets('process_series', tier)).toEqual(before[tier]!.filter((b) => !gone.includes(b)));
      expected += gone.length * (2 + 4);
    }
    expect(first.deletedRows).toBe(expected);
  });

  it('counts buckets, not bucket-widths of gaps: a sparse (change-only) tier drains in bounded steps', () => {
    const c = addContainer('docker:a', NOW);
    const p = addProcess(c, NOW);
    const old = bucketStart('second', NOW - SHORT.second) - 1000 * 1000; // 1000 s before the cutoff
    const sparse = [old, old + 1000, old + 2000, old + 500_000, old + 999_000];
    for (const b of sparse) addProcessRow('second', b, p);
    const step = (): number => pruneStep(db, NOW, SHORT, { maxBucketsPerStep: 2 }).deletedRows;
    expect(step()).toBe(2); // old, old + 1 s
    expect(buckets('process_series', 'second')).toEqual(sparse.slice(2));
    expect(step()).toBe(1); // old + 2 s: the window [old + 2 s, old + 4 s) holds one bucket
    let calls = 2;
    while (!pruneStep(db, NOW, SHORT, { maxBucketsPerStep: 2 }).done) calls++;
    expect(buckets('process_series', 'second')).toEqual([]);
    expect(calls).toBeLessThan(1000);
  });

  it("nests inside the tick's own transaction and rolls back with it", () => {
    fillTiers();
    const rows = count(`SELECT count(*) FROM process_series`);
    expect(() =>
      db.transaction(() => {
        expect(pruneStep(db, NOW, SHORT).deletedRows).toBeGreaterThan(0);
        throw new Error('tick failed');
      })(),
    ).toThrow('tick failed');
    expect(count(`SELECT count(*) FROM process_series`)).toBe(rows);
    db.transaction(() => pruneStep(db, NOW, SHORT))();
    expect(count(`SELECT count(*) FROM process_series`)).toBeLessThan(rows);
  });
});

describe('pruneEntities', () => {
  it('deletes processes and containers that ended before the day retention once their rows are gone', () => {
    const longAgo = NOW - 5 * 86_400_000;
    const gone = addContainer('docker:gone', longAgo, longAgo);
    const goneProc = addProcess(gone, longAgo, longAgo);
    const host = addContainer('host', NOW);
    const child = addProcess(host, NOW, null, goneProc); // its recorded parent is about to go
    const stillRows = addProcess(host, longAgo, longAgo);
    addProcessRow('day', bucketStart('day', longAgo), stillRows);
    addProcessRow('day', bucketStart('day', NOW), child);
    const recentExit = addContainer('docker:recent', NOW - 3_600_000, NOW - 3_600_000);
    const lingering = addContainer('docker:lingering', longAgo, longAgo); // old, but a process of it is recent
    addProcess(lingering, NOW);

    // The day row of `stillRows` (and older) still exists: nothing whose rows may remain is deleted.
    expect(pruneEntities(db, NOW, SHORT)).toEqual({ containers: 0, processes: 0 });

    while (!pruneStep(db, NOW, SHORT).done);
    expect(pruneEntities(db, NOW, SHORT)).toEqual({ containers: 1, processes: 2 });
    const ids = (table: string): number[] => db.prepare(`SELECT id FROM ${table} ORDER BY id`).pluck().all() as number[];
    expect(ids('containers')).toEqual([host.id, recentExit.id, lingering.id]);
    expect(ids('processes')).not.toContain(goneProc.id);
    expect(ids('processes')).not.toContain(stillRows.id);
    expect(ids('processes')).toContain(child.id);
    expect(db.prepare(`SELECT parent_id FROM processes WHERE id = ?`).pluck().get(child.id)).toBeNull();
    expect(gone.id).not.toBe(host.id);
  });
});

describe('deleteContainers', () => {
  function populate(): Record<'old' | 'stale' | 'live', { c: Entity; ps: Entity[] }> {
    const day = 86_400_000;
    const make = (key: string, lastSeen: number, exitTime: number | null): { c: Entity; ps: Entity[] } => {
      const c = addContainer(key, lastSeen, exitTime);
      const ps = [addProcess(c, lastSeen, exitTime), addProcess(c, lastSeen, exitTime)];
      for (const tier of TIERS) {
        const b = bucketStart(tier, lastSeen);
        addContainerRow(tier, b, c);
        for (const p of ps) addProcessRow(tier, b, p);
        addContainerRow(tier, b - TIER_MS[tier], c);
        for (const p of ps) addProcessRow(tier, b - TIER_MS[tier], p);
      }
      return { c, ps };
    };
    return {
      old: make('docker:old', NOW - 100 * day, NOW - 100 * day), // exited 100 days ago
      stale: make('docker:stale', NOW - 95 * day, null), // never seen exiting, not seen for 95 days
      live: make('docker:live', NOW, null),
    };
  }

  function snapshot(entity: { c: Entity; ps: Entity[] }): unknown {
    const pIds = JSON.stringify(entity.ps.map((p) => p.id));
    return {
      c: db.prepare(`SELECT * FROM containers WHERE id = ?`).all(entity.c.id),
      p: db.prepare(`SELECT * FROM processes WHERE container_id = ? ORDER BY id`).all(entity.c.id),
      cs: db.prepare(`SELECT * FROM container_series WHERE container_id = ? ORDER BY tier, bucket`).all(entity.c.id),
      ps: db.prepare(`SELECT * FROM process_series WHERE process_id IN (SELECT value FROM json_each(?)) ORDER BY tier, bucket, process_id`).all(pIds),
    };
  }

  it('by age: removes containers that ended before the cutoff with every process and row, nothing else', () => {
    const all = populate();
    const live = snapshot(all.live);
    const result = deleteContainers(db, { olderThanMs: NOW - 90 * 86_400_000 });
    expect(result).toEqual({ containers: 2, processes: 4, rows: 2 * 4 * (1 + 2) * 2 });
    expect(db.prepare(`SELECT key FROM containers`).pluck().all()).toEqual(['docker:live']);
    expect(count(`SELECT count(*) FROM processes`)).toBe(2);
    expect(count(`SELECT count(*) FROM container_series`)).toBe(4 * 2);
    expect(count(`SELECT count(*) FROM process_series`)).toBe(4 * 2 * 2);
    expect(snapshot(all.live)).toEqual(live);
  });

  it('by key: removes only the named containers; with an age too, both must hold', () => {
    const all = populate();
    const old = snapshot(all.old);
    const live = snapshot(all.live);
    expect(deleteContainers(db, { keys: ['docker:stale', 'docker:nonexistent'] })).toEqual({ containers: 1, processes: 2, rows: 24 });
    expect(snapshot(all.old)).toEqual(old);
    expect(snapshot(all.live)).toEqual(live);
    expect(deleteContainers(db, { keys: ['docker:live'], olderThanMs: NOW - 90 * 86_400_000 })).toEqual({ containers: 0, processes: 0, rows: 0 });
    expect(snapshot(all.live)).toEqual(live);
    expect(deleteContainers(db, { keys: [] })).toEqual({ containers: 0, processes: 0, rows: 0 });
    expect(count(`SELECT count(*) FROM containers`)).toBe(2);
  });

  it('refuses to run without a filter', () => {
    populate();
    expect(() => deleteContainers(db, {})).toThrow(UsageError);
    expect(count(`SELECT count(*) FROM containers`)).toBe(3);
  });
});

describe('parseDuration y unit', () => {
  it('knows years of 365 days and weeks', () => {
    expect(parseDuration('1y')).toBe(365 * 86_400_000);
    expect(parseDuration('52w')).toBe(52 * 7 * 86_400_000);
  });
});

describe('parseRetention', () => {
  it('defaults, then config, then flags', () => {
    expect(parseRetention()).toEqual(DEFAULT_RETENTION);
    const config = { path: '/etc/bubble/config.json', keep: { second: '2h', day: '2y' } };
    expect(parseRetention({}, config)).toEqual({ ...DEFAULT_RETENTION, second: 7_200_000, day: 2 * 365 * 86_400_000 });
    expect(parseRetention({ keepSecond: '30m', keepHour: '52w' }, config)).toEqual({
      second: 1_800_000,
      minute: DEFAULT_RETENTION.minute,
      hour: 52 * 7 * 86_400_000,
      day: 2 * 365 * 86_400_000,
    });
  });

  it('rejects junk, zero, negative and unit-less flags with a usage error naming the flag', () => {
    for (const bad of ['abc', '0', '0h', '-2h', '30', '2x', '']) {
      let error: unknown;
      try {
        parseRetention({ keepDay: bad });
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(2);
      expect((error as UsageError).message).toBe(`--keep-day ${bad}: not a duration; give a positive number with a unit, like 2h, 30d, 52w or 1y`);
    }
  });

  it('rejects a period shorter than one bucket, and a finer tier kept longer than a coarser one', () => {
    expect(() => parseRetention({ keepHour: '30m' })).toThrow('--keep-hour 30m: shorter than one hour bucket; keep at least 1 hour');
    expect(() => parseRetention({ keepSecond: '3d' })).toThrow(
      '--keep-second 3d: the second tier would be kept longer (3d00h) than the minute tier (2d00h); keep coarser tiers at least as long',
    );
    expect(() => parseRetention({ keepDay: '1d' })).toThrow(UsageError);
    expect(parseRetention({ keepSecond: '3d', keepMinute: '3d' }).second).toBe(3 * 86_400_000);
  });

  it('names the config file, with exit code 1, for a bad value there', () => {
    const config = { path: '/etc/bubble/config.json', keep: { minute: 'soon' } };
    let error: unknown;
    try {
      parseRetention({}, config);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BubbleError);
    expect(error).not.toBeInstanceOf(UsageError);
    expect((error as BubbleError).message).toBe(
      '/etc/bubble/config.json has keep.minute "soon": not a duration; give a positive number with a unit, like 2h, 30d, 52w or 1y: fix it or remove it',
    );
    // A flag overrides the bad config value without reading it.
    expect(parseRetention({ keepMinute: '1d' }, config).minute).toBe(86_400_000);
  });
});

describe('loadConfig', () => {
  const write = (text: string): string => {
    const file = path.join(tmp, 'config.json');
    fs.writeFileSync(file, text);
    return file;
  };
  const failure = (file: string): BubbleError => {
    try {
      loadConfig(file);
    } catch (error) {
      expect(error).toBeInstanceOf(BubbleError);
      return error as BubbleError;
    }
    throw new Error('loaded');
  };

  it('a missing file means defaults', () => {
    const file = path.join(tmp, 'none', 'config.json');
    expect(loadConfig(file)).toEqual({ path: file, keep: {} });
    expect(parseRetention({}, loadConfig(file))).toEqual(DEFAULT_RETENTION);
  });

  it('reads keep per tier', () => {
    const file = write(JSON.stringify({ keep: { second: '2h', minute: '7d', hour: '90d', day: '1y' } }));
    const config = loadConfig(file);
    expect(config).toEqual({ path: file, keep: { second: '2h', minute: '7d', hour: '90d', day: '1y' } });
    expect(parseRetention({}, config)).toEqual({
      second: 7_200_000,
      minute: 7 * 86_400_000,
      hour: 90 * 86_400_000,
      day: 365 * 86_400_000,
    });
  });

  it('refuses malformed JSON, unknown keys and tiers, and non-strings, in one line naming the path and line', () => {
    const cases: [string, string][] = [
      ['{"keep": {"second": "2h",}}', 'line 1: is not valid JSON'],
      ['{\n  "keep": {\n    "second": "2h",\n  }\n}', 'line 4: is not valid JSON'],
      ['{\n  "keep": {}\n', 'line 3: is not valid JSON (it ends too early)'],
      ['{\n  "sort": {"containers": "name"},\n  "tier": minute\n}', 'line 3: is not valid JSON (stops at: minute)'],
      ['{"interval": "2s" "tier": "hour"}', 'line 1: is not valid JSON (stops at: "tier": "hour"})'],
      ['[]', 'must hold a JSON object'],
      ['{"kep": {}}', 'line 1: has an unknown key "kep" (known: keep, interval, tier, sort, color, columns, bpf)'],
      ['{\n  "interval": "2s",\n  "keep": {"seconds": "2h"}\n}', 'line 3: has an unknown tier "keep.seconds" (known: second, minute, hour, day)'],
      ['{"keep": {"day": 365}}', 'line 1: has "keep.day" that is not a duration string like "30d"'],
      ['{"keep": "1y"}', 'line 1: has "keep" that is not an object'],
      ['{\n"interval": "soon"}', 'line 2: has "interval" that is not a duration between 1ms and 1h'],
      ['{"tier": "week"}', 'line 1: has "tier" that is not one of second, minute, hour, day'],
      ['{\n\n"sort": {"processes": "rss"}}', 'line 3: has "sort.processes" that is not one of cpu, mem, io, pid, read, write, time, command'],
      ['{"sort": {"jobs": "cpu"}}', 'line 1: has an unknown list "sort.jobs" (known: containers, processes)'],
      ['{"color": "no"}', 'line 1: has "color" that is not true or false'],
      ['{"bpf": {"errors": "off"}}', 'line 1: has "bpf.errors" that is not true or false'],
      ['{"bpf": {\n"net": false}}', 'line 2: has an unknown key "bpf.net" (known: errors, files)'],
      ['{"bpf": {"errors": true,\n"files": "off"}}', 'line 2: has "bpf.files" that is not true or false'],
      ['{"bpf": true}', 'line 1: has "bpf" that is not an object like {"errors": false}'],
    ];
    for (const [text, what] of cases) {
      const file = write(text);
      const error = failure(file);
      expect(error.message.startsWith(`${file} ${what}`), error.message).toBe(true);
      expect(error.message.endsWith(': fix it or remove it')).toBe(true);
      expect(error.message).not.toContain('\n');
      expect(error.exitCode).toBe(1);
    }
  });

  it('reads the interval, tier, sort, colour and the bpftrace probes beside keep', () => {
    const file = write(
      JSON.stringify(
        {
          keep: { day: '2y' },
          interval: '2s',
          tier: 'minute',
          sort: { containers: 'pids', processes: 'write' },
          color: false,
          bpf: { errors: false, files: false },
        },
        null,
        2,
      ),
    );
    expect(loadConfig(file)).toEqual({
      path: file,
      keep: { day: '2y' },
      interval: '2s',
      tier: 'minute',
      sort: { containers: 'pids', processes: 'write' },
      color: false,
      bpf: { errors: false, files: false },
    });
    expect(loadConfig(write('{"bpf": {"files": false}}')).bpf).toEqual({ files: false });
  });

  it("reads the columns of each list, in their order, and refuses a name it does not know on that name's line", () => {
    const file = write(
      JSON.stringify({ sort: { containers: 'mem' }, columns: { containers: ['name', 'mem', 'cpu'], processes: ['pid', 'time', 'command'] } }, null, 2),
    );
    expect(loadConfig(file).columns).toEqual({ containers: ['name', 'mem', 'cpu'], processes: ['pid', 'time', 'command'] });
    const cases: [string, string][] = [
      [
        '{\n  "columns": {\n    "containers": [\n      "name",\n      "cpu",\n      "memory"\n    ]\n  }\n}',
        'line 6: has "columns.containers" where "memory" is not a column (known: name, kind, cpu, eff, mem, limit, net, blk, procs, threads, uptime, status, image)',
      ],
      // "uptime" is a container column: the line is the one in the processes' list, not the first "uptime".
      [
        '{"columns": {\n"containers": ["name", "uptime"],\n"processes": ["command",\n "uptime"]}}',
        'line 4: has "columns.processes" where "uptime" is not a column (known: pid,',
      ],
      ['{"columns": {"processes": [3]}}', 'line 1: has "columns.processes" where 3 is not a column (known: pid,'],
      ['{"columns": {"jobs": ["name"]}}', 'line 1: has an unknown list "columns.jobs" (known: containers, processes)'],
      ['{"columns": {"containers": "name,cpu"}}', 'line 1: has "columns.containers" that is not a list of column names like ["name", "kind", "cpu"]'],
      ['{"columns": {"containers": ["cpu", "mem"]}}', 'line 1: has "columns.containers" where "name" is missing (the column that names each row)'],
      ['{"columns": {"processes": ["command", "pid", "pid"]}}', 'line 1: has "columns.processes" where "pid" is named twice'],
      ['{"columns": ["name"]}', 'line 1: has "columns" that is not an object'],
    ];
    for (const [text, what] of cases) {
      const error = failure(write(text));
      expect(error.message.startsWith(`${path.join(tmp, 'config.json')} ${what}`), error.message).toBe(true);
      expect(error.message).not.toContain('\n');
    }
  });

  it('says so when the file cannot be read', () => {
    const error = failure(tmp); // a directory: EISDIR
    expect(error.message).toBe(`${tmp} cannot be read (EISDIR): fix it or remove it`);
  });
});

describe('file and network access retention', () => {
  function addAccess(process: Entity, lastSeen: number): void {
    db.prepare(
      `INSERT INTO file_access (process_id, path, mode, deleted, first_seen, last_seen, opens, source) VALUES (?, '/f', 'r', 0, ?, ?, 1, 'procfs')`,
    ).run(process.id, lastSeen - 1000, lastSeen);
    db.prepare(
      `INSERT INTO net_access (process_id, protocol, local, remote, state, first_seen, last_seen, opens, source)
       VALUES (?, 'tcp', '127.0.0.1:80', '0.0.0.0:0', 'LISTEN', ?, ?, 1, 'procfs')`,
    ).run(process.id, lastSeen - 1000, lastSeen);
  }

  it('pruneStep removes intervals last seen before the hour tier keeps, in bounded steps', () => {
    const c = addContainer('docker:acc', NOW);
    const p = addProcess(c, NOW);
    for (let i = 0; i < 2500; i++) addAccess(p, NOW - SHORT.hour - 60_000 - i);
    addAccess(p, NOW - SHORT.hour + 60_000);
    const first = pruneStep(db, NOW, SHORT);
    expect(first.done).toBe(false);
    expect(count('SELECT count(*) FROM file_access')).toBe(2501 - 2000);
    let steps = 1;
    while (!pruneStep(db, NOW, SHORT).done) steps++;
    expect(steps).toBeLessThan(5);
    expect(count('SELECT count(*) FROM file_access')).toBe(1);
    expect(count('SELECT count(*) FROM net_access')).toBe(1);
  });

  it('bubble clean and pruneEntities take the access rows of the processes they delete', () => {
    const day = 86_400_000;
    const gone = addContainer('docker:gone', NOW - 100 * day, NOW - 100 * day);
    const p = addProcess(gone, NOW - 100 * day, NOW - 100 * day);
    addAccess(p, NOW - 100 * day);
    const kept = addContainer('docker:kept', NOW);
    const q = addProcess(kept, NOW);
    addAccess(q, NOW);
    const result = deleteContainers(db, { keys: ['docker:gone'] });
    expect(result.processes).toBe(1);
    expect(result.rows).toBe(2);
    expect(count('SELECT count(*) FROM file_access WHERE process_id = ?', p.id)).toBe(0);
    expect(count('SELECT count(*) FROM net_access WHERE process_id = ?', q.id)).toBe(1);

    const old = addContainer('docker:old2', NOW - 100 * day, NOW - 100 * day);
    const r = addProcess(old, NOW - 100 * day, NOW - 100 * day);
    addAccess(r, NOW - 100 * day);
    pruneEntities(db, NOW, SHORT);
    expect(count('SELECT count(*) FROM processes WHERE id = ?', r.id)).toBe(0);
    expect(count('SELECT count(*) FROM file_access WHERE process_id = ?', r.id)).toBe(0);
  });
});
