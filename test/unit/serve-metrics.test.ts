/**
 * /metrics text from a Snapshot (pure), checked by the real promtool: cAdvisor's names and labels, escaping of what a
 * container controls, the per-process bound, health figures.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ContainerSample, Sample } from '../../src/model/sample.js';
import { toSnapshot, type ContainerView, type ProcessView, type Snapshot } from '../../src/model/snapshot.js';
import { escapeLabelValue, metricsText, topProcesses, type ServeHealth } from '../../src/serve/metrics.js';
import { missedTicks } from '../../src/commands/serve.js';
import { needReal } from '../helpers/real.js';

const HEALTH: ServeHealth = { tickSeconds: 0.012, ticks: 7, ticksMissed: 1, storeWriteErrors: 2, storeDroppedTicks: 0, sysdigLinesSkipped: 0 };

function container(key: string, extra: Partial<ContainerView> = {}): ContainerView {
  return {
    key,
    kind: 'docker',
    id: key.replace('docker:', ''),
    name: key,
    cgroup: `/docker/${key}`,
    cpuSource: 'cgroup',
    processCount: 1,
    pressure: {},
    interval: {},
    ...extra,
  };
}

function proc(pid: number, containerKey: string, cpuPercent: number, extra: Partial<ProcessView> = {}): ProcessView {
  return {
    key: `${pid}`,
    pid,
    ppid: 1,
    comm: `p${pid}`,
    cmdline: `secret --password=hunter${pid}`,
    exe: '/bin/x',
    uid: 0,
    user: 'root',
    state: 'R',
    containerKey,
    kernelThread: false,
    startTimeMs: 0,
    cpuPercent,
    cpuNs: pid * 1e9,
    rssBytes: 1024 * pid,
    vsizeBytes: 4096,
    memPercent: 0,
    threads: 1,
    interval: {},
    ...extra,
  };
}

function snapshot(containers: ContainerView[], processes: ProcessView[]): Snapshot {
  return {
    timeMs: 1_700_000_000_000,
    intervalMs: 1000,
    host: { hostname: 'h', ncpu: 2, memTotalBytes: 1e9, memUsedBytes: 1e8 },
    containers,
    processes,
    exited: { containers: [], processes: [] },
    gaps: [],
  };
}

const lines = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));

describe('metricsText', () => {
  const web = container('docker:aaa', {
    name: 'web',
    image: 'nginx:1',
    cpuNs: 2_500_000_000,
    throttledNs: 1_000_000_000,
    memoryBytes: 4096,
    memoryLimitBytes: 65536,
    netRxBytes: 10,
    netTxBytes: 20,
    blkReadBytes: 30,
    blkWriteBytes: 40,
    processCount: 3,
    pids: 4,
    oomKills: 1,
    cpuLimitCores: 1.5,
  });
  const job = container('slurm:4242', {
    kind: 'slurm',
    id: '4242',
    name: '4242 train',
    cgroup: '/slurm/uid_1000/job_4242',
    user: 'alice',
    steps: ['batch', '0'],
    cpuNs: 1e9,
  });

  it("uses cAdvisor's metric names and labels, counters with _total and TYPE counter", () => {
    const text = metricsText(snapshot([web, job], []), HEALTH);
    expect(lines(text, 'container_cpu_usage_seconds_total')).toContain(
      'container_cpu_usage_seconds_total{id="/docker/docker:aaa",name="web",image="nginx:1",kind="docker"} 2.5',
    );
    expect(text).toContain('# TYPE container_cpu_usage_seconds_total counter');
    expect(text).toContain('# TYPE container_memory_working_set_bytes gauge');
    for (const [name, value] of [
      ['container_cpu_cfs_throttled_seconds_total', '1'],
      ['container_memory_working_set_bytes', '4096'],
      ['container_spec_memory_limit_bytes', '65536'],
      ['container_network_receive_bytes_total', '10'],
      ['container_network_transmit_bytes_total', '20'],
      ['container_fs_reads_bytes_total', '30'],
      ['container_fs_writes_bytes_total', '40'],
      ['container_processes', '3'],
      ['container_oom_events_total', '1'],
      ['bubble_container_cpu_limit_cores', '1.5'],
    ] as const) {
      expect(lines(text, name).find((l) => l.includes('name="web"'))).toMatch(new RegExp(` ${value}$`));
    }
    // A Slurm job: job_id and job_user; its steps as info series.
    expect(lines(text, 'container_cpu_usage_seconds_total')).toContain(
      'container_cpu_usage_seconds_total{id="/slurm/uid_1000/job_4242",name="4242 train",image="",kind="slurm",job_id="4242",job_user="alice"} 1',
    );
    expect(lines(text, 'bubble_slurm_job_step_info')).toEqual([
      'bubble_slurm_job_step_info{id="/slurm/uid_1000/job_4242",job_id="4242",step="batch"} 1',
      'bubble_slurm_job_step_info{id="/slurm/uid_1000/job_4242",job_id="4242",step="0"} 1',
    ]);
    // No memory limit reads 0, as cAdvisor says it.
    expect(lines(text, 'container_spec_memory_limit_bytes').find((l) => l.includes('4242'))).toMatch(/ 0$/);
  });

  it('escapes backslash, double quote and newline in label values, and never puts a command line in', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect(escapeLabelValue('x\ry')).toBe('x\\\\x0dy');
    const evil = container('docker:bbb', { name: 'ev"il\n} 1\nfake_metric 2', image: 'img\\x', cpuNs: 1e9 });
    const text = metricsText(snapshot([evil], [proc(7, 'docker:bbb', 50, { comm: 'c"o\nmm' })]), HEALTH);
    expect(text).toContain('name="ev\\"il\\n} 1\\nfake_metric 2",image="img\\\\x"');
    expect(text).toContain('comm="c\\"o\\nmm"');
    expect(text.split('\n').some((l) => l.startsWith('fake_metric'))).toBe(false);
    expect(text).not.toContain('hunter');
  });

  it('exposes at most N processes per container, the top ones by CPU', () => {
    const processes = [proc(1, 'docker:aaa', 5), proc(2, 'docker:aaa', 90), proc(3, 'docker:aaa', 50), proc(4, 'docker:aaa', 70), proc(5, 'slurm:4242', 1)];
    const top = topProcesses(snapshot([web, job], processes), 2);
    expect(top.get('docker:aaa')!.map((p) => p.pid)).toEqual([2, 4]);
    const text = metricsText(snapshot([web, job], processes), HEALTH, { processesPerContainer: 2 });
    const cpu = lines(text, 'bubble_process_cpu_usage_seconds_total');
    expect(cpu).toHaveLength(3);
    expect(cpu).toContain('bubble_process_cpu_usage_seconds_total{id="/docker/docker:aaa",name="web",pid="2",comm="p2"} 2');
    expect(metricsText(snapshot([web], processes), HEALTH, { processesPerContainer: 0 })).not.toContain('bubble_process_');
  });

  it('reports its own health, before the first tick too', () => {
    const text = metricsText(undefined, HEALTH);
    expect(text).not.toContain('container_');
    expect(text).toContain('bubble_tick_duration_seconds 0.012');
    expect(text).toContain('# TYPE bubble_ticks_missed_total counter\nbubble_ticks_missed_total 1');
    expect(text).toContain('bubble_store_write_errors_total 2');
    expect(text).toContain('bubble_sysdig_lines_skipped_total 0');
  });

  it('passes promtool check metrics', (ctx) => {
    needReal(ctx, 'promtool', existsSync('/usr/bin/promtool'), '/usr/bin/promtool is missing');
    const evil = container('docker:ccc', { name: 'q"\\\n', cpuNs: 1e9, memoryBytes: 1 });
    const text = metricsText(snapshot([web, job, evil], [proc(2, 'docker:aaa', 90), proc(9, 'docker:ccc', 1, { comm: 'a\\"\n' })]), HEALTH);
    const result = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(result.stderr + result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('PSI totals', () => {
  it("become cAdvisor's container_pressure_*_seconds_total, from the cgroup's pressure files through toSnapshot", () => {
    const line = (totalUs: number) => ({ avg10: 1, avg60: 1, avg300: 1, totalUs });
    const container: ContainerSample = {
      key: 'docker:psi',
      identity: { kind: 'docker', id: 'psi', name: 'psi', cgroup: '/system.slice/docker-psi.scope' },
      meta: { name: 'psi' },
      cgroup: { cpuUsageNs: 1e9, cpuPressure: { some: line(2_500_000), full: line(1_000_000) }, ioPressure: { some: line(500_000) } },
      processKeys: [],
    };
    const sample: Sample = {
      timeMs: 1_700_000_000_000,
      monoNs: 0,
      host: { hostname: 'h', ncpu: 2, cpuTotalTicks: 0, cpuIdleTicks: 0, memTotalBytes: 1e9, memAvailableBytes: 5e8, bootTimeMs: 0 },
      processes: new Map(),
      containers: new Map([[container.key, container]]),
      gaps: [],
    };
    const text = metricsText(toSnapshot(sample), HEALTH);
    const labels = '{id="/system.slice/docker-psi.scope",name="psi",image="",kind="docker"}';
    expect(text).toContain(`# TYPE container_pressure_cpu_waiting_seconds_total counter\ncontainer_pressure_cpu_waiting_seconds_total${labels} 2.5`);
    expect(text).toContain(`container_pressure_cpu_stalled_seconds_total${labels} 1\n`);
    expect(text).toContain(`container_pressure_io_waiting_seconds_total${labels} 0.5\n`);
    // No memory pressure file, no io `full` line: no series, rather than a made-up 0.
    expect(text).not.toContain('container_pressure_memory_');
    expect(text).not.toContain('container_pressure_io_stalled');
  });
});

describe('missedTicks', () => {
  it('counts the ticks a gap between two snapshots skipped', () => {
    expect(missedTicks(undefined, 1000, 1000)).toBe(0);
    expect(missedTicks(1000, 2010, 1000)).toBe(0);
    expect(missedTicks(1000, 4000, 1000)).toBe(2);
  });
});
