/**
 * startServer() in-process on a loopback port, with real sockets: clients that stop reading cannot make it hold more
 * than maxPendingBytes (the next answer is a 503 until they go), and a handler's failure is a JSON 500 without a stack.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpError, startServer, type RunningServer } from '../../src/serve/http.js';
import { get } from '../helpers/serve.js';

const MiB = 1024 * 1024;
let server: RunningServer | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  await server?.close();
  server = undefined;
});

describe('startServer', () => {
  it('answers 503 while stalled readers hold maxPendingBytes, and serves again once they go', async () => {
    const big = 'x'.repeat(32 * MiB);
    server = await startServer(
      { listen: { host: '127.0.0.1', port: 0 }, maxPendingBytes: 40 * MiB },
      (request) => (request.segments[0] === 'big' ? { contentType: 'text/plain', body: big } : { contentType: 'text/plain', body: 'small\n' }),
      () => undefined,
    );
    // A client that asks for 32 MiB and never reads: the kernel's socket buffers take a few MiB, the rest waits.
    const stalled = net.connect(server.address.port, '127.0.0.1');
    sockets.push(stalled);
    stalled.pause();
    stalled.write('GET /big HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(300);
    const refused = await get(`${server.url}/big`);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ error: expect.stringContaining('still being read') });
    // Small answers still fit.
    expect((await get(`${server.url}/small`)).status).toBe(200);
    stalled.destroy();
    await sleep(200);
    const served = await get(`${server.url}/big`);
    expect(served.status).toBe(200);
    expect(served.body.length).toBe(32 * MiB);
  });

  it('turns a handler failure into a JSON error without a stack, and an HttpError into its status', async () => {
    const logged: string[] = [];
    server = await startServer(
      { listen: { host: '127.0.0.1', port: 0 } },
      (request) => {
        if (request.segments[0] === 'gone') throw new HttpError(404, 'no such thing');
        if (request.segments[0] === 'evil') throw new HttpError(404, 'no container "\u009b2J\u202e"');
        throw new TypeError('boom \u001b[31m');
      },
      (message) => logged.push(message),
    );
    const missing = await get(`${server.url}/gone`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: 'no such thing' });
    // A quoted name's C1 controls and bidi overrides are escaped, not passed to whoever prints the error.
    const evil = await get(`${server.url}/evil`);
    expect(evil.body).toContain('\\u009b2J\\u202e');
    expect(JSON.parse(evil.body)).toEqual({ error: 'no container "\u009b2J\u202e"' });
    const failed = await get(`${server.url}/x`);
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body)).toEqual({ error: 'internal error' });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('boom');
    expect(logged[0]).not.toContain('\u001b');
  });
});
