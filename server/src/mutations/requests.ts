/** Shared by the request mutations: loading a request, who it concerns, granting it. */
import type { AccessRequest } from '@accesslens/shared';
import type { Transaction } from '../db.ts';
import { REQUEST_COLUMNS, requestFromRow } from '../model.ts';
import { readBatch, type Source } from '../policy/load.ts';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** What a request of `keys` on a connection is checked against before the policy, in one read. */
export interface RequestContext {
  /** null when the connection does not exist. */
  connectionName: string | null;
  /** The caller's active account there, if any. */
  accountId: string | null;
  /** The requested keys found in the connection's catalog, with whether they may be requested. */
  catalog: Map<string, { requestable: boolean }>;
  /** The caller's open requests on the connection that share keys with this one, oldest first. */
  overlapping: { id: string; keys: string[] }[];
}

export async function readRequestContext(source: Source, personId: string, connectionId: string, keys: string[]): Promise<RequestContext> {
  const open = [...OPEN_STATUSES];
  const [conn, acc, cat, requests] = await readBatch(source, [
    { sql: 'SELECT name FROM crm_connections WHERE id = ?', args: [connectionId] },
    {
      sql: 'SELECT id FROM crm_accounts WHERE person_id = ? AND connection_id = ? AND active = 1 ORDER BY id LIMIT 1',
      args: [personId, connectionId],
    },
    {
      sql: `SELECT key, requestable FROM permission_catalog WHERE connection_id = ? AND key IN (${keys.map(() => '?').join(', ')})`,
      args: [connectionId, ...keys],
    },
    {
      sql: `SELECT id, permissions FROM requests WHERE requester_id = ? AND connection_id = ?
              AND status IN (${open.map(() => '?').join(', ')}) ORDER BY created_at`,
      args: [personId, connectionId, ...open],
    },
  ]);
  const connection = conn!.rows[0];
  const account = acc!.rows[0];
  return {
    connectionName: connection ? String(connection.name) : null,
    accountId: account ? String(account.id) : null,
    catalog: new Map(cat!.rows.map((r) => [String(r.key), { requestable: Number(r.requestable) === 1 }] as const)),
    overlapping: requests!.rows
      .map((r) => ({ id: String(r.id), keys: (JSON.parse(String(r.permissions)) as string[]).filter((k) => keys.includes(k)) }))
      .filter((r) => r.keys.length > 0),
  };
}

export async function loadRequest(tx: Transaction, id: string): Promise<(AccessRequest & { version: number }) | null> {
  const r = await tx.execute({ sql: `SELECT ${REQUEST_COLUMNS} FROM requests r WHERE r.id = ?`, args: [id] });
  const row = r.rows[0];
  return row ? { ...requestFromRow(row), version: Number(row.version) } : null;
}

/**
 * Approvers the request has reached so far (every stage up to the open one): they hold it in their
 * slice. Later stages' approvers are added to `request_approvers` when their stage opens.
 */
export async function reachedApprovers(tx: Transaction, requestId: string): Promise<string[]> {
  const r = await tx.execute({
    sql: 'SELECT DISTINCT person_id FROM request_approvers WHERE request_id = ? ORDER BY person_id',
    args: [requestId],
  });
  return r.rows.map((x) => String(x.person_id));
}

/** Makes stage `position`'s approvers see the request (sync slice) — when the stage opens. */
export async function indexStageApprovers(tx: Transaction, requestId: string, position: number, approverIds: string[]): Promise<void> {
  for (const personId of new Set(approverIds))
    await tx.execute({
      sql: 'INSERT OR IGNORE INTO request_approvers (request_id, position, person_id) VALUES (?, ?, ?)',
      args: [requestId, position, personId],
    });
}

export const OPEN_STATUSES: ReadonlySet<AccessRequest['status']> = new Set(['pending', 'needs-info']);
