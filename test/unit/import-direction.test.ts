/**
 * The layers import downwards only: model/ knows no collector, store/ no screen. A type both need lives in model/.
 * Read from the source files, so a new import that breaks the rule fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

/** `monitor/` composes collectors and the store: none of them imports it. */
const FORBIDDEN: Readonly<Record<string, readonly string[]>> = {
  model: ['collectors', 'store', 'monitor', 'tui', 'commands', 'bin'],
  store: ['monitor', 'tui', 'commands', 'bin'],
  collectors: ['monitor', 'tui', 'commands', 'bin'],
};

function sources(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .flatMap((e) => (e.isFile() && /\.tsx?$/.test(e.name) ? [path.join(e.parentPath, e.name)] : []));
}

/** The src/ top-level directory each relative import of a file lands in. */
function importedLayers(file: string, text = fs.readFileSync(file, 'utf8')): string[] {
  const layers: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = path.relative(path.join(ROOT, 'src'), path.resolve(path.dirname(file), m[1]!));
    layers.push(target.split(path.sep)[0]!);
  }
  return layers;
}

describe('import direction', () => {
  for (const [layer, forbidden] of Object.entries(FORBIDDEN)) {
    it(`src/${layer}/ imports nothing from ${forbidden.join(', ')}`, () => {
      const offending = sources(path.join(ROOT, 'src', layer)).flatMap((file) =>
        importedLayers(file)
          .filter((l) => forbidden.includes(l))
          .map((l) => `${path.relative(ROOT, file)} -> ${l}/`),
      );
      expect(offending).toEqual([]);
    });
  }

  it('finds an import that breaks the rule (the check itself can fail)', () => {
    const probe = path.join(ROOT, 'src', 'model', 'probe.ts');
    expect(importedLayers(probe, "import type {\n  ProcessFds,\n} from '../collectors/fds.js';\nimport { x } from './y.js';\n")).toEqual([
      'collectors',
      'model',
    ]);
  });
});
