/**
 * Test support (not a test file): more staff for the demo org, keys each of them can request from their
 * manager alone, and a request-per-key helper — what bulk approvals and their benchmark need.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../db.ts';
import { runWrite } from '../write.ts';

/** Keys an Account Executive (Standard Sales User) may request, each routed to their manager alone. */
export const MANAGER_ROUTED_KEYS = [
  'object:Contract:read',
  'object:Contract:create',
  'object:Contract:edit',
  'object:Order:read',
  'object:Order:create',
  'object:Order:edit',
  'object:Campaign:create',
  'object:Campaign:edit',
  'object:Case:create',
  'object:Case:edit',
] as const;

/**
 * Adds `count` Account Executives reporting to `managerId`, each with an active Salesforce account holding
 * the Standard Sales User profile. They sign in with Ava's password (`ava-demo-2026`). Returns their emails.
 */
export async function addStaff(db: Db, now: Date, managerId: string, count: number, prefix = 'staff'): Promise<{ id: string; email: string }[]> {
  return runWrite(db, now, async (w) => {
    const v = await w.version();
    const hash = await w.tx.execute("SELECT password_hash FROM people WHERE id = 'p-ava'");
    const out: { id: string; email: string }[] = [];
    for (let i = 1; i <= count; i++) {
      const id = `p-${prefix}-${i}`;
      const email = `${prefix}${i}@acme.test`;
      await w.tx.execute({
        sql: `INSERT INTO people (id, email, name, department, title, manager_id, status, roles, hire_date, trainings, password_hash, version, created_at, updated_at)
              VALUES (?, ?, ?, 'Sales', 'Account Executive', ?, 'active', '["requester"]', '2022-01-10', '["security-awareness-2025"]', ?, ?, ?, ?)`,
        args: [id, email, `Staff ${prefix} ${i}`, managerId, hash.rows[0]?.password_hash ?? null, v, w.nowIso, w.nowIso],
      });
      const accountId = `acct-${prefix}-${i}`;
      await w.tx.execute({
        sql: `INSERT INTO crm_accounts (id, person_id, connection_id, external_user_id, username, active, last_login_at, created_at, version)
              VALUES (?, ?, 'sf-acme', ?, ?, 1, ?, '2022-01-10T09:00:00.000Z', ?)`,
        args: [accountId, id, `005Zz${String(i).padStart(10, '0')}${prefix.slice(0, 3).padEnd(3, 'X')}`, `${email}.sf`, w.nowIso, v],
      });
      await w.tx.execute({
        sql: `INSERT INTO assignments (id, account_id, target_type, bundle_id, permission_key, source, request_id, granted_at, expires_at, revoked_at, version)
              VALUES (?, ?, 'bundle', 'profile-standard-sales', NULL, 'directory', NULL, '2022-01-10T09:00:00.000Z', NULL, NULL, ?)`,
        args: [`asg-${prefix}-${i}`, accountId, v],
      });
      out.push({ id, email });
    }
    return out;
  });
}

export function requestMutation(key: string, extra: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    name: 'request.create' as const,
    args: {
      requestId: randomUUID(),
      connectionId: 'sf-acme',
      permissions: [key],
      page: null,
      justification: `Needed for the Q3 renewals (${key}).`,
      evidence: [],
      durationDays: 30,
      ...extra,
    },
  };
}
