#!/usr/bin/env -S node --no-memory-reducer --single-threaded-gc --max-semi-space-size=1
/**
 * CLI entry: parses the command line (cli-flags.ts) and dispatches to src/commands/. Nothing else lives here.
 * Exit codes: 0 success, 1 a user error (one line on stderr), 2 a usage error. A command module is imported only
 * when chosen, so `top` does not pay for loading what `record` or `export` need (first frame within budget).
 */
import './env.js';
import {
  CLEAN,
  commandNames,
  EXPORT,
  LS,
  mainHelp,
  parseCommand,
  PS,
  RECORD,
  REPLAY,
  REPORT,
  SERVE,
  showHelp,
  showVersion,
  sourceChoice,
  TOP,
} from './cli-flags.js';
import { OutputClosedError, processOutput } from '../commands/output.js';
import { isBubbleError } from '../errors/bubble-error.js';
import { safeText } from '../format.js';
import { UsageError } from '../errors/usage-error.js';
import { columnsError, type ColumnList, type ContainerColumn, type ProcessColumn } from '../model/columns.js';
import { parseDuration } from '../model/duration.js';
import { RECORD_SOURCES } from '../model/source-names.js';
import { PROCESS_SORTS, type ProcessSort } from '../model/sort.js';
import { parseTime } from '../model/time.js';
import type { ExportWhat } from '../store/export.js';
import { defaultDbPath } from '../store/paths.js';
import { loadConfig, parseRetention } from '../store/retention.js';
import { TIERS, type Tier } from '../store/tiers.js';

/** `--columns name,cpu,mem`: the names, checked as the config file's are; undefined without the flag. */
function columnsFlag<C extends string>(flag: string, list: ColumnList, text: string | undefined): C[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((n) => n.trim());
  const error = columnsError(list, names);
  if (error !== undefined) throw new UsageError(`--${flag}: ${safeText(error.what)}`);
  return names as C[];
}

function intervalMs(text: string | undefined): number {
  if (text === undefined) return 1000;
  const ms = parseDuration(text);
  if (ms === undefined || ms > 3_600_000) {
    throw new UsageError(`--interval: "${text}" is not a duration between 1ms and 1h (try 1, 0.5, 500ms, 2s)`);
  }
  return ms;
}

