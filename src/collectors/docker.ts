/**
 * Docker metadata (names, image, labels, state, start/exit time, exit code) from the Engine API (docker-api.ts). One listing (like
 * `docker ps -a`) plus one inspect per container, then Docker's event stream keeps the map current: no polling.
 * Docker is optional: every failure ends up as one line in `status`, never as a thrown error.
 */
import { setMaxListeners } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { ContainerMeta } from '../model/sample.js';
import { type DockerApi, DockerodeApi, UnixSocketDockerApi } from './docker-api.js';

export interface DockerStatus {
  readonly ok: boolean;
  /** One line: what is missing and what to do. */
  readonly message?: string;
}

export interface DockerWatcherOptions {
  /** Unix socket of dockerd. Default: the path of a `unix://` DOCKER_HOST, else /var/run/docker.sock. */
  readonly socketPath?: string;
}

export interface DockerStartOptions {
  /** start() resolves after the first listing or after this long, whichever comes first. Default 2000. */
  readonly timeoutMs?: number;
  /** Subscribe to the event stream (default true); false = one listing only. */
  readonly events?: boolean;
}

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** Removed containers kept for their exit code; beyond this the oldest go, so a long `record` does not grow forever. */
const MAX_REMOVED = 1024;
/** Parallel inspects during a listing: enough to be quick, few enough not to swamp dockerd on a big host. */
const INSPECT_CONCURRENCY = 8;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** An event is a few hundred bytes; a pending "object" this large is garbage, not an event. */
const MAX_PENDING_JSON = 1 << 20;

