import { describe, expect, it } from 'vitest';
import stringWidth from 'string-width';
import {
  displayWidth,
  fitColumns,
  formatBytes,
  formatCpuTime,
  formatDuration,
  formatPercent,
  formatStart,
  formatTable,
  safeText,
  truncate,
} from '../../src/format.js';
import type { ContainerView } from '../../src/model/snapshot.js';
import { containerLine, fileLine } from '../../src/tui/rows.js';

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

describe('formatCpuTime and formatStart', () => {
  it("CPU time as htop's TIME+: minutes:seconds.hundredths, then hours, then days", () => {
    expect(formatCpuTime(7.52e9)).toBe('0:07.52');
    expect(formatCpuTime(610.6e9)).toBe('10:10.60');
    expect(formatCpuTime(3599.999e9)).toBe('59:59.99');
    expect(formatCpuTime(7509e9)).toBe('2h05:09');
    expect(formatCpuTime(360_000e9)).toBe('4d04h');
    expect(formatCpuTime(undefined)).toBe('-');
  });

  it("a start as ps's START: the time the same local day, else the date", () => {
    const now = new Date(2026, 10, 21, 21, 23, 4).getTime();
    expect(formatStart(new Date(2026, 10, 21, 0, 5).getTime(), now)).toBe('00:05');
    expect(formatStart(new Date(2026, 10, 20, 23, 59).getTime(), now)).toBe('11-20');
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

describe('wide characters (CJK, emoji) take the columns a terminal gives them', () => {
  const names = ['web', '日本語の名前', '🐳-whale', 'café', 'e\u0301cole', '👩‍💻-dev'];

  it('measures, cuts and pads by display width, never splitting a wide character', () => {
    expect(displayWidth('日本語')).toBe(6);
    expect(displayWidth('🐳')).toBe(2);
    expect(displayWidth('e\u0301')).toBe(1);
    expect(truncate('日本語の名前', 5)).toBe('日本…');
    expect(truncate('日本語の名前', 6)).toBe('日本…');
    expect(truncate('日本語', 6)).toBe('日本語');
    expect(truncate('🐳🐳🐳', 4)).toBe('🐳…');
    for (const name of names) {
      for (const width of [1, 3, 5, 8, 12]) {
        expect(stringWidth(truncate(name, width))).toBeLessThanOrEqual(width);
        expect(stringWidth(fitColumns(name, width, 'left'))).toBe(width);
        expect(stringWidth(fitColumns(name, width, 'right'))).toBe(width);
      }
    }
  });

  it('ls-style tables keep every column aligned with wide names', () => {
    const text = formatTable(
      names.map((name, i) => ({ name, cpu: i * 10.5 })),
      [
        { header: 'NAME', align: 'left', value: (r) => r.name },
        { header: 'CPU%', align: 'right', value: (r) => formatPercent(r.cpu) },
        { header: 'STATE', align: 'left', value: () => 'running' },
      ],
    );
    const lines = text.trimEnd().split('\n');
    // Every row is as wide as the others, and the CPU column ends where the header's does.
    expect(new Set(lines.slice(1).map((l) => stringWidth(l))).size).toBe(1);
    const cpuEnd = (l: string): number => stringWidth(l.slice(0, l.includes(' STATE') ? l.indexOf(' STATE') : l.lastIndexOf(' running')));
    expect(new Set(lines.map(cpuEnd)).size).toBe(1);
  });

  it('TUI list rows are exactly the terminal width with wide names', () => {
    const container = (name: string): ContainerView =>
      ({ key: `docker:${name}`, kind: 'docker', id: 'abc', name, processCount: 1, pressure: {} }) as unknown as ContainerView;
    for (const width of [60, 80, 120]) {
      const line = (name: string): string => containerLine(container(name), width, false);
      const ascii = stringWidth(line('web'));
      for (const name of names) expect(stringWidth(line(name.repeat(6)))).toBe(ascii);
    }
  });

  it('the files pane shows " (deleted)" once for an unlinked file', () => {
    const line = fileLine({ fd: 4, path: '/tmp/日本.log', mode: 'w', deleted: true }, 80, false);
    expect(line).toBe('   4 w   /tmp/日本.log (deleted)');
  });
});
