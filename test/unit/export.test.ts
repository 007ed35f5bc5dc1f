import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors/usage-error.js';
import { matchContainer } from '../../src/model/match.js';
import { EXPORT_FIELDS, exportRows, type ExportOptions } from '../../src/store/export.js';
import { findStoredContainers, finestTierCovering, listStoredContainers, storedRange } from '../../src/store/queries.js';
import { MIGRATIONS } from '../../src/store/schema.js';
import { TIER_ID, type Tier } from '../../src/store/tiers.js';
import { jsonLines } from '../helpers/cli.js';

// ---- a store written by hand: a real SQLite file with the real migrations (the recorder is not needed to read) ----

type Db = Database.Database;

function createStore(dir: string): Db {
  const db = new Database(join(dir, 'bubble.db'));
  db.pragma('journal_mode = WAL');
  for (const [i, sql] of MIGRATIONS.entries()) {
    db.exec(sql);
    db.pragma(`user_version = ${i + 1}`);
  }
  return db;
}

interface ContainerIn {
  key: string;
  kind: string;
  cid: string;
  name: string;
  image?: string;
  labels?: Record<string, string>;
  cgroup: string;
  parent?: string;
  user?: string;
  firstSeen: number;
  lastSeen: number;
  exitTime?: number;
  exitCode?: number;
}

