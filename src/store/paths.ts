/**
 * Where the store and the config file live when no --db / --config is given. Root's store is system-wide
 * (/var/lib, like other daemons' state); a user's is per user under the XDG base directories, so an unprivileged
 * `bubble top` never writes into a shared place.
 */
import os from 'node:os';
import path from 'node:path';

/** XDG base directory: the variable when it is an absolute path (the spec says to ignore relative ones), else HOME/fallback. */
function xdgDir(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const value = env[variable];
  if (value !== undefined && path.isAbsolute(value)) return value;
  const home = env['HOME'] !== undefined && path.isAbsolute(env['HOME']) ? env['HOME'] : os.homedir();
  return path.join(home, fallback);
}

/**
 * `$BUBBLE_DB` when it is an absolute path (a test suite or a wrapper moves every command's default store with it),
 * else `/var/lib/bubble/bubble.db` for root, else `$XDG_STATE_HOME/bubble/bubble.db` (default `~/.local/state`).
 */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  const override = env['BUBBLE_DB'];
  if (override !== undefined && path.isAbsolute(override)) return override;
  if (uid === 0) return '/var/lib/bubble/bubble.db';
  return path.join(xdgDir(env, 'XDG_STATE_HOME', '.local/state'), 'bubble', 'bubble.db');
}

/**
 * `$BUBBLE_CONFIG` when it is an absolute path, else `/etc/bubble/config.json` for root, else
 * `$XDG_CONFIG_HOME/bubble/config.json` (default `~/.config`).
 */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  const override = env['BUBBLE_CONFIG'];
  if (override !== undefined && path.isAbsolute(override)) return override;
  if (uid === 0) return '/etc/bubble/config.json';
  return path.join(xdgDir(env, 'XDG_CONFIG_HOME', '.config'), 'bubble', 'config.json');
}

/**
 * Where running bubbles register so that they leave each other's /proc reads out of their descriptor passes
 * (collectors/instances.ts): `$BUBBLE_RUN_DIR` when it is an absolute path, else `/run/bubble/instances` for root;
 * undefined for other users (only root's registry is trusted, and another user's bubble is not readable anyway).
 */
export function defaultInstancesDir(env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string | undefined {
  const override = env['BUBBLE_RUN_DIR'];
  if (override !== undefined && path.isAbsolute(override)) return path.join(override, 'instances');
  return uid === 0 ? '/run/bubble/instances' : undefined;
}
