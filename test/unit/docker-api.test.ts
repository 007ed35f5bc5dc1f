/**
 * The Engine API client on a unix socket (docker-api.ts) against a real HTTP server on a real unix socket that answers
 * like dockerd: JSON bodies, an error status with dockerd's `{"message"}` body, and an event stream that stays open.
 * The whole DockerWatcher against the real dockerd is test/integration/docker-watcher.test.ts.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DockerWatcher } from '../../src/collectors/docker.js';
import { DockerHttpError, UnixSocketDockerApi } from '../../src/collectors/docker-api.js';

const dir = mkdtempSync(join(tmpdir(), 'bubble-docker-api-'));
const socket = join(dir, 'docker.sock');
const requests: string[] = [];
let server: Server;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/containers/json?all=1') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify([{ Id: 'a'.repeat(64), Names: ['/web-1'], Image: 'nginx', State: 'running', Labels: {} }]));
    } else if (req.url?.startsWith('/containers/')) {
      res.statusCode = 500;
      res.end(JSON.stringify({ message: 'inspect is broken today' }));
    } else if (req.url?.startsWith('/events')) {
      // Headers now (the watcher lists once the stream is open), the event once the listing has been answered.
      res.flushHeaders();
      const event = { Type: 'container', Action: 'rename', Actor: { ID: 'a'.repeat(64), Attributes: { name: 'web-2' } }, timeNano: 1e18 };
      setTimeout(() => res.write(`${JSON.stringify(event)}\n`), 300);
    } else {
      res.statusCode = 404;
      res.end('{"message":"page not found"}');
    }
  });
  server.listen(socket);
  await once(server, 'listening');
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('UnixSocketDockerApi', () => {
  test('the listing is parsed JSON; an error status rejects with its code and dockerd message', async () => {
    const api = new UnixSocketDockerApi(socket);
    const signal = new AbortController().signal;
    expect(await api.listContainers(signal)).toMatchObject([{ Names: ['/web-1'] }]);
    const err = await api.inspect('abc', signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DockerHttpError);
    expect(err).toMatchObject({ statusCode: 500, message: 'inspect is broken today' });
  });

  test('the watcher: names from the listing, a rename from the stream, a failed inspect keeps what the listing said', async () => {
    const w = new DockerWatcher({ socketPath: socket });
    try {
      await w.start({ events: true, timeoutMs: 2000 });
      const deadline = Date.now() + 5000;
      while (w.get('a'.repeat(64))?.name !== 'web-2' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(w.get('a'.repeat(64))).toMatchObject({ name: 'web-2', image: 'nginx', state: 'running' });
      expect(requests.some((r) => r.startsWith('/events?filters=') && decodeURIComponent(r).includes('"type":["container"]'))).toBe(true);
    } finally {
      w.stop();
    }
  });
});
