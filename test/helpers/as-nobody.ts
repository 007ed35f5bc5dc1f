/**
 * For tests that run real code as an unprivileged user (uid 65534): Node 20 cannot import .ts, and a non-root user
 * may not read every checkout, so the named modules of src/collectors are compiled with the project's own TypeScript
 * into a world-readable temp dir, next to a check script the test writes there.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const COLLECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/collectors');

/** A temp dir holding `<name>.js` for each module (imports of types only compile away) and a package.json. */
export function compiledCollectors(prefix: string, names: readonly string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755);
  for (const name of names) {
    const { outputText } = ts.transpileModule(readFileSync(path.join(COLLECTORS, `${name}.ts`), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    writeFileSync(path.join(dir, `${name}.js`), outputText, { mode: 0o644 });
  }
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}', { mode: 0o644 });
  return dir;
}

/** Writes `script` as check.js into `dir` (from compiledCollectors) and runs it as uid/gid 65534 with `args`. */
export function runAsNobody(dir: string, script: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  writeFileSync(path.join(dir, 'check.js'), script, { mode: 0o644 });
  const run = spawnSync(process.execPath, [path.join(dir, 'check.js'), ...args], {
    uid: 65534,
    gid: 65534,
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}
