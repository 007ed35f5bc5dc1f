/**
 * `bubble serve`: a recorder with endpoints. One monitor ticks; each tick feeds the store (unless --no-record), the
 * Prometheus text of /metrics, the cadvisor-companion history and the store API's live list. No second sampler.
 * Its sources are chosen as record's (src/monitor/sources.ts): procfs+bpf where bpftrace runs as root, so it records
 * what `record` records. Endpoints are in docs/serve.md.
 */
import fs from 'node:fs';
import { DockerWatcher } from '../collectors/docker.js';
import { BubbleError } from '../errors/bubble-error.js';
import { safeText } from '../format.js';
import { Monitor } from '../monitor/monitor.js';
import { Recording } from '../monitor/recording.js';
import { chooseSources, type SourceChoice } from '../monitor/sources.js';
import { onExitFinish } from '../monitor/stop.js';
import type { Snapshot } from '../model/snapshot.js';
import { companionProcesses, parseCompanionQuery, SnapshotHistory } from '../serve/companion.js';
import { HttpError, isLoopback, startServer, type ApiRequest, type ApiResponse, type ListenAddress, type RunningServer } from '../serve/http.js';
import { metricsText, type ServeHealth } from '../serve/metrics.js';
import { StoreApi } from '../serve/store-api.js';
import { openStore, type Store } from '../store/database.js';
import { safeJson } from '../store/export.js';
import type { Retention } from '../store/tiers.js';
import { skippedLines } from '../collectors/sysdig.js';
import { describeError, GapReporter } from './record.js';
import type { Output } from './output.js';
import { descriptorSampler } from '../monitor/sampler-options.js';

export const DEFAULT_LISTEN: ListenAddress = { host: '127.0.0.1', port: 9977 };

export interface ServeOptions {
  readonly dbPath: string;
  readonly intervalMs: number;
  readonly retention: Retention;
  /** Write the store; false: read it (when it exists) but do not record. @default true */
  readonly record?: boolean;
  readonly listen: ListenAddress;
  /** Top processes per container in /metrics. */
  readonly processMetrics: number;
  readonly tokenFile?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly metricsPublic?: boolean;
  readonly durationMs?: number;
  readonly quiet: boolean;
  /** Ask Docker for names and images. @default true */
  readonly docker?: boolean;
  /** `--source`, `--bpf-errors` and the binaries, as for record (src/monitor/sources.ts). @default procfs+bpf where it runs */
  readonly sources?: SourceChoice;
}

