/**
 * The columns of top's two lists, by the names the config file's `columns` uses; src/tui/rows.ts draws each (one
 * table entry per name). In the order they are drawn when the config file does not say.
 */
export const CONTAINER_COLUMNS = ['name', 'kind', 'cpu', 'eff', 'mem', 'limit', 'net', 'blk', 'procs', 'threads', 'uptime', 'status', 'image'] as const;
export type ContainerColumn = (typeof CONTAINER_COLUMNS)[number];

export const PROCESS_COLUMNS = [
  'pid',
  'nspid',
  'user',
  'step',
  'state',
  'cpu',
  'mem',
  'rss',
  'virt',
  'read',
  'write',
  'net',
  'threads',
  'start',
  'time',
  'command',
] as const;
export type ProcessColumn = (typeof PROCESS_COLUMNS)[number];

/** The column a list cannot do without: it names the row, and takes the width the others leave. */
export const CONTAINER_NAME_COLUMN: ContainerColumn = 'name';
export const PROCESS_NAME_COLUMN: ProcessColumn = 'command';

export type ColumnList = 'containers' | 'processes';

const KNOWN: Readonly<Record<ColumnList, readonly string[]>> = { containers: CONTAINER_COLUMNS, processes: PROCESS_COLUMNS };
const NAMING: Readonly<Record<ColumnList, string>> = { containers: CONTAINER_NAME_COLUMN, processes: PROCESS_NAME_COLUMN };

/**
 * The first thing wrong with `names` as the columns of `list` (the config file's `columns`, top's --columns), or
 * undefined: `bad` is the element at fault, for finding its line; `what` says it, e.g. `"memory" is not a column
 * (known: ...)`.
 */
export function columnsError(list: ColumnList, names: readonly unknown[]): { readonly bad?: unknown; readonly what: string } | undefined {
  const known = KNOWN[list];
  for (const [i, name] of names.entries()) {
    if (typeof name !== 'string' || !known.includes(name)) {
      const shown = typeof name === 'string' ? JSON.stringify(name) : String(JSON.stringify(name));
      return { bad: name, what: `${shown} is not a column (known: ${known.join(', ')})` };
    }
    if (names.indexOf(name) !== i) return { bad: name, what: `"${name}" is named twice` };
  }
  if (!names.includes(NAMING[list])) return { what: `"${NAMING[list]}" is missing (the column that names each row)` };
  return undefined;
}
