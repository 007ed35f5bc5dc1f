import { Box } from 'ink';
import { memo } from 'react';
import type { ProcessSort } from '../../model/sort.js';
import type { Layout } from '../layout.js';
import { fileLine, netLine, processHeader, processLine } from '../rows.js';
import type { FileAccess, SocketAccess } from '../../model/access.js';
import type { Focus } from '../state.js';
import { visibleSlice, type ProcessRow } from '../tree.js';
import { Block, Line } from './Line.js';
import { Pane } from './Pane.js';

interface Window {
  readonly index: number;
  readonly top: number;
}

export interface ContainerViewProps {
  /** Who the container is; then its limits, throttling, OOM kills and pressure (rows.ts containerInfo). */
  readonly info: readonly [string, string];
  /** Every process row (tree or flat); only the window is formatted. */
  readonly rows: readonly ProcessRow[];
  readonly processes: Window;
  readonly tree: boolean;
  readonly sort: ProcessSort;
  readonly reverse?: boolean;
  readonly empty: string;
  readonly files: readonly FileAccess[];
  readonly filesWindow: Window;
  readonly filesTitle: string;
  /** What the panes say when empty. @default "no open files known", "no sockets known" */
  readonly filesEmpty?: string;
  readonly networkEmpty?: string;
  readonly network: readonly SocketAccess[];
  readonly networkWindow: Window;
  readonly networkTitle: string;
  readonly focus: Focus;
  readonly layout: Layout;
  readonly color: boolean;
}

/**
 * ```
 *  web-1  docker 0123456789ab  image nginx  25 processes  running
 *  cpu 102.3% of 2.0 cores  mem 412M / 2.0G  throttled 5.0%  oom kills 0  pressure cpu 1.2 ...
 *      PID NSPID USER      CPU%   RSS  RD/s  WR/s  THR COMMAND (tree)
 * >   4242     1 root     100.0  412M     0  4.1M   25 ▾ nginx: master process
 * ▸ files of 4243 nginx (3)                ▸ network (2)
 * ```
 */
export const ContainerView = memo(function ContainerView(p: ContainerViewProps) {
  const l = p.layout;
  const visible = visibleSlice(p.rows, p.processes.top, l.processRows);
  const procFocused = p.focus === 'processes';
  const filler = Math.max(0, l.processRows - Math.max(1, visible.length));
  return (
    <Box flexDirection="column">
      <Line text={p.info[0]} color={p.color} style={{ bold: true }} />
      <Line text={p.info[1]} color={p.color} />
      <Line text={processHeader(l.columns, p.sort, p.tree, p.reverse)} color={p.color} style={{ bold: true }} />
      {visible.length === 0 ? <Line text={` ${p.empty}`} color={p.color} style={{ dim: true }} /> : null}
      <Block
        lines={visible.map((row, i) => processLine(row, l.columns, p.processes.top + i === p.processes.index, p.tree))}
        selected={p.processes.index - p.processes.top}
        color={p.color}
        selectedStyle={procFocused ? { inverse: true } : { bold: true }}
      />
      {filler > 0 ? <Box height={filler} /> : null}
      <Box flexDirection="row">
        <Pane
          title={p.filesTitle}
          rows={p.files}
          format={fileLine}
          index={p.filesWindow.index}
          top={p.filesWindow.top}
          height={l.paneRows}
          width={l.filesWidth}
          focused={p.focus === 'files'}
          empty={p.filesEmpty ?? 'no open files known'}
          color={p.color}
        />
        <Box width={1} />
        <Pane
          title={p.networkTitle}
          rows={p.network}
          format={netLine}
          index={p.networkWindow.index}
          top={p.networkWindow.top}
          height={l.paneRows}
          width={l.networkWidth}
          focused={p.focus === 'network'}
          empty={p.networkEmpty ?? 'no sockets known'}
          color={p.color}
        />
      </Box>
    </Box>
  );
});
