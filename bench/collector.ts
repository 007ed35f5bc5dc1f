/**
 * Issue "Live collector": the steady-state cost of one collector tick, per tick and per process, side by side in the
 * same run with `ps -e -o pid,ppid,pcpu,rss,cgroup,args` (and `top -b -n 1` when installed) on the same processes.
 * Budgets: a steady tick of a few hundred processes < 0.5 × that ps run, and < 15 µs per process.
 *
 * Rounds are interleaved (tick, procfs-only tick, ps, top, spawn floor, pause) so every contender sees the same
 * processes and the same machine state; the pause stands in for the 1 s between real ticks.
 */
import { accessSync, constants } from 'node:fs';
import { containerKey } from '../src/model/identity.js';
import type { Sample } from '../src/model/sample.js';
import { parseProcCgroup, resolveMembership } from '../src/collectors/identity.js';
import { ProcfsCollector, ProcReader } from '../src/collectors/procfs.js';
import { Sampler } from '../src/collectors/sampler.js';
import { SLURM_ENV_KEYS } from '../src/collectors/slurm.js';
import { UserNames } from '../src/collectors/users.js';
import type { BenchContext, Section } from './context.js';
import { childCpuTicks, median, PeerSeries, Series, sleep, timeSync } from './measure.js';
import type { Check, Row, SectionResult } from './report.js';

const PS_ARGS = ['-e', '-o', 'pid,ppid,pcpu,rss,cgroup,args'] as const;
const WARMUP_TICKS = 3;
/** Budgets from the issue. */
const PER_PROCESS_BUDGET_US = 15;
const PS_RATIO_BUDGET = 0.5;

/** The executable's path when `name` is on PATH, else undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(':')) {
    if (dir === '') continue;
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** How many of each bench container's sleeps the Sampler filed under the expected key: 'docker 1a2b…: 75/75'. */
function classification(ctx: BenchContext, sample: Sample): { line: string; ok: boolean } | undefined {
  const w = ctx.workload;
  if (w === undefined || !w.cgroupsMade) return undefined;
  let ok = true;
  const parts = w.containers.map((c) => {
    const got = sample.containers.get(c.expectedKey);
    const pidsFiled = new Set((got?.processKeys ?? []).map((k) => Number(k.slice(0, k.indexOf(':')))));
    const found = c.pids.filter((p) => pidsFiled.has(p)).length;
    if (found !== c.pids.length) ok = false;
    return `${c.label} ${found}/${c.pids.length}`;
  });
  return { line: parts.join(', '), ok };
}

