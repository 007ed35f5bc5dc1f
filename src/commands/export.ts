/** `bubble export`: streams stored rows as RFC 4180 CSV or JSON lines, to stdout or --out FILE. */
import fs from 'node:fs';
import { BubbleError } from '../errors/bubble-error.js';
import { matchContainer } from '../model/match.js';
import { openStore } from '../store/database.js';
import { exportRows, type ExportFormat, type ExportWhat } from '../store/export.js';
import { findStoredContainers } from '../store/queries.js';
import type { Tier } from '../store/tiers.js';
import type { Output } from './output.js';

export interface ExportCommandOptions {
  readonly dbPath: string;
  readonly format: ExportFormat;
  readonly what: ExportWhat;
  readonly container?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
  readonly tier?: Tier;
  readonly outPath?: string;
}

export function runExport(options: ExportCommandOptions, output: Output): void {
  const store = openStore(options.dbPath, { readonly: true });
  try {
    const containerKeys = options.container === undefined ? undefined : [matchContainer(options.container, findStoredContainers(store.db)).key];
    let fd: number | undefined;
    if (options.outPath !== undefined) {
      try {
        // 0600: exported command lines are as sensitive as the store.
        fd = fs.openSync(options.outPath, 'w', 0o600);
      } catch (error) {
        throw new BubbleError(`cannot write ${options.outPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}; pick another --out`, {
          cause: error,
        });
      }
    }
    try {
      const write = fd === undefined ? (chunk: string) => output.out(chunk) : (chunk: string) => fs.writeSync(fd, chunk);
      const rows = exportRows(
        store.db,
        {
          what: options.what,
          format: options.format,
          ...(containerKeys !== undefined && { containerKeys }),
          ...(options.sinceMs !== undefined && { sinceMs: options.sinceMs }),
          ...(options.untilMs !== undefined && { untilMs: options.untilMs }),
          ...(options.tier !== undefined && { tier: options.tier }),
        },
        write,
      );
      if (fd !== undefined) output.err(`bubble: wrote ${rows} rows to ${options.outPath}\n`);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  } finally {
    store.close();
  }
}
