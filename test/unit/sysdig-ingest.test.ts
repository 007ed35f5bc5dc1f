/**
 * SysdigIngest and completeSnapshot. Snapshots are built from the real bridge output saved in test/fixtures/sysdig
 * (sysdig 0.29 over the shared captures), from corrupted copies of it, and from hand-made records where a case is
 * not in any capture (pid reuse, lost lines, a container that ends). completeSnapshot is checked on procfs-shaped
 * snapshots from the real toSnapshot, and through the real Recorder into a real SQLite file: nothing counted twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bridgeIdentity,
  bridgeProtocol,
  bridgeStatusLine,
  completeSnapshot,
  observationFromIo,
  START_TOLERANCE_MS,
  SysdigIngest,
} from '../../src/collectors/sysdig-ingest.js';
import { BridgeParser, type BridgeRecord, type IdentityFields, type IoRecord } from '../../src/collectors/sysdig.js';
import { accessKey, type FileObservation, type NetObservation } from '../../src/model/access.js';
import type { ContainerSample, ProcessSample, Sample } from '../../src/model/sample.js';
import { toSnapshot, type Snapshot } from '../../src/model/snapshot.js';
import { openStore } from '../../src/store/database.js';
import { Recorder } from '../../src/store/recorder.js';
import { DEFAULT_RETENTION } from '../../src/store/tiers.js';
import { sampleAt } from '../helpers/samples.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/sysdig');
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, `${name}.jsonl`), 'utf8');
const FALCO_ID = '5ea733068030962afe24c88712a2d865516ac6416d875c62ff481c8ab84dd928';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bubble-sysdig-ingest-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Real bridge output -> parser -> ingest -> snapshots. */
function snapshotsOf(text: string, mode: 'snapshots' | 'complete' = 'snapshots'): { snapshots: Snapshot[]; ingest: SysdigIngest; parser: BridgeParser } {
  const parser = new BridgeParser();
  const ingest = new SysdigIngest({ mode, parseStats: () => parser.stats });
  ingest.push(parser.push(text));
  ingest.push(parser.end());
  ingest.finish();
  return { snapshots: ingest.takeSnapshots(), ingest, parser };
}

const files = (s: Snapshot): FileObservation[] => (s.access ?? []).filter((o): o is FileObservation => o.kind === 'file');
const nets = (s: Snapshot): NetObservation[] => (s.access ?? []).filter((o): o is NetObservation => o.kind === 'net');
const ticksIn = (text: string): number[] =>
  text
    .split('\n')
    .filter((l) => l.includes('"t":"tick"'))
    .map((l) => (JSON.parse(l) as { ts: number }).ts);

