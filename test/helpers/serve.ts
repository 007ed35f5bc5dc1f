/** `bubble serve` as users run it (the built bundle), on a free loopback port, and plain HTTP requests to it. */
import http from 'node:http';
import { startBubble, type RunningBubble } from './cli.js';

export interface RunningServe {
  readonly bubble: RunningBubble;
  readonly port: number;
  readonly url: string;
}

/** Starts `bubble serve --listen 127.0.0.1:0 ARGS` and waits until it says where it listens. */
export async function startServe(args: readonly string[], timeoutMs = 20_000): Promise<RunningServe> {
  const bubble = startBubble(['serve', '--listen', '127.0.0.1:0', ...args]);
  await bubble.waitFor(/serving https?:\/\/127\.0\.0\.1:\d+\/metrics/, timeoutMs);
  const [, scheme, port] = /serving (https?):\/\/127\.0\.0\.1:(\d+)/.exec(bubble.stderr())!;
  return { bubble, port: Number(port), url: `${scheme}://127.0.0.1:${port}` };
}

/** Stops it with SIGTERM and returns its exit status (SIGKILL after 10 s). */
export async function stopServe(serve: RunningServe | undefined): Promise<number | undefined> {
  if (serve === undefined || serve.bubble.child.exitCode !== null) return serve?.bubble.child.exitCode ?? undefined;
  serve.bubble.child.kill('SIGTERM');
  const timer = setTimeout(() => serve.bubble.child.kill('SIGKILL'), 10_000);
  const status = await serve.bubble.exited();
  clearTimeout(timer);
  return status;
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One GET (bounded by `timeoutMs`). */
export function get(url: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/** The value of one sample in exposition text whose line starts with `prefix`. */
export function sample(text: string, prefix: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
