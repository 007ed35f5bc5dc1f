/**
 * Retention: each tier keeps its buckets for its own period (flags `--keep-second 2h` ..., or the config file), and
 * `bubble clean` removes containers by age or by name.
 *
 * Pruning runs inside the recorder's tick, so it is bounded: one call deletes at most `maxBucketsPerStep` buckets
 * per tier and table, found on the (tier, bucket) primary-key prefix (an index range, never a scan). In steady state
 * one second bucket expires per second and a call deletes one bucket; after downtime or a shorter retention the
 * backlog drains over several ticks instead of stalling one.
 */
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { BubbleError } from '../errors/bubble-error.js';
import { UsageError } from '../errors/usage-error.js';
import { formatDuration, safeText } from '../format.js';
import { parseDuration } from '../model/duration.js';
import { CONTAINER_SORTS, PROCESS_SORTS, type ContainerSort, type ProcessSort } from '../model/sort.js';
import { CONTAINER_COLUMNS, columnsError, PROCESS_COLUMNS, type ColumnList, type ContainerColumn, type ProcessColumn } from '../model/columns.js';
import { defaultConfigPath } from './paths.js';
import { bucketStart, DEFAULT_RETENTION, type Retention, type Tier, TIER_ID, TIER_MS, TIERS } from './tiers.js';
import { statement } from './statements.js';

const SERIES = [
  { table: 'container_series', entity: 'container_id' },
  { table: 'process_series', entity: 'process_id' },
  { table: 'syscall_errors', entity: 'process_id' },
] as const;

/** Default bound per pruneStep call: 10 buckets per tier and table (10 s of second rows, 10 min of minute rows). */
export const DEFAULT_MAX_BUCKETS_PER_STEP = 10;

export interface PruneResult {
  readonly deletedRows: number;
  /** Nothing older than the retention remains in any tier. */
  readonly done: boolean;
}

/** First bucket of each tier that is kept: buckets wholly before `now - retention[tier]` go. */
export function keepFrom(tier: Tier, nowMs: number, retention: Retention): number {
  return bucketStart(tier, nowMs - retention[tier]);
}

function minBucket(db: Database.Database, table: string, tier: Tier): number | null {
  const row = statement(db, `SELECT min(bucket) AS lo FROM ${table} WHERE tier = ?`).get(TIER_ID[tier]) as { lo: number | null };
  return row.lo;
}

/**
 * Deletes expired series rows, at most `maxBucketsPerStep` buckets per tier and table per call. Call it once per
 * tick (inside or outside the tick's transaction: it nests as a savepoint) until `done`.
 */
export function pruneStep(db: Database.Database, nowMs: number, retention: Retention, opts: { maxBucketsPerStep?: number } = {}): PruneResult {
  const maxBuckets = Math.max(1, Math.floor(opts.maxBucketsPerStep ?? DEFAULT_MAX_BUCKETS_PER_STEP));
  return db.transaction((): PruneResult => {
    let deletedRows = 0;
    let done = true;
    for (const tier of TIERS) {
      const limit = keepFrom(tier, nowMs, retention);
      for (const { table } of SERIES) {
        const lo = minBucket(db, table, tier);
        if (lo === null || lo >= limit) continue;
        // Buckets are aligned to the tier's size, so [lo, lo + N * size) holds at most N distinct buckets.
        const upper = Math.min(limit, lo + maxBuckets * TIER_MS[tier]);
        deletedRows += statement(db, `DELETE FROM ${table} WHERE tier = ? AND bucket < ?`).run(TIER_ID[tier], upper).changes;
        if (upper < limit) {
          const next = minBucket(db, table, tier);
          if (next !== null && next < limit) done = false;
        }
      }
    }
    // File and network access intervals are kept as long as the hour tier: "what did it touch" over a month.
    const accessLimit = keepFrom('hour', nowMs, retention);
    for (const table of ACCESS_TABLES) {
      const deleted = statement(
        db,
        `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE last_seen < ? ORDER BY last_seen LIMIT ${ACCESS_ROWS_PER_STEP})`,
      ).run(accessLimit).changes;
      deletedRows += deleted;
      if (deleted === ACCESS_ROWS_PER_STEP) done = false;
    }
    return { deletedRows, done };
  })();
}

