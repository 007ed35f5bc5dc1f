import { memo } from 'react';
import { headerLine, type HeaderFacts } from '../rows.js';
import { Line } from './Line.js';

/** ` bubble  host vm  2 cpu  23.5G  21 containers  live 1s            ? help` */
export const Header = memo(function Header(props: { readonly facts: HeaderFacts; readonly width: number; readonly color: boolean }) {
  return <Line text={headerLine(props.facts, props.width)} width={props.width} color={props.color} style={{ bold: true }} />;
});
