/**
 * Runs in every test worker before the test file's imports. Ink reads CI once, at import, and in CI draws only the
 * last frame; the TUI tests check every frame, as a user's terminal gets them (bubble top does the same on a TTY:
 * src/bin/env.ts). BUBBLE_REQUIRE_REAL, not CI, is what the tests use to know they run in CI.
 */
delete process.env['CI'];
delete process.env['CONTINUOUS_INTEGRATION'];
