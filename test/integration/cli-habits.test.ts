/**
 * The small things of issue 11 through the real CLI bundle, against real Docker containers: `ps --limit` says what it
 * hides, `ps --net` with no sockets says so, `ps NAME` without the Docker socket says why names do not match (and the
 * short id works), `clean --container X` on a store that does not know X says that, and counts agree with their nouns.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count } from '../../src/format.js';
import { openStore } from '../../src/store/database.js';
import { bubble } from '../helpers/cli.js';
import { dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { isRoot, needReal } from '../helpers/real.js';

const docker = dockerAvailable();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-habits-'));
const name = uniqueName('bubble-habits');
let id = '';

beforeAll(() => {
  fs.chmodSync(tmp, 0o755);
  if (!docker.ok) return;
  ensureTestImage();
  // Three processes, no sockets: sh and two sleeps.
  id = runContainer(name, ['sh', '-c', 'sleep 600 & sleep 600 & wait']).id;
});

afterAll(() => {
  if (docker.ok) removeContainer(name);
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('small things', () => {
  it('counts agree with their nouns', () => {
    expect(count(1, 'container')).toBe('1 container');
    expect(count(2, 'container')).toBe('2 containers');
    expect(count(0, 'process', 'processes')).toBe('0 processes');
  });

  it('ps --limit says how many rows it hides; --net with no sockets says so instead of a bare header', async (ctx) => {
    needReal(ctx, 'Docker', docker.ok, docker.why);
    const run = await bubble(['ps', name, '--limit', '1', '--net', '--files', '--interval', '0.2']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('(2 more processes not shown: --limit 1)');
    expect(run.stdout).toMatch(/\nnetwork \(0 of the 1 process shown\):\nno sockets open\n/);
    expect(run.stdout).not.toMatch(/PROTO\s+STATE/);
    const all = await bubble(['ps', name, '--interval', '0.2']);
    expect(all.stdout).not.toContain('not shown');
  });

  it('clean --container X on a store that does not know X says so, not that nothing runs', async (ctx) => {
    needReal(ctx, 'Docker', docker.ok, docker.why);
    const db = path.join(tmp, 'empty.db');
    openStore(db).close();
    const run = await bubble(['clean', '--container', name, '--db', db]);
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(`bubble: no container or job "${name}" in the store ${db}: it records no containers or jobs\n`);
  });

  it('ps NAME without the Docker socket says names need it, and the short id works', async (ctx) => {
    needReal(ctx, 'Docker', docker.ok, docker.why);
    needReal(ctx, 'root (to run as nobody)', isRoot, 'not root');
    const asNobody = { uid: 65534, gid: 65534, env: { HOME: tmp } };
    const byName = await bubble(['ps', name, '--interval', '0.2'], asNobody);
    expect(byName.status).toBe(1);
    expect(byName.stderr).toMatch(/no container or job ".*": .*container names need the Docker socket \(root or the docker group\): give the id/);
    const byId = await bubble(['ps', id.slice(0, 12), '--files', '--interval', '0.2'], asNobody);
    expect(byId.status, byId.stderr).toBe(0);
    expect(byId.stdout).toContain(`(docker ${id.slice(0, 12)})`);
    expect(byId.stdout).toContain('sleep 600');
    // root's processes: their open files are hidden from nobody, and the list says so rather than "none".
    expect(byId.stdout).toMatch(/\nfiles \(0\):\nno open files readable \(3 processes hidden by permissions\)\n/);
  });

  it('ps reads the config file: a malformed one stops it with the file and line', async (ctx) => {
    needReal(ctx, 'Docker', docker.ok, docker.why);
    const config = path.join(tmp, 'ps-config.json');
    fs.writeFileSync(config, '{\n  "sort": {"processes": "rss"}\n}\n');
    const run = await bubble(['ps', name, '--interval', '0.2'], { env: { BUBBLE_CONFIG: config } });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `bubble: ${config} line 2: has "sort.processes" that is not one of cpu, mem, io, pid, read, write, time, command: fix it or remove it\n`,
    );
    // A valid file with a flag beside it: the command runs.
    fs.writeFileSync(config, '{"sort": {"processes": "command"}, "interval": "200ms"}');
    const valid = await bubble(['ps', name, '--sort', 'pid'], { env: { BUBBLE_CONFIG: config } });
    expect(valid.status, valid.stderr).toBe(0);
    expect(valid.stdout).toContain('sleep 600');
  });
});
