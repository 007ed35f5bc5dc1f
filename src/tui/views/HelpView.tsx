import { Box } from 'ink';
import { memo } from 'react';
import { helpLines } from '../rows.js';
import { Block } from './Line.js';

/** Every key, listed from the keymap table itself (src/tui/keymap.ts). */
export const HelpView = memo(function HelpView(p: { readonly width: number; readonly height: number; readonly color: boolean }) {
  return (
    <Box flexDirection="column">
      <Block lines={helpLines(p.width, p.height)} width={p.width} selected={0} color={p.color} selectedStyle={{ bold: true }} />
    </Box>
  );
});
