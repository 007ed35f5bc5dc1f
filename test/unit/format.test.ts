import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatPercent, formatTable, safeText, truncate } from '../../src/format.js';

describe('formatBytes', () => {
  it('uses binary units with one decimal below 10', () => {
    expect(formatBytes(0)).toBe('0');
    expect(formatBytes(1023)).toBe('1023');
    expect(formatBytes(1536)).toBe('1.5K');
    expect(formatBytes(340 * 1024)).toBe('340K');
    expect(formatBytes(412 * 1024 ** 2)).toBe('412M');
    expect(formatBytes(2 * 1024 ** 3)).toBe('2.0G');
    expect(formatBytes(undefined)).toBe('-');
  });
});

describe('formatPercent and formatDuration', () => {
  it('formats', () => {
    expect(formatPercent(102.345)).toBe('102.3');
    expect(formatPercent(undefined)).toBe('-');
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(245)).toBe('4m05s');
    expect(formatDuration(7380)).toBe('2h03m');
    expect(formatDuration(3 * 86400 + 4 * 3600)).toBe('3d04h');
  });
});

describe('safeText', () => {
  it('escapes terminal control sequences a container could put in a process name', () => {
    const evil = '\u001b]0;pwned\u0007\u001b[2Jname\r\nnext\u009b31m\u202eabc';
    const safe = safeText(evil);
    expect(safe).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(safe).toBe('\\e]0;pwned\\x07\\e[2Jname\\r\\nnext\\x9b31m\\u202eabc');
  });
  it('leaves ordinary text, unicode and backslashes alone', () => {
    expect(safeText('python3 -m http.server 8080 ünï ✓ C:\\x')).toBe('python3 -m http.server 8080 ünï ✓ C:\\x');
  });
});

describe('formatTable', () => {
  it('pads, right-aligns numbers, cuts the last column to the width, and escapes cells', () => {
    const rows = [
      { pid: 1, cmd: 'init' },
      { pid: 4242, cmd: 'a very long command line that will not fit\u001b[31m' },
    ];
    const text = formatTable(
      rows,
      [
        { header: 'PID', align: 'right', value: (r) => String(r.pid) },
        { header: 'COMMAND', align: 'left', value: (r) => r.cmd },
      ],
      30,
    );
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(' PID COMMAND');
    expect(lines[1]).toBe('   1 init');
    expect(lines[2]!.length).toBe(30);
    expect(lines[2]!.endsWith('…')).toBe(true);
    expect(text).not.toContain('\u001b');
    expect(truncate('abcdef', 4)).toBe('abc…');
  });
});
