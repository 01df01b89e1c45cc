import type { Person, UsageReportArgs } from '@accesslens/shared';
import { ApiFailure, refuse } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import type { WriteContext } from '../write.ts';
import { withField } from './request-create.ts';

/** Reports older than this are refused (the unused window is 90 days by default; a year covers any policy). */
const MAX_AGE_DAYS = 400;

/**
 * usage.report: the caller used these keys on their own account on `day`, this many times. Adds to the
 * per-day counts and moves the account's last use of each key (what the "unused" finding judges).
 * Only keys, a day and counts are stored — never what the page showed.
 */
export async function reportUsage(w: WriteContext, me: Person, args: UsageReportArgs, field: (f: string) => string, findings: FindingsService): Promise<void> {
  const account = await w.tx.execute({
    sql: 'SELECT id FROM crm_accounts WHERE person_id = ? AND connection_id = ? AND active = 1 ORDER BY id LIMIT 1',
    args: [me.id, args.connectionId],
  });
  const accountId = account.rows[0] ? String(account.rows[0].id) : null;
  if (!accountId) throw withField(refuse.forbidden('no_account_here'), field('connectionId'));
  const today = w.nowIso.slice(0, 10);
  if (args.day > today) throw ApiFailure.of(400, 'invalid_input', 'day_in_future', {}, { field: field('day') });
  const oldest = new Date(w.now.getTime() - MAX_AGE_DAYS * 86_400_000).toISOString().slice(0, 10);
  if (args.day < oldest) throw ApiFailure.of(400, 'invalid_input', 'day_too_old', { days: MAX_AGE_DAYS }, { field: field('day') });
  // Last use within that day: its end, or now for today.
  const lastUsed = args.day === today ? w.nowIso : `${args.day}T23:59:59.999Z`;
  const counts = new Map<string, number>();
  for (const c of args.counts) counts.set(c.key, (counts.get(c.key) ?? 0) + c.count);
  const version = await w.version();
  await w.tx.batch(
    [...counts].flatMap(([key, count]) => [
      {
        sql: `INSERT INTO usage_reports (account_id, key, day, count) VALUES (?, ?, ?, ?)
              ON CONFLICT (account_id, key, day) DO UPDATE SET count = count + excluded.count`,
        args: [accountId, key, args.day, count],
      },
      {
        sql: `INSERT INTO usage_aggregates (account_id, key, last_used_at, count, version) VALUES (?, ?, ?, ?, ?)
              ON CONFLICT (account_id, key) DO UPDATE SET last_used_at = MAX(last_used_at, excluded.last_used_at),
                count = count + excluded.count, version = excluded.version`,
        args: [accountId, key, lastUsed, count, version],
      },
    ]),
  );
  await w.audit({
    actorId: me.id,
    action: 'usage.reported',
    subjectType: 'account',
    subjectId: accountId,
    data: { connectionId: args.connectionId, day: args.day, keys: counts.size, uses: [...counts.values()].reduce((a, b) => a + b, 0) },
  });
  findings.track(w);
}