describe('snapshots from real bridge output (sysdig alone)', () => {
  it('open-multiple-files: one snapshot per tick, in the capture time; python opens /tmp/file-1..13 and exits', () => {
    const text = fixture('open-multiple-files');
    const { snapshots, ingest } = snapshotsOf(text);
    const ticks = ticksIn(text);
    expect(snapshots.map((s) => s.timeMs)).toEqual(ticks.map((t) => Math.floor(t)));
    expect(ingest.stats).toMatchObject({ ticks: ticks.length, processes: 6, files: 13, endpoints: 0, orphans: 0, late: 0 });

    const withPython = snapshots.filter((s) => s.processes.some((p) => p.comm === 'python'));
    expect(withPython).toHaveLength(1);
    const s = withPython[0]!;
    const python = s.processes.find((p) => p.comm === 'python')!;
    expect(python).toMatchObject({ key: '16569:1486171335286.801', pid: 16569, ppid: 2089, uid: 501, user: '501', cmdline: 'python open.py' });
    expect(python.containerKey).toBe('host');
    expect(python.exitedAtMs).toBe(1486171335289);
    expect(s.exited.processes.map((p) => p.key)).toEqual([python.key]);
    const paths = files(s)
      .filter((o) => o.processKey === python.key)
      .map((o) => o.path);
    expect(paths).toEqual(Array.from({ length: 13 }, (_, i) => `/tmp/file-${i + 1}`));
    for (const o of files(s)) expect(o).toMatchObject({ opens: 1, mode: '', source: 'sysdig', bytesIn: 0, bytesOut: 0 });
    // Gone after the interval of its exit.
    const after = snapshots[snapshots.indexOf(s) + 1];
    expect(after?.processes.some((p) => p.pid === 16569) ?? false).toBe(false);
  });

  it('open-multiple-files: falco is filed under its Docker container by the cgroup path, its CPU summed into it', () => {
    const { snapshots } = snapshotsOf(fixture('open-multiple-files'));
    const key = `docker:${FALCO_ID}`;
    const last = snapshots.at(-1)!;
    const falco = last.processes.find((p) => p.comm === 'falco')!;
    expect(falco).toMatchObject({ containerKey: key, nspid: 1, kernelThread: false, rssBytes: 0 });
    const container = last.containers.find((c) => c.key === key)!;
    expect(container).toMatchObject({
      kind: 'docker',
      id: FALCO_ID,
      name: FALCO_ID.slice(0, 12),
      cgroup: `/docker/${FALCO_ID}`,
      cpuSource: 'processes',
      processCount: 1,
    });
    // falco's cpu records: 10 ms at ...327999.999 and 10 ms at ...335999.999.
    const cpuTicks = snapshots.filter((s) => (s.containers.find((c) => c.key === key)?.interval.cpuNs ?? 0) > 0);
    expect(cpuTicks.map((s) => s.timeMs)).toEqual([1486171327999, 1486171335999]);
    expect(container.cpuNs).toBe(20_000_000);
    expect(falco.cpuNs).toBe(20_000_000);
    // The container's interval is the sum of its processes' intervals; host's too.
    for (const s of snapshots) {
      for (const c of s.containers) {
        const sum = s.processes.filter((p) => p.containerKey === c.key).reduce((a, p) => a + (p.interval.cpuNs ?? 0), 0);
        expect(c.interval.cpuNs).toBe(sum);
      }
    }
  });

  it('cat_write: cat reads 832 bytes of libc (mode r), opens /dev/null; its read bytes are its file bytes', () => {
    const { snapshots } = snapshotsOf(fixture('cat_write'));
    const s = snapshots.find((x) => files(x).length > 0)!;
    const byPath = new Map(files(s).map((o) => [o.path, o]));
    expect(byPath.get('/lib/x86_64-linux-gnu/libc.so.6')).toMatchObject({ mode: 'r', bytesIn: 832, bytesOut: 0, opens: 1 });
    expect(byPath.get('/dev/null')).toMatchObject({ mode: '', bytesIn: 0, opens: 1 });
    const cat = s.processes.find((p) => p.comm === 'cat')!;
    expect(cat.interval).toEqual({ cpuNs: 0, readBytes: 832, writeBytes: 0 });
    expect(cat.cmdline).toBe('cat /dev/null');
    // cat exec'd and exited in the previous interval; its io came in this one: it is listed (and exited) there.
    const execTick = snapshots.find((x) => x.exited.processes.some((p) => p.comm === 'cat'));
    expect(execTick).toBeDefined();
  });

  it('curl_google: IPv6 tuples as udp6/tcp6 with bracketed endpoints; stdout (kind other) is left out; repeated paths merge', () => {
    const { snapshots } = snapshotsOf(fixture('curl_google'));
    const s = snapshots.find((x) => nets(x).length > 0)!;
    const n = nets(s);
    expect(n).toHaveLength(2);
    expect(n).toContainEqual(
      expect.objectContaining({
        protocol: 'udp6',
        local: '[2600:1f18:262c:6542:9aa6:df7a:9a47:d29e]:40251',
        remote: '[2001:4860:4860::8888]:53',
        state: 'connect',
        bytesIn: 60,
        bytesOut: 32,
        opens: 1,
      }),
    );
    expect(n).toContainEqual(expect.objectContaining({ protocol: 'tcp6', remote: '[2607:f8b0:4004:802::2004]:80', bytesIn: 11502, bytesOut: 78 }));
    // /etc/ld.so.cache was opened on fd 3 (once) and fd 4 (twice): one observation, three opens.
    const cache = files(s).filter((o) => o.path === '/etc/ld.so.cache');
    expect(cache).toHaveLength(1);
    expect(cache[0]!.opens).toBe(3);
    // 10,796 bytes to a stdout sysdig never saw opened: neither a file nor an endpoint.
    expect((s.access ?? []).some((o) => (o.bytesOut ?? 0) === 10796)).toBe(false);
    // curl's CPU is run_ns only in this capture: cpu_ns is what counts, never run_ns.
    const curl = s.processes.find((p) => p.comm === 'curl')!;
    expect(curl.interval.cpuNs).toBe(0);
  });

  it('connect_localhost and ping_sendto: the IPv4 connect, and ping raw socket with an unknown protocol', () => {
    const connect = snapshotsOf(fixture('connect_localhost')).snapshots;
    const c = connect.flatMap(nets);
    expect(c).toEqual([expect.objectContaining({ protocol: 'tcp', local: '127.0.0.1:47192', remote: '127.0.0.1:80', state: 'connect', opens: 1 })]);
    const ping = snapshotsOf(fixture('ping_sendto')).snapshots.flatMap(nets);
    expect(ping.length).toBe(10);
    for (const o of ping) expect(o).toMatchObject({ protocol: 'ip', local: '0.0.0.0:1', remote: '128.32.41.1:0', state: '', bytesOut: 64 });
  });
});