function addContainer(db: Db, c: ContainerIn): number {
  const info = db
    .prepare(
      `INSERT INTO containers (key, kind, cid, name, image, labels, cgroup, parent, user, first_seen, last_seen,
                               exit_time, exit_code)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      c.key,
      c.kind,
      c.cid,
      c.name,
      c.image ?? null,
      c.labels === undefined ? null : JSON.stringify(c.labels),
      c.cgroup,
      c.parent ?? null,
      c.user ?? null,
      c.firstSeen,
      c.lastSeen,
      c.exitTime ?? null,
      c.exitCode ?? null,
    );
  return Number(info.lastInsertRowid);
}

interface ProcessIn {
  containerId: number;
  pid: number;
  startTime: number;
  ppid: number;
  nspid?: number;
  comm: string;
  exe: string;
  cmdline: string;
  uid: number;
  user: string;
  firstSeen: number;
  lastSeen: number;
  exitTime?: number;
}

function addProcess(db: Db, p: ProcessIn): number {
  const info = db
    .prepare(
      `INSERT INTO processes (container_id, pid, start_time, ppid, nspid, comm, exe, cmdline, uid, user, first_seen,
                              last_seen, exit_time)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(p.containerId, p.pid, p.startTime, p.ppid, p.nspid ?? null, p.comm, p.exe, p.cmdline, p.uid, p.user, p.firstSeen, p.lastSeen, p.exitTime ?? null);
  return Number(info.lastInsertRowid);
}

interface ContainerSeriesIn {
  cpuNs: number;
  memAvg?: number;
  memMax?: number;
  read?: number;
  write?: number;
  rx?: number;
  tx?: number;
  pidsMax?: number;
  samples: number;
}

function addContainerSeries(db: Db, tier: Tier, bucket: number, containerId: number, s: ContainerSeriesIn): void {
  db.prepare(
    `INSERT INTO container_series (tier, bucket, container_id, cpu_ns, mem_avg, mem_max, read_bytes, write_bytes,
                                   net_rx_bytes, net_tx_bytes, pids_max, samples)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    TIER_ID[tier],
    bucket,
    containerId,
    s.cpuNs,
    s.memAvg ?? null,
    s.memMax ?? null,
    s.read ?? 0,
    s.write ?? 0,
    s.rx ?? null,
    s.tx ?? null,
    s.pidsMax ?? null,
    s.samples,
  );
}

interface ProcessSeriesIn {
  cpuNs: number;
  rssAvg: number;
  rssMax: number;
  read?: number;
  write?: number;
  threadsMax: number;
  samples: number;
}

function addProcessSeries(db: Db, tier: Tier, bucket: number, processId: number, s: ProcessSeriesIn): void {
  db.prepare(
    `INSERT INTO process_series (tier, bucket, process_id, cpu_ns, rss_avg, rss_max, read_bytes, write_bytes,
                                 threads_max, samples)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(TIER_ID[tier], bucket, processId, s.cpuNs, s.rssAvg, s.rssMax, s.read ?? 0, s.write ?? 0, s.threadsMax, s.samples);
}

/** Runs an export, collecting what it writes. */
function run(db: Db, options: ExportOptions): { text: string; count: number; chunks: number } {
  let text = '';
  let chunks = 0;
  const count = exportRows(db, options, (chunk) => {
    text += chunk;
    chunks++;
  });
  return { text, count, chunks };
}

const csv = (text: string): Record<string, string>[] => parse(text, { columns: true }) as Record<string, string>[];

// ---- fixtures ----

const T0 = Date.parse('2026-11-21T21:23:00Z'); // a whole minute
const S = 1000;
const WEB_ID = 'a41c19d070f84f4678ae0bd24213556fa7aa0ce082f8092367bb5ebf2de76729';
const DB_ID = 'b52d19d070f84f4678ae0bd24213556fa7aa0ce082f8092367bb5ebf2de76729';

let dir: string;
let db: Db;
let ids: { web: number; dbc: number; host: number; nginx: number; evil: number; sh: number };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bubble-export-'));
  db = createStore(dir);
  const web = addContainer(db, {
    key: `docker:${WEB_ID}`,
    kind: 'docker',
    cid: WEB_ID,
    name: 'web-1',
    image: 'nginx:1.27',
    labels: { 'com.example.team': 'edge' },
    cgroup: `/docker/${WEB_ID}`,
    firstSeen: T0 - 120 * S,
    lastSeen: T0 + 5 * S,
  });
  const dbc = addContainer(db, {
    key: `docker:${DB_ID}`,
    kind: 'docker',
    cid: DB_ID,
    name: 'db',
    cgroup: `/docker/${DB_ID}`,
    firstSeen: T0 - 60 * S,
    lastSeen: T0 + 2 * S,
    exitTime: T0 + 2500,
    exitCode: 137,
  });
  const host = addContainer(db, {
    key: 'host',
    kind: 'host',
    cid: 'host',
    name: 'host',
    cgroup: '/',
    firstSeen: T0 - 120 * S,
    lastSeen: T0 + 5 * S,
  });
  const nginx = addProcess(db, {
    containerId: web,
    pid: 4242,
    startTime: T0 - 100 * S,
    ppid: 4200,
    nspid: 1,
    comm: 'nginx',
    exe: '/usr/sbin/nginx',
    cmdline: 'nginx: master process nginx -g daemon off;',
    uid: 0,
    user: 'root',
    firstSeen: T0 - 100 * S,
    lastSeen: T0 + 5 * S,
  });
  // A process a hostile container named to attack whoever opens the export.
  const evil = addProcess(db, {
    containerId: web,
    pid: 4300,
    startTime: T0 - 50 * S,
    ppid: 4242,
    comm: "=cmd|' /c calc'!A1",
    exe: '/tmp/x',
    cmdline: '-2+3,"quoted"\n\u001b]0;pwned\u0007\u009b31m',
    uid: 101,
    user: 'www-data',
    firstSeen: T0 - 50 * S,
    lastSeen: T0 + 1500,
    exitTime: T0 + 1500,
  });
  const sh = addProcess(db, {
    containerId: dbc,
    pid: 77,
    startTime: T0 - 60 * S,
    ppid: 1,
    nspid: 1,
    comm: 'postgres',
    exe: '/usr/bin/postgres',
    cmdline: 'postgres -D /data',
    uid: 999,
    user: '999',
    firstSeen: T0 - 60 * S,
    lastSeen: T0 + 2 * S,
  });
  ids = { web, dbc, host, nginx, evil, sh };

  // second tier: T0 .. T0+4s for web and host, T0 .. T0+2s for db (it exited)
  for (let i = 0; i < 5; i++) {
    addContainerSeries(db, 'second', T0 + i * S, web, {
      cpuNs: 500_000_000 + i,
      memAvg: 100_000 + i,
      memMax: 110_000 + i,
      read: 4096 * i,
      write: 8192,
      rx: 1000,
      tx: 2000,
      pidsMax: 25,
      samples: 1,
    });
    addContainerSeries(db, 'second', T0 + i * S, host, { cpuNs: 2_000_000_000, samples: 1 });
    if (i < 3) addContainerSeries(db, 'second', T0 + i * S, dbc, { cpuNs: 250_000_000, memAvg: 5000, memMax: 6000, samples: 1 });
  }
  // minute tier: the two minutes before T0
  for (const m of [2, 1]) {
    addContainerSeries(db, 'minute', T0 - m * 60 * S, web, { cpuNs: 30_000_000_000, memAvg: 99_000, samples: 60 });
    addContainerSeries(db, 'minute', T0 - m * 60 * S, host, { cpuNs: 20_000_000_000, samples: 60 });
  }
  // process rows; change-only second tier: nginx idle at T0+1s writes nothing
  addProcessSeries(db, 'second', T0, ids.nginx, { cpuNs: 300_000_000, rssAvg: 8_000_000, rssMax: 8_100_000, threadsMax: 2, samples: 1 });
  addProcessSeries(db, 'second', T0, ids.evil, { cpuNs: 1_500_000_000, rssAvg: 1000, rssMax: 2000, read: 5, write: 6, threadsMax: 1, samples: 1 });
  addProcessSeries(db, 'second', T0, ids.sh, { cpuNs: 1, rssAvg: 3, rssMax: 4, threadsMax: 1, samples: 1 });
  addProcessSeries(db, 'second', T0 + S, ids.evil, { cpuNs: 500_000_000, rssAvg: 1000, rssMax: 2000, threadsMax: 1, samples: 1 });
  addProcessSeries(db, 'second', T0 + 2 * S, ids.nginx, { cpuNs: 100_000_000, rssAvg: 8_200_000, rssMax: 8_300_000, threadsMax: 2, samples: 1 });
  addProcessSeries(db, 'minute', T0 - 60 * S, ids.nginx, { cpuNs: 6_000_000_000, rssAvg: 8_000_000, rssMax: 9_000_000, threadsMax: 3, samples: 60 });
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

// ---- tests ----

describe('queries', () => {
  it('lists recorded containers, most recent first, host and exited on request', () => {
    expect(listStoredContainers(db).map((c) => c.name)).toEqual(['web-1', 'db']);
    // web-1 and host were last seen together: key order breaks the tie
    expect(listStoredContainers(db, { includeHost: true }).map((c) => c.key)).toEqual([`docker:${WEB_ID}`, 'host', `docker:${DB_ID}`]);
    const exited = listStoredContainers(db, { exitedOnly: true });
    expect(exited).toEqual([
      {
        key: `docker:${DB_ID}`,
        kind: 'docker',
        id: DB_ID,
        name: 'db',
        cgroup: `/docker/${DB_ID}`,
        firstSeenMs: T0 - 60 * S,
        lastSeenMs: T0 + 2 * S,
        exitTimeMs: T0 + 2500,
        exitCode: 137,
      },
    ]);
    const web = listStoredContainers(db).find((c) => c.name === 'web-1');
    expect(web?.image).toBe('nginx:1.27');
    expect(web?.labels).toEqual({ 'com.example.team': 'edge' });
    expect(web?.exitTimeMs).toBeUndefined();
  });

  it('gives matchContainer what it needs, host included', () => {
    const stored = findStoredContainers(db);
    expect(matchContainer('web-1', stored).key).toBe(`docker:${WEB_ID}`);
    expect(matchContainer('b52d', stored).name).toBe('db');
    expect(matchContainer('host', stored).kind).toBe('host');
  });

  it('reports the span the series cover, and nothing for an empty store', () => {
    expect(storedRange(db)).toEqual({ firstMs: T0 - 120 * S, lastMs: T0 + 5 * S });
    const emptyDir = mkdtempSync(join(tmpdir(), 'bubble-export-empty-'));
    const empty = createStore(emptyDir);
    try {
      expect(storedRange(empty)).toBeUndefined();
      expect(finestTierCovering(empty, T0)).toBe('day');
      expect(listStoredContainers(empty)).toEqual([]);
    } finally {
      empty.close();
      rmSync(emptyDir, { recursive: true, force: true });
    }
  });

  it('picks the finest tier that covers the range', () => {
    // the second tier starts at T0: it covers T0 and later, not before
    expect(finestTierCovering(db, T0)).toBe('second');
    expect(finestTierCovering(db, T0 + 3 * S)).toBe('second');
    expect(finestTierCovering(db, T0 - 1)).toBe('minute');
    expect(finestTierCovering(db, T0 - 120 * S)).toBe('minute');
    // older than anything: the tier holding the oldest data (minute; hour and day have no rows)
    expect(finestTierCovering(db, T0 - 3600 * S)).toBe('minute');
    expect(finestTierCovering(db, Number.NEGATIVE_INFINITY)).toBe('minute');
  });

  it('keeps a young store on the second tier even when the range starts before the recording', () => {
    // recording started at T0+30s: the minute rollup of that minute starts at T0 but holds nothing older
    const youngDir = mkdtempSync(join(tmpdir(), 'bubble-export-young-'));
    const young = createStore(youngDir);
    try {
      const c = addContainer(young, { key: 'host', kind: 'host', cid: 'host', name: 'host', cgroup: '/', firstSeen: T0, lastSeen: T0 });
      for (let i = 30; i < 90; i++) addContainerSeries(young, 'second', T0 + i * S, c, { cpuNs: 1, samples: 1 });
      addContainerSeries(young, 'minute', T0, c, { cpuNs: 30, samples: 30 });
      expect(finestTierCovering(young, T0 - 3600 * S)).toBe('second');
      // but when the hour tier has data older than the second tier's first bucket, the hour tier has more
      addContainerSeries(young, 'hour', T0 - 3600 * S - 1_380_000, c, { cpuNs: 5, samples: 5 });
      expect(finestTierCovering(young, T0 - 3600 * S)).toBe('hour');
    } finally {
      young.close();
      rmSync(youngDir, { recursive: true, force: true });
    }
  });
});

describe('exportRows: containers', () => {
  it('writes a CSV header and the rows of a range, ordered by time then container, with cpu_percent', () => {
    const { text, count } = run(db, {
      what: 'containers',
      format: 'csv',
      tier: 'second',
      sinceMs: T0 + S,
      untilMs: T0 + 3 * S,
    });
    expect(count).toBe(6);
    expect(text.split('\r\n')[0]).toBe(EXPORT_FIELDS.containers.join(','));
    const rows = csv(text);
    expect(rows.map((r) => [r['time'], r['name']])).toEqual([
      ['2026-11-21T21:23:01.000Z', 'web-1'],
      ['2026-11-21T21:23:01.000Z', 'db'],
      ['2026-11-21T21:23:01.000Z', 'host'],
      ['2026-11-21T21:23:02.000Z', 'web-1'],
      ['2026-11-21T21:23:02.000Z', 'db'],
      ['2026-11-21T21:23:02.000Z', 'host'],
    ]);
    // within a bucket, entities come in the order the store first saw them (web-1, db, host)
    expect(rows[0]).toEqual({
      time: '2026-11-21T21:23:01.000Z',
      tier: 'second',
      bucket_seconds: '1',
      container: `docker:${WEB_ID}`,
      kind: 'docker',
      id: WEB_ID,
      name: 'web-1',
      image: 'nginx:1.27',
      cpu_seconds: '0.500000001',
      cpu_percent: '50',
      mem_avg_bytes: '100001',
      mem_max_bytes: '110001',
      read_bytes: '4096',
      write_bytes: '8192',
      net_rx_bytes: '1000',
      net_tx_bytes: '2000',
      pids_max: '25',
      samples: '1',
      exit_time: '',
      exit_code: '',
    });
    expect(rows[1]).toMatchObject({ cpu_percent: '25', exit_time: '2026-11-21T21:23:02.500Z', exit_code: '137', image: '' });
    expect(rows[2]).toMatchObject({ cpu_seconds: '2', cpu_percent: '200', mem_avg_bytes: '', net_rx_bytes: '' });
  });

  it('computes cpu_percent over the bucket length of a coarser tier and defaults to the tier covering --since', () => {
    const { text, count } = run(db, { what: 'containers', format: 'json', sinceMs: T0 - 120 * S });
    expect(count).toBe(4);
    const rows = jsonLines(text);
    expect(rows.map((r) => [r['time'], r['tier'], r['container']])).toEqual([
      ['2026-11-21T21:21:00.000Z', 'minute', `docker:${WEB_ID}`],
      ['2026-11-21T21:21:00.000Z', 'minute', 'host'],
      ['2026-11-21T21:22:00.000Z', 'minute', `docker:${WEB_ID}`],
      ['2026-11-21T21:22:00.000Z', 'minute', 'host'],
    ]);
    expect(rows[0]).toMatchObject({ bucket_seconds: 60, cpu_seconds: 30, cpu_percent: 50, mem_avg_bytes: 99_000, samples: 60 });
    expect(rows[1]).toMatchObject({ cpu_seconds: 20, cpu_percent: 33.333 });
  });

  it('writes JSON lines with the CSV field names, numbers as numbers and null for what is absent', () => {
    const { text, count } = run(db, { what: 'containers', format: 'json', tier: 'second', sinceMs: T0 + 2 * S, untilMs: T0 + 3 * S });
    expect(count).toBe(3);
    expect(text.endsWith('\n')).toBe(true);
    const rows = jsonLines(text);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(Object.keys(row)).toEqual(EXPORT_FIELDS.containers);
    expect(rows[1]).toEqual({
      time: '2026-11-21T21:23:02.000Z',
      tier: 'second',
      bucket_seconds: 1,
      container: `docker:${DB_ID}`,
      kind: 'docker',
      id: DB_ID,
      name: 'db',
      image: null,
      cpu_seconds: 0.25,
      cpu_percent: 25,
      mem_avg_bytes: 5000,
      mem_max_bytes: 6000,
      read_bytes: 0,
      write_bytes: 0,
      net_rx_bytes: null,
      net_tx_bytes: null,
      pids_max: null,
      samples: 1,
      exit_time: '2026-11-21T21:23:02.500Z',
      exit_code: 137,
    });
  });

  it('keeps only the containers asked for, and nothing for an empty list', () => {
    const one = jsonLines(run(db, { what: 'containers', format: 'json', tier: 'second', containerKeys: [`docker:${DB_ID}`] }).text);
    expect(one.map((r) => r['time'])).toEqual(['2026-11-21T21:23:00.000Z', '2026-11-21T21:23:01.000Z', '2026-11-21T21:23:02.000Z']);
    expect(new Set(one.map((r) => r['name']))).toEqual(new Set(['db']));
    expect(run(db, { what: 'containers', format: 'json', tier: 'second', containerKeys: [] }).count).toBe(0);
    const header = run(db, { what: 'containers', format: 'csv', tier: 'second', containerKeys: ['docker:nope'] });
    expect(header).toMatchObject({ count: 0, text: EXPORT_FIELDS.containers.join(',') + '\r\n' });
  });

  it('skips series rows whose container is gone rather than failing or inventing one', () => {
    addContainerSeries(db, 'second', T0 + S, 999, { cpuNs: 1, samples: 1 });
    const { text, count } = run(db, { what: 'containers', format: 'json', tier: 'second', sinceMs: T0 + S, untilMs: T0 + 2 * S });
    expect(count).toBe(3);
    expect(jsonLines(text).map((r) => r['name'])).toEqual(['web-1', 'db', 'host']);
  });

  it('refuses a range whose start is not before its end', () => {
    expect(() => run(db, { what: 'containers', format: 'csv', sinceMs: T0, untilMs: T0 })).toThrow(UsageError);
  });
});

describe('exportRows: processes', () => {
  it('exports change-only second rows with their process and container, in order', () => {
    const { text, count } = run(db, { what: 'processes', format: 'json', tier: 'second', sinceMs: T0, untilMs: T0 + 3 * S });
    expect(count).toBe(5);
    const rows = jsonLines(text);
    for (const row of rows) expect(Object.keys(row)).toEqual(EXPORT_FIELDS.processes);
    expect(rows.map((r) => [r['time'], r['pid']])).toEqual([
      ['2026-11-21T21:23:00.000Z', 4242],
      ['2026-11-21T21:23:00.000Z', 4300],
      ['2026-11-21T21:23:00.000Z', 77],
      ['2026-11-21T21:23:01.000Z', 4300],
      ['2026-11-21T21:23:02.000Z', 4242],
    ]);
    expect(rows[0]).toEqual({
      time: '2026-11-21T21:23:00.000Z',
      tier: 'second',
      bucket_seconds: 1,
      container: `docker:${WEB_ID}`,
      container_name: 'web-1',
      pid: 4242,
      nspid: 1,
      ppid: 4200,
      start_time: '2026-11-21T21:21:20.000Z',
      comm: 'nginx',
      exe: '/usr/sbin/nginx',
      cmdline: 'nginx: master process nginx -g daemon off;',
      user: 'root',
      cpu_seconds: 0.3,
      cpu_percent: 30,
      rss_avg_bytes: 8_000_000,
      rss_max_bytes: 8_100_000,
      read_bytes: 0,
      write_bytes: 0,
      threads_max: 2,
      // No source measured this process's network (only bpftrace does): not measured, not 0.
      net_rx_bytes: null,
      net_tx_bytes: null,
      exit_time: null,
      exit_code: null,
    });
    expect(rows[1]).toMatchObject({ nspid: null, cpu_percent: 150, read_bytes: 5, write_bytes: 6, exit_time: '2026-11-21T21:23:01.500Z' });
  });

  it('returns hostile names exactly in JSON, and inert: no raw control character on the line', () => {
    const { text } = run(db, { what: 'processes', format: 'json', tier: 'second', containerKeys: [`docker:${WEB_ID}`], sinceMs: T0 + S, untilMs: T0 + 2 * S });
    expect(text.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(text).toContain('\\u009b31m');
    const [row] = jsonLines(text);
    expect(row?.['comm']).toBe("=cmd|' /c calc'!A1");
    expect(row?.['cmdline']).toBe('-2+3,"quoted"\n\u001b]0;pwned\u0007\u009b31m');
  });

  it('neutralises hostile names in CSV and round-trips them through a real parser', () => {
    const { text } = run(db, { what: 'processes', format: 'csv', tier: 'second', sinceMs: T0, untilMs: T0 + S });
    expect(text.split('\r\n')).toHaveLength(5); // header, 3 rows, and the empty string after the last CRLF
    const rows = csv(text);
    const evil = rows.find((r) => r['pid'] === '4300');
    expect(evil).toMatchObject({
      comm: "'=cmd|' /c calc'!A1",
      cmdline: '\'-2+3,"quoted"\\n\\e]0;pwned\\x07\\x9b31m',
      user: 'www-data',
      container_name: 'web-1',
      nspid: '',
    });
  });

  it('defaults to the minute tier for a range the second tier does not reach', () => {
    const rows = jsonLines(run(db, { what: 'processes', format: 'json', sinceMs: T0 - 60 * S, untilMs: T0 }).text);
    expect(rows).toEqual([expect.objectContaining({ tier: 'minute', bucket_seconds: 60, pid: 4242, cpu_seconds: 6, cpu_percent: 10, threads_max: 3 })]);
  });
});

describe('exportRows: files and network', () => {
  beforeEach(() => {
    db.prepare(
      `INSERT INTO file_access (process_id, fd, path, mode, deleted, first_seen, last_seen, opens, bytes_in, bytes_out, source)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(ids.nginx, 4, '/var/log/nginx/access.log', 'wa', 0, T0, T0 + 3 * S, 1, null, 4096, 'both');
    db.prepare(
      `INSERT INTO file_access (process_id, path, mode, deleted, first_seen, last_seen, opens, bytes_in, bytes_out, source)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(ids.evil, '=1+1 (deleted)', 'r', 1, T0, T0 + 1 * S, 2, null, null, 'procfs');
    db.prepare(
      `INSERT INTO net_access (process_id, protocol, local, remote, state, first_seen, last_seen, opens, bytes_in, bytes_out, source)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(ids.nginx, 'tcp6', '[::]:80', '[::]:0', 'LISTEN', T0 - 10 * S, T0 + 4 * S, 1, null, null, 'procfs');
  });

  it('exports file access intervals of a container, with escaped and neutralised paths', () => {
    const { text, count } = run(db, { what: 'files', format: 'csv', containerKeys: [`docker:${WEB_ID}`] });
    expect(count).toBe(2);
    const rows = csv(text);
    expect(Object.keys(rows[0]!)).toEqual([...EXPORT_FIELDS.files]);
    const log = rows.find((r) => r['path'] === '/var/log/nginx/access.log')!;
    expect(log).toMatchObject({ fd: '4', mode: 'wa', deleted: 'false', opens: '1', bytes_out: '4096', bytes_in: '', source: 'both', comm: 'nginx' });
    expect(log['first_seen']).toBe(new Date(T0).toISOString());
    const evil = rows.find((r) => r['pid'] === '4300')!;
    expect(evil['path']).toBe("'=1+1 (deleted)");
    expect(evil['deleted']).toBe('true');
    expect(evil['fd']).toBe('');
  });

  it('exports network intervals as JSON lines, and filters by time overlap', () => {
    const all = jsonLines(run(db, { what: 'network', format: 'json' }).text);
    expect(all).toEqual([expect.objectContaining({ fd: null, protocol: 'tcp6', local: '[::]:80', remote: '[::]:0', state: 'LISTEN', pid: 4242 })]);
    expect(run(db, { what: 'network', format: 'json', sinceMs: T0 + 5 * S }).count).toBe(0);
    expect(run(db, { what: 'files', format: 'json', sinceMs: T0 + 2 * S }).count).toBe(1);
  });
});

describe('exportRows: streaming', () => {
  it('writes 100k rows in bounded chunks while the statement is still being read', () => {
    const N = 100_000;
    const insert = db.transaction(() => {
      for (let i = 0; i < N; i++) addContainerSeries(db, 'second', T0 + (1000 + i) * S, ids.web, { cpuNs: i, samples: 1 });
    });
    insert();
    let chunks = 0;
    let total = 0;
    let largest = 0;
    let busyDuringWrite: boolean | undefined;
    const count = exportRows(db, { what: 'containers', format: 'csv', tier: 'second', sinceMs: T0 + 1000 * S }, (chunk) => {
      chunks++;
      total += chunk.length;
      largest = Math.max(largest, chunk.length);
      if (busyDuringWrite === undefined) {
        // better-sqlite3 refuses a write on a connection whose iterator is open: the export is mid-statement
        try {
          db.prepare("INSERT INTO meta (key, value) VALUES ('probe', 'x')").run();
          busyDuringWrite = false;
        } catch (e) {
          busyDuringWrite = /busy/i.test((e as Error).message);
        }
      }
    });
    expect(count).toBe(N);
    expect(busyDuringWrite).toBe(true);
    expect(chunks).toBeGreaterThan(50);
    expect(largest).toBeLessThan(70 * 1024);
    expect(total).toBeGreaterThan(10 * largest);
    // the connection is free again once the export returns
    expect(db.prepare("INSERT INTO meta (key, value) VALUES ('probe', 'x')").run().changes).toBe(1);
  });
});