const ACCESS_TABLES = ['file_access', 'net_access'] as const;
/** Access rows deleted per table per step: bounded like the series buckets, so a backlog never stalls a tick. */
const ACCESS_ROWS_PER_STEP = 2000;

/** Deletes the access intervals and failed-syscall rows of these processes (they are being deleted). */
function deleteAccess(db: Database.Database, processIdsJson: string): number {
  let rows = 0;
  for (const table of [...ACCESS_TABLES, 'syscall_errors']) {
    rows += db.prepare(`DELETE FROM ${table} WHERE process_id IN (SELECT value FROM json_each(?))`).run(processIdsJson).changes;
  }
  return rows;
}

/** Earliest bucket left in a series table, any tier; Infinity when it is empty. Four key lookups. */
function earliestRow(db: Database.Database, table: string): number {
  let earliest = Infinity;
  for (const tier of TIERS) {
    const lo = minBucket(db, table, tier);
    if (lo !== null && lo < earliest) earliest = lo;
  }
  return earliest;
}

/** An entity's end: its exit, or when it was last seen, whichever is later. */
const END = 'max(last_seen, coalesce(exit_time, last_seen))';

/** Clears parent links to deleted processes: INTEGER PRIMARY KEY ids can be reused, a stale link would lie. */
function unlinkParents(db: Database.Database, ids: readonly number[]): void {
  if (ids.length === 0) return;
  db.prepare(`UPDATE processes SET parent_id = NULL WHERE parent_id IN (SELECT value FROM json_each(?))`).run(JSON.stringify(ids));
}

/**
 * Deletes processes and containers that ended (exited, or were last seen) before `now - retention.day` and have no
 * series rows left. "No rows left" is decided without scanning the series tables: an entity's rows all lie in
 * buckets at or before its end (the writer updates last_seen in the tick that writes its rows), so an entity that
 * ended before the earliest bucket left in any tier has none. Scans the entity tables (no last_seen index on
 * processes): call it when pruneStep reports done, and not every tick (once a minute or an hour is plenty).
 */
export function pruneEntities(db: Database.Database, nowMs: number, retention: Retention): { containers: number; processes: number } {
  return db.transaction(() => {
    const cutoff = nowMs - retention.day;
    const processFloor = Math.min(cutoff, earliestRow(db, 'process_series'), earliestRow(db, 'syscall_errors'));
    const ids = db.prepare(`SELECT id FROM processes WHERE ${END} < ?`).pluck().all(processFloor) as number[];
    if (ids.length > 0) deleteAccess(db, JSON.stringify(ids));
    const processes = ids.length === 0 ? 0 : db.prepare(`DELETE FROM processes WHERE id IN (SELECT value FROM json_each(?))`).run(JSON.stringify(ids)).changes;
    unlinkParents(db, ids);
    const containerFloor = Math.min(cutoff, earliestRow(db, 'container_series'));
    const containers = db
      .prepare(`DELETE FROM containers WHERE ${END} < ? AND NOT EXISTS (SELECT 1 FROM processes WHERE processes.container_id = containers.id)`)
      .run(containerFloor).changes;
    return { containers, processes };
  })();
}

export interface DeleteWhere {
  /** Epoch ms: containers that ended (exit time, else last seen) before it. `bubble clean --days N`: now - N days. */
  readonly olderThanMs?: number;
  /** Container keys (containerKey()). With olderThanMs, both must hold. */
  readonly keys?: readonly string[];
}

export interface DeleteResult {
  readonly containers: number;
  readonly processes: number;
  /** Series rows (all tiers) and file/network access rows of those containers and their processes. */
  readonly rows: number;
}

/**
 * `bubble clean`: removes the matching containers with all their processes and series rows, in one transaction.
 * The series tables are keyed by (tier, bucket, entity) without a foreign key, so their rows are deleted explicitly:
 * one pass over each series table. Refuses an empty filter (it would delete everything).
 */
