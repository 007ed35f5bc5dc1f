import { describe, expect, it } from 'vitest';
import { GapReporter } from '../../src/commands/record.js';

const notRoot = (n: number): string => `not root: I/O bytes, executables and environments of ${n} processes are unreadable; run with sudo for the full picture`;

describe('GapReporter', () => {
  it('says a permission line once while only its count changes, again when what is missing changes in kind', () => {
    const r = new GapReporter();
    expect(r.lines([notRoot(120)])).toEqual([notRoot(120)]);
    for (let n = 121; n < 136; n++) expect(r.lines([notRoot(n)])).toEqual([]);
    const docker = 'no Docker socket at /var/run/docker.sock: containers show short ids';
    expect(r.lines([notRoot(140), docker])).toEqual([notRoot(140), docker]);
    expect(r.lines([notRoot(141), docker])).toEqual([]);
    expect(r.lines([notRoot(141)])).toEqual([notRoot(141)]);
  });

  it('leaves the bridge counts to their own reporter', () => {
    const r = new GapReporter();
    expect(r.lines(['sysdig bridge: 10 lines, 0 skipped'])).toEqual([]);
  });
});
