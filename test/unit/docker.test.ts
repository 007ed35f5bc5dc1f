/**
 * The pure parts of the Docker watcher, on event lines captured from dockerd 20.10: the stream splitter, event
 * effects (die -> rename -> destroy keeps the exit code), Docker's times and names, one-line error messages.
 */
import { describe, expect, test } from 'vitest';
import {
  JsonObjectSplitter,
  applyEvent,
  describeDockerError,
  metaFromInspect,
  metaFromListing,
  parseDockerTime,
  parseEvent,
} from '../../src/collectors/docker.js';
import type { ContainerMeta } from '../../src/model/sample.js';

const TEST_IMAGE = 'bubble-test/busybox:latest';

const ID = '50dd0e9929327f374b8f74f2b4b1db9bc40c84ff36aff7e867d7b42d78cc8078';
// Verbatim lines from `GET /events` on dockerd 20.10.24 (API 1.41).
const DIE_LINE = `{"status":"die","id":"${ID}","from":"bubble-test/busybox:latest","Type":"container","Action":"die","Actor":{"ID":"${ID}","Attributes":{"a":"b","exitCode":"3","image":"bubble-test/busybox:latest","name":"evtest"}},"scope":"local","time":1795297460,"timeNano":1795297460081768403}`;
const RENAME_LINE = `{"status":"rename","id":"${ID}","from":"bubble-test/busybox:latest","Type":"container","Action":"rename","Actor":{"ID":"${ID}","Attributes":{"a":"b","image":"bubble-test/busybox:latest","name":"evtest2","oldName":"/evtest"}},"scope":"local","time":1795297460,"timeNano":1795297460780519335}`;
const DESTROY_LINE = `{"status":"destroy","id":"${ID}","from":"bubble-test/busybox:latest","Type":"container","Action":"destroy","Actor":{"ID":"${ID}","Attributes":{"a":"b","image":"bubble-test/busybox:latest","name":"evtest2"}},"scope":"local","time":1795297460,"timeNano":1795297460793525559}`;

describe('docker event parsing', () => {
  test('splitter: several objects per chunk, objects split anywhere, braces inside strings', () => {
    const tricky = { s: 'a } { " \\ ]', n: [1, { x: '}' }] };
    const text = `${DIE_LINE}\n${JSON.stringify(tricky)}${RENAME_LINE}\n  garbage {not json}\n${DESTROY_LINE}\n`;
    const whole = new JsonObjectSplitter().push(text);
    expect(whole).toHaveLength(4);
    expect(whole[1]).toEqual(tricky);
    // Every split point, and one byte at a time, gives the same objects.
    for (const at of [1, 7, DIE_LINE.length, DIE_LINE.length + 1, DIE_LINE.length + 12, text.length - 3]) {
      const s = new JsonObjectSplitter();
      expect([...s.push(text.slice(0, at)), ...s.push(text.slice(at))]).toEqual(whole);
    }
    const s = new JsonObjectSplitter();
    const bytewise = [...text].flatMap((c) => s.push(c));
    expect(bytewise).toEqual(whole);
  });

  test('die, rename and destroy events update the meta; the exit code survives removal', () => {
    const running: ContainerMeta = { name: 'evtest', image: TEST_IMAGE, labels: { a: 'b' }, state: 'running', startedAtMs: 1 };
    const die = parseEvent(JSON.parse(DIE_LINE));
    expect(die).toMatchObject({ id: ID, action: 'die', timeMs: 1795297460081 });
    const exited = applyEvent(running, die!);
    expect(exited.inspect).toBe(false);
    expect(exited.meta).toEqual({ ...running, state: 'exited', exitCode: 3, finishedAtMs: 1795297460081 });
    const renamed = applyEvent(exited.meta, parseEvent(JSON.parse(RENAME_LINE))!).meta;
    expect(renamed?.name).toBe('evtest2');
    const removed = applyEvent(renamed, parseEvent(JSON.parse(DESTROY_LINE))!).meta;
    expect(removed).toMatchObject({ name: 'evtest2', state: 'removed', exitCode: 3, labels: { a: 'b' } });
    const create = { Type: 'container', Action: 'create', Actor: { ID, Attributes: { a: 'b', name: 'n', image: 'i' } } };
    expect(applyEvent(undefined, parseEvent(create)!).meta).toEqual({ name: 'n', image: 'i', labels: { a: 'b' }, state: 'created' });
    expect(parseEvent({ Type: 'network', Action: 'connect', Actor: { ID: 'x' } })).toBeUndefined();
    expect(parseEvent({ Type: 'container', Action: 'exec_start: sh -c true', Actor: { ID } })?.action).toBe('exec_start');
  });

  test('inspect: zero times are unknown, exit code only for stopped containers, name without "/"', () => {
    expect(parseDockerTime('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(parseDockerTime('2026-11-21T21:41:32.378818442Z')).toBe(Date.UTC(2026, 10, 21, 21, 41, 32, 378));
    const info = (status: string): unknown => ({
      Name: '/web-1',
      Config: { Image: 'nginx:1', Labels: null },
      State: { Status: status, StartedAt: '2026-11-21T21:41:32.5Z', FinishedAt: '0001-01-01T00:00:00Z', ExitCode: 0 },
    });
    expect(metaFromInspect(info('running'))).toEqual({
      name: 'web-1',
      image: 'nginx:1',
      labels: {},
      state: 'running',
      startedAtMs: Date.UTC(2026, 10, 21, 21, 41, 32, 500),
    });
    expect(metaFromInspect(info('exited')).exitCode).toBe(0);
  });

  test('error messages name the socket and say what to do, on one line', () => {
    const eacces = Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' });
    expect(describeDockerError(eacces, '/var/run/docker.sock')).toBe('permission denied on /var/run/docker.sock: run with sudo or join the docker group');
    const multi = describeDockerError(new Error('line one\nline two'), '/s');
    expect(multi).not.toContain('\n');
    expect(multi).toContain('/s');
  });

  test("listing: a stopped container's exit code from its Status text, none for a running one", () => {
    // Verbatim (trimmed) from `GET /containers/json?all=1` on dockerd 20.10.24.
    const exited = JSON.parse(
      `{"Id":"1838984b8d4cd5e448599225cbe3944943ee96102bd38dec095fc83504e91664","Names":["/shapes-listing"],"Image":"${TEST_IMAGE}","Command":"sh -c 'exit 5'","Created":1796523707,"Labels":{},"State":"exited","Status":"Exited (5) Less than a second ago"}`,
    ) as unknown;
    expect(metaFromListing(exited)).toEqual({ name: 'shapes-listing', image: TEST_IMAGE, labels: {}, state: 'exited', exitCode: 5 });
    const running = { Names: ['/web'], State: 'running', Status: 'Up 3 minutes' };
    expect(metaFromListing(running)).toEqual({ name: 'web', labels: {}, state: 'running' });
    // A running container's Status never carries a code, whatever it says.
    expect(metaFromListing({ ...running, Status: 'Exited (1) 2 days ago' }).exitCode).toBeUndefined();
  });
});