export function deleteContainers(db: Database.Database, where: DeleteWhere): DeleteResult {
  if (where.olderThanMs === undefined && where.keys === undefined) {
    throw new UsageError('bubble clean needs --days N or --container X: it will not delete everything');
  }
  return db.transaction((): DeleteResult => {
    const conditions: string[] = [];
    const params: (number | string)[] = [];
    if (where.olderThanMs !== undefined) {
      conditions.push(`${END} < ?`);
      params.push(where.olderThanMs);
    }
    if (where.keys !== undefined) {
      conditions.push(`key IN (SELECT value FROM json_each(?))`);
      params.push(JSON.stringify(where.keys));
    }
    const containerIds = db
      .prepare(`SELECT id FROM containers WHERE ${conditions.join(' AND ')}`)
      .pluck()
      .all(...params) as number[];
    if (containerIds.length === 0) return { containers: 0, processes: 0, rows: 0 };
    const cJson = JSON.stringify(containerIds);
    const processIds = db.prepare(`SELECT id FROM processes WHERE container_id IN (SELECT value FROM json_each(?))`).pluck().all(cJson) as number[];
    const pJson = JSON.stringify(processIds);
    let rows = 0;
    if (processIds.length > 0) {
      rows += db.prepare(`DELETE FROM process_series WHERE process_id IN (SELECT value FROM json_each(?))`).run(pJson).changes;
      rows += deleteAccess(db, pJson);
    }
    rows += db.prepare(`DELETE FROM container_series WHERE container_id IN (SELECT value FROM json_each(?))`).run(cJson).changes;
    const processes = db.prepare(`DELETE FROM processes WHERE id IN (SELECT value FROM json_each(?))`).run(pJson).changes;
    unlinkParents(db, processIds);
    const containers = db.prepare(`DELETE FROM containers WHERE id IN (SELECT value FROM json_each(?))`).run(cJson).changes;
    return { containers, processes, rows };
  })();
}

// ---- retention settings: flags, config file, defaults ----

export type RetentionFlags = Partial<Record<'keepSecond' | 'keepMinute' | 'keepHour' | 'keepDay', string>>;

const FLAG: Readonly<Record<Tier, keyof RetentionFlags>> = {
  second: 'keepSecond',
  minute: 'keepMinute',
  hour: 'keepHour',
  day: 'keepDay',
};

export interface BubbleConfig {
  /** The file it came from (for messages); exists or not. */
  readonly path: string;
  /** `{"keep": {"second": "2h", ...}}`: retention per tier as durations. */
  readonly keep: Partial<Record<Tier, string>>;
  /** `"interval": "2s"`: time between samples (top, record, ps, ls); the --interval flag overrides it. */
  readonly interval?: string;
  /** `"tier": "minute"`: the tier `top` opens on; --tier overrides it. */
  readonly tier?: Tier;
  /** `"sort": {"containers": "mem", "processes": "cpu"}`: the first sort of top's lists and of `ps` (--sort overrides). */
  readonly sort?: { readonly containers?: ContainerSort; readonly processes?: ProcessSort };
  /** `"color": false`: top without colour; NO_COLOR in the environment turns it off whatever this says. */
  readonly color?: boolean;
  /** `"columns": {"containers": ["name", "cpu", "mem"]}`: top's columns and their order (narrow terminals still drop some). */
  readonly columns?: { readonly containers?: readonly ContainerColumn[]; readonly processes?: readonly ProcessColumn[] };
  /**
   * `"bpf": {"errors": false, "files": false}`: the bpftrace source without its syscall-error probe, without its
   * files-opened probes; --bpf-errors and --bpf-files override them.
   */
  readonly bpf?: { readonly errors?: boolean; readonly files?: boolean };
}

/** The bpftrace source's switchable probes, as the config file's "bpf" object names them. */
const BPF_PROBES = ['errors', 'files'] as const;

/** The keys a config file may hold. */
export const CONFIG_KEYS = ['keep', 'interval', 'tier', 'sort', 'color', 'columns', 'bpf'] as const;

function configError(path: string, what: string, cause?: unknown, line?: number): BubbleError {
  const where = line === undefined ? safeText(path) : `${safeText(path)} line ${line}:`;
  return new BubbleError(`${where} ${what}: fix it or remove it`, cause === undefined ? undefined : { cause });
}

/** The 1-based line of a character offset. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The line where the string `"value"` first appears after `from` (an offset), for messages about an array's element. */
function lineOfString(text: string, value: string, from: number): number | undefined {
  const i = text.indexOf(JSON.stringify(value), from);
  return i < 0 ? undefined : lineAt(text, i);
}

