/** The world the TUI tests look at: two docker containers, a Slurm job with steps, and the host. */
import type { FileAccess, SocketAccess } from '../../src/model/access.js';
import type { StatusItem } from '../../src/tui/source.js';
import { dockerSpec, FixedSource, GiB, HOST_SPEC, keyOf, MiB, timeline, type ProcSpec, type World } from '../helpers/fixed-source.js';

export const WEB = dockerSpec('a', 'web-1', {
  cpuPercent: 102.3,
  memoryBytes: 412 * MiB,
  memoryLimitBytes: 2 * GiB,
  memoryPeakBytes: 500 * MiB,
  cpuLimitCores: 2,
  throttledPercent: 5,
  oomKills: 1,
  netRxPerSec: 1.2 * MiB,
  netTxPerSec: 340 * 1024,
  blkReadPerSec: 0,
  blkWritePerSec: 4.1 * MiB,
  pids: 25,
  pressure: { cpu: 1.5, memory: 0, io: 0.25 },
});
export const DB = dockerSpec('b', 'db', { cpuPercent: 3, memoryBytes: 900 * MiB, memoryLimitBytes: 4 * GiB, pids: 12 });
export const JOB = {
  kind: 'slurm' as const,
  id: '4242',
  name: 'job 4242',
  meta: { jobName: 'sim', jobUser: 'alice' },
  memoryBytes: 1.1 * GiB,
  memoryLimitBytes: 4 * GiB,
  steps: ['batch', '0'],
};
export const WEB_KEY = keyOf(WEB);
export const DB_KEY = keyOf(DB);
export const JOB_KEY = keyOf(JOB);

export const WEB_PROCS: ProcSpec[] = [
  { pid: 4242, ppid: 4200, comm: 'nginx', cmdline: 'nginx: master process', container: WEB_KEY, cpuPercent: 1, nspid: 1, rssBytes: 12 * MiB },
  {
    pid: 4243,
    ppid: 4242,
    comm: 'nginx',
    cmdline: 'nginx: worker process',
    container: WEB_KEY,
    cpuPercent: 60,
    nspid: 7,
    rssBytes: 200 * MiB,
    writePerSec: 4 * MiB,
    user: 'www-data',
  },
  {
    pid: 4244,
    ppid: 4242,
    comm: 'nginx',
    cmdline: 'nginx: worker process',
    container: WEB_KEY,
    cpuPercent: 40,
    nspid: 8,
    rssBytes: 190 * MiB,
    user: 'www-data',
  },
  { pid: 4250, ppid: 4243, comm: 'sh', cmdline: 'sh -c logrotate', container: WEB_KEY, cpuPercent: 0.5, nspid: 9 },
  { pid: 4300, ppid: 1, comm: 'cron', cmdline: 'cron -f', container: WEB_KEY, nspid: 20 },
];

export function world(i = 0): World {
  return {
    hostname: 'vm',
    ncpu: 2,
    memTotalBytes: 23.5 * GiB,
    hostCpuPercent: 20 + (i % 10) * 10,
    containers: [{ ...WEB, cpuPercent: 50 + (i % 8) * 10 }, DB, { ...JOB }, HOST_SPEC],
    processes: [
      ...WEB_PROCS,
      {
        pid: 5000,
        ppid: 4990,
        comm: 'postgres',
        cmdline: 'postgres -D /var/lib/postgresql/data',
        container: DB_KEY,
        cpuPercent: 3,
        nspid: 1,
        rssBytes: 800 * MiB,
      },
      {
        pid: 6000,
        ppid: 5990,
        comm: 'sim',
        cmdline: '/home/alice/sim --steps 1000',
        container: JOB_KEY,
        cpuPercent: 99.8,
        rssBytes: 1.1 * GiB,
        user: 'alice',
        step: 'batch',
      },
      { pid: 6001, ppid: 6000, comm: 'sim-io', cmdline: '/home/alice/sim-io', container: JOB_KEY, cpuPercent: 0, rssBytes: 10 * MiB, user: 'alice', step: '0' },
      { pid: 1, ppid: 0, comm: 'systemd', cmdline: '/sbin/init', container: 'host', cpuPercent: 0.1 },
      { pid: 2, ppid: 0, comm: 'kthreadd', cmdline: '', container: 'host', kernelThread: true },
      { pid: 800, ppid: 1, comm: 'dockerd', cmdline: '/usr/bin/dockerd -H fd://', container: 'host', cpuPercent: 1.2 },
    ],
  };
}

export const FILES: Record<string, FileAccess[]> = {
  '4243:1000': [
    { path: '/var/log/nginx/access.log', mode: 'wa', deleted: false, fd: 4 },
    { path: '/etc/nginx/nginx.conf', mode: 'r', deleted: false, fd: 5 },
    { path: '/tmp/old-cache', mode: 'rw', deleted: true, fd: 9 },
  ],
  '4242:1000': [{ path: '/var/run/nginx.pid', mode: 'w', deleted: false, fd: 3 }],
};
export const NET: Record<string, SocketAccess[]> = {
  '4243:1000': [
    { protocol: 'tcp', local: '172.17.0.2:80', remote: '172.17.0.1:51234', state: 'ESTABLISHED', fd: 7 },
    { protocol: 'tcp', local: '0.0.0.0:80', remote: '0.0.0.0:0', state: 'LISTEN', fd: 6 },
  ],
};
export const STATUS: StatusItem[] = [
  { name: 'docker', level: 'ok', text: 'docker ok' },
  { name: 'sysdig', level: 'off', text: 'sysdig off' },
  { name: 'root', level: 'warn', text: 'no root: I/O hidden' },
];

/** 120 one-second moments ending at T0 (2026-11-21 21:23:04 UTC). */
export function source(options: { mode?: 'live' | 'replay'; status?: StatusItem[] } = {}): FixedSource {
  return new FixedSource({
    snapshots: timeline(120, world),
    mode: options.mode ?? 'live',
    files: FILES,
    net: NET,
    status: options.status ?? STATUS,
  });
}
