/**
 * Issue "Files and network per process", part 1: the cost of one descriptor pass per tick (FdCollector.collect over
 * every process of the host) on a host with a few hundred processes and a few thousand descriptors, side by side in
 * the same run with `ls -l /proc/[0-9]*\/fd/` (the same readdir + readlink per fd, plus an lstat each) and, when
 * installed, `lsof -n -P` and `ss -anp` (which also walks every process's fd/ to name socket owners).
 *
 * The section makes its own load: a few hundred `sleep 600`s, each inheriting 16 descriptors from this process
 * (files opened r, w+append and rw, one deleted file, both ends of loopback TCP connections, a TCP listener, a UDP
 * socket, a unix listener and connection, a pipe), plus, as root with unshare(1) and busybox, a few listeners in network
 * namespaces of their own, so the pass joins sockets from more than one namespace. Everything is killed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FdCollector, type ProcessFds } from '../src/collectors/fds.js';
import { parseInetTable } from '../src/collectors/netstat.js';
import { ProcReader } from '../src/collectors/procfs.js';
import { which } from './collector.js';
import type { BenchContext, Section } from './context.js';
import { median, PeerSeries, Series, sleep, timeSync } from './measure.js';
import type { Check, Row, SectionResult } from './report.js';

const HOLDERS = 300;
const NETNS_LISTENERS = 8;
/**
 * Budgets (the issue sets none; these say what "cheap" means here): a steady pass under 5 µs per fd, tables included;
 * and with the cheaper table cadence, under one `ls -l /proc/*\/fd` run, which does the same readlinks (plus an lstat
 * each) and no socket tables. The floor row shows what reading every fd in full costs (a pass whose every process ran):
 * the steady pass goes below it because a process that was not scheduled since the last pass is not read again.
 * Per fd = the pass's time / the descriptors it answered for (FdPassStats.fds: read, or reused from the last pass).
 */
const PER_FD_BUDGET_US = 5;
const LS_RATIO_BUDGET = 1;
/** The cheaper cadence measured beside the default: socket tables reread every 5 passes unless a socket is new. */
const RELAXED_EVERY = 5;

/** Handles whose integer fds the holders inherit; closed when the section ends. */
interface Load {
  readonly dir: string;
  readonly holders: ChildProcess[];
  readonly namespaced: ChildProcess[];
  readonly fds: number[];
  readonly servers: net.Server[];
  readonly sockets: net.Socket[];
  readonly udp: dgram.Socket[];
  /** Descriptors each holder has, stdio included. */
  perHolder: number;
  /** Why there are no namespaced listeners, when there are none. */
  netnsSkip?: string;
}

/** The fd of this process that holds the UDP socket bound to `port` (dgram has no public fd accessor). */
function udpFd(port: number): number {
  const row = parseInetTable(readFileSync('/proc/self/net/udp', 'utf8'), 'udp').find((r) => r.localPort === port);
  if (row === undefined) throw new Error(`udp port ${port} is not in /proc/self/net/udp`);
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === `socket:[${row.inode}]`) return Number(name);
    } catch {
      // The readdir's own fd, closed by now.
    }
  }
  throw new Error(`no fd of this process holds socket:[${row.inode}]`);
}

function fdOf(handle: unknown): number {
  const fd = (handle as { _handle?: { fd?: number } } | null)?._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no fd (not on Linux?)');
  return fd;
}

async function connectPair(server: net.Server, port: number, into: Load): Promise<number[]> {
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  const [peer] = await accepted;
  into.sockets.push(client, peer);
  return [fdOf(client), fdOf(peer)];
}

