/**
 * Every command's flags, declared once: the table gives the --help text, the set of accepted flags and the parser's
 * options, so the three cannot drift apart. src/bin/bubble.tsx parses with parseCommand() and checks values.
 *
 * Parsed with node:util's parseArgs, not meow: meow's dependencies normalize a package.json at import (spdx-correct
 * sorts with localeCompare, which loads ICU's collation data), ~9 MB resident and ~50 ms of CPU in every command,
 * `record`'s whole life included, for what parseArgs does.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { safeText } from '../format.js';
import { UsageError } from '../errors/usage-error.js';
import { LIVE_SOURCES, RECORD_SOURCES, type SourceName } from '../model/source-names.js';
import type { SourceChoice } from '../monitor/sources.js';
import { defaultDbPath } from '../store/paths.js';

export interface FlagSpec {
  /** As typed, kebab-case: 'keep-second' (meow hands it over as keepSecond). */
  readonly name: string;
  readonly type: 'string' | 'boolean';
  /** Booleans default to false (true when negated). */
  readonly default?: string | boolean;
  /** What the value looks like in the usage line: 'cpu|mem|io|pid', 'PATH'. */
  readonly value?: string;
  /** The help text: lines, each continuing the one before. */
  readonly help: readonly string[];
  /** A boolean that is on by default, shown and typed as --no-<name>. */
  readonly negated?: boolean;
  /** Accepted but in no help (test hooks). */
  readonly hidden?: boolean;
  /** Left out of the usage line (the command's args already say it). */
  readonly inUsage?: false;
}

export interface CommandSpec {
  readonly name: string;
  /** One line for `bubble --help`. */
  readonly summary: string;
  /** After the command in the usage line: '<container>', '(--csv | --json)'. */
  readonly args?: string;
  /** Further usage lines, verbatim. */
  readonly moreUsage?: readonly string[];
  /** Paragraphs between the usage and the options. */
  readonly about?: readonly string[];
  readonly flags: readonly FlagSpec[];
  readonly examples?: readonly string[];
  /** Paragraphs after the options. */
  readonly notes?: readonly string[];
}

const DB = defaultDbPath();
const TIER_VALUES = 'second|minute|hour|day';

// The sources, declared once for record, top and serve (src/monitor/sources.ts chooses them, sourceChoice() checks).
const SOURCE = {
  name: 'source',
  type: 'string',
  value: LIVE_SOURCES.join('|'),
  help: [
    'procfs+bpf (default when bpftrace is installed and bubble runs as root, else procfs):',
    'procfs completed by bpftrace (processes too short-lived for a tick, with their container,',
    'CPU and exit, the files they opened, socket bytes per process, failed syscalls); procfs:',
    '/proc and cgroups, open files and sockets included; bpf: procfs+bpf, and an error when',
    'bpftrace cannot run; both: procfs, completed by sysdig (bytes per file and connection,',
    'processes too short-lived for a tick)',
  ],
} as const satisfies FlagSpec;
const RECORD_SOURCE = {
  ...SOURCE,
  value: RECORD_SOURCES.join('|'),
  help: [...SOURCE.help, 'sysdig: sysdig\'s events alone (needs sysdig and its kernel driver; "-" reads the bridge\'s', 'output on stdin instead)'],
} as const satisfies FlagSpec;
const BPF_ERRORS = {
  name: 'bpf-errors',
  type: 'string',
  value: 'on|off',
  help: [
    'off: bpftrace without its syscall-error probe (default on: failed syscalls per process,',
    'syscall and errno; it runs on every syscall, so a syscall-heavy host may want it off;',
    'the config file\'s "bpf": {"errors": false} does the same)',
  ],
} as const satisfies FlagSpec;
const BPF_FILES = {
  name: 'bpf-files',
  type: 'string',
  value: 'on|off',
  help: [
    'off: bpftrace without its files-opened probes (default on: files opened by processes too',
    'short-lived for the open-file sampler; they hook openat, and any syscall probe slows every',
    "syscall of every process, dd bs=1 by ~10-30 %; off loses those opens; the config file's",
    '"bpf": {"files": false} does the same)',
  ],
} as const satisfies FlagSpec;
// Other binaries (tests); BUBBLE_BPFTRACE and BUBBLE_SYSDIG do the same.
const BPFTRACE_BIN = { name: 'bpftrace-bin', type: 'string', hidden: true, help: [] } as const satisfies FlagSpec;
const SYSDIG_BIN = { name: 'sysdig-bin', type: 'string', hidden: true, help: [] } as const satisfies FlagSpec;