/** Docker's time strings (RFC 3339, nanoseconds) as epoch ms; Go's zero time ('0001-01-01T00:00:00Z') is unknown. */
export function parseDockerTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** Docker names carry a leading '/'; links add `/other/alias` names, so prefer the one without a further '/'. */
export function containerName(names: readonly string[] | string | undefined): string | undefined {
  const list = typeof names === 'string' ? [names] : (names ?? []);
  const stripped = list.map((n) => n.replace(/^\//, '')).filter((n) => n !== '');
  return stripped.find((n) => !n.includes('/')) ?? stripped[0];
}

/** Exit time and code mean something only once the container has stopped; a running one still reports its last run's. */
const STOPPED_STATES = new Set(['exited', 'dead', 'removed']);

function withoutExit(meta: ContainerMeta): ContainerMeta {
  const { finishedAtMs: _f, exitCode: _e, oomKilled: _o, ...rest } = meta;
  return rest;
}

function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The addresses in a NetworkSettings object (inspect's and the listing's have the same `Networks` map; inspect adds the
 * default bridge's at the top level): IPv4 and global IPv6, each once. Undefined when it has none (not started, or
 * `--network none`/`host`): a listing entry then does not erase what an inspect knew.
 */
export function networkAddresses(settings: unknown): string[] | undefined {
  if (!isRecord(settings)) return undefined;
  const out = new Set<string>();
  const add = (n: Record<string, unknown>): void => {
    for (const field of ['IPAddress', 'GlobalIPv6Address']) {
      const a = n[field];
      if (typeof a === 'string' && a !== '') out.add(a);
    }
  };
  add(settings);
  if (isRecord(settings['Networks'])) for (const n of Object.values(settings['Networks'])) if (isRecord(n)) add(n);
  return out.size === 0 ? undefined : [...out];
}

/** Meta from one `GET /containers/{id}/json` answer. */
export function metaFromInspect(info: unknown): ContainerMeta {
  const i = isRecord(info) ? info : {};
  const config = isRecord(i['Config']) ? i['Config'] : {};
  const state = isRecord(i['State']) ? i['State'] : {};
  const status = typeof state['Status'] === 'string' ? state['Status'] : undefined;
  const meta: ContainerMeta = {
    name: containerName(typeof i['Name'] === 'string' ? i['Name'] : undefined),
    image: typeof config['Image'] === 'string' ? config['Image'] : undefined,
    labels: stringRecord(config['Labels']),
    state: status,
    startedAtMs: parseDockerTime(state['StartedAt']),
    finishedAtMs: parseDockerTime(state['FinishedAt']),
    exitCode: typeof state['ExitCode'] === 'number' ? state['ExitCode'] : undefined,
    oomKilled: state['OOMKilled'] === true ? true : undefined,
    addresses: networkAddresses(i['NetworkSettings']),
  };
  return prune(status !== undefined && STOPPED_STATES.has(status) ? meta : withoutExit(meta));
}

/**
 * The fields one `GET /containers/json?all=1` entry gives (no times: inspect fills those). A stopped container's exit
 * code is in its Status text (`Exited (5) 3 seconds ago`), so `ls --all` has it when an inspect is slow.
 */
export function metaFromListing(entry: unknown): ContainerMeta {
  const e = isRecord(entry) ? entry : {};
  const names = Array.isArray(e['Names']) ? e['Names'].filter((n): n is string => typeof n === 'string') : [];
  const state = typeof e['State'] === 'string' ? e['State'] : undefined;
  const code = state !== undefined && STOPPED_STATES.has(state) && typeof e['Status'] === 'string' ? /^Exited \((\d+)\)/.exec(e['Status'])?.[1] : undefined;
  return prune({
    name: containerName(names),
    image: typeof e['Image'] === 'string' ? e['Image'] : undefined,
    labels: stringRecord(e['Labels']),
    state,
    exitCode: code === undefined ? undefined : Number(code),
    addresses: networkAddresses(e['NetworkSettings']),
  });
}

/** Drops undefined fields so spreading a newer meta over an older one never erases what the older one knew. */
function prune(meta: ContainerMeta): ContainerMeta {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) if (v !== undefined) out[k] = v;
  return out as ContainerMeta;
}

/** One container event as the watcher needs it (API 1.41 shape: Type, Action, Actor.{ID,Attributes}, timeNano). */
export interface DockerEvent {
  readonly id: string;
  /** `exec_start: sh -c ...` reduced to `exec_start`. */
  readonly action: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly timeMs: number;
}

/** A decoded JSON object from the stream -> DockerEvent, or undefined for non-container or malformed events. */
export function parseEvent(raw: unknown): DockerEvent | undefined {
  if (!isRecord(raw)) return undefined;
  const type = raw['Type'] ?? raw['type'];
  if (type !== undefined && type !== 'container') return undefined;
  const actor = isRecord(raw['Actor']) ? raw['Actor'] : {};
  const id = typeof actor['ID'] === 'string' ? actor['ID'] : typeof raw['id'] === 'string' ? raw['id'] : undefined;
  const actionRaw = typeof raw['Action'] === 'string' ? raw['Action'] : raw['status'];
  if (id === undefined || id === '' || typeof actionRaw !== 'string') return undefined;
  const action = (actionRaw.split(':')[0] ?? '').trim();
  // timeNano exceeds 2^53, but the lost nanoseconds do not matter at millisecond resolution.
  const timeMs = typeof raw['timeNano'] === 'number' ? Math.floor(raw['timeNano'] / 1e6) : typeof raw['time'] === 'number' ? raw['time'] * 1000 : Date.now();
  return { id, action, attributes: stringRecord(actor['Attributes']), timeMs };
}

export interface EventEffect {
  /** The container's meta after the event; undefined = the event changes nothing. */
  readonly meta?: ContainerMeta;
  /** Ask dockerd for the full picture (labels, exact StartedAt) because the event does not carry it. */
  readonly inspect: boolean;
}

/** What one event does to what the watcher knew of its container. Pure, so every action is testable. */
export function applyEvent(prev: ContainerMeta | undefined, ev: DockerEvent): EventEffect {
  // A container first seen through an event (created while the stream was down, or before the listing answered).
  const base: ContainerMeta = prev ?? prune({ name: containerName(ev.attributes['name']), image: ev.attributes['image'] });
  switch (ev.action) {
    case 'create': {
      // A create event's attributes are the container's labels plus name and image: good until inspect answers.
      const { name: _n, image: _i, ...labels } = ev.attributes;
      return { meta: { labels, ...base, state: 'created' }, inspect: true };
    }
    case 'start':
      // The event time is within milliseconds of StartedAt; inspect replaces it with the exact value.
      return { meta: { ...withoutExit(base), state: 'running', startedAtMs: ev.timeMs }, inspect: true };
    case 'restart':
    case 'update':
      return { meta: prev === undefined ? base : undefined, inspect: true };
    case 'die': {
      const code = Number.parseInt(ev.attributes['exitCode'] ?? '', 10);
      return {
        meta: prune({ ...base, state: 'exited', finishedAtMs: ev.timeMs, exitCode: Number.isFinite(code) ? code : undefined }),
        inspect: false,
      };
    }
    case 'oom':
      // Sent before the `die` of a container whose process the kernel OOM-killed; die keeps it (spreads base).
      return { meta: { ...base, oomKilled: true }, inspect: false };
    case 'pause':
      return { meta: { ...base, state: 'paused' }, inspect: false };
    case 'unpause':
      return { meta: { ...base, state: 'running' }, inspect: false };
    case 'rename': {
      const name = containerName(ev.attributes['name']);
      return { meta: name === undefined ? base : { ...base, name }, inspect: false };
    }
    case 'destroy':
      // Keep what we knew (the store needs the exit code after removal).
      return { meta: { ...base, state: 'removed' }, inspect: false };
    default:
      // attach, kill, stop, exec_*, health_status, top, ...: no field of ContainerMeta changes.
      return { meta: prev === undefined ? base : undefined, inspect: prev === undefined };
  }
}

/**
 * Splits a stream of concatenated JSON objects (newline-separated or not) into parsed objects. Keeps its scan state
 * between pushes, so an object split across chunks is neither rescanned nor lost, and several per chunk all come out.
 * Text between objects is skipped; an object that does not parse is dropped.
 */
export class JsonObjectSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;

  push(text: string): unknown[] {
    const out: unknown[] = [];
    const scanFrom = this.buf.length;
    this.buf += text;
    let start = 0;
    for (let i = scanFrom; i < this.buf.length; i++) {
      const c = this.buf.charCodeAt(i);
      if (this.depth === 0) {
        if (c === 0x7b /* { */) {
          this.depth = 1;
          start = i;
        } else {
          start = i + 1;
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c /* \ */) this.escaped = true;
        else if (c === 0x22 /* " */) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b /* [ */) this.depth++;
      else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
        this.depth--;
        if (this.depth === 0) {
          try {
            out.push(JSON.parse(this.buf.slice(start, i + 1)));
          } catch {
            // Not JSON after all: skip it, the next object starts clean.
          }
          start = i + 1;
        }
      }
    }
    this.buf = this.depth === 0 ? '' : this.buf.slice(start);
    if (this.buf.length > MAX_PENDING_JSON) this.reset();
    return out;
  }

  reset(): void {
    this.buf = '';
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
  }
}

