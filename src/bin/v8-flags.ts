/**
 * V8 flags set at runtime (env.ts) only where the running V8 is known to have them. Why: v8.setFlagsFromString()
 * prints `Error: unrecognized flag` to stderr for a flag this V8 lacks, and V8 flags come and go between releases.
 * The bundler (scripts/bundle.mjs) asks the building Node's `node --v8-options` which of the wanted flags exist and
 * writes that answer, with that V8's version, into the bundle as BUBBLE_V8_FLAGS; at runtime the flags are set only
 * under that same V8 version. Another Node (or an unbundled run) sets none: slower at worst, never an error.
 */

/** What env.ts sets for the long-running commands (its comment says why each). */
export const RUNTIME_FLAGS: readonly string[] = [
  '--interrupt-budget=1048576',
  '--always-sparkplug',
  '--no-memory-reducer-for-small-heaps',
  '--heap-growing-percent=25',
];

/**
 * The commands that tick once a second for as long as they run, and so get RUNTIME_FLAGS (env.ts says why). `serve`
 * is one: without them its first 30 s cost ~15 % more CPU than `record`'s, all of it V8 optimizing a tick's functions.
 */
export const LONG_RUNNING_COMMANDS: readonly string[] = ['record', 'top', 'replay', 'serve'];

/** What the bundler found: the V8 version it asked and the wanted flags that version has. */
export interface CheckedFlags {
  readonly v8: string;
  readonly flags: readonly string[];
}

/** The flag's name as `node --v8-options` lists it: without `--`, a `no-` negation and `=value`; `_` is `-` to V8. */
export function flagName(flag: string): string {
  return flag.replace(/^--?/, '').replace(/=.*$/, '').replace(/_/g, '-').replace(/^no-/, '');
}

/** The names `node --v8-options` lists: each option's line starts with two spaces and `--name`. */
export function listedNames(v8Options: string): Set<string> {
  const names = new Set<string>();
  for (const m of v8Options.matchAll(/^ {2}--([\w-]+) /gm)) names.add(m[1]!.replace(/_/g, '-'));
  return names;
}

/** The wanted flags whose names `node --v8-options` lists (bool negations by their positive name). */
export function knownFlags(wanted: readonly string[], v8Options: string): string[] {
  const names = listedNames(v8Options);
  return wanted.filter((f) => names.has(flagName(f)));
}

/** The flags to set under the running V8: the checked ones when the versions match exactly, else none. */
export function flagsToSet(checked: CheckedFlags | undefined, runningV8: string): readonly string[] {
  return checked !== undefined && checked.v8 === runningV8 ? checked.flags : [];
}

/** The flags env.ts sets for `command` (the CLI's first argument): the checked ones for a long-running command, else none. */
export function runtimeFlagsFor(command: string | undefined, checked: CheckedFlags | undefined, runningV8: string): readonly string[] {
  return command !== undefined && LONG_RUNNING_COMMANDS.includes(command) ? flagsToSet(checked, runningV8) : [];
}
