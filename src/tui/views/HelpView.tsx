import { Box } from 'ink';
import { memo } from 'react';
import { helpLines } from '../rows.js';
import { Line } from './Line.js';

/** Every key, listed from the keymap table itself (src/tui/keymap.ts). */
export const HelpView = memo(function HelpView(p: { readonly width: number; readonly height: number; readonly color: boolean }) {
  return (
    <Box flexDirection="column">
      {helpLines(p.width, p.height).map((line, i) => (
        <Line key={i} text={line} color={p.color} style={i === 0 ? { bold: true } : undefined} />
      ))}
    </Box>
  );
});
