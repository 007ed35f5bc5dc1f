/**
 * `bubble report`'s pieces on real SQLite files written by hand with the real migrations: the report query (totals,
 * efficiency against a CPU limit or a job's cpuset, top processes, files, endpoints, what is missing, empty ranges, a
 * store from before the report's migration), the one efficiency function, the text page at 80 columns, and the
 * parsers and Docker events that feed the new columns.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyEvent, metaFromInspect } from '../../src/collectors/docker.js';
import { cpusetCount } from '../../src/collectors/cgroups.js';
import { parseScontrolExitCode } from '../../src/collectors/slurm.js';
import { reportRecord, reportText, sparkline } from '../../src/commands/report.js';
import { BubbleError } from '../../src/errors/bubble-error.js';
import { allocatedCores, cpuEfficiencyPercent } from '../../src/model/efficiency.js';
import { containerReport } from '../../src/store/report.js';
import { MIGRATIONS } from '../../src/store/schema.js';

type Db = Database.Database;
const T0 = 1_796_000_000_000; // a whole minute
let dir: string;
let db: Db;

function createStore(migrations = MIGRATIONS.length): Db {
  const store = new Database(join(dir, `bubble-${migrations}.db`));
  for (const [i, sql] of MIGRATIONS.slice(0, migrations).entries()) {
    store.exec(sql);
    store.pragma(`user_version = ${i + 1}`);
  }
  return store;
}

/** A container alive [T0, T0 + 10 s), CPU limit 2 cores, memory limit 64 MiB, its life in second rows. */
function fillStore(store: Db, extra: Record<string, unknown> = {}): number {
  const columns = { key: 'docker:abc', kind: 'docker', cid: 'abc', name: 'web-1', cgroup: '/docker/abc', cpu_limit: 2, memory_limit: 64 << 20, ...extra };
  const names = Object.keys(columns);
  const id = Number(
    store
      .prepare(
        `INSERT INTO containers (${names.join(', ')}, first_seen, last_seen, exit_time, exit_code) VALUES (${names.map(() => '?').join(', ')}, ?, ?, ?, ?)`,
      )
      .run(...Object.values(columns), T0, T0 + 9_000, T0 + 9_000, 137).lastInsertRowid,
  );
  const proc = store.prepare(
    `INSERT INTO processes (container_id, pid, start_time, ppid, comm, exe, cmdline, uid, user, first_seen, last_seen, exit_time)
     VALUES (?, ?, ?, 1, ?, '', ?, 0, 'root', ?, ?, ?)`,
  );
  const busy = Number(proc.run(id, 10, T0, 'yes', 'yes', T0, T0 + 9_000, T0 + 9_000).lastInsertRowid);
  const big = Number(proc.run(id, 11, T0 + 1_000, 'java', 'java -Xmx1g App', T0 + 1_000, T0 + 5_000, T0 + 5_000).lastInsertRowid);
  proc.run(id, 12, T0 + 2_000, 'true', 'true', T0 + 2_000, T0 + 2_000, T0 + 2_000); // short-lived: no series rows
  const series = store.prepare(
    `INSERT INTO container_series (tier, bucket, container_id, cpu_ns, mem_avg, mem_max, read_bytes, write_bytes, net_rx_bytes, net_tx_bytes, pids_max, samples, sampled_ms)
     VALUES (0, ?, ?, ?, ?, ?, ?, ?, ?, ?, 3, 1, 1000)`,
  );
  const pseries = store.prepare(
    `INSERT INTO process_series (tier, bucket, process_id, cpu_ns, rss_avg, rss_max, read_bytes, write_bytes, threads_max, samples) VALUES (0, ?, ?, ?, ?, ?, 0, 0, 1, 1)`,
  );
  for (let s = 0; s < 10; s++) {
    // One core busy every second (50 % of the 2-core limit); memory climbs to 60 MiB; 1 KiB written each second.
    series.run(T0 + s * 1000, id, 1e9, (s + 1) * (6 << 20) - (1 << 20), (s + 1) * (6 << 20), 0, 1024, 100, 50);
    pseries.run(T0 + s * 1000, busy, 0.9e9, 1 << 20, 1 << 20);
    if (s >= 1 && s < 5) pseries.run(T0 + s * 1000, big, 0.1e9, 50 << 20, 50 << 20);
  }
  const file = store.prepare(
    `INSERT INTO file_access (process_id, path, mode, deleted, first_seen, last_seen, opens, bytes_in, bytes_out, source) VALUES (?, ?, ?, 0, ?, ?, ?, NULL, NULL, 'procfs')`,
  );
  file.run(busy, '/data/out.csv', 'w', T0, T0 + 8_000, 1);
  file.run(busy, '/dev/null', 'w', T0, T0 + 8_000, 9);
  file.run(big, '/etc/app.conf', 'r', T0 + 1_000, T0 + 2_000, 2);
  const net = store.prepare(
    `INSERT INTO net_access (process_id, protocol, local, remote, state, first_seen, last_seen, opens, source) VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'procfs')`,
  );
  net.run(big, 'tcp', '172.17.0.2:40000', '10.0.0.5:443', 'ESTABLISHED', T0 + 1_000, T0 + 3_000);
  net.run(big, 'tcp', '0.0.0.0:8080', '0.0.0.0:0', 'LISTEN', T0 + 1_000, T0 + 3_000);
  store.prepare('INSERT INTO sessions (pid, started, last_tick, folded_through, ended) VALUES (1, ?, ?, ?, ?)').run(T0 - 5_000, T0 + 20_000, T0, T0 + 20_000);
  return id;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'bubble-report-unit-'));
  db = createStore();
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('containerReport', () => {
  it('sums CPU, rates it against the CPU limit, and peaks memory against the limit', () => {
    fillStore(db, { oom_kills: 1 });
    const r = containerReport(db, 'docker:abc');
    expect(r).toMatchObject({ name: 'web-1', exitCode: 137, running: false, tier: 'second', cpuNs: 10e9, oomKills: 1, cpuAllocatedCores: 2 });
    expect(r.avgCores).toBeCloseTo(1, 5);
    expect(r.cpuEfficiencyPercent).toBeCloseTo(50, 5);
    expect(r.memPeakBytes).toBe(60 << 20);
    expect(r.memLimitBytes).toBe(64 << 20);
    expect(r).toMatchObject({ writeBytes: 10 * 1024, netRxBytes: 1000, netTxBytes: 500, peakNetBytesPerSec: 150 });
    expect(r.sparks.memBytes).toHaveLength(10);
    expect(r.sparks.memBytes.at(-1)).toBe(60 << 20);
  });

  it('counts every process that ran, lists the top ones by CPU and by memory, and the files and endpoints', () => {
    fillStore(db);
    const r = containerReport(db, 'docker:abc');
    expect(r.processCount).toBe(3);
    expect(r.topByCpu.map((p) => p.comm)).toEqual(['yes', 'java']);
    expect(r.topByCpu[0]!.cpuNs).toBeCloseTo(9e9, -3);
    expect(r.topByMemory[0]).toMatchObject({ comm: 'java', rssMaxBytes: 50 << 20, startMs: T0 + 1_000, endMs: T0 + 5_000, exited: true });
    // /dev/null says nothing about what a container did; listening sockets have no remote end.
    expect(r.filesWritten.map((f) => f.path)).toEqual(['/data/out.csv']);
    expect(r.filesRead.map((f) => f.path)).toEqual(['/etc/app.conf']);
    expect(r.endpoints).toEqual([{ protocol: 'tcp', remote: '10.0.0.5:443', opens: 1 }]);
  });

  it("rates a Slurm job against its cpuset when it has no CPU limit (the job's allocated cores)", () => {
    fillStore(db, { key: 'slurm:42', kind: 'slurm', cid: '42', name: 'job 42 sim', cpu_limit: null, cpuset_cpus: 4 });
    const r = containerReport(db, 'slurm:42');
    expect(r.cpuAllocatedCores).toBe(4);
    expect(r.cpuEfficiencyPercent).toBeCloseTo(25, 5);
    expect(reportRecord(r)).toMatchObject({ cpuset_cpus: 4, cpu_allocated_cores: 4, cpu_efficiency_percent: 25, cpu_limit_cores: null });
  });

  it('clips to --since/--until, and says so in one line when the range holds none of it', () => {
    fillStore(db);
    const part = containerReport(db, 'docker:abc', { sinceMs: T0 + 5_000 });
    expect(part.cpuNs).toBe(5e9);
    expect(part.fromMs).toBe(T0 + 5_000);
    expect(() => containerReport(db, 'docker:abc', { sinceMs: T0 + 60_000 })).toThrow(/^web-1 did not live in the range asked \(recorded .* to .*\)$/);
    expect(() => containerReport(db, 'docker:abc', { sinceMs: T0 + 60_000 })).toThrow(BubbleError);
  });

  it('says the start is missing when its processes are older than its first sight', () => {
    fillStore(db);
    db.prepare('UPDATE processes SET start_time = ? WHERE pid = 10').run(T0 - 30_000);
    expect(containerReport(db, 'docker:abc').missing).toEqual(['its start: recording began 30 s after its oldest process started']);
  });

  it('says how much of the span was sampled when the recorder missed part of it', () => {
    fillStore(db);
    db.prepare('DELETE FROM container_series WHERE bucket >= ? AND bucket < ?').run(T0 + 3_000, T0 + 8_000);
    expect(containerReport(db, 'docker:abc').missing).toEqual(['56% of the span is sampled (no recorder ran the rest)']);
  });

  it("reports a running container up to the open session's last tick, its open bucket not counted as a gap", () => {
    fillStore(db);
    db.prepare('UPDATE containers SET exit_time = NULL, exit_code = NULL').run();
    db.prepare('UPDATE sessions SET ended = NULL, last_tick = ?').run(T0 + 10_500);
    const r = containerReport(db, 'docker:abc');
    expect(r.running).toBe(true);
    expect(r.toMs).toBe(T0 + 10_501);
    expect(r.missing).toEqual([]);
    expect(reportText(r)).toContain(', still running.');
  });

  it('reads a store from before the report migration (no oom_kills, no cpuset_cpus)', () => {
    const old = createStore(3);
    try {
      fillStore(old);
      const r = containerReport(old, 'docker:abc');
      expect(r.oomKills).toBeUndefined();
      expect(r.cpuEfficiencyPercent).toBeCloseTo(50, 5);
    } finally {
      old.close();
    }
  });
});

