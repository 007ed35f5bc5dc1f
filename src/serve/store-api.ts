/**
 * The query API over the store (bubble-chamber's use), read through the store's own query and export functions, with
 * `bubble export --json`'s field names (docs/fields.md, docs/store.md):
 *
 *   GET /api/v1/containers                     live and recorded containers, with exit times
 *   GET /api/v1/containers/<key>               one of them (key, name, id prefix, Slurm job id or cgroup path)
 *   GET /api/v1/containers/<key>/series        its rows of one tier: ?tier=second|minute|hour|day&since=&until=
 *   GET /api/v1/containers/<key>/processes     its processes' rows (same parameters)
 *   GET /api/v1/containers/<key>/files         its file access intervals (since, until)
 *   GET /api/v1/containers/<key>/network       its connection intervals (since, until)
 *
 * Rows come as JSON lines, at most `maxBytes` per answer: a longer one is cut after the last whole bucket, says
 * `X-Bubble-Truncated: 1` and gives the `since` to ask with next in `X-Bubble-Next-Since`.
 */
import type { Database } from 'better-sqlite3';
import { ContainerNotFoundError } from '../errors/container-not-found-error.js';
import { matchContainer } from '../model/match.js';
import type { ContainerView } from '../model/snapshot.js';
import { parseTime } from '../model/time.js';
import { exportRows, safeJson, type ExportWhat } from '../store/export.js';
import { listStoredContainers, type StoredContainer } from '../store/queries.js';
import { TIERS, type Tier } from '../store/tiers.js';
import { HttpError, type ApiResponse } from './http.js';

/** One answer's rows at most this many bytes. */
export const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;
/** Containers listed at most (most recently seen first). */
const MAX_CONTAINERS = 10_000;

/** A container as the API lists it: export's names (container, kind, id, name, image, exit_time, exit_code) and more. */
export interface ApiContainer {
  readonly container: string;
  readonly kind: string;
  readonly id: string;
  readonly name: string;
  readonly image: string | null;
  readonly cgroup: string;
  readonly first_seen: string | null;
  readonly last_seen: string | null;
  readonly exit_time: string | null;
  readonly exit_code: number | null;
  /** Seen by the newest tick. */
  readonly live: boolean;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

function fromStore(c: StoredContainer, live: boolean): ApiContainer {
  return {
    container: c.key,
    kind: c.kind,
    id: c.id,
    name: c.name,
    image: c.image ?? null,
    cgroup: c.cgroup,
    first_seen: iso(c.firstSeenMs),
    last_seen: iso(c.lastSeenMs),
    exit_time: iso(c.exitTimeMs),
    exit_code: c.exitCode ?? null,
    live,
  };
}

function fromLive(c: ContainerView, timeMs: number): ApiContainer {
  return {
    container: c.key,
    kind: c.kind,
    id: c.id,
    name: c.name,
    image: c.image ?? null,
    cgroup: c.cgroup,
    first_seen: null,
    last_seen: iso(timeMs),
    exit_time: null,
    exit_code: null,
    live: true,
  };
}

export interface StoreApiSources {
  /** The store to read, undefined when there is none (yet). */
  readonly db: () => Database | undefined;
  /** The newest tick's containers and its time. */
  readonly live: () => { readonly containers: readonly ContainerView[]; readonly timeMs: number } | undefined;
  readonly maxBytes?: number;
}

const ROW_KINDS: Readonly<Record<string, ExportWhat>> = { series: 'containers', processes: 'processes', files: 'files', network: 'network', errors: 'errors' };

const json = (value: unknown, status = 200): ApiResponse => ({ status, contentType: 'application/json', body: safeJson(value) + '\n' });

export class StoreApi {
  private readonly sources: StoreApiSources;

  constructor(sources: StoreApiSources) {
    this.sources = sources;
  }

  /** Live containers first (with their recorded first sight), then those only the store knows, most recent first. */
  containers(): ApiContainer[] {
    const db = this.sources.db();
    const stored = db === undefined ? [] : listStoredContainers(db);
    const live = this.sources.live();
    const liveKeys = new Set(live?.containers.filter((c) => c.kind !== 'host').map((c) => c.key));
    const byKey = new Map(stored.map((c) => [c.key, c]));
    const out: ApiContainer[] = [];
    for (const c of live?.containers ?? []) {
      if (c.kind === 'host') continue;
      const s = byKey.get(c.key);
      out.push(s === undefined ? fromLive(c, live!.timeMs) : { ...fromStore(s, true), last_seen: iso(live!.timeMs) });
    }
    for (const c of stored) if (!liveKeys.has(c.key)) out.push(fromStore(c, false));
    return out.slice(0, MAX_CONTAINERS);
  }

