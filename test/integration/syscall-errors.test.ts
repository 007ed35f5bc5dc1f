/**
 * Failed syscalls end to end with real parts: real bpftrace on native/bpf/bubble.bt recording a real busybox
 * container that runs `cat /nonexistent` a known number of times, read back with the built CLI's `export --what
 * errors`; `--bpf-errors off` recording nothing into the table while bpftrace still runs; `ps --errors` on a live
 * loop; and the real sysdig bridge over real captures (`sysdig -r`) filling the same table.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { bpfAvailability } from '../../src/collectors/bpf.js';
import { which } from '../../bench/collector.js';
import { bubble, jsonLines, recordAfterAttach, ROOT, startBubble } from '../helpers/cli.js';
import { dockerAvailable, ensureTestImage, removeContainer, runContainer, uniqueName } from '../helpers/docker.js';
import { needReal } from '../helpers/real.js';

type Json = Record<string, unknown>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-syscall-errors-'));
const bpf = bpfAvailability();
const docker = dockerAvailable();
const names: string[] = [];
const named = (prefix: string): string => {
  const name = uniqueName(prefix);
  names.push(name);
  return name;
};

afterAll(() => {
  for (const name of names) removeContainer(name);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function needBpf(ctx: TestContext): void {
  needReal(ctx, 'bpftrace as root', bpf.ok, bpf.ok ? '' : bpf.why);
  needReal(ctx, 'Docker', docker.ok, docker.why);
}

const logs = (name: string): string => execFileSync('docker', ['logs', name], { encoding: 'utf8' });

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function exportErrors(db: string, container?: string): Promise<Json[]> {
  const only = container === undefined ? [] : ['--container', container];
  const r = await bubble(['export', '--json', '--what', 'errors', '--tier', 'second', '--db', db, ...only]);
  expect(r.status, r.stderr).toBe(0);
  return jsonLines(r.stdout);
}

const LOOPS = 300;

describe('record with bpftrace: a container failing openat a known number of times', () => {
  const db = path.join(tmp, 'loop', 'bubble.db');
  const name = named('bubble-err-cat');
  let status = -1;
  let stderr = '';

  beforeAll(async () => {
    if (!bpf.ok || !docker.ok) return;
    ensureTestImage();
    const recorder = startBubble(['record', '--db', db, '--source', 'bpf']);
    try {
      await recorder.waitFor('bpftrace attached', 60_000);
      // Started once the probes are attached, so every one of its calls is seen.
      runContainer(name, ['sh', '-c', `i=0; while [ $i -lt ${LOOPS} ]; do cat /nonexistent 2>/dev/null; i=$((i+1)); done; echo looped; sleep 1000`]);
      await until('the loop to end', () => logs(name).includes('looped'), 60_000);
      // bpftrace's interval and the rollup's open second.
      await sleep(2500);
    } finally {
      recorder.child.kill('SIGINT');
      status = await recorder.exited();
      stderr = recorder.stderr();
    }
  }, 150_000);

  it("stores ENOENT on openat under the container's cat processes, as many as the loop ran (within 10 %)", async (ctx) => {
    needBpf(ctx);
    expect(status, stderr).toBe(0);
    const rows = await exportErrors(db, name);
    for (const r of rows) expect(r['container_name']).toBe(name);
    const enoent = rows.filter((r) => r['syscall'] === 'openat' && r['errno'] === 'ENOENT' && r['comm'] === 'cat');
    const total = enoent.reduce((a, r) => a + (r['count'] as number), 0);
    expect(total).toBeGreaterThanOrEqual(Math.floor(LOOPS * 0.9));
    expect(total).toBeLessThanOrEqual(Math.ceil(LOOPS * 1.1));
    // One failure per cat process: each lived for one call.
    expect(new Set(enoent.map((r) => `${r['pid']} ${r['start_time']}`)).size).toBe(total);
    // The minute tier holds the same count (the tiers conserve it).
    const minute = await bubble(['export', '--json', '--what', 'errors', '--tier', 'minute', '--db', db, '--container', name]);
    const minuteTotal = jsonLines(minute.stdout)
      .filter((r) => r['syscall'] === 'openat' && r['errno'] === 'ENOENT' && r['comm'] === 'cat')
      .reduce((a, r) => a + (r['count'] as number), 0);
    expect(minuteTotal).toBe(total);
  });

  it('shows them in export --csv and in the report', async (ctx) => {
    needBpf(ctx);
    const csv = await bubble(['export', '--csv', '--what', 'errors', '--tier', 'minute', '--db', db, '--container', name]);
    expect(csv.status, csv.stderr).toBe(0);
    const [head, ...lines] = csv.stdout.trimEnd().split('\r\n');
    expect(head).toBe('time,tier,bucket_seconds,container,container_name,pid,start_time,comm,syscall,errno,count,per_second');
    expect(lines.filter((l) => l.includes(',cat,openat,ENOENT,1,')).length).toBeGreaterThanOrEqual(Math.floor(LOOPS * 0.9));
    const report = await bubble(['report', name, '--db', db]);
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout, report.stdout).toMatch(/Failed syscalls:\n.*COUNT.*\n(.*\n)*\s+\d+\s+openat\s+ENOENT\s+\d+\s+cat/);
  });
});

describe('record --bpf-errors off', () => {
  const db = path.join(tmp, 'off', 'bubble.db');
  const name = named('bubble-err-off');
  let status = -1;
  let stderr = '';

  beforeAll(async () => {
    if (!bpf.ok || !docker.ok) return;
    ensureTestImage();
    runContainer(name, ['sh', '-c', 'while true; do cat /nonexistent 2>/dev/null; sleep 0.02; done']);
    ({ status, stderr } = await recordAfterAttach(['--db', db, '--source', 'bpf', '--bpf-errors', 'off'], 4000));
  }, 120_000);

  it('leaves the table empty while bpftrace still records the short-lived cats', async (ctx) => {
    needBpf(ctx);
    expect(status, stderr).toBe(0);
    expect(await exportErrors(db)).toEqual([]);
    const processes = await bubble(['export', '--json', '--what', 'processes', '--tier', 'second', '--db', db, '--container', name]);
    expect(jsonLines(processes.stdout).filter((r) => r['comm'] === 'cat').length).toBeGreaterThan(20);
  });
});

describe('ps --errors', () => {
  const name = named('bubble-err-ps');

  beforeAll(() => {
    if (!bpf.ok || !docker.ok) return;
    ensureTestImage();
    runContainer(name, ['sh', '-c', 'while true; do cat /nonexistent 2>/dev/null; sleep 0.02; done']);
  });

  it("lists the interval's failed syscalls of the container, its short-lived cats on one line", async (ctx) => {
    needBpf(ctx);
    const json = await bubble(['ps', name, '--errors', '--json']);
    expect(json.status, json.stderr).toBe(0);
    const errors = (JSON.parse(json.stdout) as { errors: Json[] }).errors;
    const cats = errors.find((e) => e['comm'] === 'cat' && e['syscall'] === 'openat' && e['errno'] === 'ENOENT');
    expect(cats).toBeDefined();
    // About 40 cats a second: each one failure, all on one line.
    expect(cats!['processes'] as number).toBeGreaterThan(5);
    expect(cats!['count']).toBe(cats!['processes']);
    expect(cats!['pid']).toBeNull();
    expect(cats!['per_second'] as number).toBeGreaterThan(5);

    const text = await bubble(['ps', name, '--errors']);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /\nsyscall errors \(\d+ in \d+\.\d s, processes that exited meanwhile included\):\n\s*PID\s+COUNT\s+PER_S\s+SYSCALL\s+ERRNO\s+COMMAND\n/,
    );
    expect(text.stdout).toMatch(/\n\s*\d+x\s+\d+\s+[\d.]+\s+openat\s+ENOENT\s+cat\n/);
  });

  it('says what is missing when bpftrace cannot run', async () => {
    const r = await bubble(['ps', 'host', '--errors'], { env: { BUBBLE_BPFTRACE: path.join(tmp, 'no-bpftrace') } });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('bubble: --errors: bpftrace is not installed: install it with `apt-get install bpftrace` for short-lived processes\n');
  });
});

// As record-sysdig.test.ts: the captures sit beside the repository (BUBBLE_SCAP_DIR elsewhere).
const SCAP_DIR = process.env['BUBBLE_SCAP_DIR'] ?? path.resolve(ROOT, '../shared/fixtures/scap');
const SYSDIG = which('sysdig');

describe('the sysdig bridge over real captures', () => {
  it.for(['curl_google', 'cat_write'] as const)("%s: sysdig -r's failed syscalls land in the table, every count once", async (capture, ctx) => {
    needReal(ctx, 'sysdig', SYSDIG !== undefined, 'no sysdig binary on PATH (apt-get install sysdig)');
    const file = path.join(SCAP_DIR, `${capture}.scap`);
    needReal(ctx, 'scap captures', fs.existsSync(file), `no captures in ${SCAP_DIR}`);
    // What the bridge itself says: its err records.
    const bridge = execFileSync(SYSDIG!, ['-r', file, '-c', path.join(ROOT, 'native/sysdig-bridge/bubble.lua')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const said = jsonLines(bridge).filter((r) => r['t'] === 'err');
    expect(said.length).toBeGreaterThan(0);
    const db = path.join(tmp, `${capture}.db`);
    const run = await bubble(['record', '--sysdig-capture', file, '--db', db]);
    expect(run.status, run.stderr).toBe(0);
    const rows = await exportErrors(db);
    const sum = (list: Json[], key: (r: Json) => string): Map<string, number> => {
      const out = new Map<string, number>();
      for (const r of list) out.set(key(r), (out.get(key(r)) ?? 0) + (r['count'] as number));
      return out;
    };
    expect(sum(rows, (r) => `${r['pid']} ${r['syscall']} ${r['errno']}`)).toEqual(sum(said, (r) => `${r['pid']} ${r['syscall']} ${r['errno']}`));
    if (capture === 'curl_google') expect(rows.some((r) => r['comm'] === 'curl' && r['syscall'] === 'access' && r['errno'] === 'ENOENT')).toBe(true);
  });
});
