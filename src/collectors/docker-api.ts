/**
 * The three Docker Engine API calls DockerWatcher makes: the listing (`GET /containers/json?all=1`), one inspect
 * (`GET /containers/{id}/json`) and the event stream (`GET /events`). On dockerd's unix socket (the default, and a
 * `unix://` DOCKER_HOST) they are plain HTTP over node:http. Why not dockerode there: it loads ssh2, @grpc/grpc-js and
 * protobufjs with it, ~20 MB of resident memory (14 MB of heap, 7 MB of node's own pages for crypto and http2) that a
 * long-running `record` or `top` kept for three GETs. dockerode is still loaded for a tcp:// or ssh:// DOCKER_HOST,
 * where it brings what those need (TLS from DOCKER_CERT_PATH, ssh).
 */
import type Docker from 'dockerode';
import http from 'node:http';

export interface DockerApi {
  listContainers(signal: AbortSignal): Promise<unknown>;
  inspect(id: string, signal: AbortSignal): Promise<unknown>;
  /** Container events from `since` (epoch seconds) on, as a stream of concatenated JSON objects. */
  events(since: number | undefined, signal: AbortSignal): Promise<NodeJS.ReadableStream>;
}

/** The error of a non-2xx answer: describeDockerError() reads `statusCode`, as it does on dockerode's errors. */
export class DockerHttpError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = 'DockerHttpError';
    this.statusCode = statusCode;
  }
}

/** The largest JSON answer read (a listing of thousands of containers is a few MB); a larger one is an error. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** dockerd's JSON error body is `{"message": "..."}`. */
function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as Record<string, unknown>)['message'] === 'string') {
      return (parsed as Record<string, string>)['message']!;
    }
  } catch {
    // Not JSON: the text itself.
  }
  return body.trim().slice(0, 200);
}

/** The Engine API over a unix socket, with node:http. */
export class UnixSocketDockerApi implements DockerApi {
  private readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** The answer to a GET once its status is known: resolves on 2xx, rejects with DockerHttpError otherwise. */
  private get(path: string, signal: AbortSignal): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      // No keep-alive agent: a free socket held open would keep a one-shot `ls` alive, and a request is rare.
      const req = http.get({ socketPath: this.socketPath, path, agent: false, signal, headers: { host: 'docker' } }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(res);
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (body.length < 4096) body += d;
        });
        res.on('end', () => reject(new DockerHttpError(status, errorMessage(body))));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
  }

  private async json(path: string, signal: AbortSignal): Promise<unknown> {
    const res = await this.get(path, signal);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_ANSWER_BYTES) {
          res.destroy(new Error(`Docker's answer to ${path} is over ${MAX_ANSWER_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
      res.on('error', reject);
    });
  }

  listContainers(signal: AbortSignal): Promise<unknown> {
    return this.json('/containers/json?all=1', signal);
  }

  inspect(id: string, signal: AbortSignal): Promise<unknown> {
    return this.json(`/containers/${encodeURIComponent(id)}/json`, signal);
  }

  events(since: number | undefined, signal: AbortSignal): Promise<NodeJS.ReadableStream> {
    const filters = encodeURIComponent(JSON.stringify({ type: ['container'] }));
    return this.get(`/events?filters=${filters}${since === undefined ? '' : `&since=${since}`}`, signal);
  }
}

/** dockerode for a DOCKER_HOST that is not a unix socket (tcp://, ssh://), loaded on first use. */
export class DockerodeApi implements DockerApi {
  private client: Promise<Docker> | undefined;

  private docker(): Promise<Docker> {
    this.client ??= (async () => {
      const { default: DockerClient } = await import('dockerode');
      try {
        return new DockerClient();
      } catch {
        // A malformed DOCKER_HOST must not crash the caller; the failure shows up in the watcher's status.
        return new DockerClient({ socketPath: process.env['DOCKER_HOST'] ?? '' });
      }
    })();
    return this.client;
  }

  async listContainers(signal: AbortSignal): Promise<unknown> {
    return (await this.docker()).listContainers({ all: true, abortSignal: signal } as Docker.ContainerListOptions);
  }

  async inspect(id: string, signal: AbortSignal): Promise<unknown> {
    return (await this.docker()).getContainer(id).inspect({ abortSignal: signal } as Docker.ContainerInspectOptions);
  }

  async events(since: number | undefined, signal: AbortSignal): Promise<NodeJS.ReadableStream> {
    const options = { filters: { type: ['container'] }, ...(since === undefined ? {} : { since }), abortSignal: signal } as Docker.GetEventsOptions;
    return (await this.docker()).getEvents(options);
  }
}
