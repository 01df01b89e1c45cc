/**
 * Findings by CRM user id, for the flags on CRM user pages: an org of 100,000 accounts never pushes
 * every finding to every admin. The flags ask for the accounts on screen; those accounts become
 * "watched" by the admin, and from then on their findings travel in the admin's sync slice.
 */
import type { FindingsByAccountsResponse, PersonRef } from '@accesslens/shared';
import { isSalesforceId, salesforceUserKey } from '@accesslens/shared/crm';
import type { Db } from '../db.ts';
import { runWrite } from '../write.ts';
import { SYNCED_FINDING_COLUMNS, SYNCED_FINDING_FROM, syncedFindingFromRow } from './query.ts';

/** Accounts an admin's slice follows at most; the ones looked at longest ago are dropped first. */
export const MAX_WATCHED_ACCOUNTS = 2000;

/** The findings of the accounts with these CRM user ids on one connection; they become watched by `personId`. */
export async function findingsByAccounts(
  db: Db,
  personId: string,
  connectionId: string,
  externalUserIds: string[],
  now: Date,
): Promise<FindingsByAccountsResponse> {
  const kind = String((await db.execute('SELECT kind FROM crm_connections WHERE id = ?', [connectionId])).rows[0]?.kind ?? '');
  // Salesforce pages link users by the 15-character id, its API by the 18 (the 15 plus a checksum): compare the 15.
  const salesforce = kind === 'salesforce';
  // Anything else cannot name a Salesforce user (and cut at 15 it could split a surrogate pair in two).
  const ids = [...new Set(salesforce ? externalUserIds.filter(isSalesforceId).map(salesforceUserKey) : externalUserIds)];
  if (ids.length === 0) return { accounts: [], findings: [], people: [] };
  const marks = ids.map(() => '?').join(', ');
  const column = salesforce ? 'substr(ac.external_user_id, 1, 15)' : 'ac.external_user_id';
  const accounts = await db.execute(
    `SELECT ac.id, ac.external_user_id, ac.active, p.id AS person_id, p.name, p.department, p.title, p.status
     FROM crm_accounts ac JOIN people p ON p.id = ac.person_id
     WHERE ac.connection_id = ? AND ${column} IN (${marks}) ORDER BY ac.external_user_id`,
    [connectionId, ...ids],
  );
  const accountIds = accounts.rows.map((r) => String(r.id));
  if (accountIds.length > 0) {
    const nowIso = now.toISOString();
    await runWrite(db, now, async (w) => {
      // Not synced rows: no sync version. The findings themselves reach the client in this answer.
      await w.tx.batch(
        accountIds.map((a) => ({
          sql: `INSERT INTO finding_watches (person_id, account_id, watched_at) VALUES (?, ?, ?)
                ON CONFLICT (person_id, account_id) DO UPDATE SET watched_at = excluded.watched_at`,
          args: [personId, a, nowIso],
        })),
      );
      await w.tx.execute({
        sql: `DELETE FROM finding_watches WHERE person_id = ?1 AND account_id NOT IN (
                SELECT account_id FROM finding_watches WHERE person_id = ?1 ORDER BY watched_at DESC, account_id LIMIT ?2)`,
        args: [personId, MAX_WATCHED_ACCOUNTS],
      });
    });
  }
  const findings =
    accountIds.length === 0
      ? []
      : (
          await db.execute(
            `SELECT ${SYNCED_FINDING_COLUMNS} ${SYNCED_FINDING_FROM}
             WHERE f.account_id IN (${accountIds.map(() => '?').join(', ')}) AND f.status <> 'remediated'
             ORDER BY f.account_id, f.severity_rank DESC, f.id`,
            accountIds,
          )
        ).rows.map(syncedFindingFromRow);
  const named = new Set<string>();
  for (const f of findings) {
    for (const id of f.temporary?.approvedBy ?? []) named.add(id);
    if (f.acceptance) named.add(f.acceptance.acceptedBy);
  }
  let people: PersonRef[] = [];
  if (named.size > 0) {
    const list = [...named];
    const rows = await db.execute(`SELECT id, name, email, title FROM people WHERE id IN (${list.map(() => '?').join(', ')}) ORDER BY id`, list);
    people = rows.rows.map((r) => ({ id: String(r.id), name: String(r.name), email: String(r.email), title: String(r.title) }));
  }
  return {
    accounts: accounts.rows.map((r) => ({
      externalUserId: String(r.external_user_id),
      accountId: String(r.id),
      personId: String(r.person_id),
      personName: String(r.name),
      department: String(r.department),
      title: String(r.title),
      personStatus: String(r.status) as FindingsByAccountsResponse['accounts'][number]['personStatus'],
      active: Number(r.active) === 1,
    })),
    findings,
    people,
  };
}
