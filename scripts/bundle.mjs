/**
 * Bundles the compiled CLI (dist/src/bin/bubble.js) into dist/bundle/ with esbuild. Why: loading Ink through Node's
 * module resolution costs ~250 ms of CPU (es-toolkit/compat alone ~100 ms for the one `throttle` Ink uses); the
 * bundle tree-shakes and loads in a fraction, which is what puts `bubble top`'s first frame under 500 ms.
 * Each command stays its own chunk (splitting), loaded when chosen. Native and heavy optional modules stay outside.
 * Every dependency is bundled as published: nothing here rewrites a package's source, so the bundle runs the code the
 * tests run (ink-testing-library loads the same Ink from node_modules).
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const stub = fileURLToPath(new URL('./devtools-stub.mjs', import.meta.url));

// The runtime V8 flags this Node's V8 has (src/bin/v8-flags.ts): set at runtime only under this same V8 version.
const { RUNTIME_FLAGS, knownFlags } = await import('../dist/src/bin/v8-flags.js');
const v8Options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
const v8Flags = { v8: process.versions.v8, flags: knownFlags(RUNTIME_FLAGS, v8Options) };

// Chunk names carry content hashes: without this, every build would leave the previous chunks behind.
await rm(fileURLToPath(new URL('../dist/bundle', import.meta.url)), { recursive: true, force: true });

await build({
  entryPoints: { bubble: 'dist/src/bin/bubble.js' },
  bundle: true,
  splitting: true,
  outdir: 'dist/bundle',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // better-sqlite3 has a native addon; dockerode (with ssh2, cpu-features) is loaded lazily and only when needed.
  external: ['better-sqlite3', 'dockerode', 'ssh2', 'cpu-features'],
  alias: { 'react-devtools-core': stub },
  // A string, not an object: esbuild inlines a string where an object define would become a module of its own.
  define: { BUBBLE_V8_FLAGS: JSON.stringify(JSON.stringify(v8Flags)) },
  // CommonJS dependencies inside an ES module bundle still call require().
  banner: { js: "import { createRequire as __bubbleRequire } from 'node:module'; const require = __bubbleRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'none',
});
