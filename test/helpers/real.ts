/**
 * Real parts (root, cgroups, Docker, sysdig) are required in CI (BUBBLE_REQUIRE_REAL=1): a missing one fails the
 * test there. On a developer machine without them the test skips, saying which part is missing and why.
 */
import type { TestContext } from 'vitest';

export const requireReal = process.env['BUBBLE_REQUIRE_REAL'] === '1';

/** Call at the top of a test that needs `part`; `why` says what is missing when `available` is false. */
export function needReal(ctx: TestContext, part: string, available: boolean, why: string): void {
  if (available) return;
  const message = `${part} is not available: ${why}`;
  if (requireReal) throw new Error(`${message} (BUBBLE_REQUIRE_REAL=1: real parts are required)`);
  ctx.skip(message);
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
