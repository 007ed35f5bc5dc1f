#!/usr/bin/env -S node --no-memory-reducer --single-threaded-gc
/**
 * CLI entry: parses the command line (meow) and dispatches to src/commands/. Nothing else lives here.
 * Exit codes: 0 success, 1 a user error (one line on stderr), 2 a usage error. A command module is imported only
 * when chosen, so `top` does not pay for loading what `record` or `export` need (first frame within budget).
 */
import './env.js';
import meow from 'meow';
import type { RecordSource } from '../commands/record.js';
import { processOutput } from '../commands/output.js';
import { isBubbleError } from '../errors/bubble-error.js';
import { UsageError } from '../errors/usage-error.js';
import { parseDuration } from '../model/duration.js';
import { PROCESS_SORTS, type ProcessSort } from '../model/sort.js';
import { parseTime } from '../model/time.js';
import type { ExportWhat } from '../store/export.js';
import { defaultDbPath } from '../store/paths.js';
import { loadConfig, parseRetention } from '../store/retention.js';
import { TIERS, type Tier } from '../store/tiers.js';

const MAIN_HELP = `
  Usage
    $ bubble <command> [options]

  Commands
    top       the live full-screen view: containers, their processes, files and network, history scrubber
    replay    the same screens from the store, for a container or job that may have exited
    ls        containers and Slurm jobs with CPU, memory, network, block I/O, pids (and exited ones from the store)
    ps        one cgroup-aware snapshot of a container's processes
    record    sample everything into the store with tiered retention, until Ctrl-C
    export    stored history as CSV or JSON lines
    clean     remove old or named containers from the store

  Run \`bubble <command> --help\` for a command's options.

  Examples
    $ sudo bubble top
    $ sudo bubble top web-1
    $ bubble replay web-1 --at "10 min ago"
    $ sudo bubble ls
    $ sudo bubble ps web-1 --sort cpu --limit 5
    $ sudo bubble ps 4242 --json
    $ sudo bubble record
    $ bubble export --csv --container web-1 --since "1 hour ago"
`;

const PS_HELP = `
  Usage
    $ bubble ps <container> [--sort cpu|mem|io|pid] [--limit N] [--interval S] [--files] [--net] [--json]

  <container> is a name, an id or id prefix, a Slurm job id (4242 or "job 4242"), a cgroup path, or "host".

  Options
    --sort      order: cpu (default), mem, io, pid
    --limit     show the first N processes
    --interval  seconds between the two samples that give rates (default 1; "500ms" works)
    --files     also list the processes' open files (path, read/write/append mode, deleted ones too)
    --net       also list their sockets (protocol, local and remote address, state; unix paths)
    --json      one JSON object: container, timestamp, processes (fields in docs/fields.md)

  Examples
    $ sudo bubble ps web-1 --sort mem --limit 5
    $ sudo bubble ps /system.slice/docker-3f2a.scope --json
`;

const LS_HELP = `
  Usage
    $ bubble ls [--all] [--interval S] [--json] [--db PATH]

  Options
    --all       also list the "host" pseudo-container (every process in no container)
    --interval  seconds between the two samples that give rates (default 1)
    --json      a JSON array of containers (fields in docs/fields.md)
    --db        the store to add exited containers from (default ${defaultDbPath()}, when it exists)
`;

const TOP_HELP = `
  Usage
    $ bubble top [container] [--interval 1s] [--db PATH] [--no-record]

  Full screen, keyboard only (? lists every key). With a container (name, id prefix, Slurm job id or cgroup path)
  it opens that container directly. While it runs it records into the store (when it can write it and no
  bubble record holds it), so history starts at launch.

  Options
    --interval   refresh interval (default 1s)
    --db         the store (default ${defaultDbPath()})
    --no-record  do not write the store (still reads its history)
`;

const REPLAY_HELP = `
  Usage
    $ bubble replay <container> [--at TIME] [--tier second|minute|hour|day] [--db PATH]

  The top screens, read-only from the store, for a container or job that may have exited. Opens at its last
  recorded moment, or at --at (ISO 8601, epoch seconds, or relative: "10 min ago").
`;

