/**
 * Bulk inserts: many rows in one statement, passed as one JSON array argument and spread by SQLite's
 * json_each. Binding one string instead of thousands of values is the cheaper way through the driver
 * (imports write 100,000 rows at once); SQLite returns the values as they were (text, integer, real,
 * NULL).
 */
import type { Transaction } from './db.ts';

export type BulkValue = string | number | null;

const ROWS_PER_STATEMENT = 5000;

/**
 * `INSERT INTO table (columns) SELECT … FROM json_each(?) [suffix]`, in order, for every row. `suffix`
 * is e.g. an `ON CONFLICT … DO UPDATE` clause (SQLite needs `WHERE true` before it: included here).
 */
export async function insertRows(
  tx: Transaction,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly BulkValue[])[],
  suffix = '',
): Promise<void> {
  const select = columns.map((_, i) => `value ->> ${i}`).join(', ');
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const part = rows.slice(i, i + ROWS_PER_STATEMENT);
    await tx.execute({
      // `WHERE true` keeps SQLite from reading `ON CONFLICT` as a join constraint of the SELECT.
      sql: `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${select} FROM json_each(?) WHERE true ${suffix}`,
      args: [JSON.stringify(part)],
    });
  }
}
