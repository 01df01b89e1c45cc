/**
 * The console's tables, one scaffold for every tab: a header row of column labels (`scope="col"`), an
 * optional screen-reader caption, and — for lists loaded from the server — the same three states
 * everywhere: "Loading…" while the rows are on their way (nothing once the load failed: the tab's
 * Problem says why), the tab's empty text when there are none, the table when there are.
 */
import type { ComponentChildren } from 'preact';
import { t } from '../../utils/i18n';

export interface TableProps {
  /** Header labels, in order. */
  columns: readonly string[];
  /** A last column for row actions, its header read by screen readers only. */
  actions?: boolean;
  /** The table's accessible name, read by screen readers only. */
  caption?: string;
  testid?: string;
  /** Wrapped to scroll sideways on narrow screens (wide tables). */
  wrap?: boolean;
}

/** The scaffold alone: `<table>`, caption, header row; the body's rows as children. */
export function Table({ columns, actions, caption, testid, wrap, children }: TableProps & { children: ComponentChildren }) {
  const table = (
    <table class="table" data-testid={testid}>
      {caption && <caption class="sr-only">{caption}</caption>}
      <thead>
        <tr>
          {columns.map((label, i) => (
            <th key={i} scope="col">
              {label}
            </th>
          ))}
          {actions && (
            <th scope="col">
              <span class="sr-only">{t('console.tasks.actions')}</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
  return wrap ? <div class="table-wrap">{table}</div> : table;
}

/**
 * A list from the server as a table. `rows` is null until it has loaded; `failed` says the load failed
 * (no "Loading…" then). Without `empty`, no rows show nothing (for tabs that count their rows elsewhere).
 */
export function DataTable<T>({
  rows,
  row,
  empty,
  failed,
  ...table
}: TableProps & {
  rows: readonly T[] | null;
  /** One row: a `<tr>` (or a component rendering one) with its key. */
  row: (item: T) => ComponentChildren;
  empty?: string;
  failed?: boolean;
}) {
  if (rows === null) return failed ? null : <Loading />;
  if (rows.length === 0) return empty === undefined ? null : <p class="muted">{empty}</p>;
  return <Table {...table}>{rows.map(row)}</Table>;
}

/** "Loading…", announced politely. */
export function Loading() {
  return (
    <p class="muted" role="status">
      {t('console.loading')}
    </p>
  );
}

/**
 * What went wrong, as an alert. The server says why in the reader's language (a role refusal names the
 * role: "Only administrators can …"); only a 403 it did not explain gets the console's "Admins only".
 */
export function Problem({ error }: { error: { code: string; message: string } | null }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" data-testid="al-console-error">
      {error.code === 'http_403' ? `${t('console.adminsOnly')} ${error.message}` : error.message}
    </p>
  );
}
