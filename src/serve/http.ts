/**
 * The HTTP(S) server of `bubble serve`, with its limits: read-only (GET and HEAD), a bearer token compared in constant
 * time, bounded URL, header size and count, connections, request and idle time. Handlers are synchronous and return
 * a whole, size-bounded body, so a slow client only ever holds its own socket's buffer: it never stalls the tick.
 * Every failure is a JSON `{"error": ...}` with its status, never a stack trace.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { isBubbleError } from '../errors/bubble-error.js';
import { UsageError } from '../errors/usage-error.js';
import { safeText } from '../format.js';
import { safeJson } from '../store/export.js';

/** A failure with its HTTP status; the message is shown to the client. */
export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface ApiRequest {
  /** The path, percent-decoded per segment: ['api', 'v1.0', 'docker', '3f2a', 'processes']. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  /** Request headers' receipt time, epoch ms. */
  readonly receivedMs: number;
}

export interface ApiResponse {
  readonly status?: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type ApiHandler = (request: ApiRequest) => ApiResponse;

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface ServerOptions {
  readonly listen: ListenAddress;
  /** Bearer token every request needs (but /metrics with `metricsPublic`). */
  readonly token?: string;
  readonly metricsPublic?: boolean;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Open connections at most; more are closed at accept. @default 256 */
  readonly maxConnections?: number;
  /** A request's headers must arrive within this. @default 5000 */
  readonly headersTimeoutMs?: number;
  /** A connection idle (a client that stops reading or sending) this long is closed. @default 10000 */
  readonly idleTimeoutMs?: number;
  /**
   * Response bytes not yet taken by clients, summed over all connections; an answer that would go over gets a 503.
   * Slow or stalled readers cannot make the process hold more than this. @default 64 MiB
   */
  readonly maxPendingBytes?: number;
}

export const MAX_URL_LENGTH = 4096;
export const MAX_HEADER_BYTES = 8192;
const MAX_HEADERS = 64;

/** `127.0.0.1:9977`, `[::1]:9977`, `0.0.0.0:9977`, `:9977` (all addresses); throws UsageError otherwise. */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw new UsageError(`--listen: "${text}" is not ADDRESS:PORT (like 127.0.0.1:9977 or [::1]:9977)`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  if (host !== 'localhost' && isIP(host) === 0) throw new UsageError(`--listen: "${host}" is not an IP address (or localhost)`);
  return { host, port };
}

/** Whether only this machine can reach the address. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./i.test(host);
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Constant time in the token's content (both sides hashed to the same length first). */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header);
  const given = m?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token)) && m !== null;
}

function jsonError(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  // Messages can quote a container's name or the request: escaped like every JSON answer.
  send(res, { status, contentType: 'application/json', body: safeJson({ error: message }) + '\n', headers });
}

function send(res: http.ServerResponse, response: Omit<ApiResponse, 'body'> & { readonly body: string | Buffer }, head = false): void {
  if (res.headersSent) return;
  const body = typeof response.body === 'string' ? Buffer.from(response.body) : response.body;
  res.writeHead(response.status ?? 200, {
    'content-type': response.contentType,
    'content-length': String(body.length),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...response.headers,
  });
  res.end(head ? undefined : body);
}

/** Splits and decodes a path; throws HttpError 400 on `..`, `.`, NUL or bad percent-encoding. */
export function pathSegments(rawUrl: string): { segments: string[]; query: URLSearchParams } {
  if (rawUrl.length > MAX_URL_LENGTH) throw new HttpError(414, `the URL is longer than ${MAX_URL_LENGTH} characters`);
  if (!rawUrl.startsWith('/')) throw new HttpError(400, 'the request target is not a path');
  const q = rawUrl.indexOf('?');
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const segments: string[] = [];
  for (const raw of rawPath.split('/').slice(1)) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw new HttpError(400, 'the path has a bad percent-encoding');
    }
    // Checked after decoding: %2e%2e and %2f are the same traversal as .. and /.
    if (segment === '..' || segment === '.' || segment.includes('/') || segment.includes('\0')) {
      throw new HttpError(400, 'the path has a "..", "." or an encoded "/" or NUL in it');
    }
    if (segment !== '') segments.push(segment);
  }
  return { segments, query: new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1)) };
}