/** The line where `"key"` first appears as a key, for messages about its value; undefined when not found. */
function lineOfKey(text: string, key: string): number | undefined {
  const m = new RegExp(`"${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\s*:`).exec(text);
  return m === null ? undefined : lineAt(text, m.index);
}

/**
 * The offset of the first JSON syntax error, found by a small scanner of its own: V8's message does not always say
 * where (Node 20: "Unexpected token 'm', "..." is not valid JSON"). Used only once JSON.parse has failed.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      i += text[i] === '\\' ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (m === null) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    return number();
  };
  try {
    value();
    ws();
    return i;
  } catch (offset) {
    return offset as number;
  }
}

/**
 * Reads the config file (JSON). A missing file means defaults; an unreadable or malformed one is one line naming
 * the path and, where it can, the line. Unknown keys are refused, so a typo ("seconds") does not silently keep the
 * default. Values are checked here, not where they are used, so every command refuses the same file the same way.
 */
export function loadConfig(path: string = defaultConfigPath()): BubbleConfig {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { path, keep: {} };
    throw configError(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the file's start, not where it went wrong: say the line and what stands there.
    const offset = jsonErrorOffset(text);
    const there = text.slice(offset).split('\n')[0]!.trim().slice(0, 24);
    throw configError(path, `is not valid JSON (${there === '' ? 'it ends too early' : `stops at: ${safeText(there)}`})`, error, lineAt(text, offset));
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw configError(path, 'must hold a JSON object');
  const fail = (key: string, what: string): BubbleError => configError(path, what, undefined, lineOfKey(text, key));
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const keep: Partial<Record<Tier, string>> = {};
  let config: BubbleConfig = { path, keep };
  for (const [key, value] of Object.entries(json)) {
    switch (key) {
      case 'keep':
        if (!isObject(value)) throw fail(key, 'has "keep" that is not an object like {"second": "2h", "day": "1y"}');
        for (const [tier, duration] of Object.entries(value)) {
          if (!(TIERS as readonly string[]).includes(tier)) {
            throw fail(tier, `has an unknown tier "keep.${safeText(tier)}" (known: ${TIERS.join(', ')})`);
          }
          if (typeof duration !== 'string') throw fail(tier, `has "keep.${tier}" that is not a duration string like "30d"`);
          keep[tier as Tier] = duration;
        }
        break;
      case 'interval': {
        const ms = typeof value === 'string' ? parseDuration(value) : undefined;
        if (ms === undefined || ms > 3_600_000) throw fail(key, 'has "interval" that is not a duration between 1ms and 1h, like "2s" or "500ms"');
        config = { ...config, interval: value as string };
        break;
      }
      case 'tier':
        if (typeof value !== 'string' || !(TIERS as readonly string[]).includes(value)) {
          throw fail(key, `has "tier" that is not one of ${TIERS.join(', ')}`);
        }
        config = { ...config, tier: value as Tier };
        break;
      case 'sort': {
        if (!isObject(value)) throw fail(key, 'has "sort" that is not an object like {"containers": "mem", "processes": "cpu"}');
        const sort: { containers?: ContainerSort; processes?: ProcessSort } = {};
        for (const [list, order] of Object.entries(value)) {
          const known: readonly string[] | undefined = list === 'containers' ? CONTAINER_SORTS : list === 'processes' ? PROCESS_SORTS : undefined;
          if (known === undefined) throw fail(list, `has an unknown list "sort.${safeText(list)}" (known: containers, processes)`);
          if (typeof order !== 'string' || !known.includes(order)) throw fail(list, `has "sort.${list}" that is not one of ${known.join(', ')}`);
          if (list === 'containers') sort.containers = order as ContainerSort;
          else sort.processes = order as ProcessSort;
        }
        config = { ...config, sort };
        break;
      }
      case 'color':
        if (typeof value !== 'boolean') throw fail(key, 'has "color" that is not true or false');
        config = { ...config, color: value };
        break;
      case 'columns': {
        if (!isObject(value)) throw fail(key, 'has "columns" that is not an object like {"containers": ["name", "cpu", "mem"]}');
        const columns: { containers?: readonly ContainerColumn[]; processes?: readonly ProcessColumn[] } = {};
        for (const [list, names] of Object.entries(value)) {
          const known: readonly string[] | undefined = list === 'containers' ? CONTAINER_COLUMNS : list === 'processes' ? PROCESS_COLUMNS : undefined;
          if (known === undefined) throw fail(list, `has an unknown list "columns.${safeText(list)}" (known: containers, processes)`);
          if (!Array.isArray(names) || names.length === 0)
            throw fail(list, `has "columns.${list}" that is not a list of column names like ["${known.slice(0, 3).join('", "')}"]`);
          const error = columnsError(list as ColumnList, names);
          if (error !== undefined) {
            // The bad name is found on its own line, looked for from where this list starts.
            const from = Math.max(0, text.search(new RegExp(`"${list}"\\s*:\\s*\\[`)));
            const line = typeof error.bad === 'string' ? lineOfString(text, error.bad, from) : lineOfKey(text, list);
            throw configError(path, `has "columns.${list}" where ${safeText(error.what)}`, undefined, line);
          }
          if (list === 'containers') columns.containers = names as ContainerColumn[];
          else columns.processes = names as ProcessColumn[];
        }
        config = { ...config, columns };
        break;
      }
      case 'bpf': {
        if (!isObject(value)) throw fail(key, 'has "bpf" that is not an object like {"errors": false}');
        const bpf: { -readonly [P in (typeof BPF_PROBES)[number]]?: boolean } = {};
        for (const [name, on] of Object.entries(value)) {
          const probe = BPF_PROBES.find((p) => p === name);
          if (probe === undefined) throw fail(name, `has an unknown key "bpf.${safeText(name)}" (known: ${BPF_PROBES.join(', ')})`);
          if (typeof on !== 'boolean') throw fail(name, `has "bpf.${probe}" that is not true or false`);
          bpf[probe] = on;
        }
        config = { ...config, bpf };
        break;
      }
      default:
        throw fail(key, `has an unknown key "${safeText(key)}" (known: ${CONFIG_KEYS.join(', ')})`);
    }
  }
  return config;
}

function describe(ms: number): string {
  return formatDuration(ms / 1000);
}

/**
 * Retention per tier: a flag wins over the config file, which wins over DEFAULT_RETENTION. Durations need a unit
 * (`2h`, `30d`, `52w`, `1y`: a bare `30` is ambiguous). Refused: junk, zero, a period shorter than one bucket of its
 * tier (it would delete buckets as they close), and a finer tier kept longer than a coarser one (the coarser tier
 * already holds that history in fewer rows; readers pick the finest tier covering a range assuming the windows nest).
 * Errors are UsageError (exit 2) for flags and BubbleError naming the file for the config.
 */
export function parseRetention(flags: RetentionFlags = {}, config?: BubbleConfig): Retention {
  const result: Record<Tier, number> = { ...DEFAULT_RETENTION };
  const origin: Partial<Record<Tier, string>> = {};
  for (const tier of TIERS) {
    const flagText = flags[FLAG[tier]];
    const configText = config?.keep[tier];
    const text = flagText ?? configText;
    if (text === undefined) continue;
    const where = flagText !== undefined ? `--keep-${tier} ${safeText(text)}` : `keep.${tier} "${safeText(text)}" in ${safeText(config!.path)}`;
    const fail = (why: string): BubbleError =>
      flagText !== undefined
        ? new UsageError(`${where}: ${why}`)
        : configError(config!.path, `has ${where.replace(` in ${safeText(config!.path)}`, '')}: ${why}`);
    const ms = /[a-z]\s*$/i.test(text) ? parseDuration(text) : undefined;
    if (ms === undefined) throw fail('not a duration; give a positive number with a unit, like 2h, 30d, 52w or 1y');
    if (ms < TIER_MS[tier]) throw fail(`shorter than one ${tier} bucket; keep at least 1 ${tier}`);
    result[tier] = ms;
    origin[tier] = where;
  }
  for (let i = 0; i + 1 < TIERS.length; i++) {
    const fine = TIERS[i]!;
    const coarse = TIERS[i + 1]!;
    if (result[fine] > result[coarse]) {
      const culprit = origin[fine] ?? origin[coarse]!;
      const message = `${culprit}: the ${fine} tier would be kept longer (${describe(result[fine])}) than the ${coarse} tier (${describe(result[coarse])}); keep coarser tiers at least as long`;
      throw culprit.startsWith('--') ? new UsageError(message) : new BubbleError(message);
    }
  }
  return result;
}
