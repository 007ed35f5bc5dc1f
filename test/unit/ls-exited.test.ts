/** Which exited containers `ls` lists and in what order, from the store's records and Docker's listing. */
import { describe, expect, it } from 'vitest';
import { exitedContainers } from '../../src/commands/ls.js';
import type { ContainerMeta } from '../../src/model/sample.js';
import type { StoredContainer } from '../../src/store/queries.js';

const id = (c: string): string => c.repeat(64);
const stored = (c: string, seen: number, exit?: { at: number; code: number }): StoredContainer => ({
  key: `docker:${id(c)}`,
  kind: 'docker',
  id: id(c),
  name: `rec-${c}`,
  cgroup: `/docker/${id(c)}`,
  firstSeenMs: seen - 10,
  lastSeenMs: seen,
  ...(exit !== undefined && { exitTimeMs: exit.at, exitCode: exit.code }),
});

describe('exitedContainers', () => {
  const store = [stored('a', 100, { at: 100, code: 1 }), stored('b', 500), stored('c', 900), stored('d', 50, { at: 50, code: 0 })];
  const docker = new Map<string, ContainerMeta>([
    [id('b'), { name: 'b', state: 'exited', finishedAtMs: 600, exitCode: 2 }], // recorded, stopped while nothing recorded
    [id('c'), { name: 'c', state: 'running' }], // recorded, running again
    [id('e'), { name: 'e', state: 'exited', finishedAtMs: 700, exitCode: 3 }], // never recorded
    [id('f'), { name: 'f', state: 'created' }], // never ran
    [id('g'), { name: 'g', state: 'dead', finishedAtMs: 80, exitCode: 137 }],
    [id('a'), { name: 'a', state: 'exited', finishedAtMs: 999, exitCode: 9 }], // the store's exit stands
  ]);
  const live = new Set([`docker:${id('c')}`]);

  it("lists the recorded ones, with Docker's exit when the store has none, newest exit first", () => {
    const got = exitedContainers(store, docker, live, false);
    expect(got.map((c) => [c.name, c.exitTimeMs, c.exitCode])).toEqual([
      ['rec-b', 600, 2],
      ['rec-a', 100, 1],
      ['rec-d', 50, 0],
    ]);
  });

  it('with all, adds every exited container Docker reports, recorded or not; never a running or created one', () => {
    const got = exitedContainers(store, docker, live, true);
    expect(got.map((c) => c.name)).toEqual(['e', 'rec-b', 'rec-a', 'g', 'rec-d']);
    expect(got.find((c) => c.name === 'e')).toMatchObject({ key: `docker:${id('e')}`, cgroup: '', exitTimeMs: 700, exitCode: 3 });
  });
});
