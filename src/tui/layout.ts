/**
 * How many lines each part of the screen gets, from the terminal size alone (pure, so the reducer can window lists
 * with the same numbers the views draw with).
 *
 * ```
 *  header                                   1
 *  containers view:  column header + list   1 + containerRows
 *  container view:   info (2) + column header + processes + pane title + panes
 *  scrubber                                 1
 *  status line                              1
 * ```
 * The frame is one line shorter than the terminal: Ink clears the whole terminal on every frame that fills it
 * (a flicker over ssh), and redraws only what it drew when the frame leaves the last line free.
 */

export const MIN_COLUMNS = 40;
export const MIN_ROWS = 10;

/** Lines above and below the view: header, scrubber, status line. */
const CHROME = 3;
/** Lines of the container view that are not list rows: two info lines, the column header, the panes' title. */
const CONTAINER_FIXED = 4;

export interface Layout {
  readonly columns: number;
  /** Lines the frame draws (rows - 1). */
  readonly lines: number;
  /** Lines between header and scrubber. */
  readonly body: number;
  /** Rows of the containers list. */
  readonly containerRows: number;
  /** Rows of the process list. */
  readonly processRows: number;
  /** Rows of each of the files and network panes (side by side). */
  readonly paneRows: number;
  /** Width of the files pane; the network pane gets the rest after a one-column gap. */
  readonly filesWidth: number;
  readonly networkWidth: number;
}

export function layout(columns: number, rows: number): Layout {
  const cols = Math.max(MIN_COLUMNS, Math.floor(columns));
  const lines = Math.max(MIN_ROWS, Math.floor(rows)) - 1;
  const body = lines - CHROME;
  const lists = Math.max(2, body - CONTAINER_FIXED);
  // Panes get about a third: enough for a handful of files and sockets without starving the process list.
  const paneRows = Math.max(1, Math.round(lists * 0.32));
  const filesWidth = Math.floor((cols - 1) / 2);
  return {
    columns: cols,
    lines,
    body,
    containerRows: Math.max(1, body - 1),
    processRows: Math.max(1, lists - paneRows),
    paneRows,
    filesWidth,
    networkWidth: cols - 1 - filesWidth,
  };
}

/**
 * The first visible row of a window of `height` rows over `count` rows that keeps `index` visible, moving `top` as
 * little as possible (the list scrolls only when the selection would leave it).
 */
export function scrollWindow(index: number, top: number, count: number, height: number): number {
  if (count <= height || height <= 0) return 0;
  let t = Math.min(Math.max(0, top), count - height);
  if (index < t) t = index;
  else if (index >= t + height) t = index - height + 1;
  return Math.min(Math.max(0, t), count - height);
}
