/** Every benchmark section, in the order `npm run bench` runs them. A new section is one module plus one line here. */
import { collectorSection } from './collector.js';
import type { Section } from './context.js';
import { fdsSection } from './fds.js';
import { sysdigSection } from './sysdig.js';

export const SECTIONS: readonly Section[] = [collectorSection, fdsSection, sysdigSection];
