/**
 * One CSV line per RFC 4180, made safe to open: a container names its processes and writes its command lines, so
 * every string cell is treated as hostile.
 *
 * - Control characters (ESC sequences, CR, LF, tab, C1, bidi overrides) are escaped by safeText() first, so `cat`ing
 *   the file cannot drive a terminal and every record is one physical line (grep, head, wc -l work on it).
 * - A string cell that a spreadsheet would evaluate (first character `=`, `+`, `-`, `@`, tab, CR or NUL, also after
 *   leading spaces) gets a leading `'` (OWASP "CSV Injection", ASVS 1.2.10). Numbers are never strings here, so the
 *   number -5 stays `-5`, while the string "-5" from a command line becomes `'-5`.
 * - Then RFC 4180: a field holding a comma, a double quote, CR or LF is quoted and its quotes doubled.
 * - Lines end in CRLF, as RFC 4180 says; every CSV reader (Excel, LibreOffice, pandas, csv-parse, Python's csv)
 *   accepts it.
 */
import { safeText } from '../format.js';

export type CsvValue = string | number | boolean | null | undefined;

export const CSV_EOL = '\r\n';

// Leading spaces are skipped because some spreadsheets trim them before deciding a cell is a formula.
const FORMULA = /^[ ]*[=+\-@\t\r\0]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell, before RFC 4180 quoting: what a spreadsheet sees. */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = safeText(value);
  return FORMULA.test(text) ? `'${text}` : text;
}

/** One field as written: the cell, quoted when RFC 4180 requires it. */
export function csvField(value: CsvValue): string {
  const cell = csvCell(value);
  return NEEDS_QUOTES.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

/** One record, ending in CRLF. null, undefined and a non-finite number are empty fields. */
export function csvRow(values: readonly CsvValue[]): string {
  return values.map(csvField).join(',') + CSV_EOL;
}
