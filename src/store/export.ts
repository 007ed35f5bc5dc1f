/**
 * `bubble export`: series rows of one tier and time range as RFC 4180 CSV (csv.ts) or JSON lines, streamed from a
 * statement iterator in chunks, so a year of process rows never sits in memory. Field names are a contract, listed
 * in docs/store.md: add freely, rename or remove none.
 *
 * Rows are what the store holds. The second tier is change-only: a process with no row in a second used no CPU and
 * did no I/O in it, and its RSS and threads are those of its previous row; the export does not invent the rows.
 */
import type { Database } from 'better-sqlite3';
import { UsageError } from '../errors/usage-error.js';
import { addressedContainers, byAddress, peerOf } from './access-queries.js';
import { commandJoinSql } from './commands.js';
import { CSV_EOL, csvField, csvRow } from './csv.js';
import { cpuPercentOf } from '../model/view.js';
import { finestTierCovering } from './queries.js';
import { sampledMsSql, TIER_ID, TIER_MS, type Tier } from './tiers.js';

export type ExportWhat = 'containers' | 'processes' | 'files' | 'network' | 'errors';
export type ExportFormat = 'csv' | 'json';

export interface ExportOptions {
  readonly what: ExportWhat;
  readonly format: ExportFormat;
  /** Only these containers (containerKey()); undefined for all. Resolve user input with matchContainer() first. */
  readonly containerKeys?: readonly string[];
  /** Bucket start >= sinceMs (epoch ms). */
  readonly sinceMs?: number;
  /** Bucket start < untilMs. */
  readonly untilMs?: number;
  /** Default: finestTierCovering(sinceMs). */
  readonly tier?: Tier;
}

type Value = string | number | null;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** CPU over the bucket length, 100 = one core; 3 decimals (cpu_seconds keeps the exact figure). */
/** CPU time over the time the bucket sampled (sampledMsSql), 100 = one core; 3 decimals (cpu_seconds keeps the exact figure). */
const cpuPercent = (cpuNs: number, sampledMs: number): number => Math.round((cpuPercentOf(cpuNs, sampledMs / 1000) ?? 0) * 1000) / 1000;

/**
 * Where a kind of row comes from. The series statement reads only the series table, in its primary-key order
 * (bucket, entity id: no sort); each entity's columns are read once by id and kept already encoded, since a process
 * alive for a day appears in 86,400 second rows. Columns: time, tier, bucket_seconds, `before`, `series`, `after`.
 */
interface Layout {
  readonly before: readonly string[];
  readonly series: readonly string[];
  readonly after: readonly string[];
  /** Selects bucket, entity id, then what seriesValues() reads. */
  readonly seriesSql: (filtered: boolean) => string;
  /** One entity by id: the columns entityValues() reads. */
  readonly entitySql: string;
  readonly seriesValues: (row: readonly unknown[]) => Value[];
  readonly entityValues: (row: readonly unknown[]) => readonly [Value[], Value[]];
  /** Where the series row carries the entity's command at that bucket (it exec'd): its columns in the row, and in `before`. */
  readonly command?: { readonly row: number; readonly before: number };
}

// json_each binds any number of container keys as one parameter; the statement text stays fixed.
const KEYS = 'SELECT value FROM json_each(@keys)';
const RANGE = 's.tier = @tier AND s.bucket >= @since AND s.bucket < @until';

const num = (v: unknown): number => v as number;
const opt = (v: unknown): number | null => v as number | null;
const str = (v: unknown): string | null => v as string | null;