function readSecret(path: string, what: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (error) {
    throw new BubbleError(`cannot read ${what} ${safeText(path)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
}

/** The token from --token-file (its first line); refuses an empty one. */
export function readToken(path: string): string {
  const token = readSecret(path, '--token-file').toString('utf8').split('\n')[0]!.trim();
  if (token.length < 16) throw new BubbleError(`--token-file ${safeText(path)} holds no token of 16 characters or more`);
  return token;
}

/** Checks the security options before anything is opened: a non-loopback address needs a token. */
export function checkExposure(options: Pick<ServeOptions, 'listen' | 'tokenFile' | 'tlsCert' | 'tlsKey'>): void {
  if (!isLoopback(options.listen.host) && options.tokenFile === undefined) {
    throw new BubbleError(
      `--listen ${safeText(options.listen.host)} is reachable from other machines: give --token-file FILE (a bearer token), ` +
        'and --tls-cert/--tls-key unless the network is trusted; or listen on 127.0.0.1',
    );
  }
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new BubbleError('--tls-cert and --tls-key go together');
}

/** Ticks that did not happen on time, from the gaps between consecutive snapshots. */
export function missedTicks(previousMs: number | undefined, timeMs: number, intervalMs: number): number {
  if (previousMs === undefined || intervalMs <= 0) return 0;
  return Math.max(0, Math.round((timeMs - previousMs) / intervalMs) - 1);
}

export async function runServe(options: ServeOptions, output: Output, signal: AbortSignal): Promise<void> {
  checkExposure(options);
  const token = options.tokenFile === undefined ? undefined : readToken(options.tokenFile);
  const tls =
    options.tlsCert === undefined || options.tlsKey === undefined
      ? undefined
      : { cert: readSecret(options.tlsCert, '--tls-cert'), key: readSecret(options.tlsKey, '--tls-key') };
  const record = options.record !== false;
  // Chosen first: `--source bpf` without bpftrace is an error before a port or a store is taken.
  const sources = chooseSources(options.sources ?? {}, { intervalMs: options.intervalMs, signal });
  const docker = options.docker === false ? undefined : new DockerWatcher();
  let writeErrors = 0;
  let recording: Recording | undefined;
  let reader: Store | undefined;
  let server: RunningServer | undefined;
  // sysdig and bpftrace are optional as in record: if one cannot run, procfs goes on and the reason is a gap line.
  const started = sources.start();
  const sysdig = sources.sysdig;
  const monitor = new Monitor({
    intervalMs: options.intervalMs,
    sampler: descriptorSampler(),
    ...(docker !== undefined && { docker }),
    ...(started.length > 0 && { sources: started }),
  });
  try {
    await docker?.start({ events: true, timeoutMs: 2000 });

    const history = new SnapshotHistory();
    let ticksMissed = 0;
    let previousMs: number | undefined;
    const gaps = new GapReporter();
    monitor.onSnapshot((snapshot: Snapshot) => {
      history.push(snapshot);
      ticksMissed += missedTicks(previousMs, snapshot.timeMs, options.intervalMs);
      previousMs = snapshot.timeMs;
      if (!options.quiet) for (const gap of gaps.lines(snapshot.gaps)) output.err(`bubble: ${safeText(gap)}\n`);
    });
    const health = (): ServeHealth => ({
      ...(monitor.lastTickMs !== undefined && { tickSeconds: monitor.lastTickMs / 1000 }),
      ticks: monitor.ticks,
      ticksMissed,
      storeWriteErrors: writeErrors,
      storeDroppedTicks: recording?.recorder.droppedTicks ?? 0,
      sysdigLinesSkipped: sysdig === undefined ? 0 : skippedLines(sysdig.stats),
    });
    const storeApi = new StoreApi({
      db: () => {
        if (reader === undefined && fs.existsSync(options.dbPath)) {
          // Its own read-only connection (WAL: never blocks the recorder's writes), short busy wait: it runs on the
          // event loop the tick runs on.
          reader = openStore(options.dbPath, { readonly: true, busyTimeoutMs: 200 });
        }
        return reader?.db;
      },
      live: () => {
        const last = monitor.last;
        return last === undefined ? undefined : { containers: last.containers, timeMs: last.timeMs };
      },
    });
    const handler = (request: ApiRequest): ApiResponse => {
      const [first, second, ...rest] = request.segments;
      if (first === 'metrics' && second === undefined) {
        return {
          contentType: 'text/plain; version=0.0.4; charset=utf-8',
          body: metricsText(monitor.last, health(), { processesPerContainer: options.processMetrics }),
        };
      }
      if (first === 'api' && second === 'v1.0' && rest.length >= 2 && rest.at(-1) === 'processes') {
        const name = '/' + rest.slice(0, -1).join('/');
        const entries = companionProcesses(history, name, parseCompanionQuery(request.query));
        return { contentType: 'application/json', body: safeJson(entries) + '\n' };
      }
      if (first === 'api' && second === 'v1') return storeApi.handle(rest, request.query, request.receivedMs);
      if (first === undefined) {
        return { contentType: 'application/json', body: safeJson({ endpoints: ['/metrics', '/api/v1.0/<container>/processes', '/api/v1/containers'] }) + '\n' };
      }
      throw new HttpError(404, 'no such resource; see docs/serve.md');
    };
    server = await startServer(
      {
        listen: options.listen,
        ...(token !== undefined && { token }),
        ...(tls !== undefined && { tls }),
        metricsPublic: options.metricsPublic === true,
      },
      handler,
      (message) => output.err(`bubble: ${message}\n`),
    ).catch((error: NodeJS.ErrnoException) => {
      throw new BubbleError(`cannot listen on ${safeText(options.listen.host)}:${options.listen.port}: ${error.code ?? error.message}`, { cause: error });
    });

    // The store is opened once the address is ours: a port in use leaves no store file behind.
    if (record) {
      recording = await Recording.open({
        dbPath: options.dbPath,
        retention: options.retention,
        role: 'record',
        ...(docker !== undefined && { docker }),
        events: {
          onWriteError: (error, pending) => {
            writeErrors++;
            output.err(
              `bubble: cannot write ${safeText(options.dbPath)}: ${safeText(describeError(error))}; still serving, retrying every tick (${pending} pending)\n`,
            );
          },
          onRecovered: (written) => output.err(`bubble: writing ${safeText(options.dbPath)} again (${written} ticks caught up)\n`),
        },
      });
    }
    const cancelExitHook = onExitFinish(() => monitor.detach());
    if (!options.quiet) {
      const what = record ? `recording to ${safeText(options.dbPath)}` : 'not recording';
      output.err(`bubble: serving ${server.url}/metrics every ${options.intervalMs / 1000}s, ${what} (pid ${process.pid}); Ctrl-C stops\n`);
      sources.announce((line) => output.err(`bubble: ${safeText(line)}\n`));
    }
    if (recording !== undefined) monitor.attach(recording.recorder);
    await monitor.run(signal, { ...(options.durationMs !== undefined && { durationMs: options.durationMs }) });
    await sources.stop();
    cancelExitHook();
    await server.close();
    server = undefined;
    try {
      monitor.detach();
    } catch (error) {
      throw new BubbleError(`could not write the last ticks to ${safeText(options.dbPath)}; what was written before is kept`, { cause: error });
    }
    if (!options.quiet && recording !== undefined) output.err(`bubble: recorded ${recording.recorder.ticks} ticks to ${safeText(options.dbPath)}\n`);
  } finally {
    await server?.close();
    monitor.close();
    docker?.stop();
    reader?.close();
    recording?.close();
  }
}
