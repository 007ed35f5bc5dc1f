import { memo } from 'react';
import { scrubberLine } from '../rows.js';
import { Line, Lines } from './Line.js';

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
  if (!p.color || !fits) return <Line text={text} width={p.width} color={p.color} />;
  const spans = [
    { text: ' cpu ' },
    { text: p.cpu, style: { color: 'green' } },
    { text: ' mem ' },
    { text: p.mem, style: { color: 'blue' } },
    { text: p.right.trimEnd(), style: { bold: true } },
  ] as const;
  return <Lines lines={[spans]} width={p.width} color={p.color} />;
});