/** Opens the shared descriptors and spawns the holders (and namespaced listeners when possible). */
async function startLoad(ctx: BenchContext, holders: number): Promise<Load> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bubble-bench-fds-'));
  const load: Load = { dir, holders: [], namespaced: [], fds: [], servers: [], sockets: [], udp: [], perHolder: 0 };
  const file = (name: string, flags: string): number => {
    const p = path.join(dir, name);
    writeFileSync(p, `${name}\n`, { flag: 'a' });
    const fd = openSync(p, flags);
    load.fds.push(fd);
    return fd;
  };
  const files = [
    file('data 1.log', 'a'),
    file('data 2.log', 'a'),
    file('config.json', 'r'),
    file('state.db', 'r+'),
    file('lib.so', 'r'),
    file('cache.bin', 'r+'),
  ];
  const deleted = file('scratch', 'w');
  unlinkSync(path.join(dir, 'scratch'));

  const tcp = net.createServer();
  load.servers.push(tcp);
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  const port = (tcp.address() as net.AddressInfo).port;
  const pairA = await connectPair(tcp, port, load);
  const pairB = await connectPair(tcp, port, load);
  const udp = dgram.createSocket('udp4');
  load.udp.push(udp);
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  const unixPath = path.join(dir, 'ctl.sock');
  const us = net.createServer();
  load.servers.push(us);
  us.listen(unixPath);
  await once(us, 'listening');
  const uAccepted = once(us, 'connection') as Promise<[net.Socket]>;
  const uc = net.connect(unixPath);
  await once(uc, 'connect');
  const [ua] = await uAccepted;
  load.sockets.push(uc, ua);

  const inherited = [...files, deleted, fdOf(tcp), ...pairA, ...pairB, udpFd((udp.address() as net.AddressInfo).port), fdOf(us), fdOf(uc), fdOf(ua)];
  load.perHolder = inherited.length + 3;
  ctx.log(`fds: spawning ${holders} sleeps holding ${load.perHolder} descriptors each`);
  for (let i = 0; i < holders; i++) {
    // stdout is a pipe (counted, not listed); the rest are this process's fds, dup'd into the child at 3, 4, ...
    const child = spawn('sleep', ['600'], { stdio: ['ignore', 'pipe', 'ignore', ...inherited] });
    load.holders.push(child);
    await once(child, 'spawn');
  }

  const unshare = which('unshare');
  const busybox = which('busybox');
  if (process.getuid?.() !== 0) load.netnsSkip = 'not root';
  else if (unshare === undefined) load.netnsSkip = 'unshare(1) is not installed';
  else if (busybox === undefined) load.netnsSkip = 'busybox is not installed';
  else {
    for (let i = 0; i < NETNS_LISTENERS; i++) {
      // A listener in a fresh network namespace: its socket is only in that namespace's tables.
      const child = spawn(unshare, ['--net', busybox, 'nc', '-l', '-p', String(8000 + i)], { stdio: 'ignore' });
      load.namespaced.push(child);
      await once(child, 'spawn');
    }
    await sleep(200);
    if (load.namespaced.some((c) => c.exitCode !== null)) load.netnsSkip = 'unshare --net failed (no CAP_SYS_ADMIN?)';
  }
  return load;
}

/** Kills what startLoad spawned (synchronously, so it also works from an 'exit' handler) and closes its fds. */
function stopLoadSync(load: Load): void {
  for (const c of [...load.holders, ...load.namespaced]) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of load.sockets) s.destroy();
  for (const s of load.servers) s.close();
  for (const u of load.udp) u.close();
  for (const fd of load.fds) {
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
  }
  rmSync(load.dir, { recursive: true, force: true });
}

async function stopLoad(load: Load): Promise<void> {
  const exits = [...load.holders, ...load.namespaced].filter((c) => c.exitCode === null && c.signalCode === null).map((c) => once(c, 'exit'));
  stopLoadSync(load);
  await Promise.all(exits);
}