export const PS = {
  name: 'ps',
  summary: "one cgroup-aware snapshot of a container's processes",
  args: '<container>',
  about: ['<container> is a name, an id or id prefix, a Slurm job id (4242 or "job 4242"), a cgroup path, or "host".'],
  flags: [
    {
      name: 'sort',
      type: 'string',
      value: 'cpu|mem|io|pid|read|write|time|command',
      help: ["order: cpu (default, or the config file's sort.processes), mem, io, pid, read, write, time, command"],
    },
    { name: 'limit', type: 'string', value: 'N', help: ['show the first N processes'] },
    { name: 'interval', type: 'string', value: 'S', help: ['seconds between the two samples that give rates (default 1; "500ms" works)'] },
    { name: 'files', type: 'boolean', help: ["also list the processes' open files (path, read/write/append mode, deleted ones too)"] },
    { name: 'config', type: 'string', value: 'FILE', help: ['config file (default sort, interval, tier, colour; docs/config.md); flags override it'] },
    { name: 'net', type: 'boolean', help: ['also list their sockets (protocol, local and remote address, state; unix paths)'] },
    {
      name: 'errors',
      type: 'boolean',
      help: [
        'also list failed syscalls in the interval per process, syscall and errno, processes that',
        'exited meanwhile included (needs bpftrace and root; attaching takes a few seconds)',
      ],
    },
    { name: 'json', type: 'boolean', help: ['one JSON object: container, timestamp, processes (fields in docs/fields.md)'] },
  ],
  examples: ['sudo bubble ps web-1 --sort mem --limit 5', 'sudo bubble ps /system.slice/docker-3f2a.scope --json'],
} as const satisfies CommandSpec;

export const LS = {
  name: 'ls',
  summary: 'containers and Slurm jobs with CPU, memory, network, block I/O, pids (and exited ones from the store)',
  flags: [
    {
      name: 'all',
      type: 'boolean',
      help: [
        'also list the "host" pseudo-container (every process in no container) and every exited',
        'container Docker reports (without it: the exited ones the store recorded)',
      ],
    },
    { name: 'interval', type: 'string', value: 'S', help: ['seconds between the two samples that give rates (default 1)'] },
    { name: 'json', type: 'boolean', help: ['one JSON object: the host and its containers (fields in docs/fields.md)'] },
    { name: 'db', type: 'string', value: 'PATH', help: [`the store to add exited containers from (default ${DB}, when it exists)`] },
  ],
} as const satisfies CommandSpec;

export const TOP = {
  name: 'top',
  summary: 'the live full-screen view: containers, their processes, files and network, history scrubber',
  args: '[container]',
  about: [
    'Full screen, keyboard only (? lists every key). With a container (name, id prefix, Slurm job id or cgroup path)\n' +
      'it opens that container directly. While it runs it records into the store (when it can write it and no\n' +
      'bubble record holds it), so history starts at launch. As root with bpftrace installed it also runs bpftrace\n' +
      '(short-lived processes, NET/s per process, failed syscalls), recording or not; the status line says when not.',
  ],
  flags: [
    { name: 'interval', type: 'string', value: '1s', help: ['refresh interval (default 1s)'] },
    { name: 'db', type: 'string', value: 'PATH', help: [`the store (default ${DB})`] },
    { name: 'record', type: 'boolean', negated: true, help: ['do not write the store (still reads its history)'] },
    { name: 'tier', type: 'string', value: TIER_VALUES, help: ['the tier the scrubber starts on (default second)'] },
    { name: 'columns', type: 'string', value: 'LIST', help: ["the container list's columns, in order: name,cpu,mem,... (docs/config.md)"] },
    { name: 'process-columns', type: 'string', value: 'LIST', help: ["the process list's columns, in order: pid,cpu,rss,command,..."] },
    SOURCE,
    BPF_ERRORS,
    BPF_FILES,
    BPFTRACE_BIN,
    SYSDIG_BIN,
    { name: 'config', type: 'string', value: 'FILE', help: ['config file (sort, interval, tier, colour, columns, bpf; docs/config.md); flags override it'] },
  ],
} as const satisfies CommandSpec;

