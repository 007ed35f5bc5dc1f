/**
 * scripts/check-imports.mjs, run as `npm test` runs it, on small source trees written here: an upward import fails
 * with the file and line, a downward one passes, and the repository itself passes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const SCRIPT = path.join(ROOT, 'scripts/check-imports.mjs');

function check(root?: string): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...(root === undefined ? [] : [root])], (error, _stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stderr });
    });
  });
}

describe('import direction check', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function tree(files: Record<string, string>): string {
    const root = mkdtempSync(path.join(tmpdir(), 'bubble-imports-'));
    dirs.push(root);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), text);
    }
    return root;
  }

  it('fails on model/ importing from collectors/, naming file and line', async () => {
    const root = tree({
      'src/collectors/probe.ts': 'export interface Probe { n: number }\n',
      'src/model/view.ts':
        "// import { x } from '../tui/x.js' is only a comment\nimport type { Probe } from '../collectors/probe.js';\nexport type V = Probe;\n",
    });
    const run = await check(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('src/model/view.ts:2: model/ imports collectors/probe.ts from collectors/');
    expect(run.stderr).not.toContain('tui/x');
  });

  it('fails on store/ importing from tui/ through a dynamic import', async () => {
    const root = tree({ 'src/tui/source.ts': 'export const a = 1;\n', 'src/store/q.ts': "export const b = () => import('../tui/source.js');\n" });
    const run = await check(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('src/store/q.ts:1: store/ imports tui/source.ts from tui/');
  });

  it('fails on tui/ opening the store, though store/ is below it', async () => {
    const root = tree({
      'src/store/database.ts': 'export const openStore = 1;\n',
      'src/store/tiers.ts': 'export const TIERS = 1;\n',
      'src/tui/view.ts':
        "import { TIERS } from '../store/tiers.js';\nimport { openStore } from '../store/database.js';\nexport const v = [TIERS, openStore];\n",
    });
    const run = await check(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('src/tui/view.ts:2: imports store/database.ts: the TUI does not open, lock or write the store');
    expect(run.stderr).not.toContain('tiers');
  });

  it('fails on a file in no layer', async () => {
    const root = tree({ 'src/elsewhere/x.ts': 'export const x = 1;\n' });
    const run = await check(root);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('src/elsewhere/x.ts: in no layer');
  });

  it('passes downward and same-layer imports', async () => {
    const root = tree({
      'src/format.ts': 'export const f = 1;\n',
      'src/errors/e.ts': "import { f } from '../format.js';\nexport const e = f;\n",
      'src/model/m.ts': "import { e } from '../errors/e.js';\nexport const m = e;\n",
      'src/tui/views/v.tsx': "import { m } from '../../model/m.js';\nimport { s } from '../state.js';\nexport const v = m + s;\n",
      'src/tui/state.ts': 'export const s = 1;\n',
      'src/bin/b.ts': "import { v } from '../tui/views/v.js';\nimport meow from 'meow';\nexport const b = [v, meow];\n",
    });
    const run = await check(root);
    expect(run.stderr).not.toMatch(/against the layer order/);
    expect(run.status).toBe(0);
  });

  it('passes on this repository (its known violations aside)', async () => {
    const run = await check();
    expect(run.stderr).not.toMatch(/against the layer order/);
    expect(run.status).toBe(0);
  });
});
