/** Shared by the request mutations: loading a request and who it concerns. */
import type { AccessRequest } from '@accesslens/shared';
import type { Transaction } from '../db.ts';
import { REQUEST_COLUMNS, requestFromRow } from '../model.ts';

export async function loadRequest(tx: Transaction, id: string): Promise<(AccessRequest & { version: number }) | null> {
  const r = await tx.execute({ sql: `SELECT ${REQUEST_COLUMNS} FROM requests r WHERE r.id = ?`, args: [id] });
  const row = r.rows[0];
  return row ? { ...requestFromRow(row), version: Number(row.version) } : null;
}

/** The requester and every approver: the people whose slice holds this request. */
export function peopleConcerned(request: Pick<AccessRequest, 'requesterId' | 'stages'>): string[] {
  return [request.requesterId, ...request.stages.flatMap((s) => s.approverIds)];
}

export const OPEN_STATUSES: ReadonlySet<AccessRequest['status']> = new Set(['pending', 'needs-info']);
