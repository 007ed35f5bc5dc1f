/**
 * `bubble serve`'s limits against real clients on loopback: a non-loopback listen without a token refuses to start;
 * no token and a wrong token get 401; --metrics-public opens /metrics only; TLS works; path traversal, huge headers,
 * bodies and other methods get JSON errors; a slowloris client is cut off; 200 concurrent requests all settle, and
 * through all of it the recorder keeps ticking on time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bubble } from '../helpers/cli.js';
import { needReal } from '../helpers/real.js';
import { get, sample, startServe, stopServe, type Reply, type RunningServe } from '../helpers/serve.js';

const dir = mkdtempSync(join(tmpdir(), 'bubble-serve-sec-'));
const TOKEN = 'test-token-0123456789abcdef';
const tokenFile = join(dir, 'token');
let open: RunningServe | undefined;
let guarded: RunningServe | undefined;

beforeAll(async () => {
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  // One recording without a token (loopback), one read-only with a token and a public /metrics.
  open = await startServe(['--db', join(dir, 'open.db'), '--interval', '1s']);
  guarded = await startServe(['--db', join(dir, 'guarded.db'), '--no-record', '--token-file', tokenFile, '--metrics-public']);
});

afterAll(async () => {
  await stopServe(open);
  await stopServe(guarded);
  rmSync(dir, { recursive: true, force: true });
});

/** A raw request: method, path and headers exactly as given (no client-side normalisation). */
function raw(port: number, options: http.RequestOptions, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, agent: false, timeout: 10_000, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

const expectJsonError = (reply: Reply, status: number): void => {
  expect(reply.status).toBe(status);
  expect(JSON.parse(reply.body)).toEqual({ error: expect.any(String) });
  expect(reply.body).not.toMatch(/\n\s+at /);
};

describe('bubble serve security', () => {
  it('refuses a non-loopback listen without --token-file, before binding anything', async () => {
    const run = await bubble(['serve', '--listen', '0.0.0.0:0', '--db', join(dir, 'never.db'), '--no-record']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^bubble: --listen 0\.0\.0\.0 is reachable from other machines: give --token-file/);
    expect(existsSync(join(dir, 'never.db'))).toBe(false);
    for (const args of [['--listen', 'localhost'], ['--process-metrics', '500'], ['--bogus'], ['extra'], ['--tls-cert', '/nonexistent']]) {
      const bad = await bubble(['serve', '--no-record', '--db', join(dir, 'never.db'), ...args]);
      expect(bad.status, args.join(' ')).toBe(args[0] === '--tls-cert' ? 1 : 2);
      expect(bad.stderr).toMatch(/^bubble: .*\n$/);
    }
    expect(existsSync(join(dir, 'never.db'))).toBe(false);
    // A port in use: one line, and no store file left behind (the address is taken before the store is opened).
    const taken = await bubble(['serve', '--listen', `127.0.0.1:${open!.port}`, '--db', join(dir, 'never.db')]);
    expect(taken.status).toBe(1);
    expect(taken.stderr).toBe(`bubble: cannot listen on 127.0.0.1:${open!.port}: EADDRINUSE\n`);
    expect(existsSync(join(dir, 'never.db'))).toBe(false);
  });

  it('needs the bearer token, except for a public /metrics', async () => {
    expectJsonError(await get(`${guarded!.url}/api/v1/containers`), 401);
    expectJsonError(await get(`${guarded!.url}/api/v1/containers`, { authorization: 'Bearer wrong-token-0123456789' }), 401);
    expectJsonError(await get(`${guarded!.url}/api/v1/containers`, { authorization: TOKEN }), 401);
    const ok = await get(`${guarded!.url}/api/v1/containers`, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual(expect.any(Array));
    expect((await get(`${guarded!.url}/metrics`)).status).toBe(200);
    expectJsonError(await get(`${guarded!.url}/api/v1.0/host/processes`), 401);
  });

  it('keeps /metrics behind the token without --metrics-public, and serves HTTPS with --tls-cert/--tls-key', async (ctx) => {
    const openssl = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'],
      { timeout: 30_000 },
    );
    needReal(ctx, 'openssl', openssl.status === 0, 'openssl could not make a test certificate');
    const tls = await startServe([
      '--no-record',
      '--db',
      join(dir, 'tls.db'),
      '--token-file',
      tokenFile,
      '--tls-cert',
      join(dir, 'cert.pem'),
      '--tls-key',
      join(dir, 'key.pem'),
    ]);
    try {
      expect(tls.url).toMatch(/^https:/);
      const fetchTls = (headers: Record<string, string>): Promise<number> =>
        new Promise((resolve, reject) => {
          https
            .get(`${tls.url}/metrics`, { headers, rejectUnauthorized: false, agent: false, timeout: 10_000 }, (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            })
            .on('error', reject);
        });
      expect(await fetchTls({})).toBe(401);
      expect(await fetchTls({ authorization: `Bearer ${TOKEN}` })).toBe(200);
    } finally {
      await stopServe(tls);
    }
  });

  it('answers traversal, bad methods, bodies and huge headers with JSON errors', async () => {
    const port = open!.port;
    expectJsonError(await raw(port, { path: '/api/v1.0/../../../etc/passwd/processes' }), 400);
    expectJsonError(await raw(port, { path: '/api/v1.0/%2e%2e/%2e%2e/etc/processes' }), 400);
    expectJsonError(await raw(port, { path: '/api/v1/containers/..%2f..%2fetc' }), 400);
    expectJsonError(await raw(port, { path: '/metrics', method: 'DELETE' }), 405);
    expectJsonError(await raw(port, { path: '/metrics', method: 'POST' }), 405);
    expectJsonError(await raw(port, { path: '/metrics', headers: { 'content-type': 'text/plain', 'content-length': '1000' } }, 'x'.repeat(1000)), 413);
    expectJsonError(await raw(port, { path: '/metrics', headers: { 'x-big': 'y'.repeat(100_000) } }), 431);
    expectJsonError(await raw(port, { path: '/' + 'a'.repeat(5000) }), 414);
  });

  it('cuts a slowloris client off, settles 200 concurrent requests, and keeps ticking on time', async () => {
    const port = open!.port;
    const first = await get(`${open!.url}/metrics`);
    const t0 = Date.now();
    const ticks0 = sample(first.body, 'bubble_ticks_total ')!;
    const missed0 = sample(first.body, 'bubble_ticks_missed_total ')!;

    // Slowloris: a header line every second, never the end of the headers. It must be closed within the header
    // timeout (5 s) and the check interval, far before its 20 s of dribbling end.
    const slow = net.connect(port, '127.0.0.1');
    const closed = new Promise<number>((resolve) => slow.on('close', () => resolve(Date.now())));
    slow.on('error', () => undefined);
    slow.write('GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const started = Date.now();
    const dribble = setInterval(() => slow.writable && slow.write(`X-Slow-${Date.now()}: 1\r\n`), 1000);

    // 200 requests at once, each bounded at 10 s.
    const replies = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => get(`${open!.url}/${i % 2 === 0 ? 'metrics' : 'api/v1/containers'}`)));
    const ok = replies.filter((r) => r.status === 'fulfilled' && r.value.status === 200).length;
    expect(ok).toBeGreaterThanOrEqual(150);

    const closedAt = await Promise.race([closed, sleep(20_000).then(() => undefined)]);
    clearInterval(dribble);
    slow.destroy();
    expect(closedAt).toBeDefined();
    expect(closedAt! - started).toBeLessThan(12_000);

    // Time enough for a few more ticks, then: every interval had its tick.
    await sleep(3000);
    const last = await get(`${open!.url}/metrics`);
    const elapsed = (Date.now() - t0) / 1000;
    const ticks = sample(last.body, 'bubble_ticks_total ')! - ticks0;
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed) - 2);
    expect(sample(last.body, 'bubble_ticks_missed_total ')! - missed0).toBeLessThanOrEqual(2);
    expect(sample(last.body, 'bubble_store_write_errors_total ')).toBe(0);
  }, 60_000);
});
