/** readSeconds(): the interval a rate divides by is the one between two reads of its counter group. */
import { describe, expect, it } from 'vitest';
import { readSeconds } from '../../src/model/read-time.js';

describe('readSeconds', () => {
  it("takes the read times when both samples carry them, not the ticks' starts", () => {
    // Ticks started 1.000 s apart, but the first tick read the counter 120 ms after its start, the second 5 ms after.
    expect(readSeconds(1_005e6, 120e6, 1_000e6, 0)).toBeCloseTo(0.885, 9);
  });

  it("falls back to a sample's start when it carries no read time", () => {
    expect(readSeconds(undefined, undefined, 2e9, 1e9)).toBe(1);
    expect(readSeconds(2.5e9, undefined, 2e9, 1e9)).toBe(1.5);
  });

  it('is 0 for a repeated read (same time) and never negative', () => {
    expect(readSeconds(7e9, 7e9, 8e9, 7e9)).toBe(0);
    expect(readSeconds(6e9, 7e9, 8e9, 7e9)).toBe(0);
  });
});
