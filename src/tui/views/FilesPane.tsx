import { Box } from 'ink';
import { memo } from 'react';
import { fileLine, paneTitle } from '../rows.js';
import type { FileRow } from '../source.js';
import { visibleSlice } from '../tree.js';
import { Line } from './Line.js';

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
      {visible.map((f, i) => {
        const selected = p.focused && p.top + i === p.index;
        return <Line key={i} text={fileLine(f, p.width, selected)} color={p.color} style={selected ? { inverse: true } : undefined} />;
      })}
    </Box>
  );
});