  private find(query: string): ApiContainer {
    const all = this.containers();
    try {
      return matchContainer(
        query,
        all.map((c) => ({ key: c.container, kind: c.kind, id: c.id, name: c.name, cgroup: c.cgroup, api: c })),
      ).api;
    } catch (error) {
      if (error instanceof ContainerNotFoundError) throw new HttpError(error.message.includes(' is ambiguous') ? 400 : 404, error.message);
      throw error;
    }
  }

  /** Answers a path below /api/v1 (segments after it). */
  handle(segments: readonly string[], query: URLSearchParams, nowMs: number): ApiResponse {
    if (segments[0] !== 'containers' || segments.length > 3) throw new HttpError(404, 'no such resource; see docs/serve.md');
    if (segments.length === 1) return json(this.containers());
    const container = this.find(segments[1]!);
    if (segments.length === 2) return json(container);
    const what = ROW_KINDS[segments[2]!];
    if (what === undefined) throw new HttpError(404, `no such resource "${segments[2]}": series, processes, files or network`);
    const db = this.sources.db();
    if (db === undefined) throw new HttpError(404, 'no store to read (bubble serve --no-record without a store file)');
    return this.rows(db, what, container.container, query, nowMs);
  }

  private rows(db: Database, what: ExportWhat, key: string, query: URLSearchParams, nowMs: number): ApiResponse {
    for (const name of query.keys())
      if (!['tier', 'since', 'until'].includes(name)) throw new HttpError(400, `unknown parameter "${name}": tier, since, until`);
    const tier = query.get('tier');
    if (tier !== null && !(TIERS as readonly string[]).includes(tier)) throw new HttpError(400, `tier: "${tier}" is not one of ${TIERS.join(', ')}`);
    const since = query.get('since');
    const until = query.get('until');
    const maxBytes = this.sources.maxBytes ?? DEFAULT_MAX_BYTES;
    const chunks: string[] = [];
    let size = 0;
    let truncated = false;
    const full = new Error('full');
    try {
      exportRows(
        db,
        {
          what,
          format: 'json',
          containerKeys: [key],
          ...(since !== null && { sinceMs: parseTime(since, nowMs, 'since') }),
          ...(until !== null && { untilMs: parseTime(until, nowMs, 'until') }),
          ...(tier !== null && { tier: tier as Tier }),
        },
        (chunk) => {
          if (size + chunk.length > maxBytes) {
            // Chunks are whole rows (lines): keep those that fit, and stop the export.
            const end = chunk.lastIndexOf('\n', maxBytes - size - 1);
            if (end >= 0) chunks.push(chunk.slice(0, end + 1));
            truncated = true;
            throw full;
          }
          chunks.push(chunk);
          size += chunk.length;
        },
      );
    } catch (error) {
      if (error !== full) throw error;
    }
    let body = chunks.join('');
    const headers: Record<string, string> = {};
    if (truncated) {
      headers['x-bubble-truncated'] = '1';
      const next = cutAtLastBucket(body, what);
      body = next.body;
      if (next.since !== undefined) headers['x-bubble-next-since'] = next.since;
    }
    return { contentType: 'application/x-ndjson', body, headers };
  }
}

/**
 * Drops the rows of the last bucket (it may be incomplete) and returns the time to go on from. Access intervals are
 * not bucketed: they go on from the last row's first sight. With one bucket only, nothing is dropped.
 */
function cutAtLastBucket(body: string, what: ExportWhat): { body: string; since?: string } {
  const lines = body.split('\n').filter((l) => l !== '');
  const field = what === 'files' || what === 'network' ? 'first_seen' : 'time';
  const timeOf = (line: string): string | undefined => {
    const value = (JSON.parse(line) as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  };
  const last = lines.length === 0 ? undefined : timeOf(lines.at(-1)!);
  if (last === undefined) return { body };
  let keep = lines.length;
  while (keep > 0 && timeOf(lines[keep - 1]!) === last) keep--;
  if (keep === 0) return { body, since: last };
  return { body: lines.slice(0, keep).join('\n') + '\n', since: last };
}
