import { describe, expect, it } from 'vitest';
import { ContainerNotFoundError } from '../../src/errors/container-not-found-error.js';
import { parseDuration } from '../../src/model/duration.js';
import { matchContainer, type Matchable } from '../../src/model/match.js';

describe('parseDuration', () => {
  it('accepts what users type', () => {
    expect(parseDuration('1')).toBe(1000);
    expect(parseDuration('0.5')).toBe(500);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
  });
  it('rejects junk, zero and negative', () => {
    for (const bad of ['', 'abc', '-1', '0', '1x', '1.2.3']) expect(parseDuration(bad)).toBeUndefined();
  });
});

const ID_A = 'a41c19d070f84f4678ae0bd24213556fa7aa0ce082f8092367bb5ebf2de76729';
const ID_B = 'a4ffffff70f84f4678ae0bd24213556fa7aa0ce082f8092367bb5ebf2de76729';
const containers: Matchable[] = [
  { key: `docker:${ID_A}`, kind: 'docker', id: ID_A, name: 'web-1', cgroup: `/docker/${ID_A}` },
  { key: `docker:${ID_B}`, kind: 'docker', id: ID_B, name: 'db', cgroup: `/system.slice/docker-${ID_B}.scope` },
  { key: 'slurm:4242', kind: 'slurm', id: '4242', name: 'job 4242 sim', cgroup: '/slurm/uid_0/job_4242' },
  { key: 'host', kind: 'host', id: 'host', name: 'host', cgroup: '/' },
];

describe('matchContainer', () => {
  it('finds by name, id, id prefix, job id and cgroup path', () => {
    expect(matchContainer('web-1', containers).name).toBe('web-1');
    expect(matchContainer(ID_B, containers).name).toBe('db');
    expect(matchContainer('a41c', containers).name).toBe('web-1');
    expect(matchContainer('4242', containers).key).toBe('slurm:4242');
    expect(matchContainer('job 4242', containers).key).toBe('slurm:4242');
    expect(matchContainer(`/system.slice/docker-${ID_B}.scope/`, containers).name).toBe('db');
    expect(matchContainer('/slurm/uid_0/job_4242/step_batch/task_0', containers).key).toBe('slurm:4242');
    expect(matchContainer('host', containers).kind).toBe('host');
  });
  it('names the candidates of an ambiguous prefix', () => {
    expect(() => matchContainer('a4', containers)).toThrow(ContainerNotFoundError);
    expect(() => matchContainer('a4', containers)).toThrow(/ambiguous.*web-1.*db/);
  });
  it('names what is running when nothing matches', () => {
    expect(() => matchContainer('nope', containers)).toThrow(/no container or job "nope".*web-1/);
    expect(() => matchContainer('nope', [containers[3]!])).toThrow(/no containers or jobs are running/);
  });
});

describe('parseConmonArgs', () => {
  it('reads the container id and name from conmon argv', async () => {
    const { parseConmonArgs } = await import('../../src/collectors/podman.js');
    const id = 'e'.repeat(64);
    expect(parseConmonArgs(`/usr/bin/conmon --api-version 1 -c ${id} -u ${id} -r /usr/bin/crun -n db-2 --exit-dir /x`)).toEqual({ id, name: 'db-2' });
    expect(parseConmonArgs(`/usr/bin/conmon -c ${id}`)).toBeUndefined();
    expect(parseConmonArgs('/usr/bin/conmon -c notanid -n x')).toBeUndefined();
  });
});
