import {
  AccessIndex,
  CRM_KINDS,
  evaluateRequest,
  implicationTableFor,
  type CrmKind,
  type AccessRequest,
  type ApprovalStage,
  type Person,
  type RequestCreateArgs,
  type RequestEvaluation,
} from '@accesslens/shared';
import { ApiFailure, refuse } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import { ASSIGNMENT_COLUMNS, BUNDLE_COLUMNS, assignmentFromRow, bundleFromRow } from '../model.ts';
import type { WriteContext } from '../write.ts';
import { queueGrant } from '../connectors/fulfilment.ts';
import { indexStageApprovers, readRequestContext } from './requests.ts';

/**
 * request.create: the caller asks for permissions on one CRM connection. The directory checks come
 * first (connection, account, catalog, already held, a pending duplicate), each with its own code;
 * then the policy decides (`evaluateRequest`): the approval stages in order, the duration after every
 * cap, prerequisites, or an automatic approval.
 */
export async function createRequest(
  w: WriteContext,
  me: Person,
  args: RequestCreateArgs,
  field: (f: string) => string,
  findings: FindingsService,
) {
  const { tx } = w;
  const taken = await tx.execute({ sql: 'SELECT 1 FROM requests WHERE id = ?', args: [args.requestId] });
  if (taken.rows.length > 0) throw withField(refuse.conflict('request_id_taken'), field('requestId'));
  const checked = await checkRequestable(w, me, args.connectionId, args.permissions, field);
  const { accountId, keys } = checked;

  const engine = await findings.catchUpWithin(w);
  const evaluation = evaluateRequest(engine, me.id, accountId, keys, args.durationDays, w.now, {
    justification: args.justification,
    evidence: args.evidence,
  });
  if (!evaluation.ok)
    throw new ApiFailure(
      403,
      'policy_blocked',
      `The access policy does not allow this request: ${evaluation.problems.join('; ')}.`,
      blockedField(evaluation, args, field),
    );

  if (!evaluation.autoApproved && evaluation.stages.length === 0)
    throw refuse.conflict('no_approver');
  const durationDays = evaluation.duration.granted;
  const version = await w.version();
  const stages: ApprovalStage[] = evaluation.stages.map((s) => ({
    kind: s.kind,
    label: s.label,
    keys: s.keys,
    approverIds: s.approvers.map((a) => a.id),
    required: s.required,
    approvals: [],
    decision: null,
    escalated: s.escalated,
  }));
  const ruleIds = [...new Set(evaluation.keys.map((k) => k.ruleId).filter((r): r is string => r !== null))];
  await tx.execute({
    sql: `INSERT INTO requests (id, requester_id, connection_id, account_id, permissions, page, justification, evidence,
            duration_days, status, stages, created_at, updated_at, decided_at, granted_at, expires_at, version)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, NULL, NULL, NULL, ?)`,
    args: [
      args.requestId,
      me.id,
      args.connectionId,
      accountId,
      JSON.stringify(keys),
      args.page === null ? null : JSON.stringify(args.page),
      args.justification,
      JSON.stringify(args.evidence),
      durationDays,
      JSON.stringify(stages),
      w.nowIso,
      w.nowIso,
      version,
    ],
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
      cappedBy: evaluation.duration.cappedBy,
      ruleIds,
      policyVersion: engine.data.policy.version,
      approverIds: stages[0]?.approverIds ?? [],
      stages: stages.map((s) => ({ kind: s.kind, label: s.label, approverIds: s.approverIds, required: s.required, escalated: s.escalated })),
      autoApproved: evaluation.autoApproved,
      warnings: evaluation.warnings,
      evidence: args.evidence,
      page: args.page,
    },
  });
  w.affected.add(me.id);

  if (evaluation.autoApproved) {
    // No stages: the rule approved it, for at most its auto-approval duration. The grant goes to the
    // CRM through a fulfilment job (or an admin task), and counts from the CRM's confirmation.
    await tx.execute({
      sql: `UPDATE requests SET status = 'approved', decided_at = ?, updated_at = ? WHERE id = ?`,
      args: [w.nowIso, w.nowIso, args.requestId],
    });
    await w.audit({
      actorId: null,
      action: 'request.auto_approved',
      subjectType: 'request',
      subjectId: args.requestId,
      data: { ruleIds: evaluation.autoApprovalRuleIds, durationDays, policyVersion: engine.data.policy.version },
    });
    await queueGrant(w, { id: args.requestId, requesterId: me.id, accountId, permissions: keys, connectionId: args.connectionId }, durationDays);
    return;
  }

  await indexStageApprovers(tx, args.requestId, 0, stages[0]!.approverIds);
  for (const id of stages[0]!.approverIds) w.affected.add(id);
}