// ---- hand-made records ------------------------------------------------------------------------------------------

const T = 1_700_000_000_000;
let seq = 0;
function ident(t: 'proc' | 'exec', pid: number, start: number, over: Partial<IdentityFields> = {}, ts = start): BridgeRecord {
  return {
    v: 1,
    t,
    ts,
    pid,
    start,
    start_exact: true,
    ppid: 1,
    vpid: pid,
    uid: 0,
    comm: `p${pid}`,
    exe: `/bin/p${pid}`,
    cmdline: `p${pid} --x`,
    container: 'host',
    cgroups: 'cpu=/ memory=/user.slice',
    ...over,
  } as BridgeRecord;
}
const cpu = (pid: number, start: number, ts: number, cpuNs: number, runNs = 0): BridgeRecord => ({
  v: 1,
  t: 'cpu',
  ts,
  pid,
  start,
  cpu_ns: cpuNs,
  run_ns: runNs,
});
const exit = (pid: number, start: number, ts: number): BridgeRecord => ({ v: 1, t: 'exit', ts, pid, start, status: 0 });
const tick = (ts: number, dt = 1000): BridgeRecord => ({ v: 1, t: 'tick', ts, dt_ms: dt, events: ++seq });
function io(pid: number, start: number, ts: number, over: Partial<IoRecord>): BridgeRecord {
  return { v: 1, t: 'io', ts, pid, start, fd: 3, kind: 'file', path: '/data/x', bytes_in: 0, bytes_out: 0, opens: 0, ops: 0, ...over } as BridgeRecord;
}