async function main(argv: readonly string[]): Promise<void> {
  // As `ps` and `pgrep` name it (the name its bin has), not `node`.
  process.title = 'bubble';
  const [command, ...rest] = argv;
  const output = processOutput();
  const importMeta = import.meta;
  switch (command) {
    case 'ps': {
      const cli = parseCommand(PS, rest, importMeta);
      const [container, ...extra] = cli.input;
      if (container === undefined || extra.length > 0) {
        throw new UsageError('bubble ps takes one container (a name, id prefix, Slurm job id or cgroup path); see --help');
      }
      if (cli.flags.sort !== undefined && !(PROCESS_SORTS as readonly string[]).includes(cli.flags.sort)) {
        throw new UsageError(`--sort: "${cli.flags.sort}" is not one of ${PROCESS_SORTS.join(', ')}`);
      }
      const config = loadConfig(cli.flags.config);
      let limit: number | undefined;
      if (cli.flags.limit !== undefined) {
        limit = Number(cli.flags.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: "${cli.flags.limit}" is not a whole number above 0`);
      }
      const { runPs } = await import('../commands/ps.js');
      await runPs(
        {
          container,
          sort: (cli.flags.sort as ProcessSort | undefined) ?? config.sort?.processes ?? 'cpu',
          ...(limit !== undefined && { limit }),
          intervalMs: intervalMs(cli.flags.interval ?? config.interval),
          json: cli.flags.json,
          files: cli.flags.files,
          net: cli.flags.net,
          errors: cli.flags.errors,
          ...(process.env['BUBBLE_BPFTRACE'] !== undefined && process.env['BUBBLE_BPFTRACE'] !== '' && { bpftraceBin: process.env['BUBBLE_BPFTRACE'] }),
        },
        output,
      );
      return;
    }
    case 'ls': {
      const cli = parseCommand(LS, rest, importMeta);
      if (cli.input.length > 0) throw new UsageError(`bubble ls takes no arguments (got "${cli.input.join(' ')}"); see --help`);
      const { runLs } = await import('../commands/ls.js');
      await runLs(
        {
          all: cli.flags.all,
          json: cli.flags.json,
          intervalMs: intervalMs(cli.flags.interval),
          store: { path: cli.flags.db ?? defaultDbPath(), explicit: cli.flags.db !== undefined },
        },
        output,
      );
      return;
    }
    case 'top': {
      const cli = parseCommand(TOP, rest, importMeta);
      if (cli.input.length > 1) throw new UsageError('bubble top takes at most one container; see --help');
      if (cli.flags.tier !== undefined && !(TIERS as readonly string[]).includes(cli.flags.tier)) {
        throw new UsageError(`--tier: "${cli.flags.tier}" is not one of ${TIERS.join(', ')}`);
      }
      // Flags win over the config file, which wins over the defaults; NO_COLOR wins over "color": true.
      const config = loadConfig(cli.flags.config);
      const tier = (cli.flags.tier as Tier | undefined) ?? config.tier;
      const containerColumns = columnsFlag<ContainerColumn>('columns', 'containers', cli.flags.columns) ?? config.columns?.containers;
      const processColumns = columnsFlag<ProcessColumn>('process-columns', 'processes', cli.flags.processColumns) ?? config.columns?.processes;
      const sources = sourceChoice(cli.flags, config);
      const { runTop } = await import('../commands/top.js');
      await runTop({
        ...(cli.input[0] !== undefined && { container: cli.input[0] }),
        intervalMs: intervalMs(cli.flags.interval ?? config.interval),
        dbPath: cli.flags.db ?? defaultDbPath(),
        record: cli.flags.record,
        ...(tier !== undefined && { tier }),
        ...(config.sort !== undefined && { sort: config.sort }),
        ...(config.color === false && { color: false }),
        columns: {
          ...(containerColumns !== undefined && { containers: containerColumns }),
          ...(processColumns !== undefined && { processes: processColumns }),
        },
        sources,
      });
      return;
    }
    case 'replay': {
      const cli = parseCommand(REPLAY, rest, importMeta);
      const [container, ...extra] = cli.input;
      if (container === undefined || extra.length > 0) throw new UsageError('bubble replay takes one container; see --help');
      if (cli.flags.tier !== undefined && !(TIERS as readonly string[]).includes(cli.flags.tier)) {
        throw new UsageError(`--tier: "${cli.flags.tier}" is not one of ${TIERS.join(', ')}`);
      }
      const { runReplay } = await import('../commands/replay.js');
      await runReplay({
        container,
        dbPath: cli.flags.db ?? defaultDbPath(),
        ...(cli.flags.at !== undefined && { atMs: parseTime(cli.flags.at, Date.now(), '--at') }),
        ...(cli.flags.tier !== undefined && { tier: cli.flags.tier as Tier }),
      });
      return;
    }
    case 'record': {
      const cli = parseCommand(RECORD, rest, importMeta);
      const config = loadConfig(cli.flags.config);
      const sources = sourceChoice(cli.flags, config, RECORD_SOURCES);
      const source = sources.source;
      // `-` (an input, not a flag) is where sysdig's part reads: the bridge's output on stdin.
      const stdinPipe = cli.input.length === 1 && cli.input[0] === '-';
      if (cli.input.length > 0 && !stdinPipe) {
        throw new UsageError(`bubble record takes no arguments (got "${cli.input.join(' ')}"); see --help`);
      }
      if (stdinPipe && source !== 'sysdig' && source !== 'both') {
        throw new UsageError('"-" reads the sysdig bridge output on stdin: use it with --source sysdig (or both)');
      }
      const capture = cli.flags.sysdigCapture;
      if (capture !== undefined && (stdinPipe || (source !== undefined && source !== 'sysdig'))) {
        throw new UsageError('--sysdig-capture replays a capture on its own: leave out "-" and --source (or use --source sysdig)');
      }
      const { keepSecond, keepMinute, keepHour, keepDay } = cli.flags;
      const retention = parseRetention(
        {
          ...(keepSecond !== undefined && { keepSecond }),
          ...(keepMinute !== undefined && { keepMinute }),
          ...(keepHour !== undefined && { keepHour }),
          ...(keepDay !== undefined && { keepDay }),
        },
        config,
      );
      let durationMs: number | undefined;
      if (cli.flags.duration !== undefined) {
        durationMs = parseDuration(cli.flags.duration);
        if (durationMs === undefined) throw new UsageError(`--duration: "${cli.flags.duration}" is not a duration (try 30s, 10m, 2h)`);
      }
      let descriptorsEvery: number | undefined;
      if (cli.flags.descriptorsEvery !== undefined) {
        descriptorsEvery = Number(cli.flags.descriptorsEvery);
        if (!Number.isInteger(descriptorsEvery) || descriptorsEvery < 1) {
          throw new UsageError(`--descriptors-every: "${cli.flags.descriptorsEvery}" is not a whole number of ticks (1 or more)`);
        }
      }
      const controller = new AbortController();
      const { abortOnSignals } = await import('../monitor/stop.js');
      abortOnSignals(controller);
      const { runRecord } = await import('../commands/record.js');
      await runRecord(
        {
          dbPath: cli.flags.db ?? defaultDbPath(),
          intervalMs: intervalMs(cli.flags.interval ?? config.interval),
          retention,
          ...(durationMs !== undefined && { durationMs }),
          quiet: cli.flags.quiet,
          ...(capture !== undefined ? { source: 'sysdig' as const } : source !== undefined && { source }),
          bpfErrors: sources.bpfErrors !== false,
          bpfFiles: sources.bpfFiles !== false,
          ...(sources.bpftraceBin !== undefined && { bpftraceBin: sources.bpftraceBin }),
          ...(stdinPipe && { sysdigStdin: process.stdin }),
          ...(capture !== undefined && { sysdigCapture: capture }),
          ...(sources.sysdigBin !== undefined && { sysdigBin: sources.sysdigBin }),
          verbose: cli.flags.verbose,
          ...(descriptorsEvery !== undefined && { descriptorsEvery }),
        },
        output,
        controller.signal,
      );
      return;
    }
    case 'serve': {
      const cli = parseCommand(SERVE, rest, importMeta);
      if (cli.input.length > 0) throw new UsageError(`bubble serve takes no arguments (got "${cli.input.join(' ')}"); see --help`);
      const serveConfig = loadConfig(cli.flags.config);
      const serveSources = sourceChoice(cli.flags, serveConfig);
      const { parseListen } = await import('../serve/http.js');
      const { DEFAULT_LISTEN, runServe } = await import('../commands/serve.js');
      const { DEFAULT_PROCESS_METRICS } = await import('../serve/metrics.js');
      const processMetrics = cli.flags.processMetrics === undefined ? DEFAULT_PROCESS_METRICS : Number(cli.flags.processMetrics);
      if (!Number.isInteger(processMetrics) || processMetrics < 0 || processMetrics > 100) {
        throw new UsageError(`--process-metrics: "${cli.flags.processMetrics}" is not a whole number from 0 to 100`);
      }
      let durationMs: number | undefined;
      if (cli.flags.duration !== undefined) {
        durationMs = parseDuration(cli.flags.duration);
        if (durationMs === undefined) throw new UsageError(`--duration: "${cli.flags.duration}" is not a duration (try 30s, 10m, 2h)`);
      }
      const controller = new AbortController();
      const { abortOnSignals } = await import('../monitor/stop.js');
      abortOnSignals(controller);
      await runServe(
        {
          dbPath: cli.flags.db ?? defaultDbPath(),
          intervalMs: intervalMs(cli.flags.interval),
          retention: parseRetention({}, serveConfig),
          record: cli.flags.record,
          listen: cli.flags.listen === undefined ? DEFAULT_LISTEN : parseListen(cli.flags.listen),
          processMetrics,
          ...(cli.flags.tokenFile !== undefined && { tokenFile: cli.flags.tokenFile }),
          ...(cli.flags.tlsCert !== undefined && { tlsCert: cli.flags.tlsCert }),
          ...(cli.flags.tlsKey !== undefined && { tlsKey: cli.flags.tlsKey }),
          metricsPublic: cli.flags.metricsPublic,
          sources: serveSources,
          ...(durationMs !== undefined && { durationMs }),
          quiet: cli.flags.quiet,
        },
        output,
        controller.signal,
      );
      return;
    }
    case 'export': {
      const cli = parseCommand(EXPORT, rest, importMeta);
      if (cli.input.length > 0) throw new UsageError(`bubble export takes no arguments (got "${cli.input.join(' ')}"); see --help`);
      if (cli.flags.csv === cli.flags.json) throw new UsageError('bubble export needs exactly one of --csv or --json');
      const whats = ['containers', 'processes', 'files', 'network', 'errors'];
      if (!whats.includes(cli.flags.what)) throw new UsageError(`--what: "${cli.flags.what}" is not one of ${whats.join(', ')}`);
      if (cli.flags.tier !== undefined && !(TIERS as readonly string[]).includes(cli.flags.tier)) {
        throw new UsageError(`--tier: "${cli.flags.tier}" is not one of ${TIERS.join(', ')}`);
      }
      const now = Date.now();
      const { runExport } = await import('../commands/export.js');
      runExport(
        {
          dbPath: cli.flags.db ?? defaultDbPath(),
          format: cli.flags.csv ? 'csv' : 'json',
          what: cli.flags.what as ExportWhat,
          ...(cli.flags.container !== undefined && { container: cli.flags.container }),
          ...(cli.flags.since !== undefined && { sinceMs: parseTime(cli.flags.since, now, '--since') }),
          ...(cli.flags.until !== undefined && { untilMs: parseTime(cli.flags.until, now, '--until') }),
          ...(cli.flags.tier !== undefined && { tier: cli.flags.tier as Tier }),
          ...(cli.flags.out !== undefined && { outPath: cli.flags.out }),
        },
        output,
      );
      return;
    }
    case 'report': {
      const cli = parseCommand(REPORT, rest, importMeta);
      const [container, ...extra] = cli.input;
      if (container === undefined || extra.length > 0) throw new UsageError('bubble report takes one container or job; see --help');
      const now = Date.now();
      const { runReport } = await import('../commands/report.js');
      runReport(
        {
          container,
          dbPath: cli.flags.db ?? defaultDbPath(),
          json: cli.flags.json,
          ...(cli.flags.since !== undefined && { sinceMs: parseTime(cli.flags.since, now, '--since') }),
          ...(cli.flags.until !== undefined && { untilMs: parseTime(cli.flags.until, now, '--until') }),
        },
        output,
      );
      return;
    }
    case 'clean': {
      const cli = parseCommand(CLEAN, rest, importMeta);
      if (cli.input.length > 0) throw new UsageError(`bubble clean takes no arguments (got "${cli.input.join(' ')}"); see --help`);
      let days: number | undefined;
      if (cli.flags.days !== undefined) {
        days = Number(cli.flags.days);
        if (!Number.isFinite(days) || days < 0) throw new UsageError(`--days: "${cli.flags.days}" is not a number of days (0 or more)`);
      }
      if (days === undefined && cli.flags.container === undefined) throw new UsageError('bubble clean needs --days N or --container X');
      const { runClean } = await import('../commands/clean.js');
      runClean(
        {
          dbPath: cli.flags.db ?? defaultDbPath(),
          ...(days !== undefined && { days }),
          ...(cli.flags.container !== undefined && { container: cli.flags.container }),
        },
        output,
      );
      return;
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return showHelp(mainHelp(), importMeta);
    case '--version':
    case '-v':
      return showVersion(importMeta);
    default:
      throw new UsageError(`unknown command "${safeText(command)}": try bubble ${commandNames()}, or bubble --help`);
  }
}

main(process.argv.slice(2)).then(
  () => {
    process.exitCode ??= 0;
  },
  (error: unknown) => {
    if (error instanceof OutputClosedError) {
      process.exitCode = 0;
      return;
    }
    // safeText once more here, where every message leaves: a message that quotes something a container controls
    // and missed it where it was made still cannot reach the terminal raw (escaped text passes unchanged).
    if (isBubbleError(error)) {
      process.stderr.write(`bubble: ${safeText(error.message)}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`bubble: internal error: ${text.split('\n').map(safeText).join('\n')}\n`);
    process.exitCode = 1;
  },
);
