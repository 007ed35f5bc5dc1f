import { Box } from 'ink';
import { memo } from 'react';
import { netLine, paneTitle } from '../rows.js';
import type { NetRow } from '../source.js';
import { visibleSlice } from '../tree.js';
import type { PaneProps } from './FilesPane.js';
import { Block, Line } from './Line.js';

/** Sockets of the selected process at the cursor's time: protocol, state, local → remote. */
export const NetworkPane = memo(function NetworkPane(p: PaneProps<NetRow>) {
  const visible = visibleSlice(p.rows, p.top, p.height);
  return (
    <Box flexDirection="column" width={p.width}>
      <Line text={paneTitle(p.title, p.width, p.focused)} color={p.color} style={{ bold: true, inverse: p.focused }} />
      {visible.length === 0 ? <Line text={`  ${p.empty}`} color={p.color} style={{ dim: true }} /> : null}
      <Block
        lines={visible.map((n, i) => netLine(n, p.width, p.focused && p.top + i === p.index))}
        selected={p.focused ? p.index - p.top : -1}
        color={p.color}
        selectedStyle={{ inverse: true }}
      />
    </Box>
  );
});