/**
 * The checks that come before the policy, shared with the preview: the connection exists, the caller
 * has an active account on it, every key is in its catalog and requestable there, none is held
 * already, and no open request of the caller overlaps.
 */
export async function checkRequestable(
  w: Pick<WriteContext, 'tx' | 'now'>,
  me: Person,
  connectionId: string,
  permissions: string[],
  field: (f: string) => string,
): Promise<{ accountId: string; connectionName: string; keys: string[] }> {
  const { tx } = w;
  const keys = [...new Set(permissions)];
  const context = await readRequestContext(tx, me.id, connectionId, keys);
  const { connectionName, accountId } = context;
  if (connectionName === null) throw withField(refuse.notFound('connection_not_found', { connectionId }), field('connectionId'));
  if (accountId === null) throw withField(refuse.forbidden('no_account', { connection: connectionName }), field('connectionId'));
  for (const key of keys) {
    const entry = context.catalog.get(key);
    const at = field(`permissions.${permissions.indexOf(key)}`);
    if (!entry) throw withField(refuse.notFound('not_in_catalog', { key, connection: connectionName }), at);
    if (!entry.requestable) throw withField(refuse.forbidden('not_requestable', { key }), at);
  }
  // Keys already held, through any bundle, direct grant or implication: the engine's decision with
  // the implication table of the connection's CRM kind (the overlay decides with the same one).
  const [kindRows, bundleRows, assignmentRows] = await tx.batch([
    { sql: 'SELECT kind FROM crm_connections WHERE id = ?', args: [connectionId] },
    { sql: `SELECT ${BUNDLE_COLUMNS} FROM bundles b WHERE b.connection_id = ?`, args: [connectionId] },
    { sql: `SELECT ${ASSIGNMENT_COLUMNS} FROM assignments a WHERE a.account_id = ?`, args: [accountId] },
  ]);
  const kind = String(kindRows!.rows[0]?.kind ?? 'generic');
  const index = new AccessIndex({
    connectionId,
    table: implicationTableFor((CRM_KINDS as readonly string[]).includes(kind) ? (kind as CrmKind) : 'generic'),
    bundles: bundleRows!.rows.map(bundleFromRow),
    accountIds: [accountId],
    assignments: assignmentRows!.rows.map(assignmentFromRow),
    keys,
    now: w.now,
  });
  for (const key of keys)
    if (index.canKey(accountId, key))
      throw withField(refuse.conflict('already_held', { key }), field(`permissions.${permissions.indexOf(key)}`));
  const first = context.overlapping[0];
  if (first)
    throw new ApiFailure(
      409,
      'duplicate_request',
      `You already have a pending request (${first.id}) for ${first.keys.join(', ')}.`,
      field('permissions'),
    );
  return { accountId, connectionName, keys };
}

/** The field a policy rejection is about: the first refused key, a key missing a prerequisite, or the evidence. */
function blockedField(e: RequestEvaluation, args: RequestCreateArgs, field: (f: string) => string): string {
  const at = (key: string) => field(`permissions.${Math.max(0, args.permissions.indexOf(key))}`);
  const refused = e.keys.find((k) => !k.requestable);
  if (refused) return at(refused.key);
  const missing = e.missingPrerequisites[0];
  if (missing && missing.keys[0]) return at(missing.keys[0]);
  if (e.problems.some((p) => p.startsWith('evidence'))) return field('evidence');
  if (e.problems.some((p) => p.startsWith('a justification'))) return field('justification');
  return field('permissions');
}

export function withField(failure: ApiFailure, field: string): ApiFailure {
  return failure.withField(field);
}
