/** `bubble clean --days N` / `--container X`: removes what the store holds of old or named containers. */
import { count, formatTime, safeText } from '../format.js';
import { matchContainer } from '../model/match.js';
import { openStore } from '../store/database.js';
import { findStoredContainers } from '../store/queries.js';
import { deleteContainers } from '../store/retention.js';
import type { Output } from './output.js';

export interface CleanOptions {
  readonly dbPath: string;
  readonly days?: number;
  readonly container?: string;
  readonly nowMs?: number;
}

export function runClean(options: CleanOptions, output: Output): void {
  const store = openStore(options.dbPath, { create: false });
  try {
    const now = options.nowMs ?? Date.now();
    const keys =
      options.container === undefined
        ? undefined
        : [matchContainer(options.container, findStoredContainers(store.db), { seen: 'recorded', where: `in the store ${safeText(store.path)}` }).key];
    const olderThanMs = options.days === undefined ? undefined : now - options.days * 86_400_000;
    const result = deleteContainers(store.db, {
      ...(keys !== undefined && { keys }),
      ...(olderThanMs !== undefined && { olderThanMs }),
    });
    const what = keys !== undefined ? `"${safeText(options.container!)}"` : `containers last seen before ${formatTime(olderThanMs!)}`;
    const removed = `${count(result.containers, 'container')}, ${count(result.processes, 'process', 'processes')} and ${count(result.rows, 'series row')}`;
    output.err(`bubble: removed ${removed} (${what}) from ${safeText(store.path)}\n`);
  } finally {
    store.close();
  }
}
