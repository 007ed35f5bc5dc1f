/**
 * Runs in every test worker before the test file's imports. Ink reads CI once, at import, and in CI draws only the
 * last frame; the TUI tests check every frame, as a user's terminal gets them (bubble top does the same on a TTY:
 * src/bin/env.ts). BUBBLE_REQUIRE_REAL, not CI, is what the tests use to know they run in CI.
 *
 * The suite is hermetic: BUBBLE_DB moves the default store (defaultDbPath(), so every command run without --db, in
 * this process and in the CLI children that inherit the environment; the tmux helper passes it on explicitly) to a
 * private path that does not exist, so no test reads or writes /var/lib/bubble/bubble.db or a user's store.
 * BUBBLE_CONFIG does the same for /etc/bubble/config.json, and BUBBLE_RUN_DIR for /run/bubble (where running bubbles
 * register: collectors/instances.ts). A test about the defaults sets its own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

delete process.env['CI'];
delete process.env['CONTINUOUS_INTEGRATION'];

const defaultStoreDir = path.join(os.tmpdir(), `bubble-test-default-store-${process.pid}`);
process.env['BUBBLE_DB'] = path.join(defaultStoreDir, 'bubble.db');
process.env['BUBBLE_CONFIG'] = path.join(defaultStoreDir, 'config.json');
process.env['BUBBLE_RUN_DIR'] = path.join(defaultStoreDir, 'run');
afterAll(() => fs.rmSync(defaultStoreDir, { recursive: true, force: true }));
