import {
  BundleIndex,
  effectivePermissions,
  type AccessRequest,
  type ApprovalStage,
  type Person,
  type RequestCreateArgs,
} from '@accesslens/shared';
import { ApiFailure, conflict, forbidden, notFound } from '../errors.ts';
import { ASSIGNMENT_COLUMNS, BUNDLE_COLUMNS, assignmentFromRow, bundleFromRow } from '../model.ts';
import type { WriteContext } from '../write.ts';
import { OPEN_STATUSES } from './requests.ts';

/**
 * request.create: the caller asks for permissions on one CRM connection. Validates against the
 * catalog and what the caller already holds, caps the duration, routes to the manager (or admins).
 */
export async function createRequest(w: WriteContext, me: Person, args: RequestCreateArgs, field: (f: string) => string) {
  const { tx } = w;
  const taken = await tx.execute({ sql: 'SELECT 1 FROM requests WHERE id = ?', args: [args.requestId] });
  if (taken.rows.length > 0) throw withField(conflict('A request with this id already exists.'), field('requestId'));

  const conn = await tx.execute({ sql: 'SELECT id, name FROM crm_connections WHERE id = ?', args: [args.connectionId] });
  const connection = conn.rows[0];
  if (!connection) throw withField(notFound(`There is no CRM connection "${args.connectionId}".`), field('connectionId'));
  const connectionName = String(connection.name);

  const acc = await tx.execute({
    sql: 'SELECT id FROM crm_accounts WHERE person_id = ? AND connection_id = ? AND active = 1 ORDER BY id LIMIT 1',
    args: [me.id, args.connectionId],
  });
  if (!acc.rows[0]) throw withField(forbidden(`You have no active account on ${connectionName}.`), field('connectionId'));
  const accountId = String(acc.rows[0].id);

  const keys = [...new Set(args.permissions)];
  const cat = await tx.execute({
    sql: `SELECT key, max_duration_days, requestable FROM permission_catalog
          WHERE connection_id = ? AND key IN (${keys.map(() => '?').join(', ')})`,
    args: [args.connectionId, ...keys],
  });
  const catalog = new Map(cat.rows.map((r) => [String(r.key), r] as const));
  for (const key of keys) {
    const entry = catalog.get(key);
    const at = field(`permissions.${args.permissions.indexOf(key)}`);
    if (!entry) throw withField(notFound(`${key} is not in the permission catalog of ${connectionName}.`), at);
    if (Number(entry.requestable) !== 1)
      throw withField(forbidden(`${key} cannot be requested; ask an administrator.`), at);
  }

  // Keys already held, through any bundle, direct grant or implication.
  const [bundleRows, assignmentRows] = await tx.batch([
    { sql: `SELECT ${BUNDLE_COLUMNS} FROM bundles b WHERE b.connection_id = ?`, args: [args.connectionId] },
    { sql: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments a WHERE a.account_id = ?`, args: [accountId] },
  ]);
  const held = effectivePermissions(
    assignmentRows!.rows.map(assignmentFromRow),
    new BundleIndex(bundleRows!.rows.map(bundleFromRow)),
    w.now,
  );
  for (const key of keys)
    if (held.has(key))
      throw withField(conflict(`You already have ${key}.`), field(`permissions.${args.permissions.indexOf(key)}`));

  const open = await tx.execute({
    sql: `SELECT id, permissions, status FROM requests WHERE requester_id = ? AND connection_id = ?
          ORDER BY created_at`,
    args: [me.id, args.connectionId],
  });
  for (const r of open.rows) {
    if (!OPEN_STATUSES.has(String(r.status) as AccessRequest['status'])) continue;
    const overlap = (JSON.parse(String(r.permissions)) as string[]).filter((k) => keys.includes(k));
    if (overlap.length > 0)
      throw new ApiFailure(
        409,
        'duplicate_request',
        `You already have a pending request (${String(r.id)}) for ${overlap.join(', ')}.`,
        field('permissions'),
      );
  }

  let durationDays = args.durationDays;
  for (const entry of catalog.values())
    if (entry.max_duration_days !== null) durationDays = Math.min(durationDays, Number(entry.max_duration_days));

  const approverIds = await routeApprovers(w, me, args.connectionId);
  if (approverIds.length === 0)
    throw conflict('Nobody can approve this request: you have no eligible manager and there is no administrator.');
  const stages: ApprovalStage[] = [{ kind: 'manager', approverIds, decision: null }];

  const version = await w.version();
  await tx.execute({
    sql: `INSERT INTO requests (id, requester_id, connection_id, account_id, permissions, page, justification, duration_days,
            status, stages, created_at, updated_at, decided_at, granted_at, expires_at, version)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, NULL, NULL, NULL, ?)`,
    args: [
      args.requestId,
      me.id,
      args.connectionId,
      accountId,
      JSON.stringify(keys),
      args.page === null ? null : JSON.stringify(args.page),
      args.justification,
      durationDays,
      JSON.stringify(stages),
      w.nowIso,
      w.nowIso,
      version,
    ],
  });
  for (const approverId of approverIds)
    await tx.execute({
      sql: 'INSERT INTO request_approvers (request_id, position, person_id) VALUES (?, 0, ?)',
      args: [args.requestId, approverId],
    });
  await w.audit({
    actorId: me.id,
    action: 'request.created',
    subjectType: 'request',
    subjectId: args.requestId,
    data: {
      connectionId: args.connectionId,
      accountId,
      permissions: keys,
      durationDays,
      requestedDurationDays: args.durationDays,
      approverIds,
      page: args.page,
    },
  });
  w.affected.add(me.id);
  for (const id of approverIds) w.affected.add(id);
}

/**
 * One manager stage: the requester's manager when active and not the requester; otherwise the
 * connection's administrators (admins with an active account on it, else every active admin), never
 * the requester.
 */
async function routeApprovers(w: WriteContext, me: Person, connectionId: string): Promise<string[]> {
  if (me.managerId !== null && me.managerId !== me.id) {
    const m = await w.tx.execute({ sql: "SELECT id FROM people WHERE id = ? AND status = 'active'", args: [me.managerId] });
    if (m.rows[0]) return [String(m.rows[0].id)];
  }
  const admins = await w.tx.execute({
    sql: `SELECT p.id, EXISTS (SELECT 1 FROM crm_accounts ac WHERE ac.person_id = p.id AND ac.connection_id = ? AND ac.active = 1) AS on_connection
          FROM people p
          WHERE p.status = 'active' AND p.id <> ? AND EXISTS (SELECT 1 FROM json_each(p.roles) WHERE value = 'admin')
          ORDER BY p.id`,
    args: [connectionId, me.id],
  });
  const onConnection = admins.rows.filter((r) => Number(r.on_connection) === 1).map((r) => String(r.id));
  return onConnection.length > 0 ? onConnection : admins.rows.map((r) => String(r.id));
}

export function withField(failure: ApiFailure, field: string): ApiFailure {
  return new ApiFailure(failure.status, failure.code, failure.message, field, failure.headers);
}