const RECORD_HELP = `
  Usage
    $ bubble record [--interval 1s] [--db PATH] [--keep-second 1h] [--keep-minute 2d] [--keep-hour 30d] [--keep-day 1y]
                    [--source procfs|sysdig|both|bpf|procfs+bpf] [--bpf-errors on|off] [--sysdig-capture FILE]
                    [--verbose]
    $ sysdig -pc -c native/sysdig-bridge/bubble.lua | bubble record --source sysdig -

  Samples every container, job and process into the store until SIGINT/SIGTERM, then flushes and closes.
  One recorder per store file.

  Options
    --interval        time between samples (default 1s)
    --db              the store (default ${defaultDbPath()})
    --keep-second     how long each tier keeps its buckets (defaults 1h, 2d, 30d, 1y;
    --keep-minute       also from the config file, see --config)
    --keep-hour
    --keep-day
    --config          retention config file, JSON {"keep": {"second": "2h"}} (default: bubble's config path)
    --duration        stop after this long (e.g. 30s), instead of at Ctrl-C
    --source          procfs+bpf (default when bpftrace is installed and bubble runs as root, else procfs):
                      procfs completed by bpftrace (processes too short-lived for a tick, with their container,
                      CPU and exit, and the files they opened); procfs: /proc and cgroups, open files and
                      sockets included; bpf: procfs+bpf, and an error when bpftrace cannot run;
                      sysdig: sysdig's events alone (needs sysdig and its kernel driver; "-" reads the bridge's
                      output on stdin instead); both: procfs, completed by sysdig (bytes per file and connection,
                      processes too short-lived for a tick)
    --bpf-errors      on: bpftrace's syscall-error probe too (it runs on every syscall; default off, as
                      nothing stores its counts yet)
    --sysdig-capture  replay a sysdig capture (.scap) through the bridge to its end, in the capture's own time
                      (no kernel driver needed)
    --verbose         print the sysdig bridge's line counts (skipped lines) every 10 s and at the end
    --descriptors-every N
                      open files and sockets: processes that ran are read every tick, idle ones (and socket
                      tables) every N ticks; cheaper on a big host (default 1: everything every tick)
    --quiet           no status lines on stderr

  A systemd unit is in docs/bubble-record.service. The sysdig bridge: native/sysdig-bridge/README.md; the
  bpftrace program: native/bpf/README.md.
`;

const EXPORT_HELP = `
  Usage
    $ bubble export (--csv | --json) [--container X] [--since T] [--until T] [--tier second|minute|hour|day]
                    [--what containers|processes] [--out FILE] [--db PATH]

  Streams stored rows: RFC 4180 CSV with a header, or JSON lines. Fields are listed in docs/store.md.

  Options
    --container  a name, id prefix, Slurm job id or cgroup path (also of containers that exited)
    --since      from (ISO 8601 like 2026-11-21T21:00, epoch seconds, or relative: "10 min ago", 2h)
    --until      to (same forms; default now)
    --tier       bucket size; default: the finest tier that covers --since
    --what       containers (default), processes, files or network (access intervals)
    --out        write to FILE (created 0600) instead of stdout
    --db         the store (default ${defaultDbPath()})
`;

const CLEAN_HELP = `
  Usage
    $ bubble clean (--days N | --container X) [--db PATH]

  Removes containers and jobs, with all their processes and rows, from the store.

  Options
    --days       those whose last sight (or exit) is more than N days ago
    --container  one container or job (name, id prefix, Slurm job id, cgroup path)
    --db         the store (default ${defaultDbPath()})
`;

