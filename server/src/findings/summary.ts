/**
 * The console's charts: open findings by severity, department and kind, and their trend — the counts
 * recorded once a day (`findings_daily`, by the console schedule) plus today's live count.
 */
import { RISK_LEVELS, type FindingsSummaryQuery, type FindingsSummaryResponse, type Risk, type SeverityCounts } from '@accesslens/shared';
import type { InValue } from '@libsql/client';
import type { Db, Transaction } from '../db.ts';
import { filterClauses } from './query.ts';

const DAY_MS = 86_400_000;
const TOP_DEPARTMENTS = 20;

const zero = (): SeverityCounts => ({ low: 0, medium: 0, high: 0, critical: 0 });
const dayOf = (t: Date) => t.toISOString().slice(0, 10);

export async function findingsSummary(db: Db, q: FindingsSummaryQuery, now: Date): Promise<FindingsSummaryResponse> {
  const { where, args } = filterClauses({ ...q, status: 'open' });
  const grouped = await db.execute(
    `SELECT p.department, f.kind, f.severity, COUNT(*) AS n FROM findings f
       JOIN people p ON p.id = f.person_id JOIN crm_accounts ac ON ac.id = f.account_id
     WHERE ${where.join(' AND ')} GROUP BY p.department, f.kind, f.severity`,
    args,
  );
  const bySeverity = zero();
  const departments = new Map<string, SeverityCounts>();
  const kinds = new Map<string, number>();
  let total = 0;
  for (const r of grouped.rows) {
    const n = Number(r.n);
    const sev = String(r.severity) as Risk;
    total += n;
    bySeverity[sev] += n;
    const d = departments.get(String(r.department)) ?? zero();
    d[sev] += n;
    departments.set(String(r.department), d);
    kinds.set(String(r.kind), (kinds.get(String(r.kind)) ?? 0) + n);
  }
  const sum = (c: SeverityCounts) => RISK_LEVELS.reduce((s, k) => s + c[k], 0);

  // The trend: the filters the daily counts keep (connection, department, kind, severity).
  const from = dayOf(new Date(now.getTime() - (q.days - 1) * DAY_MS));
  const today = dayOf(now);
  const trendWhere = ['day >= ?', 'day < ?'];
  const trendArgs: InValue[] = [from, today];
  if (q.connectionId) trendWhere.push('connection_id = ?'), trendArgs.push(q.connectionId);
  if (q.department) trendWhere.push('department = ?'), trendArgs.push(q.department);
  if (q.kind) trendWhere.push('kind = ?'), trendArgs.push(q.kind);
  if (q.severity) trendWhere.push('severity = ?'), trendArgs.push(q.severity);
  const daily = await db.execute(
    `SELECT day, severity, SUM(open) AS n FROM findings_daily WHERE ${trendWhere.join(' AND ')} GROUP BY day, severity ORDER BY day`,
    trendArgs,
  );
  const days = new Map<string, SeverityCounts>();
  for (const r of daily.rows) {
    const d = days.get(String(r.day)) ?? zero();
    d[String(r.severity) as Risk] += Number(r.n);
    days.set(String(r.day), d);
  }
  // Today as it stands (person and search filters do not apply to recorded days, so today's point
  // leaves them out too).
  const { where: liveWhere, args: liveArgs } = filterClauses({ ...q, status: 'open', q: undefined, personId: undefined });
  const live = await db.execute(
    `SELECT f.severity, COUNT(*) AS n FROM findings f JOIN people p ON p.id = f.person_id JOIN crm_accounts ac ON ac.id = f.account_id
     WHERE ${liveWhere.join(' AND ')} GROUP BY f.severity`,
    liveArgs,
  );
  const todayCounts = zero();
  for (const r of live.rows) todayCounts[String(r.severity) as Risk] += Number(r.n);
  days.set(today, todayCounts);

  return {
    total,
    bySeverity,
    byDepartment: [...departments]
      .map(([department, c]) => ({ department, total: sum(c), bySeverity: c }))
      .sort((a, b) => b.total - a.total || a.department.localeCompare(b.department))
      .slice(0, TOP_DEPARTMENTS),
    byKind: [...kinds]
      .map(([kind, n]) => ({ kind: kind as FindingsSummaryResponse['byKind'][number]['kind'], total: n }))
      .sort((a, b) => b.total - a.total || a.kind.localeCompare(b.kind)),
    trend: [...days].sort(([a], [b]) => a.localeCompare(b)).map(([day, c]) => ({ day, total: sum(c), bySeverity: c })),
  };
}

/** Records one day's open findings (replacing what was recorded for that day). */
export async function recordDailyCounts(tx: Transaction, day: string): Promise<number> {
  await tx.execute({ sql: 'DELETE FROM findings_daily WHERE day = ?', args: [day] });
  const r = await tx.execute({
    sql: `INSERT INTO findings_daily (day, connection_id, department, kind, severity, open)
          SELECT ?, f.connection_id, p.department, f.kind, f.severity, COUNT(*) FROM findings f JOIN people p ON p.id = f.person_id
          WHERE f.status = 'open' GROUP BY f.connection_id, p.department, f.kind, f.severity`,
    args: [day],
  });
  return r.rowsAffected;
}
