import { Box } from 'ink';
import { memo } from 'react';
import type { ContainerView } from '../../model/snapshot.js';
import type { ContainerSort } from '../../model/sort.js';
import { containerHeader, containerLine } from '../rows.js';
import { visibleSlice } from '../tree.js';
import { Block, Line } from './Line.js';

export interface ContainersViewProps {
  /** Every container row, sorted and filtered; only the window [top, top + height) is formatted. */
  readonly rows: readonly ContainerView[];
  readonly index: number;
  readonly top: number;
  readonly height: number;
  readonly width: number;
  readonly sort: ContainerSort;
  readonly reverse?: boolean;
  /** Shown instead of rows when there are none. */
  readonly empty: string;
  readonly color: boolean;
}

/** The containers list: one line per container, `host` last. */
export const ContainersView = memo(function ContainersView(p: ContainersViewProps) {
  const visible = visibleSlice(p.rows, p.top, p.height);
  return (
    <Box flexDirection="column">
      <Line text={containerHeader(p.width, p.sort, p.reverse)} color={p.color} style={{ bold: true }} />
      {visible.length === 0 ? <Line text={` ${p.empty}`} color={p.color} style={{ dim: true }} /> : null}
      <Block
        lines={visible.map((c, i) => containerLine(c, p.width, p.top + i === p.index))}
        selected={p.index - p.top}
        color={p.color}
        selectedStyle={{ inverse: true }}
      />
    </Box>
  );
});
