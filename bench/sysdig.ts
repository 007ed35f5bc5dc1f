/**
 * Issue "Files and network per process", part 4: how many bridge lines per second BridgeParser turns into records.
 * Budget: at least 200,000 lines/s, so that sysdig (which writes them), not bubble, is the bottleneck.
 *
 * The lines are real: the bridge's output over the six captures in ../shared/fixtures/scap (run with the real sysdig
 * when it is installed, else the copies saved in test/fixtures/sysdig), replicated to a few hundred thousand lines
 * and fed as 64 KiB Buffers, the way a pipe delivers them. JSON.parse alone on the same lines is the floor.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BridgeParser, bridgePath, skippedLines } from '../src/collectors/sysdig.js';
import { which } from './collector.js';
import type { BenchContext, Section } from './context.js';
import { median, Series, timeSync } from './measure.js';
import type { Check, Row, SectionResult } from './report.js';

const BUDGET_LINES_PER_SEC = 200_000;
const TARGET_LINES = 300_000;
const CHUNK_BYTES = 64 * 1024;
const WARMUP_PASSES = 2;
/** Passes over the whole replicated stream; each takes about a third of a second. */
const MAX_ROUNDS = 15;

/** The project root: the nearest ancestor holding package.json (works from bench/ and dist/bench/). */
function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5 && !existsSync(path.join(dir, 'package.json')); i++) dir = path.dirname(dir);
  return dir;
}

interface Source {
  readonly lines: string[];
  readonly from: string;
  /** Wall ms of each `sysdig -r ... -c bubble.lua` run, when sysdig made the lines. */
  readonly sysdigRunsMs: number[];
  readonly sysdigEvents: number;
}

/** Real bridge lines: from the real sysdig over the captures, else from the saved samples. */
function realLines(ctx: BenchContext): Source {
  const root = projectRoot();
  const scapDir = path.resolve(root, '../shared/fixtures/scap');
  const sysdig = which('sysdig');
  const captures = existsSync(scapDir)
    ? readdirSync(scapDir)
        .filter((f) => f.endsWith('.scap'))
        .sort()
    : [];
  if (sysdig !== undefined && captures.length > 0) {
    const lines: string[] = [];
    const runsMs: number[] = [];
    let events = 0;
    for (const c of captures) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(sysdig, ['-r', path.join(scapDir, c), '-c', bridgePath()], { encoding: 'utf8' });
      runsMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error(`sysdig -r ${c} failed: ${r.stderr.trim()}`);
      const out = r.stdout.split('\n').filter((l) => l !== '');
      const end = out.at(-1);
      if (end !== undefined) events += (JSON.parse(end) as { events?: number }).events ?? 0;
      lines.push(...out);
    }
    const from = `sysdig -r over ${captures.length} captures in ${scapDir}`;
    return { lines, from, sysdigRunsMs: runsMs, sysdigEvents: events };
  }
  const dir = path.join(root, 'test/fixtures/sysdig');
  ctx.log(`sysdig: ${sysdig === undefined ? 'no sysdig binary' : `no captures in ${scapDir}`}: using the saved bridge output`);
  const lines = readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) =>
      readFileSync(path.join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
  return { lines, from: `saved bridge output in ${dir}`, sysdigRunsMs: [], sysdigEvents: 0 };
}

export const sysdigSection: Section = {
  name: 'sysdig',
  summary: 'sysdig bridge: BridgeParser lines/s over real bridge output (budget >= 200,000 lines/s)',
  needsWorkload: false,

  async run(ctx: BenchContext): Promise<SectionResult> {
    const source = realLines(ctx);
    if (source.lines.length === 0) throw new Error(`no bridge lines from ${source.from}`);
    const copies = Math.ceil(TARGET_LINES / source.lines.length);
    const oneCopy = source.lines.join('\n') + '\n';
    const stream = Buffer.from(oneCopy.repeat(copies));
    const lineCount = source.lines.length * copies;
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i += CHUNK_BYTES) chunks.push(stream.subarray(i, i + CHUNK_BYTES));
    const textLines = stream.toString('utf8').split('\n');
    textLines.pop();
    const rounds = Math.min(ctx.rounds, MAX_ROUNDS);
    const mib = (stream.length / 2 ** 20).toFixed(1);
    ctx.log(`sysdig: ${lineCount} lines (${mib} MiB) in ${chunks.length} chunks, ${rounds} rounds`);

    const parse = (): number => {
      const parser = new BridgeParser();
      let records = 0;
      for (const c of chunks) records += parser.push(c).length;
      parser.end();
      if (skippedLines(parser.stats) !== 0 || parser.stats.lines !== lineCount) {
        throw new Error(`BridgeParser skipped lines of real output: ${JSON.stringify(parser.stats)}`);
      }
      return records;
    };
    const floor = (): number => {
      let n = 0;
      for (const l of textLines) if (JSON.parse(l) !== null) n++;
      return n;
    };

    for (let i = 0; i < WARMUP_PASSES; i++) {
      parse();
      floor();
    }
    const parser = new Series();
    const jsonOnly = new Series();
    let records = 0;
    for (let round = 0; round < rounds; round++) {
      records = timeSync(parser, parse);
      timeSync(jsonOnly, floor);
    }
    const rate = (ms: number): number => (lineCount / ms) * 1000;
    const rows: Row[] = [
      {
        label: 'BridgeParser.push, 64 KiB Buffers',
        note: 'split, decode, JSON.parse, shape checks',
        n: parser.n,
        medianMs: parser.medianMs,
        bestMs: parser.bestMs,
        cpuMs: parser.cpuMedianMs,
        perItemUs: (parser.medianMs * 1000) / lineCount,
        ratePerSec: rate(parser.medianMs),
        ratio: parser.medianMs / jsonOnly.medianMs,
      },
      {
        label: 'JSON.parse alone, pre-split lines',
        note: 'floor',
        n: jsonOnly.n,
        medianMs: jsonOnly.medianMs,
        bestMs: jsonOnly.bestMs,
        cpuMs: jsonOnly.cpuMedianMs,
        perItemUs: (jsonOnly.medianMs * 1000) / lineCount,
        ratePerSec: rate(jsonOnly.medianMs),
        ratio: 1,
      },
    ];
    const notes: string[] = [
      `lines: ${source.lines.length} real bridge lines (${source.from}) × ${copies} = ${lineCount} lines, ` +
        `${(stream.length / lineCount).toFixed(0)} bytes per line on average; ${records} records per pass, none skipped`,
    ];
    if (source.sysdigRunsMs.length > 0) {
      const perRun = median(source.sysdigRunsMs);
      rows.push({
        label: 'sysdig -r <capture> -c bubble.lua, whole run',
        note: 'startup-dominated: the captures are small',
        n: source.sysdigRunsMs.length,
        medianMs: perRun,
      });
      notes.push(
        `sysdig itself: ${source.sysdigEvents} events through the bridge in ${source.sysdigRunsMs.length} runs, ` +
          `${(source.sysdigRunsMs.reduce((a, b) => a + b, 0) / 1000).toFixed(2)} s in all; the bridge sums events ` +
          'per interval, so a pipe carries a few lines per active process and second, not one per syscall',
      );
    }
    const checks: Check[] = [
      {
        name: 'BridgeParser rate (median pass)',
        measured: rate(parser.medianMs),
        limit: BUDGET_LINES_PER_SEC,
        unit: '/s',
        direction: 'above',
      },
    ];
    const title = 'bridge lines parsed per second, real output replicated';
    return { title, perItem: 'line', ratioOf: 'vs JSON.parse', rows, checks, notes };
  },
};
