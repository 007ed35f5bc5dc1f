/**
 * The columns of top's two lists, by the names the config file's `columns` uses; src/tui/rows.ts draws each (one
 * table entry per name). In the order they are drawn when the config file does not say.
 */
export const CONTAINER_COLUMNS = ['name', 'kind', 'cpu', 'eff', 'mem', 'limit', 'net', 'blk', 'pids', 'uptime', 'status', 'image'] as const;
export type ContainerColumn = (typeof CONTAINER_COLUMNS)[number];

export const PROCESS_COLUMNS = ['pid', 'nspid', 'user', 'state', 'cpu', 'mem', 'rss', 'virt', 'read', 'write', 'threads', 'start', 'time', 'command'] as const;
export type ProcessColumn = (typeof PROCESS_COLUMNS)[number];

/** The column a list cannot do without: it names the row, and takes the width the others leave. */
export const CONTAINER_NAME_COLUMN: ContainerColumn = 'name';
export const PROCESS_NAME_COLUMN: ProcessColumn = 'command';