export const collectorSection: Section = {
  name: 'collector',
  summary: 'live collector tick vs ps/top on the same few hundred processes in containers',
  needsWorkload: true,

  async run(ctx: BenchContext): Promise<SectionResult> {
    const sampler = new Sampler();
    const reader = new ProcReader();
    const procfs = new ProcfsCollector({
      reader,
      users: new UserNames(),
      envKeys: SLURM_ENV_KEYS,
      classify: (info) => containerKey(resolveMembership(parseProcCgroup(info.cgroupText)).identity),
    });
    const ps = new PeerSeries('ps', PS_ARGS, reader.clkTck);
    const topPath = which('top');
    const top = topPath === undefined ? undefined : new PeerSeries(topPath, ['-b', '-n', '1'], reader.clkTck);
    const floor = new PeerSeries(which('true') ?? '/bin/true', [], reader.clkTck);
    const notes: string[] = [];

    try {
      // Cold: the first tick reads cmdline, cgroup, exe and environ of every process and opens the held fds.
      const cold = new Series();
      let sample = timeSync(cold, () => sampler.sample());
      for (let i = 1; i < WARMUP_TICKS; i++) sample = sampler.sample();
      const bootTimeMs = reader.readHost().bootTimeMs;
      for (let i = 0; i < WARMUP_TICKS; i++) procfs.collect(bootTimeMs);
      const peerFail = (what: string, err: string | undefined): never => {
        throw new Error(`${what} failed: ${err ?? '?'}`);
      };
      for (const peer of [ps, top, floor]) {
        if (peer === undefined) continue;
        const r = peer.run(false); // warms its binary and libraries into the page cache; not counted
        if (!r.ok) peerFail(peer.command, r.error);
      }

      const tick = new Series();
      const perProcUs: number[] = [];
      const procCounts: number[] = [];
      const procfsTick = new Series();
      const procfsPerProcUs: number[] = [];
      const psLines: number[] = [];
      ctx.log(`collector: ${ctx.rounds} interleaved rounds, ${ctx.gapMs} ms apart${top === undefined ? '' : ' (top adds ~0.15 s each)'}`);
      const host0 = reader.readHost();
      const self0 = process.cpuUsage();
      const children0 = childCpuTicks();
      for (let round = 0; round < ctx.rounds; round++) {
        sample = timeSync(tick, () => sampler.sample());
        procCounts.push(sample.processes.size);
        perProcUs.push((tick.wallMs.at(-1)! * 1000) / sample.processes.size);

        const t = timeSync(procfsTick, () => procfs.collect(bootTimeMs));
        procfsPerProcUs.push((procfsTick.wallMs.at(-1)! * 1000) / t.processes.size);

        const p = ps.run();
        if (!p.ok) peerFail('ps', p.error);
        psLines.push(p.lines - 1); // minus the header
        if (top !== undefined) {
          const r = top.run();
          if (!r.ok) peerFail('top', r.error);
        }
        floor.run();
        await sleep(ctx.gapMs);
      }
      const host1 = reader.readHost();
      const self1 = process.cpuUsage(self0);
      // What the rest of the host burnt meanwhile (other users of this machine): the figures' noise floor.
      const ownTicks = ((self1.user + self1.system) / 1e6) * reader.clkTck + (childCpuTicks() - children0);
      const hostTicks = host1.cpuTotalTicks - host0.cpuTotalTicks;
      const otherBusy = (hostTicks - (host1.cpuIdleTicks - host0.cpuIdleTicks) - ownTicks) / Math.max(1, hostTicks);

      const procs = median(procCounts);
      const psProcs = median(psLines);
      const psMedian = ps.medianMs;
      const tickPerProc = median(perProcUs);
      const tickCpuPerProc = (tick.cpuMedianMs * 1000) / procs;
      const rows: Row[] = [
        {
          label: 'bubble Sampler.sample(), steady tick',
          n: tick.n,
          medianMs: tick.medianMs,
          bestMs: tick.bestMs,
          cpuMs: tick.cpuMedianMs,
          perItemUs: tickPerProc,
          ratio: tick.medianMs / psMedian,
        },
        {
          label: 'bubble ProcfsCollector.collect() alone',
          n: procfsTick.n,
          medianMs: procfsTick.medianMs,
          bestMs: procfsTick.bestMs,
          cpuMs: procfsTick.cpuMedianMs,
          perItemUs: median(procfsPerProcUs),
          ratio: procfsTick.medianMs / psMedian,
        },
        {
          label: 'bubble Sampler.sample(), first tick',
          note: 'cold',
          n: cold.n,
          medianMs: cold.medianMs,
          cpuMs: cold.cpuMedianMs,
          perItemUs: (cold.medianMs * 1000) / procs,
          ratio: cold.medianMs / psMedian,
        },
        {
          label: `ps ${PS_ARGS.join(' ')}`,
          n: ps.n,
          medianMs: psMedian,
          bestMs: ps.bestMs,
          cpuMs: ps.cpuMeanMs,
          perItemUs: (psMedian * 1000) / psProcs,
          ratio: 1,
        },
      ];
      if (top !== undefined) {
        rows.push({
          label: 'top -b -n 1',
          n: top.n,
          medianMs: top.medianMs,
          bestMs: top.bestMs,
          cpuMs: top.cpuMeanMs,
          ratio: top.medianMs / psMedian,
        });
      } else {
        notes.push('top is not installed: no top row');
      }
      rows.push({
        label: 'spawnSync true',
        note: 'fork+exec floor of any peer',
        n: floor.n,
        medianMs: floor.medianMs,
        bestMs: floor.bestMs,
        cpuMs: floor.cpuMeanMs,
        ratio: floor.medianMs / psMedian,
      });

      const checks: Check[] = [
        { name: 'steady tick per process, wall (median)', measured: tickPerProc, limit: PER_PROCESS_BUDGET_US, unit: 'µs' },
        { name: 'steady tick per process, CPU (median)', measured: tickCpuPerProc, limit: PER_PROCESS_BUDGET_US, unit: 'µs' },
        { name: 'steady tick / ps run, wall (median)', measured: tick.medianMs / psMedian, limit: PS_RATIO_BUDGET, unit: '×' },
        { name: 'steady tick / ps run, CPU', measured: tick.cpuMedianMs / ps.cpuMeanMs, limit: PS_RATIO_BUDGET, unit: '×' },
      ];

      notes.push(
        `processes per tick: ${procs} (Sampler, kernel threads included); ps listed ${psProcs}; ` + `containers in the last sample: ${sample.containers.size}`,
      );
      const busy = `${(Math.max(0, otherBusy) * 100).toFixed(0)}%`;
      notes.push(
        `other processes kept the host ${busy} busy during the rounds` + (otherBusy > 0.1 ? ': wall times are inflated, the CPU figures hold better' : ''),
      );
      const cls = classification(ctx, sample);
      if (cls !== undefined) notes.push(`classified by the Sampler: ${cls.line}${cls.ok ? '' : '  <- MISCLASSIFIED'}`);
      if (ctx.workload !== undefined && !ctx.workload.cgroupsMade) {
        notes.push(`no bench cgroups (${ctx.workload.skipReason ?? '?'}): the sleeps were measured as host processes`);
      }
      notes.push(
        'cpu/run: Node process CPU (user+sys, GC threads included) for bubble rows, median; ' +
          `children's cutime+cstime for peers, mean over the runs (1/${reader.clkTck} s ticks)`,
      );
      if (top !== undefined) notes.push("top's wall time includes its own pause before the first frame; compare its CPU");
      notes.push('no Docker watcher in the Sampler: names come from an event stream, not from the tick');
      return { title: 'steady tick vs ps and top, same processes, same run', perItem: 'process', ratioOf: 'vs ps', rows, checks, notes };
    } finally {
      sampler.close();
      procfs.close();
    }
  },
};