export interface RunningServer {
  readonly address: ListenAddress;
  /** `http://127.0.0.1:9977` */
  readonly url: string;
  close(): Promise<void>;
}

export function startServer(options: ServerOptions, handler: ApiHandler, onInternalError: (message: string) => void): Promise<RunningServer> {
  const serverOptions: http.ServerOptions = {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: options.headersTimeoutMs ?? 5000,
    requestTimeout: (options.headersTimeoutMs ?? 5000) * 2,
    keepAliveTimeout: 5000,
    // How often Node checks the two timeouts above (default 30 s): a slowloris client is cut within a second of them.
    connectionsCheckingInterval: 500,
  };
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const receivedMs = Date.now();
    try {
      handle(req, res, receivedMs);
    } catch (error) {
      if (error instanceof HttpError) return jsonError(res, error.status, error.message);
      if (isBubbleError(error)) return jsonError(res, 400, error.message);
      onInternalError(`internal error on ${safeText(req.url ?? '')}: ${safeText(error instanceof Error ? error.message : String(error))}`);
      jsonError(res, 500, 'internal error');
    }
  };
  const handle = (req: http.IncomingMessage, res: http.ServerResponse, receivedMs: number): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'read-only: only GET and HEAD');
    // Read and dropped, so the connection stays in step; a body is refused, and its connection closed after.
    req.resume();
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > 0 || req.headers['transfer-encoding'] !== undefined) {
      res.shouldKeepAlive = false;
      throw new HttpError(413, 'requests take no body');
    }
    const { segments, query } = pathSegments(req.url ?? '');
    const open = options.metricsPublic === true && segments.length === 1 && segments[0] === 'metrics';
    if (options.token !== undefined && !open && !tokenMatches(req.headers.authorization, options.token)) {
      return jsonError(res, 401, 'a bearer token is needed (Authorization: Bearer <token from --token-file>)', { 'www-authenticate': 'Bearer' });
    }
    const response = handler({ segments, query, receivedMs });
    const body = Buffer.from(response.body);
    const size = req.method === 'HEAD' ? 0 : body.length;
    if (pendingBytes + size > maxPending) {
      return jsonError(res, 503, 'too many answers are still being read by their clients; ask again shortly', { 'retry-after': '1' });
    }
    pendingBytes += size;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      pendingBytes -= size;
    };
    // 'finish': handed to the kernel; 'close': the connection went (a stalled reader cut off by the idle timeout).
    res.once('finish', release);
    res.once('close', release);
    send(res, { ...response, body }, req.method === 'HEAD');
  };
  const maxPending = options.maxPendingBytes ?? 64 * 1024 * 1024;
  let pendingBytes = 0;
  const server = options.tls === undefined ? http.createServer(serverOptions, listener) : https.createServer({ ...serverOptions, ...options.tls }, listener);
  server.maxHeadersCount = MAX_HEADERS;
  server.maxConnections = options.maxConnections ?? 256;
  // A client that stops reading its response (or sending its request) is dropped: its buffer is all it ever held.
  server.setTimeout(options.idleTimeoutMs ?? 10_000, (socket) => socket.destroy());
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body =
      JSON.stringify({ error: status === 431 ? 'the request headers are too large' : status === 408 ? 'the request took too long' : 'bad request' }) + '\n';
    // Closed both ways once written: a client that goes on sending (a slowloris) must not keep the socket half-open.
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      const info = server.address() as AddressInfo;
      const address = { host: options.listen.host, port: info.port };
      const host = address.host.includes(':') ? `[${address.host}]` : address.host;
      resolve({
        address,
        url: `${options.tls === undefined ? 'http' : 'https'}://${host}:${address.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
