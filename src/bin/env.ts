/**
 * Imported first by the CLI entry, before React and Ink load: both read the environment once, at import.
 * - React's development build costs a third more CPU per frame: users get the production build unless they ask.
 * - Ink draws nothing but the last frame when CI is set (is-in-ci). `top` and `replay` only ever run on a terminal
 *   (they refuse anything else), where a blank screen is never what the user wants, CI job or not.
 */
process.env['NODE_ENV'] ??= 'production';
const command = process.argv[2];
if ((command === 'top' || command === 'replay') && process.stdout.isTTY === true) {
  delete process.env['CI'];
  delete process.env['CONTINUOUS_INTEGRATION'];
}
export {};
