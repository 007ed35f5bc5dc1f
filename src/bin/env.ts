/**
 * Imported first by the CLI entry: React (under Ink) reads NODE_ENV when it loads, and its development build costs
 * a third more CPU per frame. Users get the production build unless they ask otherwise.
 */
process.env['NODE_ENV'] ??= 'production';
export {};
