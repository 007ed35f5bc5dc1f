/**
 * Bundles the compiled CLI (dist/src/bin/bubble.js) into dist/bundle/ with esbuild. Why: loading Ink through Node's
 * module resolution costs ~250 ms of CPU (es-toolkit/compat alone ~100 ms for the one `throttle` Ink uses); the
 * bundle tree-shakes and loads in a fraction, which is what puts `bubble top`'s first frame under 500 ms.
 * Each command stays its own chunk (splitting), loaded when chosen. Native and heavy optional modules stay outside.
 */
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const stub = fileURLToPath(new URL('./devtools-stub.mjs', import.meta.url));
const rowCache = fileURLToPath(new URL('../dist/src/tui/ink-row-cache.js', import.meta.url));
const fastWidth = fileURLToPath(new URL('../dist/src/tui/fast-string-width.js', import.meta.url));
const boundedCache = fileURLToPath(new URL('../dist/src/tui/bounded-cache.js', import.meta.url));

/** Replaces each [from, to] in a module's source; a missing `from` fails the build (an Ink this was not made for). */
function rewrite(source, file, edits) {
  let out = source;
  for (const [from, to] of edits) {
    if (!out.includes(from)) throw new Error(`${file}: expected \`${from}\` (Ink changed? see scripts/bundle.mjs)`);
    out = out.replace(from, to);
  }
  return out;
}

/**
 * Ink's measure-text.js and wrap-text.js cache every distinct text forever; src/tui/bounded-cache.ts keeps two
 * generations instead, so a `bubble top` left open for days does not grow by an estimated 50 MB an hour.
 */
const inkTextCaches = {
  name: 'ink-text-caches',
  setup(b) {
    const use = `import { boundedCache as __bubbleBoundedCache } from ${JSON.stringify(boundedCache)};\n`;
    b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]measure-text\.js$/ }, async (args) => ({
      contents: use + rewrite(await readFile(args.path, 'utf8'), args.path, [['const cache = new Map();', 'const cache = __bubbleBoundedCache();']]),
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }));
    b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]wrap-text\.js$/ }, async (args) => ({
      contents:
        use +
        rewrite(await readFile(args.path, 'utf8'), args.path, [
          ['const cache = {};', 'const cache = __bubbleBoundedCache();'],
          ['const cachedText = cache[cacheKey];', 'const cachedText = cache.get(cacheKey);'],
          ['cache[cacheKey] = wrappedText;', 'cache.set(cacheKey, wrappedText);'],
        ]),
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }));
  },
};

/** Every `import 'string-width'` (each version Ink's helpers use) gets src/tui/fast-string-width.ts in front. */
const asciiStringWidth = {
  name: 'ascii-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, async (args) => {
      if (args.pluginData?.real === true) return undefined;
      const real = await b.resolve('string-width', { resolveDir: args.resolveDir, kind: args.kind, pluginData: { real: true } });
      if (real.errors.length > 0) return undefined;
      return { path: real.path, namespace: 'ascii-string-width' };
    });
    b.onLoad({ filter: /.*/, namespace: 'ascii-string-width' }, (args) => ({
      contents: `import real from ${JSON.stringify(args.path)};
import { withAsciiFastPath } from ${JSON.stringify(fastWidth)};
export default withAsciiFastPath(real);`,
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * Ink's Output.get() rebuilds every row of every frame; src/tui/ink-row-cache.ts is the same algorithm with unchanged
 * rows reused (about a third of `bubble top`'s CPU). Installed here, on Ink's own class, with Ink's own helpers.
 */
const inkRowCache = {
  name: 'ink-row-cache',
  setup(b) {
    b.onLoad({ filter: /[\\/]ink[\\/]build[\\/]output\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes('export default class Output') || !source.includes('get() {')) {
        throw new Error(`ink-row-cache: ${args.path} is not the Ink 6 Output this patch was written for`);
      }
      const patch = `
import { makeRowCachedGet as __bubbleRowCachedGet } from ${JSON.stringify(rowCache)};
Output.prototype.get = __bubbleRowCachedGet({ sliceAnsi, stringWidth, tokenize, styledCharsFromTokens, styledCharsToString });
`;
      return { contents: source + patch, loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

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
  // CommonJS dependencies inside an ES module bundle still call require().
  banner: { js: "import { createRequire as __bubbleRequire } from 'node:module'; const require = __bubbleRequire(import.meta.url);" },
  plugins: [inkRowCache, asciiStringWidth, inkTextCaches],
  logLevel: 'warning',
  legalComments: 'none',
});