describe('SysdigIngest on hand-made records', () => {
  it('uses cpu_ns, never run_ns, and gives cpuPercent over the tick length', () => {
    const ingest = new SysdigIngest();
    ingest.push([ident('proc', 10, T), cpu(10, T, T + 999, 250_000_000, 900_000_000), tick(T + 999, 500)]);
    const [s] = ingest.takeSnapshots();
    const p = s!.processes.find((x) => x.pid === 10)!;
    expect(p.interval.cpuNs).toBe(250_000_000);
    expect(p.cpuPercent).toBeCloseTo(50);
    expect(s!.intervalMs).toBe(500);
  });

  it('keys a container by its cgroup path, else by sysdig short id as docker:<12 chars>', () => {
    const full = 'c'.repeat(64);
    expect(bridgeIdentity(`cpu=/docker/${full} memory=/docker/${full}`, full.slice(0, 12))).toMatchObject({ kind: 'docker', id: full });
    expect(bridgeIdentity('', 'abcdef012345')).toEqual({ kind: 'docker', id: 'abcdef012345', name: 'abcdef012345', cgroup: '' });
    expect(bridgeIdentity('cpu=/user.slice', 'host')).toMatchObject({ kind: 'host' });
    // Slurm: the job, not the step, is the container.
    const slurm = bridgeIdentity('memory=/slurm/uid_1000/job_4242/step_0/task_0', 'host');
    expect(slurm).toMatchObject({ kind: 'slurm', id: '4242' });
    expect(slurm.step).toBeUndefined();
    const ingest = new SysdigIngest();
    ingest.push([ident('proc', 20, T, { container: 'abcdef012345', cgroups: '' }), tick(T + 1000)]);
    const [s] = ingest.takeSnapshots();
    expect(s!.processes[0]!.containerKey).toBe('docker:abcdef012345');
    expect(s!.containers.map((c) => c.key).sort()).toEqual(['docker:abcdef012345', 'host']);
  });

  it('maps l4proto and the address family like /proc/net does', () => {
    expect(bridgeProtocol({ l4proto: 'tcp', cip: '10.0.0.1', sip: '10.0.0.2' })).toBe('tcp');
    expect(bridgeProtocol({ l4proto: 'udp', cip: '::1', sip: '::1' })).toBe('udp6');
    expect(bridgeProtocol({ cip: '0.0.0.0', sip: '1.2.3.4' })).toBe('ip');
    const server = observationFromIo(
      {
        v: 1,
        t: 'io',
        ts: T,
        pid: 1,
        start: T,
        fd: 5,
        kind: 'net',
        l4proto: 'tcp',
        cip: '10.0.0.9',
        cport: 5555,
        sip: '10.0.0.1',
        sport: 443,
        server: true,
        bytes_in: 1,
        bytes_out: 2,
        opens: 1,
        ops: 2,
      },
      'k',
    );
    expect(server).toMatchObject({ local: '10.0.0.1:443', remote: '10.0.0.9:5555', state: 'accept' });
    expect(
      observationFromIo({ v: 1, t: 'io', ts: T, pid: 1, start: T, fd: 0, kind: 'pipe', path: '', bytes_in: 5, bytes_out: 0, opens: 0, ops: 1 }),
    ).toBeUndefined();
    expect(
      observationFromIo({ v: 1, t: 'io', ts: T, pid: 1, start: T, fd: 7, kind: 'unix', path: '/run/x.sock', bytes_in: 5, bytes_out: 0, opens: 1, ops: 1 }),
    ).toMatchObject({
      protocol: 'unix',
      local: '/run/x.sock',
    });
  });

  it('ends the previous holder of a pid when a new process appears on it', () => {
    const ingest = new SysdigIngest();
    ingest.push([ident('proc', 30, T), tick(T + 1000), ident('exec', 30, T + 1500, { comm: 'new' }), tick(T + 2000)]);
    const [first, second] = ingest.takeSnapshots();
    expect(first!.processes.map((p) => p.key)).toContain(`30:${T}`);
    expect(second!.exited.processes.map((p) => p.key)).toEqual([`30:${T}`]);
    expect(second!.exited.processes[0]!.exitedAtMs).toBe(T + 1500);
    expect(second!.processes.find((p) => p.key === `30:${T + 1500}`)?.comm).toBe('new');
  });

  it('keeps records of a process whose identity line was lost under a placeholder, and drops late records of an exited one', () => {
    const ingest = new SysdigIngest();
    ingest.push([
      io(40, T, T + 999, { path: '/data/a', bytes_out: 100, opens: 1 }),
      ident('proc', 41, T),
      exit(41, T, T + 10),
      tick(T + 999),
      cpu(41, T, T + 1999, 10_000_000),
      tick(T + 1999),
    ]);
    const [s1, s2] = ingest.takeSnapshots();
    const orphan = s1!.processes.find((p) => p.pid === 40)!;
    expect(orphan).toMatchObject({ comm: '', ppid: -1, containerKey: 'host', writeBytes: 100 });
    expect(files(s1!)).toEqual([expect.objectContaining({ processKey: `40:${T}`, path: '/data/a', mode: 'w', bytesOut: 100 })]);
    expect(s2!.processes.some((p) => p.pid === 41)).toBe(false);
    expect(ingest.stats).toMatchObject({ orphans: 1, late: 1 });
    expect(
      bridgeStatusLine(
        { lines: 6, records: 6, malformed: 0, unknownVersion: 0, unknownType: 0, truncated: 0, tooLong: 0, outOfRange: 0, empty: 0 },
        ingest.stats,
      ),
    ).toBe('sysdig bridge: skipped 0 of 6 lines; 1 records of processes whose identity line was lost; 1 late records of exited processes dropped');
  });

  it('reports a container as exited a minute after its last process exited, and closes a cut stream at finish()', () => {
    const id = 'd'.repeat(64);
    const ingest = new SysdigIngest();
    ingest.push([ident('proc', 50, T, { cgroups: `memory=/docker/${id}` }), exit(50, T, T + 100), tick(T + 1000)]);
    for (let i = 2; i <= 62; i++) ingest.push([tick(T + i * 1000)]);
    const snapshots = ingest.takeSnapshots();
    const ended = snapshots.flatMap((s) => s.exited.containers);
    expect(ended.map((c) => c.key)).toEqual([`docker:${id}`]);
    expect(ended[0]!.exitedAtMs).toBe(T + 100);
    expect(snapshots.at(-1)!.containers.map((c) => c.key)).toEqual(['host']);
    // Records after the last tick (the stream was cut) make one last interval.
    ingest.push([ident('proc', 51, T + 63_000), cpu(51, T + 63_000, T + 63_500, 5_000_000)]);
    expect(ingest.takeSnapshots()).toEqual([]);
    ingest.finish();
    const [last] = ingest.takeSnapshots();
    expect(last!.timeMs).toBe(T + 63_500);
    expect(last!.processes.find((p) => p.pid === 51)!.interval.cpuNs).toBe(5_000_000);
  });

  it("'complete' mode lists only the processes active in the interval", () => {
    const ingest = new SysdigIngest({ mode: 'complete' });
    ingest.push([ident('proc', 60, T), ident('proc', 61, T), tick(T + 1000), cpu(61, T, T + 1999, 1), tick(T + 1999)]);
    const [a, b] = ingest.takeIntervals();
    expect(a!.processes.map((p) => p.pid).sort()).toEqual([60, 61]);
    expect(b!.processes.map((p) => p.pid)).toEqual([61]);
    expect(b!.exact.has(`61:${T}`)).toBe(true);
  });
});