const LAYOUTS: Readonly<Record<'containers' | 'processes', Layout>> = {
  containers: {
    before: ['container', 'kind', 'id', 'name', 'image'],
    series: [
      'cpu_seconds',
      'cpu_percent',
      'mem_avg_bytes',
      'mem_max_bytes',
      'read_bytes',
      'write_bytes',
      'net_rx_bytes',
      'net_tx_bytes',
      'pids_max',
      'samples',
    ],
    after: ['exit_time', 'exit_code'],
    seriesSql: (filtered) =>
      `SELECT s.bucket, s.container_id, s.cpu_ns, s.mem_avg, s.mem_max, s.read_bytes, s.write_bytes,
              s.net_rx_bytes, s.net_tx_bytes, s.pids_max, s.samples, ${sampledMsSql('s')}
       FROM container_series s
       WHERE ${RANGE} ${filtered ? `AND s.container_id IN (SELECT id FROM containers WHERE key IN (${KEYS}))` : ''}
       ORDER BY s.bucket, s.container_id`,
    entitySql: 'SELECT key, kind, cid, name, image, exit_time, exit_code FROM containers WHERE id = ?',
    seriesValues: (r) => [
      num(r[2]) / 1e9,
      cpuPercent(num(r[2]), num(r[11])),
      opt(r[3]),
      opt(r[4]),
      num(r[5]),
      num(r[6]),
      opt(r[7]),
      opt(r[8]),
      opt(r[9]),
      num(r[10]),
    ],
    entityValues: (r) => [
      [str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4])],
      [iso(opt(r[5])), opt(r[6])],
    ],
  },
  processes: {
    before: ['container', 'container_name', 'pid', 'nspid', 'ppid', 'start_time', 'comm', 'exe', 'cmdline', 'user'],
    series: ['cpu_seconds', 'cpu_percent', 'rss_avg_bytes', 'rss_max_bytes', 'read_bytes', 'write_bytes', 'threads_max', 'net_rx_bytes', 'net_tx_bytes'],
    after: ['exit_time', 'exit_code'],
    seriesSql: (filtered) =>
      `SELECT s.bucket, s.process_id, s.cpu_ns, s.rss_avg, s.rss_max, s.read_bytes, s.write_bytes, s.threads_max,
              coalesce(nullif(s.sampled_ms, 0), ${sampledMsSql('cs')}), s.net_rx_bytes, s.net_tx_bytes, pc.comm, pc.exe, pc.cmdline
       FROM process_series s
       LEFT JOIN processes p ON p.id = s.process_id
       LEFT JOIN container_series cs ON cs.tier = s.tier AND cs.bucket = s.bucket AND cs.container_id = p.container_id
       ${commandJoinSql('s.process_id', 's.bucket + @size')}
       WHERE ${RANGE} ${
         filtered
           ? `AND s.process_id IN (SELECT p.id FROM processes p JOIN containers c ON c.id = p.container_id
                                   WHERE c.key IN (${KEYS}))`
           : ''
       }
       ORDER BY s.bucket, s.process_id`,
    entitySql: `SELECT c.key, c.name, p.pid, p.nspid, p.ppid, p.start_time, p.comm, p.exe, p.cmdline, p.user,
                       p.exit_time, p.exit_code
                FROM processes p JOIN containers c ON c.id = p.container_id WHERE p.id = ?`,
    seriesValues: (r) => [num(r[2]) / 1e9, cpuPercent(num(r[2]), num(r[8])), num(r[3]), num(r[4]), num(r[5]), num(r[6]), num(r[7]), opt(r[9]), opt(r[10])],
    entityValues: (r) => [
      [str(r[0]), str(r[1]), num(r[2]), opt(r[3]), num(r[4]), iso(num(r[5])), str(r[6]), str(r[7]), str(r[8]), str(r[9])],
      [iso(opt(r[10])), opt(r[11])],
    ],
    // A process that exec'd shows the command it had in each bucket (the newest before the bucket's end).
    // Where the series row holds the command of its bucket (pc.comm, exe, cmdline), and where it goes in the entity part.
    command: { row: 11, before: 6 },
  },
};

const HEAD = ['time', 'tier', 'bucket_seconds'] as const;

/** An entity's columns: `before` as values, and both pieces encoded. */
interface Encoded {
  readonly before: readonly Value[];
  readonly pieces: readonly [string, string];
}