export const REPLAY = {
  name: 'replay',
  summary: 'the same screens from the store, for a container or job that may have exited',
  args: '<container>',
  about: ['The top screens, read-only from the store, for a container or job that may have exited.'],
  flags: [
    {
      name: 'at',
      type: 'string',
      value: 'TIME',
      help: ['open at this moment (ISO 8601, epoch seconds, or relative: "10 min ago");', 'default: its last recorded moment'],
    },
    { name: 'tier', type: 'string', value: TIER_VALUES, help: ['bucket size; default: the finest tier that holds it'] },
    { name: 'db', type: 'string', value: 'PATH', help: [`the store (default ${DB})`] },
  ],
} as const satisfies CommandSpec;

export const RECORD = {
  name: 'record',
  summary: 'sample everything into the store with tiered retention, until Ctrl-C',
  moreUsage: ['sysdig -pc -c native/sysdig-bridge/bubble.lua | bubble record --source sysdig -'],
  about: ['Samples every container, job and process into the store until SIGINT/SIGTERM, then flushes and closes.\nOne recorder per store file.'],
  flags: [
    { name: 'interval', type: 'string', value: '1s', help: ['time between samples (default 1s)'] },
    { name: 'db', type: 'string', value: 'PATH', help: [`the store (default ${DB})`] },
    { name: 'keep-second', type: 'string', value: '1h', help: ['how long the second tier keeps its buckets (default 1h)'] },
    { name: 'keep-minute', type: 'string', value: '2d', help: ['how long the minute tier keeps its buckets (default 2d)'] },
    { name: 'keep-hour', type: 'string', value: '30d', help: ['how long the hour tier keeps its buckets (default 30d)'] },
    { name: 'keep-day', type: 'string', value: '1y', help: ['how long the day tier keeps its buckets (default 1y)'] },
    {
      name: 'config',
      type: 'string',
      value: 'FILE',
      help: [
        'config file, JSON {"keep": {"second": "2h"}, "interval": "2s"} (default: bubble\'s config path);',
        'flags on the command line override it (docs/config.md)',
      ],
    },
    { name: 'duration', type: 'string', value: '30s', help: ['stop after this long (e.g. 30s), instead of at Ctrl-C'] },
    RECORD_SOURCE,
    BPF_ERRORS,
    BPF_FILES,
    BPFTRACE_BIN,
    {
      name: 'sysdig-capture',
      type: 'string',
      value: 'FILE',
      help: ["replay a sysdig capture (.scap) through the bridge to its end, in the capture's own time", '(no kernel driver needed)'],
    },
    SYSDIG_BIN,
    { name: 'verbose', type: 'boolean', help: ["print the sysdig bridge's line counts (skipped lines) every 10 s and at the end"] },
    {
      name: 'descriptors-every',
      type: 'string',
      value: 'N',
      help: [
        'open files and sockets: processes that ran are read every tick, idle ones (and socket',
        'tables) every N ticks; cheaper on a big host (default 1: everything every tick)',
      ],
    },
    { name: 'quiet', type: 'boolean', help: ['no status lines on stderr'] },
  ],
  notes: ['A systemd unit is in docs/bubble-record.service. The sysdig bridge: native/sysdig-bridge/README.md; the\nbpftrace program: native/bpf/README.md.'],
} as const satisfies CommandSpec;