/** A pass where every process ran: readdir of every fd/ and readlink of every entry, results dropped. */
function readlinkFloor(procs: readonly { pid: number }[]): number {
  let n = 0;
  for (const p of procs) {
    let names: string[];
    try {
      names = readdirSync(`/proc/${p.pid}/fd`);
    } catch {
      continue;
    }
    for (const name of names) {
      try {
        readlinkSync(`/proc/${p.pid}/fd/${name}`);
        n++;
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return n;
}

/** Median ms of reading /proc/self/net/tcp (the kernel's TCP hash walk; this process's namespace). */
function timeTcpRead(): number {
  const ms: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t0 = process.hrtime.bigint();
    readFileSync('/proc/self/net/tcp');
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ms);
}

/** Every process of the host with its key, built outside the timed pass (the procfs collector has them already). */
function hostProcesses(reader: ProcReader): { key: string; pid: number }[] {
  return reader.listPids().flatMap((pid) => {
    const stat = reader.readStat(pid);
    return stat === undefined ? [] : [{ key: `${pid}:${stat.startTicks}`, pid }];
  });
}

function totals(result: Map<string, ProcessFds>): { files: number; sockets: number; pipes: number; anon: number; otherSockets: number } {
  let files = 0;
  let sockets = 0;
  let pipes = 0;
  let anon = 0;
  let otherSockets = 0;
  for (const p of result.values()) {
    files += p.files.length;
    sockets += p.sockets.length;
    pipes += p.pipes;
    anon += p.anonInodes;
    otherSockets += p.otherSockets;
  }
  return { files, sockets, pipes, anon, otherSockets };
}

export const fdsSection: Section = {
  name: 'fds',
  summary: 'descriptor pass (files + sockets of every process) vs ls -l /proc/*/fd, lsof, ss -p',
  needsWorkload: false,

  async run(ctx: BenchContext): Promise<SectionResult> {
    const reader = new ProcReader();
    const load = await startLoad(ctx, HOLDERS);
    const onExit = (): void => stopLoadSync(load);
    process.once('exit', onExit);
    try {
      const notes: string[] = [];
      const ls = new PeerSeries('sh', ['-c', 'ls -l /proc/[0-9]*/fd/ 2>/dev/null; exit 0'], reader.clkTck);
      const lsofPath = which('lsof');
      const lsof = lsofPath === undefined ? undefined : new PeerSeries('sh', ['-c', `${lsofPath} -n -P 2>/dev/null; exit 0`], reader.clkTck);
      const ssPath = which('ss');
      const ss = ssPath === undefined ? undefined : new PeerSeries(ssPath, ['-anp'], reader.clkTck);
      const peers = [ls, lsof, ss].filter((p): p is PeerSeries => p !== undefined);
      for (const peer of peers) {
        const r = peer.run(false); // warm its binary into the page cache; not counted
        if (!r.ok) throw new Error(`${peer.command} ${peer.args.join(' ')} failed: ${r.error ?? '?'}`);
      }

      // Cold: a new collector reads fdinfo of every file fd and ns/net of every socket holder.
      let procs = hostProcesses(reader);
      const cold = new Series();
      const coldCollector = new FdCollector();
      timeSync(cold, () => coldCollector.collect(procs));
      const coldStats = coldCollector.lastPass;

      const collector = new FdCollector();
      const relaxed = new FdCollector({ socketTablesEvery: RELAXED_EVERY });
      for (let i = 0; i < 3; i++) {
        collector.collect(procs);
        relaxed.collect(procs);
      }
      const pass = new Series();
      const relaxedPass = new Series();
      const floor = new Series();
      const perFd: number[] = [];
      const relaxedPerFd: number[] = [];
      const perProc: number[] = [];
      const fdCounts: number[] = [];
      const procCounts: number[] = [];
      const fdinfoReads: number[] = [];
      const tableReads: number[] = [];
      const relaxedTableReads: number[] = [];
      let last = collector.collect(procs);
      ctx.log(`fds: ${ctx.rounds} interleaved rounds, ${ctx.gapMs} ms apart`);
      for (let round = 0; round < ctx.rounds; round++) {
        procs = hostProcesses(reader);
        last = timeSync(pass, () => collector.collect(procs));
        const s = collector.lastPass;
        fdCounts.push(s.fds);
        procCounts.push(s.processes);
        perFd.push((pass.wallMs.at(-1)! * 1000) / Math.max(1, s.fds));
        perProc.push((pass.wallMs.at(-1)! * 1000) / Math.max(1, s.processes));
        fdinfoReads.push(s.fdinfoReads);
        tableReads.push(s.tableReads);

        timeSync(relaxedPass, () => relaxed.collect(procs));
        relaxedPerFd.push((relaxedPass.wallMs.at(-1)! * 1000) / Math.max(1, relaxed.lastPass.fds));
        relaxedTableReads.push(relaxed.lastPass.tableReads);

        timeSync(floor, () => readlinkFloor(procs));
        for (const peer of peers) {
          const r = peer.run();
          if (!r.ok) throw new Error(`${peer.command} failed: ${r.error ?? '?'}`);
        }
        await sleep(ctx.gapMs);
      }
      const stats = collector.lastPass;
      const fds = median(fdCounts);
      const lsMedian = ls.medianMs;
      const rows: Row[] = [
        {
          label: 'bubble FdCollector.collect(), steady pass',
          note: 'tables every pass',
          n: pass.n,
          medianMs: pass.medianMs,
          bestMs: pass.bestMs,
          cpuMs: pass.cpuMedianMs,
          perItemUs: median(perFd),
          ratio: pass.medianMs / lsMedian,
        },
        {
          label: 'bubble FdCollector.collect(), steady pass',
          note: `socketTablesEvery: ${RELAXED_EVERY}`,
          n: relaxedPass.n,
          medianMs: relaxedPass.medianMs,
          bestMs: relaxedPass.bestMs,
          cpuMs: relaxedPass.cpuMedianMs,
          perItemUs: median(relaxedPerFd),
          ratio: relaxedPass.medianMs / lsMedian,
        },
        {
          label: 'bubble FdCollector.collect(), first pass',
          note: 'cold: every fdinfo, netns, table search',
          n: cold.n,
          medianMs: cold.medianMs,
          cpuMs: cold.cpuMedianMs,
          perItemUs: (cold.medianMs * 1000) / Math.max(1, coldStats.fds),
          ratio: cold.medianMs / lsMedian,
        },
        {
          label: 'floor: readdirSync + readlinkSync of every fd',
          note: 'every fd read in full, nothing else',
          n: floor.n,
          medianMs: floor.medianMs,
          bestMs: floor.bestMs,
          cpuMs: floor.cpuMedianMs,
          perItemUs: (floor.medianMs * 1000) / fds,
          ratio: floor.medianMs / lsMedian,
        },
        {
          label: 'ls -l /proc/[0-9]*/fd/',
          note: 'via sh',
          n: ls.n,
          medianMs: lsMedian,
          bestMs: ls.bestMs,
          cpuMs: ls.cpuMeanMs,
          perItemUs: (lsMedian * 1000) / fds,
          ratio: 1,
        },
      ];
      if (lsof !== undefined) {
        rows.push({
          label: 'lsof -n -P',
          note: 'via sh',
          n: lsof.n,
          medianMs: lsof.medianMs,
          bestMs: lsof.bestMs,
          cpuMs: lsof.cpuMeanMs,
          perItemUs: (lsof.medianMs * 1000) / fds,
          ratio: lsof.medianMs / lsMedian,
        });
      } else {
        notes.push('lsof is not installed: no lsof row (apt-get install lsof)');
      }
      if (ss !== undefined) {
        rows.push({
          label: 'ss -anp',
          note: 'own netns only',
          n: ss.n,
          medianMs: ss.medianMs,
          bestMs: ss.bestMs,
          cpuMs: ss.cpuMeanMs,
          ratio: ss.medianMs / lsMedian,
        });
      } else {
        notes.push('ss is not installed: no ss row');
      }

      const checks: Check[] = [
        { name: 'steady pass per fd, wall (median)', measured: median(perFd), limit: PER_FD_BUDGET_US, unit: 'µs' },
        {
          name: `steady pass, socketTablesEvery ${RELAXED_EVERY} / ls -l run, wall`,
          measured: relaxedPass.medianMs / lsMedian,
          limit: LS_RATIO_BUDGET,
          unit: '×',
        },
      ];

      const tcpReadMs = timeTcpRead();
      const t = totals(last);
      notes.push(
        `per pass: ${median(procCounts)} processes, ${fds} fds (${t.files} files, ${t.sockets} sockets joined, ` +
          `${t.otherSockets} other sockets, ${t.pipes} pipes, ${t.anon} anon inodes); ` +
          `${formatUs(median(perProc))} per process`,
      );
      notes.push(
        `steady pass reads: ${median(fdinfoReads)} fdinfo (cold pass: ${coldStats.fdinfoReads}), ` +
          `${median(tableReads)} socket tables in ${stats.netns} network namespaces (cold: ${coldStats.tableReads}; ` +
          `socketTablesEvery ${RELAXED_EVERY}: ${(relaxedTableReads.reduce((a, b) => a + b, 0) / Math.max(1, relaxedTableReads.length)).toFixed(1)} a pass); ` +
          `${stats.denied} processes denied, ${stats.gone} gone, ${stats.vanishedFds} fds vanished mid-pass`,
      );
      notes.push(
        `load: ${load.holders.length} sleeps holding ${load.perHolder} fds each` +
          (load.netnsSkip === undefined
            ? `, ${load.namespaced.length} busybox nc listeners in their own netns`
            : `; no namespaced listeners (${load.netnsSkip})`),
      );
      notes.push(
        'each read of tcp or tcp6 makes the kernel walk its whole TCP established hash (every bucket, per read, per ' +
          `namespace): ${tcpReadMs.toFixed(2)} ms here for this process's /proc/self/net/tcp; that, not parsing, is the ` +
          'table cost. sock_diag netlink would avoid it but needs a native addon',
      );
      notes.push('peers print what they find; bubble builds the same in memory. ls/lsof rows include one sh fork (~1 ms)');
      notes.push(
        'cpu/run: Node process CPU (user+sys) for bubble rows, median; ' +
          `children's cutime+cstime for peers, mean over the runs (1/${reader.clkTck} s ticks)`,
      );
      return { title: 'descriptor pass vs ls -l /proc/*/fd, lsof, ss; same processes, same run', perItem: 'fd', ratioOf: 'vs ls -l', rows, checks, notes };
    } finally {
      process.removeListener('exit', onExit);
      await stopLoad(load);
    }
  },
};

function formatUs(us: number): string {
  return `${us.toFixed(us < 10 ? 2 : 1)} µs`;
}
