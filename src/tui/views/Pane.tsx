import { Box } from 'ink';
import { memo, type ReactNode } from 'react';
import { paneTitle } from '../rows.js';
import { visibleSlice } from '../tree.js';
import { Block, Line } from './Line.js';

export interface PaneProps<Row> {
  readonly title: string;
  readonly rows: readonly Row[];
  /** One row as a screen line (rows.ts fileLine, netLine): a module function, so memo sees the same one. */
  readonly format: (row: Row, width: number, selected: boolean) => string;
  readonly index: number;
  readonly top: number;
  readonly height: number;
  readonly width: number;
  readonly focused: boolean;
  readonly empty: string;
  readonly color: boolean;
}

/** A titled, windowed list below the processes: the files pane and the network pane of the selected process. */
function PaneView<Row>(p: PaneProps<Row>): ReactNode {
  const visible = visibleSlice(p.rows, p.top, p.height);
  return (
    <Box flexDirection="column" width={p.width}>
      <Line text={paneTitle(p.title, p.width, p.focused)} width={p.width} color={p.color} style={{ bold: true, inverse: p.focused }} />
      {visible.length === 0 ? <Line text={`  ${p.empty}`} width={p.width} color={p.color} style={{ dim: true }} /> : null}
      <Block
        lines={visible.map((row, i) => p.format(row, p.width, p.focused && p.top + i === p.index))}
        width={p.width}
        selected={p.focused ? p.index - p.top : -1}
        color={p.color}
        selectedStyle={{ inverse: true }}
      />
    </Box>
  );
}

export const Pane = memo(PaneView) as <Row>(p: PaneProps<Row>) => ReactNode;
