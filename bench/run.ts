/**
 * `npm run bench [-- SECTION... ] [--rounds N] [--gap MS] [--procs N] [--json] [--strict]`
 *
 * Prints the host facts, then each selected section's table (all of them when none is named). The workload (a few
 * hundred sleeps in a few container-shaped cgroups) is set up once for the sections that need it and always torn down:
 * on success, on an error, and on SIGINT/SIGTERM/SIGHUP. Exit 0; 1 on an error, or with --strict when a budget is OVER;
 * 2 on a usage error.
 */
import { parseArgs } from 'node:util';
import { hostFacts, type BenchContext, type HostFacts } from './context.js';
import { passes, renderSection, type SectionResult } from './report.js';
import { SECTIONS } from './sections.js';
import { Workload } from './workload.js';

const USAGE = `usage: npm run bench -- [SECTION...] [--rounds N] [--gap MS] [--procs N] [--json] [--strict] [--list]
sections: ${SECTIONS.map((s) => s.name).join(', ')} (default: all)`;

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`bench: --${name} takes a whole number, not '${text}'\n${USAGE}\n`);
    process.exit(2);
  }
  return n;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function header(facts: HostFacts, workload: Workload | undefined): string[] {
  return [
    `bubble benchmarks  ${new Date().toISOString()}`,
    ` host     kernel ${facts.kernel}, ${facts.cpus} cpus (${facts.cpuModel}), ${gib(facts.memBytes)}, node ${facts.node}, ` +
      `${facts.root ? 'root' : 'not root'}, cgroups ${facts.cgroups}`,
    ` load     ${facts.processes} processes (${facts.threads} threads) in /proc` + (workload === undefined ? '' : `; ${workload.describe()}`),
  ];
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        rounds: { type: 'string' },
        gap: { type: 'string' },
        procs: { type: 'string' },
        json: { type: 'boolean' },
        strict: { type: 'boolean' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.list === true) {
    for (const s of SECTIONS) process.stdout.write(`${s.name.padEnd(12)} ${s.summary}\n`);
    return 0;
  }
  const unknown = positionals.filter((p) => !SECTIONS.some((s) => s.name === p));
  if (unknown.length > 0) {
    process.stderr.write(`bench: no section ${unknown.map((u) => `'${u}'`).join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const selected = positionals.length === 0 ? SECTIONS : SECTIONS.filter((s) => positionals.includes(s.name));
  const rounds = Math.max(1, positiveInt('rounds', values.rounds, 40));
  const gapMs = positiveInt('gap', values.gap, 100);
  const procs = positiveInt('procs', values.procs, 300);

  const started = process.hrtime.bigint();
  let workload: Workload | undefined;
  const cleanUp = async (): Promise<void> => {
    if (workload === undefined) return;
    log('stopping the workload and removing its cgroups');
    await workload.stop();
  };
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      cleanUp().then(
        () => process.exit(code),
        (err: unknown) => {
          log(`cleanup failed: ${String(err)}`);
          process.exit(code);
        },
      );
    });
  }
  // Last resort if the process exits without the awaited cleanup (process.exit elsewhere): kill, rmdir what is empty.
  process.once('exit', () => {
    const left = workload?.stopSync() ?? [];
    if (left.length > 0) process.stderr.write(`bench: cgroups left behind (rmdir them): ${left.join(' ')}\n`);
  });

  const results: { name: string; result: SectionResult }[] = [];
  try {
    if (selected.some((s) => s.needsWorkload)) {
      workload = new Workload({ processes: procs, log });
      log(`spawning ${procs} sleeps into container-shaped cgroups`);
      await workload.start();
    }
    const facts = hostFacts();
    const ctx: BenchContext = { rounds, gapMs, workload, log };
    if (values.json !== true) process.stdout.write(`${header(facts, workload).join('\n')}\n`);
    for (const section of selected) {
      log(`section ${section.name}: ${section.summary}`);
      const result = await section.run(ctx);
      results.push({ name: section.name, result });
      if (values.json !== true) process.stdout.write(`\n${renderSection(section.name, result).join('\n')}\n`);
    }
    const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
    const checks = results.flatMap((r) => r.result.checks);
    const over = checks.filter((c) => !passes(c));
    if (values.json === true) {
      const out = {
        host: facts,
        workload: workload?.describe(),
        elapsedS,
        sections: results.map((r) => ({ name: r.name, ...r.result, checks: r.result.checks.map((c) => ({ ...c, pass: passes(c) })) })),
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      process.stdout.write(
        `\nbudgets: ${checks.length - over.length} PASS, ${over.length} OVER` + `  (${rounds} rounds, ${gapMs} ms apart; ${elapsedS.toFixed(1)} s in all)\n`,
      );
    }
    return values.strict === true && over.length > 0 ? 1 : 0;
  } finally {
    await cleanUp();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    if (err instanceof Error && err.cause !== undefined) process.stderr.write(`bench: cause: ${String(err.cause)}\n`);
    process.exitCode = 1;
  },
);