/** meow's own unknown-flag message spans two lines; bubble says it in one, with the way out. */
function rejectUnknownFlags(command: string, argv: readonly string[], known: readonly string[]): void {
  for (const arg of argv) {
    if (arg === '--') return;
    if (!arg.startsWith('-') || arg === '-') continue;
    const name = arg.replace(/^--?/, '').split('=')[0]!.replace(/^no-/, '');
    if (![...known, 'help', 'version'].includes(name)) {
      throw new UsageError(`unknown option "${arg}" for ${command}; see bubble ${command} --help`);
    }
  }
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
  const [command, ...rest] = argv;
  const output = processOutput();
  const importMeta = import.meta;
  switch (command) {
    case 'ps': {
      rejectUnknownFlags('ps', rest, ['sort', 'limit', 'interval', 'json', 'files', 'net']);
      const cli = meow(PS_HELP, {
        importMeta,
        argv: rest,
        flags: {
          sort: { type: 'string', default: 'cpu' },
          limit: { type: 'string' },
          interval: { type: 'string' },
          json: { type: 'boolean', default: false },
          files: { type: 'boolean', default: false },
          net: { type: 'boolean', default: false },
        },
      });
      const [container, ...extra] = cli.input;
      if (container === undefined || extra.length > 0) {
        throw new UsageError('bubble ps takes one container (a name, id prefix, Slurm job id or cgroup path); see --help');
      }
      if (!(PROCESS_SORTS as readonly string[]).includes(cli.flags.sort)) {
        throw new UsageError(`--sort: "${cli.flags.sort}" is not one of ${PROCESS_SORTS.join(', ')}`);
      }
      let limit: number | undefined;
      if (cli.flags.limit !== undefined) {
        limit = Number(cli.flags.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: "${cli.flags.limit}" is not a whole number above 0`);
      }
      const { runPs } = await import('../commands/ps.js');
      await runPs(
        {
          container,
          sort: cli.flags.sort as ProcessSort,
          ...(limit !== undefined && { limit }),
          intervalMs: intervalMs(cli.flags.interval),
          json: cli.flags.json,
          files: cli.flags.files,
          net: cli.flags.net,
        },
        output,
      );
      return;
    }
    case 'ls': {
      rejectUnknownFlags('ls', rest, ['all', 'interval', 'json', 'db']);
      const cli = meow(LS_HELP, {
        importMeta,
        argv: rest,
        flags: {
          all: { type: 'boolean', default: false },
          interval: { type: 'string' },
          json: { type: 'boolean', default: false },
          db: { type: 'string' },
        },
      });
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
      rejectUnknownFlags('top', rest, ['interval', 'db', 'record']);
      const cli = meow(TOP_HELP, {
        importMeta,
        argv: rest,
        flags: { interval: { type: 'string' }, db: { type: 'string' }, record: { type: 'boolean', default: true } },
      });
      if (cli.input.length > 1) throw new UsageError('bubble top takes at most one container; see --help');
      const { runTop } = await import('../commands/top.js');
      await runTop({
        ...(cli.input[0] !== undefined && { container: cli.input[0] }),
        intervalMs: intervalMs(cli.flags.interval),
        dbPath: cli.flags.db ?? defaultDbPath(),
        record: cli.flags.record,
      });
      return;
    }
    case 'replay': {
      rejectUnknownFlags('replay', rest, ['at', 'db', 'tier']);
      const cli = meow(REPLAY_HELP, {
        importMeta,
        argv: rest,
        flags: { at: { type: 'string' }, db: { type: 'string' }, tier: { type: 'string' } },
      });
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
      const known = ['interval', 'db', 'keep-second', 'keep-minute', 'keep-hour', 'keep-day', 'config', 'duration', 'quiet'];
      known.push('source', 'sysdig-capture', 'sysdig-bin', 'verbose', 'descriptors-every', 'bpf-errors', 'bpftrace-bin');
      rejectUnknownFlags('record', rest, known);
      const cli = meow(RECORD_HELP, {
        importMeta,
        argv: rest,
        flags: {
          interval: { type: 'string' },
          db: { type: 'string' },
          keepSecond: { type: 'string' },
          keepMinute: { type: 'string' },
          keepHour: { type: 'string' },
          keepDay: { type: 'string' },
          config: { type: 'string' },
          duration: { type: 'string' },
          quiet: { type: 'boolean', default: false },
          source: { type: 'string' },
          sysdigCapture: { type: 'string' },
          // Hidden: another sysdig binary (tests); BUBBLE_SYSDIG does the same.
          sysdigBin: { type: 'string' },
          verbose: { type: 'boolean', default: false },
          descriptorsEvery: { type: 'string' },
          bpfErrors: { type: 'string' },
          // Hidden: another bpftrace binary (tests); BUBBLE_BPFTRACE does the same.
          bpftraceBin: { type: 'string' },
        },
      });
      const sources: readonly RecordSource[] = ['procfs', 'sysdig', 'both', 'bpf', 'procfs+bpf'];
      const source = cli.flags.source;
      if (source !== undefined && !(sources as readonly string[]).includes(source)) {
        throw new UsageError(`--source: "${source}" is not one of ${sources.join(', ')}`);
      }
      // `-` (meow hands it over as input) is where sysdig's part reads: the bridge's output on stdin.
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
        loadConfig(cli.flags.config),
      );
      let durationMs: number | undefined;
      if (cli.flags.duration !== undefined) {
        durationMs = parseDuration(cli.flags.duration);
        if (durationMs === undefined) throw new UsageError(`--duration: "${cli.flags.duration}" is not a duration (try 30s, 10m, 2h)`);
      }
      const sysdigBin = cli.flags.sysdigBin ?? process.env['BUBBLE_SYSDIG'];
      const bpftraceBin = cli.flags.bpftraceBin ?? process.env['BUBBLE_BPFTRACE'];
      const bpfErrors = cli.flags.bpfErrors;
      if (bpfErrors !== undefined && bpfErrors !== 'on' && bpfErrors !== 'off') throw new UsageError(`--bpf-errors: "${bpfErrors}" is not on or off`);
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
          intervalMs: intervalMs(cli.flags.interval),
          retention,
          ...(durationMs !== undefined && { durationMs }),
          quiet: cli.flags.quiet,
          ...(capture !== undefined ? { source: 'sysdig' as const } : source !== undefined && { source: source as RecordSource }),
          ...(bpfErrors !== undefined && { bpfErrors: bpfErrors === 'on' }),
          ...(bpftraceBin !== undefined && bpftraceBin !== '' && { bpftraceBin }),
          ...(stdinPipe && { sysdigStdin: process.stdin }),
          ...(capture !== undefined && { sysdigCapture: capture }),
          ...(sysdigBin !== undefined && sysdigBin !== '' && { sysdigBin }),
          verbose: cli.flags.verbose,
          ...(descriptorsEvery !== undefined && { descriptorsEvery }),
        },
        output,
        controller.signal,
      );
      return;
    }
    case 'export': {
      rejectUnknownFlags('export', rest, ['csv', 'json', 'container', 'since', 'until', 'tier', 'what', 'out', 'db']);
      const cli = meow(EXPORT_HELP, {
        importMeta,
        argv: rest,
        flags: {
          csv: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
          container: { type: 'string' },
          since: { type: 'string' },
          until: { type: 'string' },
          tier: { type: 'string' },
          what: { type: 'string', default: 'containers' },
          out: { type: 'string' },
          db: { type: 'string' },
        },
      });
      if (cli.input.length > 0) throw new UsageError(`bubble export takes no arguments (got "${cli.input.join(' ')}"); see --help`);
      if (cli.flags.csv === cli.flags.json) throw new UsageError('bubble export needs exactly one of --csv or --json');
      const whats = ['containers', 'processes', 'files', 'network'];
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
    case 'clean': {
      rejectUnknownFlags('clean', rest, ['days', 'container', 'db']);
      const cli = meow(CLEAN_HELP, {
        importMeta,
        argv: rest,
        flags: { days: { type: 'string' }, container: { type: 'string' }, db: { type: 'string' } },
      });
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
      meow(MAIN_HELP, { importMeta, argv: ['--help'] });
      return;
    case '--version':
    case '-v':
      meow(MAIN_HELP, { importMeta, argv: ['--version'] });
      return;
    default:
      throw new UsageError(`unknown command "${command}": try bubble ls, ps, record, export, clean, or bubble --help`);
  }
}

main(process.argv.slice(2)).then(
  () => {
    process.exitCode ??= 0;
  },
  (error: unknown) => {
    if (isBubbleError(error)) {
      process.stderr.write(`bubble: ${error.message}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`bubble: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
