/**
 * Imported first by the CLI entry, before React and Ink load: both read the environment once, at import.
 * - React's development build costs a third more CPU per frame: users get the production build unless they ask.
 * - Ink draws nothing but the last frame when CI is set (is-in-ci). `top` and `replay` only ever run on a terminal
 *   (they refuse anything else), where a blank screen is never what the user wants, CI job or not.
 * - The `#!` line of src/bin/bubble.tsx adds what V8 only takes at startup: --no-memory-reducer (it ran two full GCs
 *   ~8 s after start, ~70 ms of CPU, to give back ~2 MB) and --single-threaded-gc (bubble's heap is a few MB; waking
 *   GC helper threads for it cost more than the collections: `bubble top` 8.6 -> 7.4 ms/s, record unchanged).
 * - The long-running commands (v8-flags.ts LONG_RUNNING_COMMANDS: record, top, replay, serve) tick once a second:
 *   V8's default tiering sends nearly every function of a tick to its optimizing compiler within the first 15 s,
 *   which cost more CPU on background threads (~360 ms in a 30 s record) than the optimized code ever saves. A
 *   budget 8x the default optimizes only what is really hot; baseline (Sparkplug) code for the rest is cheap to make
 *   and faster than the interpreter. Measured in docs/benchmarks.md.
 * - Memory: the `#!` line's --max-semi-space-size=1 (V8 sizes the young generation at startup; a runtime flag comes
 *   too late) gives 1 MB semi-spaces instead of up to 16 MB (both halves end up resident: 32 MB); a tick's garbage is
 *   a few hundred kB and lives one tick, so it costs no CPU we could measure. Here --heap-growing-percent=25: the old
 *   generation is collected at 1.25x what survived the last full GC instead of growing to ~45 MB first (`record`'s
 *   anon memory ~105 -> ~53 MB at 740 processes, ~10 % more CPU); --optimize-for-size did the same for ~18 % more CPU.
 *   Set only under the V8 the bundle was built and checked with (v8-flags.ts): on any other, none, and nothing printed.
 */
import v8 from 'node:v8';
import { runtimeFlagsFor, type CheckedFlags } from './v8-flags.js';

/** CheckedFlags as JSON, written into the bundle by scripts/bundle.mjs (v8-flags.ts says why); absent unbundled. */
declare const BUBBLE_V8_FLAGS: string | undefined;

process.env['NODE_ENV'] ??= 'production';
const command = process.argv[2];
const checked = typeof BUBBLE_V8_FLAGS === 'string' ? (JSON.parse(BUBBLE_V8_FLAGS) as CheckedFlags) : undefined;
for (const flag of runtimeFlagsFor(command, checked, process.versions.v8)) v8.setFlagsFromString(flag);
// yoga-layout (Ink's layout engine) loads its wasm from a data: URL with fetch() when there is one, which loads Node's
// undici for it (~40 ms of CPU and ~5 MB resident in `top`, for a fallback it then uses anyway); without fetch it
// decodes the same bytes itself. bubble never fetches.
if (command === 'top' || command === 'replay') delete (globalThis as { fetch?: unknown }).fetch;
if ((command === 'top' || command === 'replay') && process.stdout.isTTY === true) {
  delete process.env['CI'];
  delete process.env['CONTINUOUS_INTEGRATION'];
}
export {};
