/**
 * Colour on and off. Ink's colours come from chalk, which decides at import whether the terminal takes colour: force
 * it before importing Ink (here, in this file only, so Ink and whatever imports it are imported dynamically), then check
 * that NO_COLOR alone turns every escape sequence off.
 */
process.env.TZ = 'UTC';
process.env['FORCE_COLOR'] = '1';
import { afterEach, describe, expect, it } from 'vitest';
import { dockerSpec, FixedSource, HOST_SPEC, keyOf, snapshotOf } from '../helpers/fixed-source.js';
import { source, WEB_KEY } from './world.js';

const { render, cleanup } = await import('ink-testing-library');
const { App, colorFromEnv } = await import('../../src/tui/App.js');

const ANY_ESC = /[\u001b\u009b]/;
// Not from ./harness.js: that imports Ink, and every static import runs before FORCE_COLOR is set.
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

afterEach(() => {
  cleanup();
  delete process.env['NO_COLOR'];
});

describe('NO_COLOR', () => {
  it('reads NO_COLOR as no-color.org says: present and not empty', () => {
    expect(colorFromEnv({})).toBe(true);
    expect(colorFromEnv({ NO_COLOR: '' })).toBe(true);
    expect(colorFromEnv({ NO_COLOR: '1' })).toBe(false);
    expect(colorFromEnv({ NO_COLOR: '0' })).toBe(false);
  });

  it('draws with colour and inverse selection when NO_COLOR is unset', async () => {
    const r = render(<App source={source()} containerKey={WEB_KEY} columns={80} rows={24} />);
    await settle();
    const f = r.lastFrame() ?? '';
    expect(f).toMatch(/\u001b\[7m>\s+4242 /);
    // Status levels are coloured: the warning yellow (33), ok green (32).
    expect(f).toContain('\u001b[33mno root: I/O hidden');
    expect(f).toContain('\u001b[32mdocker ok');
  });

  it('draws plain text when NO_COLOR is set: no escape sequence at all', async () => {
    process.env['NO_COLOR'] = '1';
    const r = render(<App source={source()} containerKey={WEB_KEY} columns={80} rows={24} />);
    await settle();
    r.stdin.write('\t');
    await settle();
    const f = r.lastFrame() ?? '';
    expect(f).not.toMatch(ANY_ESC);
    expect(f).toContain('>   4242 ');
    expect(f).toContain('▸ files of 4242 nginx (1)');
  });

  it('keeps a hostile name harmless with colour on: only the styles are escape sequences', async () => {
    const bad = dockerSpec('e', 'x');
    const s = new FixedSource({
      snapshots: [
        snapshotOf({
          containers: [bad, HOST_SPEC],
          processes: [{ pid: 7, comm: '\u001b]0;pwned\u0007', cmdline: 'x \u001b[2J\u009b31m', container: keyOf(bad) }],
        }),
      ],
    });
    const r = render(<App source={s} containerKey={keyOf(bad)} columns={80} rows={24} />);
    await settle();
    const f = r.lastFrame() ?? '';
    expect(f).toContain('x \\e[2J\\x9b31m');
    expect(f).not.toContain('\u001b]');
    expect(f).not.toContain('\u0007');
    expect(f).not.toContain('\u001b[2J');
    expect(f).not.toContain('\u009b');
  });
});