export const SERVE = {
  name: 'serve',
  summary: "record like record and serve /metrics, cadvisor-companion's API and the store API over HTTP",
  about: [
    "Records like bubble record and serves, read-only: GET /metrics (Prometheus, cAdvisor's metric names),\n/api/v1.0/<container>/processes (cadvisor-companion's API) and /api/v1/containers... (the store). docs/serve.md.",
  ],
  flags: [
    { name: 'listen', type: 'string', value: 'ADDR:PORT', help: ['address and port (default 127.0.0.1:9977); any other than loopback needs --token-file'] },
    { name: 'db', type: 'string', value: 'PATH', help: [`the store (default ${DB})`] },
    { name: 'interval', type: 'string', value: '1s', help: ['time between samples (default 1s)'] },
    { name: 'record', type: 'boolean', negated: true, help: ['do not write the store (the store API still reads it when it exists)'] },
    { name: 'process-metrics', type: 'string', value: 'N', help: ['top processes per container in /metrics, by CPU (default 5; 0: none)'] },
    { name: 'token-file', type: 'string', value: 'FILE', help: ['a file holding the bearer token every request must carry (Authorization: Bearer ...)'] },
    { name: 'tls-cert', type: 'string', value: 'FILE', help: ['serve HTTPS with this certificate (PEM) ...'] },
    { name: 'tls-key', type: 'string', value: 'FILE', help: ['... and this key'] },
    { name: 'metrics-public', type: 'boolean', help: ['/metrics needs no token (the APIs still do)'] },
    SOURCE,
    BPF_ERRORS,
    BPF_FILES,
    BPFTRACE_BIN,
    SYSDIG_BIN,
    { name: 'config', type: 'string', value: 'FILE', help: ['config file (retention, bpf.errors, bpf.files), as for bubble record'] },
    { name: 'duration', type: 'string', value: '30s', help: ['stop after this long (e.g. 30s)'] },
    { name: 'quiet', type: 'boolean', help: ['no status lines on stderr'] },
  ],
  notes: ['A systemd unit is in docs/bubble-serve.service.'],
} as const satisfies CommandSpec;

export const EXPORT = {
  name: 'export',
  summary: 'stored history as CSV or JSON lines',
  args: '(--csv | --json)',
  about: ['Streams stored rows: RFC 4180 CSV with a header, or JSON lines. Fields are listed in docs/store.md.'],
  flags: [
    { name: 'csv', type: 'boolean', inUsage: false, help: ['CSV, one header line then one line per row'] },
    { name: 'json', type: 'boolean', inUsage: false, help: ['JSON lines, one object per row'] },
    { name: 'container', type: 'string', value: 'X', help: ['a name, id prefix, Slurm job id or cgroup path (also of containers that exited)'] },
    { name: 'since', type: 'string', value: 'T', help: ['from (ISO 8601 like 2026-11-21T21:00, epoch seconds, or relative: "10 min ago", 2h)'] },
    { name: 'until', type: 'string', value: 'T', help: ['to (same forms; default now)'] },
    { name: 'tier', type: 'string', value: TIER_VALUES, help: ['bucket size; default: the finest tier that covers --since'] },
    {
      name: 'what',
      type: 'string',
      default: 'containers',
      value: 'containers|processes|files|network|errors',
      help: ['containers (default), processes, files or network (access intervals), or errors (failed', 'syscalls per process, syscall and errno per bucket)'],
    },
    { name: 'out', type: 'string', value: 'FILE', help: ['write to FILE (created 0600) instead of stdout'] },
    { name: 'db', type: 'string', value: 'PATH', help: [`the store (default ${DB})`] },
  ],
} as const satisfies CommandSpec;

export const CLEAN = {
  name: 'clean',
  summary: 'remove old or named containers from the store',
  args: '(--days N | --container X)',
  about: ['Removes containers and jobs, with all their processes and rows, from the store.'],
  flags: [
    { name: 'days', type: 'string', value: 'N', inUsage: false, help: ['those whose last sight (or exit) is more than N days ago'] },
    { name: 'container', type: 'string', value: 'X', inUsage: false, help: ['one container or job (name, id prefix, Slurm job id, cgroup path)'] },
    { name: 'db', type: 'string', value: 'PATH', help: [`the store (default ${DB})`] },
  ],
} as const satisfies CommandSpec;