describe('report text', () => {
  it('fits 80 columns with a long command and path, escapes what the container controls, and draws sparklines', () => {
    fillStore(db, { oom_kills: 1, name: 'evil\u001b[2Jname' });
    db.prepare('UPDATE processes SET cmdline = ? WHERE pid = 10').run(`yes ${'x'.repeat(200)}`);
    db.prepare("UPDATE file_access SET path = ? WHERE path = '/data/out.csv'").run(`/data/${'d/'.repeat(60)}out.csv`);
    const text = reportText(containerReport(db, 'docker:abc'));
    for (const line of text.trimEnd().split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80);
    expect(text).not.toContain('\u001b');
    expect(text).toContain('evil\\e[2Jname (docker abc)');
    expect(text).toContain('with code 137.');
    expect(text).toContain('The kernel OOM-killed a process in it.');
    expect(text).toContain('efficiency 50.0% of the allocation');
    expect(text).toMatch(/^memory +\|▁▂▃▄▄▅▆▇██\| 60M$/m);
  });

  it("lists each top process's exit code where a kernel-event source recorded it, in the text and the JSON", () => {
    fillStore(db);
    // java was OOM-killed (SIGKILL: 137); yes's exit was not seen by any kernel-event source.
    db.prepare('UPDATE processes SET exit_code = 137 WHERE pid = 11').run();
    const r = containerReport(db, 'docker:abc');
    expect(r.topByCpu.find((p) => p.comm === 'java')!.exitCode).toBe(137);
    expect(r.topByCpu.find((p) => p.comm === 'yes')!.exitCode).toBeUndefined();
    const json = reportRecord(r) as { top_cpu: { comm: string; exit_code: number | null }[] };
    expect(json.top_cpu.map((p) => [p.comm, p.exit_code])).toEqual([
      ['yes', null],
      ['java', 137],
    ]);
    const text = reportText(r);
    expect(text).toMatch(/^ +PID +CPU +RSS PEAK +LIFETIME EXIT +COMMAND$/m);
    expect(text).toMatch(/^ +11 .* 137 {2}java -Xmx1g App$/m);
    expect(text).toMatch(/^ +10 .* - {2}yes$/m);
  });

  it('lists files a kernel-event source saw opened without their flags apart: neither read nor written is known', () => {
    fillStore(db);
    const short = db.prepare('SELECT id FROM processes WHERE pid = 12').pluck().get() as number;
    db.prepare(
      `INSERT INTO file_access (process_id, path, mode, deleted, first_seen, last_seen, opens, bytes_in, bytes_out, source) VALUES (?, ?, '', 0, ?, ?, 1, NULL, NULL, 'bpf')`,
    ).run(short, '/data/scratch.bin', T0 + 2_000, T0 + 2_000);
    const r = containerReport(db, 'docker:abc');
    expect(r.filesOpened).toEqual([{ path: '/data/scratch.bin', opens: 1 }]);
    expect(r.filesWritten.map((f) => f.path)).not.toContain('/data/scratch.bin');
    expect(r.filesRead.map((f) => f.path)).not.toContain('/data/scratch.bin');
    expect(reportRecord(r)['files_opened']).toEqual([{ path: '/data/scratch.bin', opens: 1, bytes: null }]);
    expect(reportText(r)).toContain('Files opened by short-lived processes (read or write not recorded):\n  /data/scratch.bin 1 open\n');
  });

  it("shows a Slurm job's memory request only where Slurm set a limit, and says when it has none", () => {
    fillStore(db, { key: 'slurm:42', kind: 'slurm', cid: '42', name: 'job 42 sim', cpu_limit: null, cpuset_cpus: 4 });
    expect(reportText(containerReport(db, 'slurm:42'))).toMatch(/^Memory +peak 60M of 64M requested \(94% at peak\)/m);
    db.prepare('UPDATE containers SET memory_limit = NULL').run();
    const text = reportText(containerReport(db, 'slurm:42'));
    expect(text).toMatch(/^Memory +peak 60M \(no memory request\), average /m);
    expect(text).not.toContain('requested');
    // A container without a limit has no request to speak of.
    db.prepare("UPDATE containers SET kind = 'docker'").run();
    expect(reportText(containerReport(db, 'slurm:42'))).toMatch(/^Memory +peak 60M, average /m);
  });

  it('scales sparklines to the largest point and leaves zero points blank', () => {
    expect(sparkline([0, 1, 2, 4, 8])).toBe(' ▁▂▄█');
    expect(sparkline([0, 0])).toBe('  ');
  });
});

