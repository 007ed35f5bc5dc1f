import { Box } from 'ink';
import { memo } from 'react';
import type { MenuLines } from '../menu.js';
import { Block } from './Line.js';

/** An open menu in place of the view's rows (F6 sort column, F9 signal and its confirmation). */
export const MenuView = memo(function MenuView(p: { readonly menu: MenuLines; readonly color: boolean }) {
  return (
    <Box flexDirection="column">
      <Block lines={p.menu.lines} selected={p.menu.selected} color={p.color} selectedStyle={{ inverse: true }} />
    </Box>
  );
});
