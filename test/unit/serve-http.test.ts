/**
 * The pieces of serve's HTTP layer that need no server: listen addresses, the token check, path decoding, and
 * cadvisor-companion's parameters and /proc parsers (on this process's real /proc files).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkExposure, readToken } from '../../src/commands/serve.js';
import { parseCompanionQuery, parseStat, parseStatus, SnapshotHistory } from '../../src/serve/companion.js';
import { type HttpError, isLoopback, parseListen, pathSegments, tokenMatches } from '../../src/serve/http.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('listen addresses', () => {
  it('parses ADDR:PORT forms and rejects others', () => {
    expect(parseListen('127.0.0.1:9977')).toEqual({ host: '127.0.0.1', port: 9977 });
    expect(parseListen('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseListen(':9977')).toEqual({ host: '0.0.0.0', port: 9977 });
    expect(() => parseListen('9977')).toThrow(/ADDRESS:PORT/);
    expect(() => parseListen('example.com:9977')).toThrow(/not an IP address/);
    expect(() => parseListen('127.0.0.1:70000')).toThrow(/ADDRESS:PORT/);
  });

  it('tells loopback from the rest, and refuses a non-loopback listen without a token file', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.3.0.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(() => checkExposure({ listen: { host: '0.0.0.0', port: 1 } })).toThrow(/--token-file/);
    expect(() => checkExposure({ listen: { host: '0.0.0.0', port: 1 }, tokenFile: '/x' })).not.toThrow();
    expect(() => checkExposure({ listen: { host: '127.0.0.1', port: 1 } })).not.toThrow();
    expect(() => checkExposure({ listen: { host: '127.0.0.1', port: 1 }, tlsCert: '/c' })).toThrow(/go together/);
  });
});

describe('tokens', () => {
  it('accepts exactly the bearer token', () => {
    const token = 'abcdefghijklmnopqrstuvwxyz';
    expect(tokenMatches(`Bearer ${token}`, token)).toBe(true);
    expect(tokenMatches(`bearer ${token}`, token)).toBe(true);
    expect(tokenMatches(`Bearer ${token}x`, token)).toBe(false);
    expect(tokenMatches(token, token)).toBe(false);
    expect(tokenMatches(undefined, token)).toBe(false);
    expect(tokenMatches('Bearer ', token)).toBe(false);
  });

  it('reads the first line of a token file and refuses a short one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bubble-token-'));
    writeFileSync(join(dir, 'ok'), '0123456789abcdef0123\nignored\n');
    writeFileSync(join(dir, 'short'), 'abc\n');
    expect(readToken(join(dir, 'ok'))).toBe('0123456789abcdef0123');
    expect(() => readToken(join(dir, 'short'))).toThrow(/16 characters/);
    expect(() => readToken(join(dir, 'missing'))).toThrow(/ENOENT/);
  });
});

describe('pathSegments', () => {
  it('decodes segments and the query', () => {
    const { segments, query } = pathSegments('/api/v1.0/system.slice/docker-ab%20c.scope/processes?sort=cpu&limit=2');
    expect(segments).toEqual(['api', 'v1.0', 'system.slice', 'docker-ab c.scope', 'processes']);
    expect(query.get('sort')).toBe('cpu');
  });

  it.each(['/api/../etc/passwd', '/api/%2e%2e/x', '/api/a%2fb', '/a/%00', '/a/%zz', 'http://x/'])('refuses %s with a 400', (url) => {
    let status: number | undefined;
    try {
      pathSegments(url);
    } catch (error) {
      status = (error as HttpError).status;
    }
    expect(status).toBe(400);
  });

  it('refuses a URL over the limit with a 414', () => {
    expect(() => pathSegments('/' + 'a'.repeat(5000))).toThrow(expect.objectContaining({ status: 414 }));
  });
});

describe('cadvisor-companion parameters and /proc parsing', () => {
  it("takes the README's defaults and bounds", () => {
    expect(parseCompanionQuery(new URLSearchParams(''))).toEqual({ intervalSeconds: 1, count: 1, limit: 1 });
    expect(parseCompanionQuery(new URLSearchParams('interval=2&count=3&sort=mem&limit=4'))).toEqual({ intervalSeconds: 2, count: 3, sort: 'mem', limit: 4 });
    for (const bad of ['sort=pid', 'count=0', 'count=1.5', 'limit=-1', 'interval=abc', 'interval=10&count=10']) {
      expect(() => parseCompanionQuery(new URLSearchParams(bad))).toThrow(expect.objectContaining({ status: 400 }));
    }
  });

  it("parses this process's stat and status with cadvisor-companion's names", () => {
    const stat = parseStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(stat).toMatchObject({ pid: process.pid, ppid: process.ppid, comm: expect.stringMatching(/^\(.*\)$/) });
    expect(stat['num_threads']).toBeGreaterThan(0);
    expect(stat['starttime']).toBeGreaterThan(0);
    const status = parseStatus(readFileSync('/proc/self/status', 'utf8'));
    expect(status).toMatchObject({ Pid: process.pid, PPid: process.ppid, Tgid: process.pid, RealUid: process.getuid!() });
    expect(status['State']).toMatch(/^[RS] \(/);
    expect(status['CpusAllowed']).toEqual(expect.arrayContaining([expect.any(Number)]));
    expect(status['VmRSS']).toBeGreaterThan(1000);
    expect(typeof status['VoluntaryCtxtSwitches']).toBe('number');
  });

  it('keeps a bounded history and finds the snapshot at or before a time', () => {
    const history = new SnapshotHistory(5);
    const at = (timeMs: number) => ({ timeMs }) as Snapshot;
    for (let t = 0; t <= 10_000; t += 1000) history.push(at(t));
    expect(history.newest?.timeMs).toBe(10_000);
    expect(history.at(7500)?.timeMs).toBe(7000);
    expect(history.at(7990, 20)?.timeMs).toBe(8000);
    expect(history.at(4000)).toBeUndefined();
  });

  it('keeps processes and containers of a snapshot, not its access observations, exits and gaps', () => {
    const history = new SnapshotHistory(5);
    const snapshot = {
      timeMs: 1000,
      intervalMs: 1000,
      containers: [],
      processes: [],
      exited: { containers: [], processes: [] },
      gaps: ['x'],
      access: [{ kind: 'file', processKey: '1:1', fd: 3, path: '/x', mode: 'r', deleted: false, opens: 1, source: 'procfs' }],
    } as unknown as Snapshot;
    history.push(snapshot);
    expect(history.newest).toEqual({ timeMs: 1000, intervalMs: 1000, containers: [], processes: [] });
    expect(history.newest?.processes).toBe(snapshot.processes);
  });
});