describe('CPU efficiency (one function for ls, the TUI and report)', () => {
  it('is used cores over the CPU limit, else over a cpuset; undefined when unlimited', () => {
    expect(cpuEfficiencyPercent(150, { cpuLimitCores: 2 })).toBe(75);
    expect(cpuEfficiencyPercent(100, { cpusetCpus: 4 })).toBe(25);
    expect(cpuEfficiencyPercent(100, { cpuLimitCores: 0.5, cpusetCpus: 4 })).toBe(200);
    expect(cpuEfficiencyPercent(100, {})).toBeUndefined();
    expect(cpuEfficiencyPercent(undefined, { cpuLimitCores: 1 })).toBeUndefined();
    expect(allocatedCores({ cpusetCpus: 0 })).toBeUndefined();
  });
});

describe('what feeds the new columns', () => {
  it('counts the CPUs of a cpuset list', () => {
    expect(cpusetCount('0-3,8,10-11\n')).toBe(7);
    expect(cpusetCount('1')).toBe(1);
    expect(cpusetCount('\n')).toBeUndefined();
    expect(cpusetCount('3-1')).toBeUndefined();
  });

  it("reads a finished job's exit code from scontrol, 128 + signal when a signal ended it", () => {
    expect(parseScontrolExitCode('JobId=7 JobName=wrap JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 DerivedExitCode=0:0')).toBe(3);
    expect(parseScontrolExitCode('JobState=CANCELLED ExitCode=0:9')).toBe(137);
    expect(parseScontrolExitCode('JobState=FAILED DerivedExitCode=0:0')).toBeUndefined();
  });

  it("keeps Docker's OOM kill from the oom event through die, and drops it when the container starts again", () => {
    const oom = applyEvent({ name: 'x', state: 'running' }, { id: 'a', action: 'oom', attributes: {}, timeMs: T0 }).meta!;
    expect(oom.oomKilled).toBe(true);
    const died = applyEvent(oom, { id: 'a', action: 'die', attributes: { exitCode: '137' }, timeMs: T0 + 1 }).meta!;
    expect(died).toMatchObject({ oomKilled: true, exitCode: 137, state: 'exited' });
    expect(applyEvent(died, { id: 'a', action: 'start', attributes: {}, timeMs: T0 + 2 }).meta!.oomKilled).toBeUndefined();
    expect(metaFromInspect({ State: { Status: 'exited', ExitCode: 137, OOMKilled: true } }).oomKilled).toBe(true);
    expect(metaFromInspect({ State: { Status: 'running', OOMKilled: true } }).oomKilled).toBeUndefined();
  });
});
