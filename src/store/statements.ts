/**
 * Prepared statements kept per connection and SQL text. The TUI asks the store for the same few queries every frame
 * (the range, the sparkline, the state at the cursor): preparing each again cost more than running it.
 */
import type Database from 'better-sqlite3';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

export function statement(db: Database.Database, sql: string): Database.Statement {
  let byText = cache.get(db);
  if (byText === undefined) cache.set(db, (byText = new Map()));
  let prepared = byText.get(sql);
  if (prepared === undefined) byText.set(sql, (prepared = db.prepare(sql)));
  return prepared;
}

/** Whether `table` has `column`: a store of an older schema opens read-only without the newer columns. */
export function hasColumn(db: Database.Database, table: string, column: string): boolean {
  return (statement(db, `SELECT 1 FROM pragma_table_info('${table}') WHERE name = ?`).pluck().get(column) as number | undefined) !== undefined;
}