describe('malformed bridge output', () => {
  it('counts cut, garbage and wrong-version lines, skips them, and keeps every valid record', () => {
    const lines = fixture('open-multiple-files').trimEnd().split('\n');
    const emacs = lines.findIndex((l) => l.includes('"comm":"emacs"'));
    const falcoCpu = lines.findIndex((l) => l.includes('"t":"cpu"') && l.includes('"pid":15296'));
    const corrupted = lines.map((l, i) => (i === emacs ? l.slice(0, 60) : i === falcoCpu ? l.replace('"v":1', '"v":2') : l));
    corrupted.splice(5, 0, '\u0000\u00ff garbage {', '');
    const text = `${corrupted.join('\n')}\n{"v":1,"t":"tick","ts":148617`;
    // Fed in small chunks, as a pipe delivers it.
    const parser = new BridgeParser();
    const ingest = new SysdigIngest({ parseStats: () => parser.stats });
    for (let i = 0; i < text.length; i += 37) ingest.push(parser.push(Buffer.from(text.slice(i, i + 37))));
    ingest.push(parser.end());
    ingest.finish();
    expect(parser.stats).toMatchObject({ malformed: 2, unknownVersion: 1, truncated: 1, empty: 1 });
    const line = bridgeStatusLine(parser.stats, ingest.stats);
    expect(line).toBe(
      `sysdig bridge: skipped 4 of ${lines.length + 3} lines (2 malformed, 1 of an unknown protocol version, 1 truncated); ` +
        '1 records of processes whose identity line was lost',
    );
    const snapshots = ingest.takeSnapshots();
    expect(snapshots[0]!.gaps).toEqual([
      'sysdig bridge: skipped 4 of ' + `${lines.length + 3} lines (2 malformed, 1 of an unknown protocol version, 1 truncated)`,
    ]);
    // The python process and its 13 files made it; emacs is a placeholder (its identity line was cut).
    expect(snapshots.flatMap(files).filter((o) => o.path.startsWith('/tmp/file-'))).toHaveLength(13);
    const last = snapshots.at(-1)!;
    expect(last.processes.find((p) => p.pid === 2064)).toMatchObject({ comm: '', containerKey: 'host' });
    // falco lost one of its two cpu records.
    expect(last.processes.find((p) => p.comm === 'falco')!.cpuNs).toBe(10_000_000);
  });
});

// ---- procfs + sysdig --------------------------------------------------------------------------------------------

const MiB = 1024 * 1024;
const BOOT = T - 3_600_000;
const CID = 'e'.repeat(64);
const CKEY = `docker:${CID}`;

