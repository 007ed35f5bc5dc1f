/**
 * What a benchmark section gets and gives. A section is a module exporting a `Section`: run.ts sets up the shared
 * workload once (when a selected section needs it), calls each selected section in turn and prints what it returns
 * with report.ts. Later issues add a section (store writes, sysdig bridge parse rate, TUI frame times) by writing one
 * module and listing it in sections.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { cgroupVersion, readCgroupMounts } from '../src/collectors/cgroups.js';
import type { SectionResult } from './report.js';
import type { Workload } from './workload.js';

export interface BenchContext {
  /** Measured runs per figure (after warm-up). */
  readonly rounds: number;
  /** Pause between rounds, ms: a collector ticks once a second, not back to back. */
  readonly gapMs: number;
  /** The few hundred processes in a few containers, when a selected section asked for them. */
  readonly workload: Workload | undefined;
  /** Progress, to stderr (stdout is the report). */
  log(line: string): void;
}

export interface Section {
  /** What `npm run bench -- <name>` selects. */
  readonly name: string;
  /** One line on what it measures. */
  readonly summary: string;
  /** Whether it wants the shared workload (sleeps in cgroups) running. */
  readonly needsWorkload: boolean;
  run(ctx: BenchContext): Promise<SectionResult>;
}

export interface HostFacts {
  readonly kernel: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memBytes: number;
  readonly node: string;
  readonly root: boolean;
  readonly cgroups: string;
  readonly processes: number;
  readonly threads: number;
}

/** Processes (numeric /proc entries) and threads (sum of their task/ entries) right now. */
export function countProcesses(procRoot = '/proc'): { processes: number; threads: number } {
  let processes = 0;
  let threads = 0;
  for (const name of readdirSync(procRoot)) {
    const c = name.charCodeAt(0);
    if (c < 0x30 || c > 0x39) continue;
    processes++;
    try {
      threads += readdirSync(`${procRoot}/${name}/task`).length;
    } catch {
      // Exited while counting.
    }
  }
  return { processes, threads };
}

export function hostFacts(): HostFacts {
  const cpus = os.cpus();
  let kernel = `${os.type()} ${os.release()}`;
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    // os.release() already says it.
  }
  let cgroups = 'unknown';
  try {
    cgroups = cgroupVersion(readCgroupMounts());
  } catch {
    // No mountinfo: stays unknown.
  }
  return {
    kernel,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.replace(/\s+/g, ' ').trim() ?? '?',
    memBytes: os.totalmem(),
    node: process.version,
    root: process.getuid?.() === 0,
    cgroups,
    ...countProcesses(),
  };
}
