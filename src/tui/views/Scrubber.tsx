import { Text } from 'ink';
import { memo } from 'react';
import { scrubberLine } from '../rows.js';
import { Line } from './Line.js';

export interface ScrubberProps {
  /** Sparklines of CPU and memory over the visible range, one character per bucket, ending at the cursor. */
  readonly cpu: string;
  readonly mem: string;
  /** `  second ◀ 21:23:04 ▶ live` */
  readonly right: string;
  readonly width: number;
  readonly color: boolean;
}

/** ` cpu ▁▂▃▅▇█ mem ▃▃▃▄▄▄  second ◀ 21:23:04 ▶ live` */
export const Scrubber = memo(function Scrubber(p: ScrubberProps) {
  const text = scrubberLine(p.cpu, p.mem, p.right, p.width);
  const fits = ` cpu ${p.cpu} mem ${p.mem}${p.right}`.length <= p.width;
  if (!p.color || !fits) return <Line text={text} color={p.color} />;
  return (
    <Text wrap="truncate-end">
      {' cpu '}
      <Text color="green">{p.cpu}</Text>
      {' mem '}
      <Text color="blue">{p.mem}</Text>
      <Text bold>{p.right.trimEnd()}</Text>
    </Text>
  );
});