function procfsProcess(pid: number, startTimeMs: number, cpuNs: number, containerKey = 'host'): ProcessSample {
  const startTicks = Math.round((startTimeMs - BOOT) / 10);
  return {
    key: `${pid}:${startTicks}`,
    pid,
    startTicks,
    startTimeMs,
    ppid: 1,
    comm: `p${pid}`,
    cmdline: `p${pid}`,
    exe: `/bin/p${pid}`,
    uid: 0,
    user: 'root',
    state: 'S',
    cpuNs,
    rssBytes: 10 * MiB,
    vsizeBytes: 20 * MiB,
    threads: 1,
    readBytes: 0,
    writeBytes: 0,
    containerKey,
    kernelThread: false,
  };
}

/** A procfs-shaped sample at T + t s: pid 100 on host burns 0.5 s per s; the container's cgroup counts 2 s per s. */
function procfsSample(t: number, extra: ProcessSample[] = []): Sample {
  const main = procfsProcess(100, T - 60_000, 1e9 + t * 0.5e9);
  const inside = procfsProcess(300, T - 60_000, 1e9 + t * 1e9, CKEY);
  const processes = [main, inside, ...extra];
  const host: ContainerSample = {
    key: 'host',
    identity: { kind: 'host', id: 'host', name: 'host', cgroup: '/' },
    meta: {},
    cgroup: {},
    processKeys: [main.key, ...extra.map((p) => p.key)],
  };
  const container: ContainerSample = {
    key: CKEY,
    identity: { kind: 'docker', id: CID, name: CID.slice(0, 12), cgroup: `/docker/${CID}` },
    meta: {},
    cgroup: { cpuUsageNs: t * 2e9 },
    processKeys: [inside.key],
  };
  return {
    ...sampleAt(t, T, BOOT, processes, [host, container]),
    access: [{ kind: 'file', processKey: main.key, fd: 3, path: '/var/log/app.log', mode: 'w', deleted: false, opens: 1, source: 'procfs' }],
  };
}

