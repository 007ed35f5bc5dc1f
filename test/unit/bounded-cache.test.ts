/** boundedCache replaces Ink's unbounded text caches in the bundle: it must stay bounded and keep what is in use. */
import { describe, expect, it } from 'vitest';
import { boundedCache } from '../../src/tui/bounded-cache.js';

describe('boundedCache', () => {
  it('holds at most two generations however many texts pass through it', () => {
    const cache = boundedCache<number>(100);
    for (let i = 0; i < 100_000; i++) cache.set(`frame ${i}`, i);
    expect(cache.size).toBeLessThanOrEqual(200);
    // The newest are there; the oldest are gone.
    expect(cache.get('frame 99999')).toBe(99_999);
    expect(cache.get('frame 0')).toBeUndefined();
  });

  it('keeps a text that is asked for every frame, while new texts stream past it', () => {
    const cache = boundedCache<string>(10);
    cache.set('header', 'H');
    for (let i = 0; i < 1_000; i++) {
      expect(cache.get('header')).toBe('H');
      cache.set(`row ${i}`, 'r');
    }
    expect(cache.size).toBeLessThanOrEqual(20);
  });
});
