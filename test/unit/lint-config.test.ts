/**
 * biome.jsonc's rule set, on probe files in a copy of the project's config: the rules chosen to catch bugs fire, and
 * the idioms this code base uses on purpose (non-null assertions under noUncheckedIndexedAccess, bracket access to
 * index signatures, control characters in the escaping regexes, memo assignments) pass.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const BIOME = path.join(ROOT, 'node_modules/.bin/biome');

/** Lints `files` (relative path -> text) with the project's biome.jsonc and package.json; returns "path rule" lines. */
function lint(dir: string, files: Record<string, string>): Promise<string[]> {
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return new Promise((resolve, reject) => {
    execFile(BIOME, ['lint', '--vcs-enabled=false', '--max-diagnostics=100', ...Object.keys(files)], { cwd: dir }, (_error, stdout, stderr) => {
      // A configuration Biome cannot read lints nothing: that must fail here, not pass as "no findings".
      if (!/Checked \d+ files?/.test(stdout + stderr)) return reject(new Error(`biome did not lint: ${stdout}${stderr}`));
      const found = [...(stdout + stderr).matchAll(/^(\S+?):\d+:\d+ (lint\/\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
      resolve(found);
    });
  });
}

describe('lint rules', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bubble-lint-'));
  copyFileSync(path.join(ROOT, 'biome.jsonc'), path.join(dir, 'biome.jsonc'));
  copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('catch floating and misused promises, undeclared packages, unused imports and focused tests', async () => {
    const found = await lint(dir, {
      'src/floating.ts': 'async function f(): Promise<void> {}\nexport function g(): void {\n  f();\n}\n',
      'src/misused.ts': 'export function g(items: number[]): void {\n  items.forEach(async () => {});\n}\n',
      'src/undeclared.ts': "import si from 'systeminformation';\nexport const x = si;\n",
      'src/unused.ts': "import { readFileSync } from 'node:fs';\nexport const y = 1;\n",
      'test/focused.test.ts': "import { it } from 'vitest';\nit.only('x', () => {});\n",
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'src/floating.ts lint/nursery/noFloatingPromises',
        'src/misused.ts lint/nursery/noMisusedPromises',
        'src/undeclared.ts lint/correctness/noUndeclaredDependencies',
        'src/unused.ts lint/correctness/noUnusedImports',
        'test/focused.test.ts lint/suspicious/noFocusedTests',
      ]),
    );
  });

  it("pass the code base's deliberate idioms", async () => {
    const found = await lint(dir, {
      'src/idioms.ts': [
        'const CONTROL = /[\\u0000-\\u001f]/g;',
        'const cache = new Map<string, number[]>();',
        'export function f(env: Record<string, string>, list: number[], key: string): number {',
        '  let memo: number[] | undefined;',
        '  (memo ??= []).push(list[0]!);',
        '  if (cache.get(key) === undefined) cache.set(key, (memo = []));',
        "  return CONTROL.test(env['HOME'] ?? '') ? memo.length : 0;",
        '}',
        // `fit` here is the table helper, not Jasmine's focused it.
        'export const fit = (s: string): string => s;',
        "export const row = fit('x');",
        '',
      ].join('\n'),
    });
    expect(found).toEqual([]);
  });
});