/** The entity's `before` piece, with the command the series row carries for its bucket when the process exec'd. */
function commandAt(layout: Layout, encoder: Encoder, encoded: Encoded, row: readonly unknown[]): string {
  const at = layout.command;
  if (at === undefined || row[at.row] === null || row[at.row] === undefined) return encoded.pieces[0];
  const before = encoded.before.slice();
  for (let i = 0; i < 3; i++) before[at.before + i] = str(row[at.row + i]);
  return encoder.piece(layout.before, before);
}

/** Access intervals (files, network): one row per interval, not per bucket. */
const ACCESS_HEAD: string[] = ['container', 'container_name', 'pid', 'start_time', 'comm'];
const ACCESS_TAIL: string[] = ['first_seen', 'last_seen', 'opens', 'bytes_in', 'bytes_out', 'source'];
const ACCESS_SQL: Readonly<Record<'files' | 'network', string>> = {
  files: 'a.fd, a.path, a.mode, a.deleted',
  network: 'a.fd, a.protocol, a.local, a.remote, a.state',
};
const ACCESS_TABLE = { files: 'file_access', network: 'net_access' } as const;

const fieldsOf = (l: Layout): readonly string[] => [...HEAD, ...l.before, ...l.series, ...l.after];

export const EXPORT_FIELDS: Readonly<Record<ExportWhat, readonly string[]>> = {
  containers: fieldsOf(LAYOUTS.containers),
  processes: fieldsOf(LAYOUTS.processes),
  files: ACCESS_HEAD.concat(['fd', 'path', 'mode', 'deleted'], ACCESS_TAIL),
  // `peer`: the container on this host that had the remote address then (as the network pane names it), else null.
  network: ACCESS_HEAD.concat(['fd', 'protocol', 'local', 'remote', 'state'], ACCESS_TAIL, ['peer']),
  errors: [...HEAD, 'container', 'container_name', 'pid', 'start_time', 'comm', 'syscall', 'errno', 'count', 'per_second'],
};