describe('completeSnapshot (procfs + sysdig)', () => {
  const cg = `memory=/docker/${CID} cpu=/docker/${CID}`;

  it('moves sysdig access onto procfs keys, adds the short-lived, and never adds CPU procfs measured', () => {
    const ingest = new SysdigIngest({ mode: 'complete' });
    const s0 = procfsSample(0);
    const s1 = procfsSample(1);
    const snap0 = completeSnapshot(toSnapshot(s0), ingest);
    expect(snap0.processes).toHaveLength(2);

    // Between the two procfs ticks: pid 100 (start off by 700 ms: btime has whole seconds) writes its log and
    // reads a file procfs never saw open; pid 200 starts and exits; pid 400 lives and dies inside the container.
    const start100 = T - 60_000 + 700;
    ingest.push([
      ident('proc', 100, start100, {}, T + 100),
      ident('exec', 200, T + 200),
      ident('exec', 400, T + 300, { cgroups: cg, container: CID.slice(0, 12) }),
      exit(200, T + 200, T + 400),
      exit(400, T + 300, T + 500),
      cpu(100, start100, T + 900, 400_000_000),
      cpu(200, T + 200, T + 900, 30_000_000),
      cpu(400, T + 300, T + 900, 70_000_000),
      io(100, start100, T + 900, { path: '/var/log/app.log', bytes_out: 4096, ops: 4 }),
      io(100, start100, T + 900, { fd: 4, path: '/etc/hosts', bytes_in: 200, opens: 1, ops: 1 }),
      io(200, T + 200, T + 900, {
        fd: 3,
        kind: 'net',
        l4proto: 'tcp',
        cip: '10.0.0.5',
        cport: 40000,
        sip: '10.0.0.1',
        sport: 80,
        server: false,
        bytes_out: 10,
        opens: 1,
        ops: 1,
      }),
      tick(T + 900),
    ]);
    const plain = toSnapshot(s1, s0);
    const done = completeSnapshot(plain, ingest);
    const key100 = [...s1.processes.values()].find((p) => p.pid === 100)!.key;

    // procfs's own figures are untouched.
    expect(done.processes.find((p) => p.key === key100)).toBe(plain.processes.find((p) => p.key === key100));
    expect(done.containers.filter((c) => plain.containers.includes(c))).toHaveLength(plain.containers.length);
    expect(done.containers.find((c) => c.key === CKEY)!.interval.cpuNs).toBe(2e9);

    // Access on procfs's key; the log write joins procfs's observation (its descriptor and mode, so one interval),
    // /etc/hosts keeps sysdig's (no descriptor known).
    const mine = (done.access ?? []).filter((o) => o.processKey === key100 && o.source === 'sysdig');
    expect(mine).toEqual([
      expect.objectContaining({ fd: 3, path: '/var/log/app.log', mode: 'w', bytesOut: 4096 }),
      expect.objectContaining({ path: '/etc/hosts', mode: 'r', bytesIn: 200, opens: 1 }),
    ]);
    expect(mine[1]!.fd).toBeUndefined();
    const procfsLog = (done.access ?? []).find((o) => o.processKey === key100 && o.source === 'procfs')!;
    expect(accessKey(mine[0]!)).toBe(accessKey(procfsLog));

    // The short-lived: rows and exits, their sysdig CPU only as their own interval.
    const added = done.processes.filter((p) => !plain.processes.includes(p));
    expect(added.map((p) => [p.pid, p.interval.cpuNs, p.containerKey])).toEqual([
      [200, 30_000_000, 'host'],
      [400, 70_000_000, CKEY],
    ]);
    expect(added[0]!.interval).toEqual({ cpuNs: 30_000_000 });
    expect(done.exited.processes.map((p) => p.pid).sort()).toEqual([200, 400]);
    expect((done.access ?? []).filter((o) => o.processKey === `200:${T + 200}`)).toEqual([
      expect.objectContaining({ kind: 'net', protocol: 'tcp', remote: '10.0.0.1:80', state: 'connect' }),
    ]);
    expect(done.containers).toHaveLength(plain.containers.length);

    // Through the real Recorder: the container's CPU is the cgroup's 2 s, pid 100's is procfs's 0.5 s.
    const store = openStore(path.join(tmp, 'complete.db'));
    try {
      const recorder = new Recorder(store, DEFAULT_RETENTION);
      recorder.record(snap0);
      recorder.record(done);
      // As bubble record does: Recorder.finish() writes one more tick at the last snapshot's time and would add
      // the last snapshot's sysdig bytes a second time.
      recorder.finish({ ...done, access: [] });
      const cpuOf = (sql: string, ...args: unknown[]): number => (store.db.prepare(sql).get(...args) as { n: number }).n;
      const containerCpu = cpuOf(
        `SELECT sum(s.cpu_ns) AS n FROM container_series s JOIN containers c ON c.id = s.container_id WHERE c.key = ? AND s.tier = 0`,
        CKEY,
      );
      expect(containerCpu).toBe(2e9);
      const processCpu = (pid: number): number =>
        cpuOf(`SELECT sum(s.cpu_ns) AS n FROM process_series s JOIN processes p ON p.id = s.process_id WHERE p.pid = ? AND s.tier = 0`, pid);
      expect(processCpu(100)).toBe(0.5e9);
      expect(processCpu(200)).toBe(30_000_000);
      expect(processCpu(400)).toBe(70_000_000);
      const exits = store.db.prepare('SELECT pid, exit_time FROM processes WHERE exit_time IS NOT NULL ORDER BY pid').all();
      expect(exits).toEqual([
        { pid: 200, exit_time: T + 400 },
        { pid: 400, exit_time: T + 500 },
      ]);
      const log = store.db.prepare(`SELECT source, bytes_out, mode FROM file_access WHERE path = '/var/log/app.log'`).all();
      expect(log).toEqual([{ source: 'both', bytes_out: 4096, mode: 'w' }]);
      const counted = store.db.prepare(`SELECT count(*) AS n FROM processes WHERE pid IN (100, 200, 400)`).get() as { n: number };
      expect(counted.n).toBe(3);
    } finally {
      store.close();
    }
  });

  it('holds a running process procfs has not shown yet, and matches it on a later tick', () => {
    const ingest = new SysdigIngest({ mode: 'complete' });
    const s0 = procfsSample(0);
    completeSnapshot(toSnapshot(s0), ingest);
    ingest.push([ident('exec', 500, T + 950), io(500, T + 950, T + 990, { path: '/tmp/new', bytes_out: 7, opens: 1 }), tick(T + 990)]);
    const s1 = procfsSample(1);
    const first = completeSnapshot(toSnapshot(s1, s0), ingest);
    expect((first.access ?? []).some((o) => o.source === 'sysdig')).toBe(false);
    expect(first.processes.some((p) => p.pid === 500)).toBe(false);
    // procfs sees it now (its start from btime is up to a second earlier than the real one).
    const late = procfsProcess(500, T + 950 - 900, 0);
    const s2 = procfsSample(2, [late]);
    const second = completeSnapshot(toSnapshot(s2, s1), ingest);
    expect((second.access ?? []).filter((o) => o.source === 'sysdig')).toEqual([
      expect.objectContaining({ processKey: late.key, path: '/tmp/new', bytesOut: 7 }),
    ]);
    expect(second.processes.filter((p) => p.pid === 500)).toHaveLength(1);
  });

  it('does not take a reused pid for the old process: an exact start far from procfs is a different process', () => {
    const ingest = new SysdigIngest({ mode: 'complete' });
    const s0 = procfsSample(0);
    completeSnapshot(toSnapshot(s0), ingest);
    // pid 100 per procfs started a minute ago; this pid-100 process started (exactly) now and exited.
    ingest.push([ident('exec', 100, T + 100), exit(100, T + 100, T + 200), cpu(100, T + 100, T + 900, 20_000_000), tick(T + 900)]);
    const s1 = procfsSample(1);
    const done = completeSnapshot(toSnapshot(s1, s0), ingest);
    const pid100 = done.processes.filter((p) => p.pid === 100);
    expect(pid100).toHaveLength(2);
    expect(pid100.find((p) => p.key === `100:${T + 100}`)!.interval).toEqual({ cpuNs: 20_000_000 });
    // Its CPU% is its CPU over the snapshot's interval, like every other process of the snapshot.
    expect(pid100.find((p) => p.key === `100:${T + 100}`)!.cpuPercent).toBeCloseTo((0.02 / (done.intervalMs / 1000)) * 100, 9);
    expect(START_TOLERANCE_MS).toBeLessThan(60_000);
  });

  it('gives a short-lived process seen over two sysdig intervals its CPU% over the procfs interval', () => {
    const ingest = new SysdigIngest({ mode: 'complete' });
    const s0 = procfsSample(0);
    completeSnapshot(toSnapshot(s0), ingest);
    // Burned 20 ms in the first sysdig interval, nothing in the second, in which it exited.
    ingest.push([ident('exec', 700, T + 100), cpu(700, T + 100, T + 400, 20_000_000), tick(T + 500), exit(700, T + 100, T + 600), tick(T + 900)]);
    const done = completeSnapshot(toSnapshot(procfsSample(1), s0), ingest);
    const short = done.processes.find((p) => p.pid === 700)!;
    expect(short.interval).toEqual({ cpuNs: 20_000_000 });
    expect(short.cpuPercent).toBeCloseTo((0.02 / (done.intervalMs / 1000)) * 100, 9);
  });

  it('adds the container of a short-lived process procfs never saw, and ends it in the same snapshot', () => {
    const other = 'f'.repeat(64);
    const ingest = new SysdigIngest({ mode: 'complete' });
    const s0 = procfsSample(0);
    completeSnapshot(toSnapshot(s0), ingest);
    ingest.push([ident('exec', 600, T + 100, { cgroups: `memory=/docker/${other}` }), exit(600, T + 100, T + 300), tick(T + 900)]);
    const s1 = procfsSample(1);
    const plain = toSnapshot(s1, s0);
    const done = completeSnapshot(plain, ingest);
    const added = done.containers.find((c) => c.key === `docker:${other}`)!;
    expect(added).toMatchObject({ kind: 'docker', cpuSource: 'processes', interval: {} });
    expect(added.cpuNs).toBeUndefined();
    expect(done.exited.containers.map((c) => c.key)).toEqual([`docker:${other}`]);
    expect(done.processes.find((p) => p.pid === 600)!.containerKey).toBe(`docker:${other}`);
  });

  it('returns the snapshot itself when sysdig saw nothing new', () => {
    const ingest = new SysdigIngest({ mode: 'complete' });
    const snap = toSnapshot(procfsSample(0));
    expect(completeSnapshot(snap, ingest)).toBe(snap);
  });
});
