/** Every benchmark section, in the order `npm run bench` runs them. A new section is one module plus one line here. */
import { bpfSection } from './bpf.js';
import { collectorSection } from './collector.js';
import type { Section } from './context.js';
import { fdsSection } from './fds.js';
import { memorySection } from './memory.js';
import { serveSection } from './serve.js';
import { storeSection } from './store.js';
import { sysdigSection } from './sysdig.js';
import { topSection } from './top.js';
import { tuiSection } from './tui.js';

export const SECTIONS: readonly Section[] = [
  collectorSection,
  fdsSection,
  sysdigSection,
  bpfSection,
  topSection,
  storeSection,
  memorySection,
  serveSection,
  tuiSection,
];