// JSON.stringify leaves DEL, C1 controls (0x9b is CSI on some terminals), bidi overrides and U+2028/9 raw; escaping
// them as \uXXXX keeps the value exact for a parser and inert on a terminal.
// eslint-disable-next-line no-control-regex
const JSON_UNSAFE = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
const escapeJson = (text: string): string => text.replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** JSON.stringify, with what a terminal could act on escaped as above (`serve`'s JSON answers use it too). */
export const safeJson = (value: unknown): string => escapeJson(JSON.stringify(value));

/** Encodes some consecutive columns of a row, and joins such pieces into a line. */
interface Encoder {
  readonly header: (fields: readonly string[]) => string;
  readonly piece: (names: readonly string[], values: readonly Value[]) => string;
  readonly line: (pieces: readonly string[]) => string;
}

const ENCODERS: Readonly<Record<ExportFormat, Encoder>> = {
  csv: {
    header: (fields) => csvRow(fields),
    piece: (_names, values) => values.map(csvField).join(','),
    line: (pieces) => pieces.join(',') + CSV_EOL,
  },
  json: {
    header: () => '',
    piece: (names, values) => {
      const object: Record<string, Value> = {};
      names.forEach((name, i) => (object[name] = values[i] ?? null));
      return escapeJson(JSON.stringify(object)).slice(1, -1);
    },
    line: (pieces) => `{${pieces.join(',')}}\n`,
  },
};

/** Write in chunks of about this many characters: one write per row is slow, one per export holds everything. */
const CHUNK = 64 * 1024;
/** Encoded entities kept at most; past it the cache starts over (bounded memory on a store with millions). */
const ENTITY_CACHE = 10_000;

/**
 * Streams the rows `options` select to `write` (in chunks of about 64 KiB, never the whole export at once) and
 * returns how many rows it wrote, the CSV header not counted. Rows are ordered by bucket, then by entity in the
 * order the store first saw them. Throws BubbleError for `files`/`network` (not recorded by this schema) and
 * UsageError when since is not before until.
 */
export function exportRows(db: Database, options: ExportOptions, write: (chunk: string) => void): number {
  const { what } = options;
  const since = options.sinceMs ?? Number.MIN_SAFE_INTEGER;
  const until = options.untilMs ?? Number.MAX_SAFE_INTEGER;
  if (since >= until) {
    throw new UsageError(`--since (${new Date(since).toISOString()}) is not before --until (${new Date(until).toISOString()})`);
  }
  if (what === 'files' || what === 'network') return exportAccess(db, what, options, since, until, write);
  if (what === 'errors') return exportErrors(db, options, since, until, write);
  const tier = options.tier ?? finestTierCovering(db, options.sinceMs ?? Number.NEGATIVE_INFINITY);
  const bucketMs = TIER_MS[tier];
  const layout = LAYOUTS[what];
  const encoder = ENCODERS[options.format];
  const filtered = options.containerKeys !== undefined;
  const params = {
    tier: TIER_ID[tier],
    size: bucketMs,
    since: Math.ceil(since),
    until: Math.ceil(until),
    ...(filtered && { keys: JSON.stringify(options.containerKeys) }),
  };

  // Reads on the same connection are allowed while the series iterator is open, and see the same snapshot.
  const entityStmt = db.prepare(layout.entitySql).raw();
  const entities = new Map<number, Encoded | null>();
  const entity = (id: number): Encoded | null => {
    let encoded = entities.get(id);
    if (encoded === undefined) {
      const row = entityStmt.get(id) as unknown[] | undefined;
      if (row === undefined) {
        encoded = null; // a series row whose entity `clean` removed: skip it, as a join would
      } else {
        const [before, after] = layout.entityValues(row);
        encoded = { before, pieces: [encoder.piece(layout.before, before), encoder.piece(layout.after, after)] };
      }
      if (entities.size >= ENTITY_CACHE) entities.clear();
      entities.set(id, encoded);
    }
    return encoded;
  };

  let buffer = encoder.header(EXPORT_FIELDS[what]);
  let headBucket: number | undefined;
  let head = '';
  let count = 0;
  for (const row of db.prepare(layout.seriesSql(filtered)).raw().iterate(params) as IterableIterator<unknown[]>) {
    const bucket = num(row[0]);
    const encoded = entity(num(row[1]));
    if (encoded === null) continue;
    if (bucket !== headBucket) {
      headBucket = bucket;
      head = encoder.piece(HEAD, [iso(bucket), tier, bucketMs / 1000]);
    }
    const series = encoder.piece(layout.series, layout.seriesValues(row));
    buffer += encoder.line([head, commandAt(layout, encoder, encoded, row), series, encoded.pieces[1]]);
    count++;
    if (buffer.length >= CHUNK) {
      write(buffer);
      buffer = '';
    }
  }
  if (buffer.length > 0) write(buffer);
  return count;
}

/**
 * Failed syscalls: one row per process, syscall and errno per bucket of the tier, ordered by bucket, then by process in
 * the order the store first saw it, then by count (highest first). `per_second` is the count over the time the
 * bucket sampled (its container's sampled_ms), as every rate.
 */
function exportErrors(db: Database, options: ExportOptions, since: number, until: number, write: (chunk: string) => void): number {
  const tier = options.tier ?? finestTierCovering(db, options.sinceMs ?? Number.NEGATIVE_INFINITY);
  const bucketMs = TIER_MS[tier];
  const filtered = options.containerKeys !== undefined;
  const sql = `SELECT s.bucket, c.key, c.name, p.pid, p.start_time, coalesce(pc.comm, p.comm), s.syscall, s.errno, s.count, ${sampledMsSql('cs')}
                 FROM syscall_errors s
                 JOIN processes p ON p.id = s.process_id
                 JOIN containers c ON c.id = p.container_id
                 LEFT JOIN container_series cs ON cs.tier = s.tier AND cs.bucket = s.bucket AND cs.container_id = p.container_id
                 ${commandJoinSql('s.process_id', 's.bucket + @size')}
                WHERE ${RANGE} ${filtered ? `AND c.key IN (${KEYS})` : ''}
                ORDER BY s.bucket, s.process_id, s.count DESC, s.syscall, s.errno`;
  const params = {
    tier: TIER_ID[tier],
    size: bucketMs,
    since: Math.ceil(since),
    until: Math.ceil(until),
    ...(filtered && { keys: JSON.stringify(options.containerKeys) }),
  };
  const encoder = ENCODERS[options.format];
  const fields = EXPORT_FIELDS.errors;
  let buffer = encoder.header(fields);
  let count = 0;
  for (const r of db.prepare(sql).raw().iterate(params) as IterableIterator<unknown[]>) {
    const perSecond = Math.round((num(r[8]) / (num(r[9]) / 1000)) * 1000) / 1000;
    const values: Value[] = [
      iso(num(r[0])),
      tier,
      bucketMs / 1000,
      str(r[1]),
      str(r[2]),
      num(r[3]),
      iso(num(r[4])),
      str(r[5]),
      str(r[6]),
      str(r[7]),
      num(r[8]),
      perSecond,
    ];
    buffer += encoder.line([encoder.piece(fields, values)]);
    count++;
    if (buffer.length >= CHUNK) {
      write(buffer);
      buffer = '';
    }
  }
  if (buffer.length > 0) write(buffer);
  return count;
}

/**
 * File or network access intervals that overlap [since, until), ordered by first sight. `--tier` does not apply:
 * intervals are not bucketed.
 */
function exportAccess(db: Database, what: 'files' | 'network', options: ExportOptions, since: number, until: number, write: (chunk: string) => void): number {
  const filtered = options.containerKeys !== undefined;
  const sql = `SELECT c.key, c.name, p.pid, p.start_time, p.comm, ${ACCESS_SQL[what]},
                      a.first_seen, a.last_seen, a.opens, a.bytes_in, a.bytes_out, a.source
                 FROM ${ACCESS_TABLE[what]} a
                 JOIN processes p ON p.id = a.process_id
                 JOIN containers c ON c.id = p.container_id
                WHERE a.first_seen < @until AND a.last_seen >= @since ${filtered ? `AND c.key IN (${KEYS})` : ''}
                ORDER BY a.first_seen, a.id`;
  const encoder = ENCODERS[options.format];
  const fields = EXPORT_FIELDS[what];
  const timeColumns = new Set([3, fields.indexOf('first_seen'), fields.indexOf('last_seen')]);
  const deletedColumn = what === 'files' ? fields.indexOf('deleted') : -1;
  // Network rows name their peer from the containers' recorded addresses (read once).
  const peers = what === 'network' ? byAddress(addressedContainers(db)) : undefined;
  const remoteColumn = fields.indexOf('remote');
  const firstColumn = fields.indexOf('first_seen');
  const lastColumn = fields.indexOf('last_seen');
  let buffer = encoder.header(fields);
  let count = 0;
  const params = { since: Math.ceil(since), until: Math.ceil(until), ...(filtered && { keys: JSON.stringify(options.containerKeys) }) };
  for (const row of db.prepare(sql).raw().iterate(params) as IterableIterator<Value[]>) {
    const values = row.map((v, i) => (timeColumns.has(i) ? iso(v as number) : i === deletedColumn ? v === 1 : v)) as Value[];
    if (peers !== undefined) values.push(peerOf(peers, String(row[remoteColumn]), row[firstColumn] as number, row[lastColumn] as number) ?? null);
    buffer += encoder.line([encoder.piece(fields, values)]);
    count++;
    if (buffer.length >= CHUNK) {
      write(buffer);
      buffer = '';
    }
  }
  if (buffer.length > 0) write(buffer);
  return count;
}