export const REPORT = {
  name: 'report',
  summary: 'what a container or Slurm job did over its life, in one page (CPU efficiency, memory, top processes)',
  args: '<container|job>',
  about: [
    'From the store, for a container or job that ran or still runs: CPU time and efficiency against its allocation,\n' +
      'memory peak against its limit and OOM kills, I/O and network, the top processes, files and remote endpoints.',
  ],
  flags: [
    { name: 'since', type: 'string', value: 'T', help: ['from (ISO 8601, epoch seconds, or relative: "10 min ago"); default: its first sight'] },
    { name: 'until', type: 'string', value: 'T', help: ['to (same forms); default: its exit, or now'] },
    { name: 'json', type: 'boolean', help: ['one JSON object (fields in docs/fields.md)'] },
    { name: 'db', type: 'string', value: 'PATH', help: [`the store (default ${DB})`] },
  ],
  examples: ['bubble report web-1', 'bubble report 4242 --json'],
} as const satisfies CommandSpec;

/** In the order `bubble --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [TOP, REPLAY, LS, PS, RECORD, SERVE, EXPORT, REPORT, CLEAN];

const MAIN_EXAMPLES = [
  'sudo bubble top',
  'sudo bubble top web-1',
  'bubble replay web-1 --at "10 min ago"',
  'sudo bubble ls',
  'sudo bubble ps web-1 --sort cpu --limit 5',
  'sudo bubble ps 4242 --json',
  'sudo bubble record',
  'bubble export --csv --container web-1 --since "1 hour ago"',
  'bubble report web-1',
];

/** The usage line wraps here, continuing under the first flag. */
const USAGE_WIDTH = 118;
/** Longer option names get their text on the next line instead of a wide column. */
const MAX_LABEL = 16;

const label = (flag: FlagSpec): string => `--${flag.negated === true ? 'no-' : ''}${flag.name}`;
const indent = (text: string, by: string): string =>
  text
    .split('\n')
    .map((line) => (line === '' ? line : by + line))
    .join('\n');

function usageLine(spec: CommandSpec): string {
  const head = `$ bubble ${spec.name}${spec.args === undefined ? '' : ` ${spec.args}`}`;
  const parts = spec.flags
    .filter((f) => f.hidden !== true && f.inUsage !== false)
    .map((f) => `[${label(f)}${f.type === 'string' && f.value !== undefined ? ` ${f.value}` : ''}]`);
  const lines = [head];
  const continuation = ' '.repeat(`$ bubble ${spec.name} `.length);
  for (const part of parts) {
    const last = lines[lines.length - 1]!;
    if (last.length + 1 + part.length > USAGE_WIDTH && last.trim() !== '') lines.push(continuation + part);
    else lines[lines.length - 1] = `${last} ${part}`;
  }
  return lines.join('\n');
}

function optionsBlock(flags: readonly FlagSpec[]): string {
  const shown = flags.filter((f) => f.hidden !== true);
  const width = Math.max(...shown.map((f) => label(f).length).filter((n) => n <= MAX_LABEL)) + 2;
  const lines: string[] = [];
  for (const flag of shown) {
    const name = label(flag);
    const [first = '', ...rest] = flag.help;
    if (name.length <= MAX_LABEL) lines.push(name.padEnd(width) + first);
    else lines.push(name, ' '.repeat(width) + first);
    for (const more of rest) lines.push(' '.repeat(width) + more);
  }
  return lines.join('\n');
}

