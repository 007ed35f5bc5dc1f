/**
 * One table format for every benchmark section: rows of measured figures, then budget checks with PASS/OVER. Sections
 * only return numbers; how they look is decided here, so `npm run bench` reads the same whatever sections run.
 */

/** One measured thing. Every figure is optional: a section fills what it measures. */
export interface Row {
  readonly label: string;
  /** How many runs the figures summarise. */
  readonly n: number;
  /** Wall time per run, milliseconds. */
  readonly medianMs?: number;
  readonly bestMs?: number;
  /** CPU time (user + system) per run, milliseconds. */
  readonly cpuMs?: number;
  /** Median wall time per item (process, record, frame...), microseconds; `perItem` names the item. */
  readonly perItemUs?: number;
  /** Throughput, items per second. */
  readonly ratePerSec?: number;
  /** Median wall time relative to the section's reference row (e.g. ps): 0.25 = a quarter of it. */
  readonly ratio?: number;
  readonly note?: string;
}

/** A budget from an issue, checked against a measured figure. */
export interface Check {
  readonly name: string;
  readonly measured: number;
  readonly limit: number;
  readonly unit: 'µs' | 'ms' | '×' | '/s' | 'MB';
  /** 'below' (default): pass when measured < limit; 'above': pass when measured > limit (rates). */
  readonly direction?: 'below' | 'above';
}

export interface SectionResult {
  readonly title: string;
  /** What the `per item` column counts, e.g. 'process'. */
  readonly perItem?: string;
  /** Column header of `ratio`, e.g. 'vs ps'. */
  readonly ratioOf?: string;
  readonly rows: readonly Row[];
  readonly checks: readonly Check[];
  readonly notes: readonly string[];
}

export function passes(c: Check): boolean {
  return (c.direction ?? 'below') === 'below' ? c.measured < c.limit : c.measured > c.limit;
}

/** Milliseconds in the unit a reader takes in at a glance (µs below 1 ms, s from 10 s). */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms === 0) return '0';
  if (ms < 1) return `${(ms * 1000).toFixed(ms < 0.01 ? 2 : 0)} µs`;
  if (ms < 10_000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

export function formatUs(us: number): string {
  if (!Number.isFinite(us)) return '-';
  return us < 1000 ? `${us.toFixed(us < 10 ? 2 : 1)} µs` : formatMs(us / 1000);
}

export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(r < 10 ? 2 : 1)}×` : '-';
}

export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return '-';
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)} M/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(1)} k/s`;
  return `${perSec.toFixed(0)} /s`;
}

function formatValue(value: number, unit: Check['unit']): string {
  switch (unit) {
    case 'µs':
      return formatUs(value);
    case 'ms':
      return formatMs(value);
    case '×':
      return formatRatio(value);
    case '/s':
      return formatRate(value);
    case 'MB':
      return `${value.toFixed(1)} MB`;
  }
}

/** Left-aligned first column, right-aligned figures; columns with no value in any row are left out. */
export function renderTable(header: readonly string[], body: readonly (readonly string[])[]): string[] {
  const keep = header.map((_, i) => i === 0 || body.some((r) => (r[i] ?? '') !== ''));
  const cols = header.map((_, i) => i).filter((i) => keep[i]);
  const width = cols.map((i) => Math.max(header[i]!.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    ' ' +
    cols
      .map((i, k) => {
        const cell = cells[i] ?? '';
        return k === 0 ? cell.padEnd(width[k]!) : cell.padStart(width[k]!);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)];
}

export function renderSection(name: string, r: SectionResult): string[] {
  const out: string[] = [`== ${name}: ${r.title} ==`];
  const per = r.perItem === undefined ? 'per item' : `per ${r.perItem}`;
  out.push(
    ...renderTable(
      ['measure', 'n', 'median', 'best', 'cpu/run', per, 'rate', r.ratioOf ?? 'ratio'],
      r.rows.map((row) => [
        row.note === undefined ? row.label : `${row.label}  (${row.note})`,
        String(row.n),
        row.medianMs === undefined ? '' : formatMs(row.medianMs),
        row.bestMs === undefined ? '' : formatMs(row.bestMs),
        row.cpuMs === undefined ? '' : formatMs(row.cpuMs),
        row.perItemUs === undefined ? '' : formatUs(row.perItemUs),
        row.ratePerSec === undefined ? '' : formatRate(row.ratePerSec),
        row.ratio === undefined ? '' : formatRatio(row.ratio),
      ]),
    ),
  );
  if (r.checks.length > 0) {
    out.push('');
    out.push(
      ...renderTable(
        ['budget', 'measured', 'limit', 'verdict'],
        r.checks.map((c) => [
          c.name,
          formatValue(c.measured, c.unit),
          `${(c.direction ?? 'below') === 'below' ? '<' : '>'} ${formatValue(c.limit, c.unit)}`,
          passes(c) ? 'PASS' : 'OVER',
        ]),
      ),
    );
  }
  for (const note of r.notes) out.push(` note: ${note}`);
  return out;
}
