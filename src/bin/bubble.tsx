#!/usr/bin/env node
/**
 * CLI entry: parses the command line (meow) and dispatches to src/commands/. Nothing else lives here.
 * Exit codes: 0 success, 1 a user error (one line on stderr), 2 a usage error.
 */
import meow from 'meow';
import { runLs } from '../commands/ls.js';
import { processOutput } from '../commands/output.js';
import { runPs } from '../commands/ps.js';
import { isBubbleError } from '../errors/bubble-error.js';
import { UsageError } from '../errors/usage-error.js';
import { parseDuration } from '../model/duration.js';
import { PROCESS_SORTS, type ProcessSort } from '../model/sort.js';

const MAIN_HELP = `
  Usage
    $ bubble <command> [options]

  Commands
    ls        containers and Slurm jobs with CPU, memory, network, block I/O, pids
    ps        one cgroup-aware snapshot of a container's processes

  Run \`bubble <command> --help\` for a command's options.

  Examples
    $ sudo bubble ls
    $ sudo bubble ps web-1 --sort cpu --limit 5
    $ sudo bubble ps 4242 --json
`;

const PS_HELP = `
  Usage
    $ bubble ps <container> [--sort cpu|mem|io|pid] [--limit N] [--interval S] [--json]

  <container> is a name, an id or id prefix, a Slurm job id (4242 or "job 4242"), a cgroup path, or "host".

  Options
    --sort      order: cpu (default), mem, io, pid
    --limit     show the first N processes
    --interval  seconds between the two samples that give rates (default 1; "500ms" works)
    --json      one JSON object: container, timestamp, processes (fields in docs/fields.md)

  Examples
    $ sudo bubble ps web-1 --sort mem --limit 5
    $ sudo bubble ps /system.slice/docker-3f2a.scope --json
`;

const LS_HELP = `
  Usage
    $ bubble ls [--all] [--interval S] [--json]

  Options
    --all       also list the "host" pseudo-container (every process in no container)
    --interval  seconds between the two samples that give rates (default 1)
    --json      a JSON array of containers (fields in docs/fields.md)
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
      rejectUnknownFlags('ps', rest, ['sort', 'limit', 'interval', 'json']);
      const cli = meow(PS_HELP, {
        importMeta,
        argv: rest,
        flags: {
          sort: { type: 'string', default: 'cpu' },
          limit: { type: 'string' },
          interval: { type: 'string' },
          json: { type: 'boolean', default: false },
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
      await runPs(
        {
          container,
          sort: cli.flags.sort as ProcessSort,
          ...(limit !== undefined && { limit }),
          intervalMs: intervalMs(cli.flags.interval),
          json: cli.flags.json,
        },
        output,
      );
      return;
    }
    case 'ls': {
      rejectUnknownFlags('ls', rest, ['all', 'interval', 'json']);
      const cli = meow(LS_HELP, {
        importMeta,
        argv: rest,
        flags: {
          all: { type: 'boolean', default: false },
          interval: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
      });
      if (cli.input.length > 0) throw new UsageError(`bubble ls takes no arguments (got "${cli.input.join(' ')}"); see --help`);
      await runLs({ all: cli.flags.all, json: cli.flags.json, intervalMs: intervalMs(cli.flags.interval) }, output);
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
      throw new UsageError(`unknown command "${command}": try bubble ls, bubble ps <container>, or bubble --help`);
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