/** The --help text of a command (meow indents it and puts the package description above). */
export function commandHelp(spec: CommandSpec): string {
  const sections = [`Usage\n${indent([usageLine(spec), ...(spec.moreUsage ?? []).map((u) => `$ ${u}`)].join('\n'), '  ')}`];
  for (const paragraph of spec.about ?? []) sections.push(paragraph);
  sections.push(`Options\n${indent(optionsBlock(spec.flags), '  ')}`);
  for (const paragraph of spec.notes ?? []) sections.push(paragraph);
  if (spec.examples !== undefined) sections.push(`Examples\n${indent(spec.examples.map((e) => `$ ${e}`).join('\n'), '  ')}`);
  return `\n${sections.join('\n\n')}\n`;
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  const sections = [
    'Usage\n  $ bubble <command> [options]',
    `Commands\n${COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`).join('\n')}`,
    "Run `bubble <command> --help` for a command's options.",
    `Examples\n${MAIN_EXAMPLES.map((e) => `  $ ${e}`).join('\n')}`,
  ];
  return `\n${sections.join('\n\n')}\n`;
}

/** For an unknown command: every command there is. */
export function commandNames(): string {
  return COMMANDS.map((c) => c.name).join(', ');
}

/** Whether `name` (as typed, without dashes or a "no-" prefix) is one of the command's flags. */
export function acceptsFlag(spec: CommandSpec, name: string): boolean {
  return name === 'help' || name === 'version' || spec.flags.some((f) => f.name === name);
}

/** Unknown flags in one line, with the way out. */
export function rejectUnknownFlags(spec: CommandSpec, argv: readonly string[]): void {
  for (const arg of argv) {
    if (arg === '--') return;
    if (!arg.startsWith('-') || arg === '-') continue;
    const name = arg.replace(/^--?/, '').split('=')[0]!.replace(/^no-/, '');
    if (!acceptsFlag(spec, name)) throw new UsageError(`unknown option "${safeText(arg)}" for ${spec.name}; see bubble ${spec.name} --help`);
  }
}

type Camel<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<Camel<Tail>>}` : S;
type FlagValue<F extends FlagSpec> = F['type'] extends 'boolean' ? boolean : F extends { readonly default: string } ? string : string | undefined;
/** The parsed flags of a command, typed from its table: { keepSecond: string | undefined, json: boolean, ... }. */
export type ParsedFlags<C extends CommandSpec> = { [F in C['flags'][number] as Camel<F['name']>]: FlagValue<F> };

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** name, version and description of bubble's package.json, found upwards from the running module (src or bundle). */
function packageInfo(importMeta: ImportMeta): { version?: string; description?: string } {
  let dir = path.dirname(fileURLToPath(importMeta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown; description?: unknown };
      return {
        ...(typeof pkg.version === 'string' && { version: pkg.version }),
        ...(typeof pkg.description === 'string' && { description: pkg.description }),
      };
    } catch {
      const up = path.dirname(dir);
      if (up === dir) return {};
      dir = up;
    }
  }
}

/** A help text as the CLI prints it: the package's description, then the text, each non-empty line indented by two. */
export function helpPage(text: string, importMeta: ImportMeta): string {
  const indent = (t: string): string => t.replace(/^(?!$)/gm, '  ');
  const { description } = packageInfo(importMeta);
  return `${description === undefined ? '' : `\n${indent(description)}\n`}\n${indent(text.replace(/^\n+|\n+$/g, ''))}\n`;
}

/** Prints the help page and exits 0. */
export function showHelp(text: string, importMeta: ImportMeta): never {
  process.stdout.write(`${helpPage(text, importMeta)}\n`);
  process.exit(0);
}

/** Prints the package's version and exits 0. */
export function showVersion(importMeta: ImportMeta): never {
  process.stdout.write(`${packageInfo(importMeta).version ?? 'No version found'}\n`);
  process.exit(0);
}

/**
 * Rejects unknown flags, then parses; --help (anywhere before "--") prints the help and exits 0. `--no-<name>` turns a
 * boolean off; a string flag given twice keeps the last value.
 */