/** One line saying what is wrong with Docker at `where` and what to do about it. */
export function describeDockerError(err: unknown, where: string): string {
  const e = isRecord(err) ? err : {};
  const code = typeof e['code'] === 'string' ? e['code'] : undefined;
  const status = typeof e['statusCode'] === 'number' ? e['statusCode'] : undefined;
  const msg = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  switch (code) {
    case 'ENOENT':
      return `no Docker socket at ${where}: container names show as short ids (start dockerd or set DOCKER_HOST)`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied on ${where}: run with sudo or join the docker group`;
    case 'ECONNREFUSED':
      return `nothing answers on the Docker socket at ${where}: container names show as short ids (is dockerd running?)`;
    case 'ENOTSOCK':
      return `${where} is not a socket: container names show as short ids (set DOCKER_HOST to dockerd's socket)`;
    default:
      if (status !== undefined) return `Docker at ${where} answered HTTP ${status} (${msg}): container names may be missing`;
      return `Docker at ${where} failed (${msg}): container names show as short ids`;
  }
}

/** Which dockerd to talk to (a socket path, or undefined: docker-modem reads DOCKER_HOST), and its name in messages. */
function resolveTarget(socketPath: string | undefined): { socketPath: string | undefined; where: string } {
  if (socketPath !== undefined) return { socketPath, where: socketPath };
  const host = process.env['DOCKER_HOST'];
  if (host === undefined || host === '') return { socketPath: DEFAULT_DOCKER_SOCKET, where: DEFAULT_DOCKER_SOCKET };
  if (host.startsWith('unix://')) {
    const path = host.slice('unix://'.length) || DEFAULT_DOCKER_SOCKET;
    return { socketPath: path, where: path };
  }
  // tcp:// or ssh://: docker-modem reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself.
  return { socketPath: undefined, where: host };
}

/** The API client for a target: node:http on a unix socket, dockerode (loaded on first use) for anything else. */
function createApi(socketPath: string | undefined): DockerApi {
  return socketPath !== undefined ? new UnixSocketDockerApi(socketPath) : new DockerodeApi();
}

type EventStream = NodeJS.ReadableStream & { destroy?: (err?: Error) => void };

export class DockerWatcher {
  private readonly api: DockerApi;
  private readonly where: string;
  private readonly map = new Map<string, ContainerMeta>();
  private readonly listeners = new Set<() => void>();
  private readonly abort = new AbortController();
  private currentStatus: DockerStatus = { ok: false, message: 'Docker not queried yet' };
  private stopped = false;
  private eventsWanted = true;
  private started: Promise<void> | undefined;
  private stream: EventStream | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs = 0;
  /** Arrival order of events, per container: a listing or inspect issued before an event must not undo it. */
  private seq = 0;
  private readonly lastEventSeq = new Map<string, number>();
  private lastEventTimeMs: number | undefined;
  private connecting = false;

  constructor(opts: DockerWatcherOptions = {}) {
    const target = resolveTarget(opts.socketPath);
    this.where = target.where;
    this.api = createApi(target.socketPath);
    // Every request listens on this one signal; a listing's parallel inspects would otherwise trip Node's leak warning.
    setMaxListeners(0, this.abort.signal);
  }

  get status(): DockerStatus {
    return this.currentStatus;
  }

  start(opts: DockerStartOptions = {}): Promise<void> {
    if (this.started !== undefined) return this.started;
    const timeoutMs = opts.timeoutMs ?? 2000;
    this.eventsWanted = opts.events ?? true;
    this.started = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        if (!this.currentStatus.ok && this.currentStatus.message === 'Docker not queried yet') {
          this.setStatus({
            ok: false,
            message: `Docker at ${this.where} did not answer within ${timeoutMs} ms: container names show as short ids for now`,
          });
        }
        resolve();
      }, timeoutMs);
      timer.unref();
      void this.connect().finally(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.started;
  }

  get(id: string): ContainerMeta | undefined {
    return this.map.get(id);
  }

  all(): ReadonlyMap<string, ContainerMeta> {
    return this.map;
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.abort.abort();
    this.closeStream();
    this.listeners.clear();
  }

  /** One connection cycle: events first (so nothing between listing and subscribing is lost), then the listing. */
  private async connect(): Promise<void> {
    if (this.stopped || this.connecting) return;
    this.connecting = true;
    try {
      if (this.eventsWanted) await this.openEvents();
      await this.list();
      if (this.stopped) return;
      // A stream that broke during the listing has already said so in status.
      if (!this.eventsWanted || this.stream !== undefined) {
        this.backoffMs = 0;
        this.setStatus({ ok: true });
      }
    } catch (err) {
      if (this.stopped) return;
      this.closeStream();
      this.setStatus({ ok: false, message: describeDockerError(err, this.where) });
    } finally {
      this.connecting = false;
      // Keep trying while watching: dockerd may come up (or come back) later. Also covers a break during connect().
      if (this.eventsWanted && !this.stopped && this.stream === undefined) this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer !== undefined) return;
    this.backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, this.backoffMs * 2));
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, this.backoffMs);
    // A watcher alone must not keep the process alive.
    this.reconnectTimer.unref();
  }

  private async openEvents(): Promise<void> {
    // After a break, replay from the last event seen (dockerd keeps a short history); duplicates are harmless.
    const since = this.lastEventTimeMs === undefined ? undefined : Math.floor(this.lastEventTimeMs / 1000);
    const stream = (await this.api.events(since, this.abort.signal)) as EventStream;
    if (this.stopped) {
      stream.destroy?.();
      return;
    }
    this.stream = stream;
    const splitter = new JsonObjectSplitter();
    const decoder = new StringDecoder('utf8');
    stream.on('data', (chunk: Buffer | string) => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const raw of splitter.push(text)) this.handleEvent(raw);
    });
    const broke = (why: string): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (this.stopped) return;
      this.setStatus({
        ok: false,
        message: `Docker event stream at ${this.where} ${why}: reconnecting (names and states may be stale)`,
      });
      this.scheduleReconnect();
    };
    stream.on('end', () => broke('ended'));
    stream.on('close', () => broke('closed'));
    stream.on('error', (err: unknown) => broke(`failed (${err instanceof Error ? err.message : String(err)})`));
  }

  private closeStream(): void {
    const s = this.stream;
    this.stream = undefined;
    s?.destroy?.();
  }

  private handleEvent(raw: unknown): void {
    const ev = parseEvent(raw);
    if (ev === undefined || this.stopped) return;
    this.lastEventSeq.set(ev.id, ++this.seq);
    if (this.lastEventTimeMs === undefined || ev.timeMs > this.lastEventTimeMs) this.lastEventTimeMs = ev.timeMs;
    const effect = applyEvent(this.map.get(ev.id), ev);
    if (effect.meta !== undefined) this.put(ev.id, effect.meta);
    if (effect.inspect) void this.inspect(ev.id);
    if (effect.meta !== undefined) this.emit();
  }

  /** Lists all containers, then inspects each for times and exit code. Throws when dockerd cannot be reached. */
  private async list(): Promise<void> {
    const issuedAt = this.seq;
    const entries = await this.api.listContainers(this.abort.signal);
    if (this.stopped) return;
    const ids: string[] = [];
    for (const entry of Array.isArray(entries) ? entries : []) {
      const id = isRecord(entry) && typeof entry['Id'] === 'string' ? entry['Id'] : undefined;
      if (id === undefined) continue;
      ids.push(id);
      if (!this.newerEventSince(id, issuedAt)) this.put(id, { ...this.map.get(id), ...metaFromListing(entry) });
    }
    // Known containers missing from a re-listing went away while we were not watching.
    const listed = new Set(ids);
    for (const [id, meta] of this.map) {
      if (!listed.has(id) && meta.state !== 'removed' && !this.newerEventSince(id, issuedAt)) {
        this.put(id, { ...meta, state: 'removed' });
      }
    }
    this.emit();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length && !this.stopped) {
        const id = ids[next++];
        if (id !== undefined) await this.inspect(id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(INSPECT_CONCURRENCY, ids.length) }, worker));
    this.emit();
  }

  /** Inspects one container; a vanished one (404) or any other failure leaves what we knew. */
  private async inspect(id: string): Promise<void> {
    const issuedAt = this.seq;
    let info: unknown;
    try {
      info = await this.api.inspect(id, this.abort.signal);
    } catch {
      return;
    }
    if (this.stopped || this.newerEventSince(id, issuedAt)) return;
    const meta = metaFromInspect(info);
    // An inspect that raced a destroy says nothing about a removed container we still remember.
    if (this.map.get(id)?.state === 'removed') return;
    this.put(id, meta);
    this.emit();
  }

  private newerEventSince(id: string, seq: number): boolean {
    return (this.lastEventSeq.get(id) ?? 0) > seq;
  }

  private put(id: string, meta: ContainerMeta): void {
    // Re-insert so Map order is last-change order: the oldest removed ones are then first to prune.
    this.map.delete(id);
    this.map.set(id, meta);
    if (meta.state !== 'removed') return;
    let removed = 0;
    for (const m of this.map.values()) if (m.state === 'removed') removed++;
    if (removed <= MAX_REMOVED) return;
    for (const [k, m] of this.map) {
      if (removed <= MAX_REMOVED) break;
      if (m.state === 'removed') {
        this.map.delete(k);
        this.lastEventSeq.delete(k);
        removed--;
      }
    }
  }

  private setStatus(status: DockerStatus): void {
    const prev = this.currentStatus;
    this.currentStatus = status;
    if (prev.ok !== status.ok || prev.message !== status.message) this.emit();
  }

  private emit(): void {
    for (const cb of [...this.listeners]) {
      try {
        cb();
      } catch {
        // One listener's bug must not stop the others or the event stream.
      }
    }
  }
}
