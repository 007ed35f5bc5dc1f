import { Box } from 'ink';
import { memo } from 'react';
import { fileLine, paneTitle } from '../rows.js';
import type { FileRow } from '../source.js';
import { visibleSlice } from '../tree.js';
import { Block, Line } from './Line.js';

export interface PaneProps<Row> {
  readonly title: string;
  readonly rows: readonly Row[];
  readonly index: number;
  readonly top: number;
  readonly height: number;
  readonly width: number;
  readonly focused: boolean;
  readonly empty: string;
  readonly color: boolean;
}

/** Files the selected process has open at the cursor's time. */
export const FilesPane = memo(function FilesPane(p: PaneProps<FileRow>) {
  const visible = visibleSlice(p.rows, p.top, p.height);
  return (
    <Box flexDirection="column" width={p.width}>
      <Line text={paneTitle(p.title, p.width, p.focused)} color={p.color} style={{ bold: true, inverse: p.focused }} />
      {visible.length === 0 ? <Line text={`  ${p.empty}`} color={p.color} style={{ dim: true }} /> : null}
      <Block
        lines={visible.map((f, i) => fileLine(f, p.width, p.focused && p.top + i === p.index))}
        selected={p.focused ? p.index - p.top : -1}
        color={p.color}
        selectedStyle={{ inverse: true }}
      />
    </Box>
  );
});