export function parseCommand<C extends CommandSpec>(spec: C, argv: readonly string[], importMeta: ImportMeta): { input: string[]; flags: ParsedFlags<C> } {
  rejectUnknownFlags(spec, argv);
  const end = argv.indexOf('--');
  const beforeEnd = end === -1 ? argv : argv.slice(0, end);
  if (beforeEnd.includes('--help')) showHelp(commandHelp(spec), importMeta);
  if (beforeEnd.length === 1 && beforeEnd[0] === '--version') showVersion(importMeta);
  const byName = new Map(spec.flags.map((f) => [f.name, f]));
  const flags: Record<string, string | boolean | undefined> = {};
  for (const flag of spec.flags) {
    flags[camel(flag.name)] = flag.type === 'boolean' ? (typeof flag.default === 'boolean' ? flag.default : flag.negated === true) : flag.default;
  }
  // `--no-x` is not parseArgs's (Node 20): taken out here, in order, so a later `--x` still wins.
  const args: string[] = [];
  const negations: { index: number; name: string }[] = [];
  for (const [i, arg] of argv.entries()) {
    const negated = i < beforeEnd.length && arg.startsWith('--no-') ? arg.slice(5) : undefined;
    if (negated !== undefined && byName.get(negated)?.type === 'boolean') negations.push({ index: args.length, name: negated });
    else if (negated !== undefined && byName.has(negated)) throw new UsageError(`${safeText(arg)}: --${negated} takes a value; see bubble ${spec.name} --help`);
    else args.push(arg);
  }
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, version: { type: 'boolean' } };
  for (const flag of spec.flags) options[flag.name] = { type: flag.type };
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof options; allowPositionals: true; tokens: true }>>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    throw new UsageError(`${safeText(err instanceof Error ? err.message : String(err))}; see bubble ${spec.name} --help`);
  }
  // Tokens in order, negations between them where they were typed: the last word on a flag wins.
  const events: { index: number; apply: () => void }[] = negations.map((n) => ({ index: n.index - 0.5, apply: () => (flags[camel(n.name)] = false) }));
  for (const token of parsed.tokens) {
    if (token.kind !== 'option' || token.name === 'help' || token.name === 'version') continue;
    const flag = byName.get(token.name)!;
    events.push({ index: token.index, apply: () => (flags[camel(flag.name)] = flag.type === 'boolean' ? true : (token.value ?? '')) });
  }
  for (const e of events.sort((a, b) => a.index - b.index)) e.apply();
  return { input: parsed.positionals, flags: flags as unknown as ParsedFlags<C> };
}

interface SourceFlags {
  readonly source: string | undefined;
  readonly bpfErrors: string | undefined;
  readonly bpfFiles: string | undefined;
  readonly bpftraceBin: string | undefined;
  readonly sysdigBin: string | undefined;
}

interface SourceConfig {
  readonly bpf?: { readonly errors?: boolean; readonly files?: boolean };
}

/** An on|off flag over the config file's boolean, on by default. */
function onOff(name: string, flag: string | undefined, config: boolean | undefined): boolean {
  if (flag === undefined) return config !== false;
  if (flag !== 'on' && flag !== 'off') throw new UsageError(`--${name}: "${safeText(flag)}" is not on or off`);
  return flag === 'on';
}

/** A binary from its hidden flag, else the environment variable (tests); undefined for the one on PATH. */
function binary(flag: string | undefined, env: string): string | undefined {
  const bin = flag ?? process.env[env];
  return bin === undefined || bin === '' ? undefined : bin;
}

/**
 * `--source`, `--bpf-errors`, `--bpf-files`, the hidden binaries and the config file's bpf.errors and bpf.files,
 * checked alike for record, top and serve: flags win over the file. `allowed`: the names the command takes (record also takes sysdig alone).
 */
export function sourceChoice(flags: SourceFlags, config: SourceConfig): SourceChoice;
export function sourceChoice(
  flags: SourceFlags,
  config: SourceConfig,
  allowed: readonly SourceName[],
): Omit<SourceChoice, 'source'> & { readonly source?: SourceName };
export function sourceChoice(
  flags: SourceFlags,
  config: SourceConfig,
  allowed: readonly SourceName[] = LIVE_SOURCES,
): Omit<SourceChoice, 'source'> & { readonly source?: SourceName } {
  const { source } = flags;
  if (source !== undefined && !(allowed as readonly string[]).includes(source))
    throw new UsageError(`--source: "${safeText(source)}" is not one of ${allowed.join(', ')}`);
  const bpftraceBin = binary(flags.bpftraceBin, 'BUBBLE_BPFTRACE');
  const sysdigBin = binary(flags.sysdigBin, 'BUBBLE_SYSDIG');
  return {
    ...(source !== undefined && { source: source as SourceName }),
    bpfErrors: onOff('bpf-errors', flags.bpfErrors, config.bpf?.errors),
    bpfFiles: onOff('bpf-files', flags.bpfFiles, config.bpf?.files),
    ...(bpftraceBin !== undefined && { bpftraceBin }),
    ...(sysdigBin !== undefined && { sysdigBin }),
  };
}
