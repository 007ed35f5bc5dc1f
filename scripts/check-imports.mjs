#!/usr/bin/env node
/**
 * Import direction check (run by `npm test`): the modules of src/ form layers, and a layer imports only from its own
 * layer or those below it, so the model stays free of I/O and the store never reaches up into the TUI.
 *
 *   node scripts/check-imports.mjs [ROOT]     checks ROOT/src (default: this repository); exit 1 on a violation
 *
 * Type-only imports count too: a type from a higher layer ties the lower one to it all the same. A file in no layer
 * is a violation as well, so that a new directory gets its place here instead of slipping past the check.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Bottom first. An entry ending in '/' is a directory (with its subdirectories), otherwise one file under src/. */
export const LAYERS = [
  ['format.ts', 'errors/'],
  ['model/'],
  ['collectors/'],
  ['store/'],
  // --json records read stored and live views alike; commands (and later serve) print them.
  ['records.ts'],
  ['monitor/'],
  ['serve/'],
  ['tui/'],
  ['commands/'],
  ['bin/'],
];

/**
 * Edges the layer order allows but the design does not: [importer prefix, imported files, why]. The TUI shows
 * Snapshots; opening, locking and writing the store belong to the monitor and the commands (issue 9).
 */
export const FORBIDDEN = [
  ['tui/', ['store/database.ts', 'store/lock.ts', 'store/recorder.ts', 'store/writer.ts'], 'the TUI does not open, lock or write the store'],
];

/**
 * Today's violations, being removed (issue 9): "importer -> imported", both relative to src/. Listed ones do not fail
 * the check; once one is gone the check says so, and its line here should go too. Add nothing to this list.
 */
export const KNOWN = new Set([]);

/** The layer index of a path relative to src/ ('model/time.ts'), or undefined when it is in none. */
export function layerOf(rel) {
  const index = LAYERS.findIndex((layer) => layer.some((entry) => (entry.endsWith('/') ? rel.startsWith(entry) : rel === entry)));
  return index === -1 ? undefined : index;
}

const layerName = (index) => LAYERS[index].join(' ');

function sourceFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(m|c)?tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** '../store/tiers.js' imported by src/tui/state.ts -> 'store/tiers.ts' (the layer only depends on the path). */
function resolveRel(srcDir, importer, specifier) {
  const target = path
    .relative(srcDir, path.resolve(path.dirname(importer), specifier))
    .split(path.sep)
    .join('/');
  return target.replace(/\.js$/, '.ts').replace(/\.jsx$/, '.tsx');
}

/**
 * Every import of every file under root/src that goes upward or leaves the layers. Returns { violations, stale }:
 * violations as 'src/model/access.ts:7: ...' lines, stale as KNOWN entries that no longer occur.
 */
export function checkImports(root, known = KNOWN) {
  const srcDir = path.join(root, 'src');
  const violations = [];
  const seen = new Set();
  for (const file of sourceFiles(srcDir).sort()) {
    const rel = path.relative(srcDir, file).split(path.sep).join('/');
    const from = layerOf(rel);
    if (from === undefined) {
      violations.push(`src/${rel}: in no layer; give it one in LAYERS of scripts/check-imports.mjs`);
      continue;
    }
    const text = readFileSync(file, 'utf8');
    // The compiler's own scanner: comments and strings that merely look like imports are not imports.
    const { importedFiles } = ts.preProcessFile(text, true, true);
    for (const imported of importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const target = resolveRel(srcDir, file, imported.fileName);
      if (target.startsWith('../')) continue;
      const to = layerOf(target);
      const forbidden = FORBIDDEN.find(([prefix, targets]) => rel.startsWith(prefix) && targets.includes(target));
      if (to !== undefined && to <= from && forbidden === undefined) continue;
      const edge = `${rel} -> ${target}`;
      if (known.has(edge)) {
        seen.add(edge);
        continue;
      }
      const line = text.slice(0, imported.pos).split('\n').length;
      violations.push(
        to === undefined
          ? `src/${rel}:${line}: imports ${target}, which is in no layer`
          : to > from
            ? `src/${rel}:${line}: ${layerName(from)} imports ${target} from ${layerName(to)}, a layer above it; move the shared part down`
            : `src/${rel}:${line}: imports ${target}: ${forbidden[2]}`,
      );
    }
  }
  return { violations, stale: [...known].filter((edge) => !seen.has(edge)) };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = process.argv[2] ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const { violations, stale } = checkImports(root);
  for (const edge of stale) console.error(`check-imports: "${edge}" no longer occurs: remove it from KNOWN in scripts/check-imports.mjs`);
  if (violations.length > 0) {
    console.error(
      `check-imports: ${violations.length} import(s) against the layer order (bottom first: ${LAYERS.map((l) => l.join(' ')).join(' < ')}) or FORBIDDEN:`,
    );
    for (const v of violations) console.error(`  ${v}`);
    process.exitCode = 1;
  }
}
