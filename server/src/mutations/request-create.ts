import {
  AccessIndex,
  CRM_KINDS,
  evaluateRequest,
  implicationTableFor,
  policyProblem,
  RISK_LEVELS,
  type AccessRequest,
  type ApprovalStage,
  type BundleKind,
  type CrmKind,
  type Person,
  type PolicyProblem,
  type RequestCreateArgs,
  type RequestInsight,
  type RequestEvaluation,
  type OrgEngine,
} from '@accesslens/shared';
import { ApiFailure, refuse } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import { startGrant } from '../lifecycle/grants.ts';
import { openStage } from '../lifecycle/routing.ts';
import { appendTimeline } from '../lifecycle/timeline.ts';
import { ASSIGNMENT_COLUMNS, BUNDLE_COLUMNS, PERSON_COLUMNS, assignmentFromRow, bundleFromRow, personFromRow } from '../model.ts';
import type { Source } from '../policy/load.ts';
import { readBatch } from '../policy/load.ts';
import type { WriteContext } from '../write.ts';
import { DAY_MS, loadRequest, readRequestContext } from './requests.ts';

/** A policy refusal: the problems as codes with params (`error.problems`), their English joined in `message`. */
export class PolicyBlocked extends ApiFailure {
  constructor(
    readonly problems: PolicyProblem[],
    field?: string,
  ) {
    super(403, 'policy_blocked', `The access policy does not allow this request: ${problems.map((p) => p.message).join('; ')}.`, field);
  }

  override get body() {
    const base = super.body;
    return { error: { ...base.error, problems: this.problems } };
  }
}

/**
 * request.create: the caller asks for permissions (or a whole bundle) on one CRM connection, for themself
 * or — as their manager — for a direct report (the report is the requester of record, the manager the
 * filer; neither approves it). It may follow a denied request ("request again"), extend a grant in force,
 * and start later (an access window). The directory checks come first (connection, account, catalog,
 * already held, an open request for the same keys), each with its own code; then the policy decides
 * (`evaluateRequest`): the approval stages in order, the duration after every cap, prerequisites, or an
 * automatic approval.
 */
export async function createRequest(w: WriteContext, me: Person, args: RequestCreateArgs, field: (f: string) => string, findings: FindingsService) {
  const { tx } = w;
  const taken = await tx.execute({ sql: 'SELECT 1 FROM requests WHERE id = ?', args: [args.requestId] });
  if (taken.rows.length > 0) throw withField(refuse.conflict('request_id_taken'), field('requestId'));
  const { subject, filedBy } = await resolveRequester(tx, me, args.onBehalfOf ?? null, field);

  // Extending a grant: the grant in force (its root when it was extended before); its keys by default.
  let extending: AccessRequest | null = null;
  if (args.extendsRequestId) {
    extending = await extensionTarget(w, subject, args.connectionId, args.extendsRequestId, field);
    if (args.startsAt) throw ApiFailure.of(400, 'invalid_input', 'extension_no_start', {}, { field: field('startsAt') });
  }
  if (args.previousRequestId) await previousTarget(w, subject, args.previousRequestId, field);
  const startsAt = checkStartsAt(w.now, args.startsAt ?? null, field);
  const permissions = args.permissions.length > 0 || !extending ? args.permissions : extending.permissions;

  const checked = await checkRequestable(w, subject, args.connectionId, permissions, field, {
    allowHeld: extending !== null,
    bundleId: args.bundleId ?? null,
    onBehalf: filedBy !== null,
  });
  const { accountId, keys, bundle } = checked;

  const engine = await findings.catchUpWithin(w);
  const evaluation = evaluateRequest(engine, subject.id, accountId, keys, args.durationDays, w.now, {
    justification: args.justification,
    evidence: args.evidence,
    excludeApprovers: filedBy ? [filedBy] : [],
    allowHeld: extending !== null,
  });
  if (!evaluation.ok) throw new PolicyBlocked(evaluation.problems, blockedField(evaluation.problems, permissions, bundle !== null, field));

  if (!evaluation.autoApproved && evaluation.stages.length === 0) throw refuse.conflict('no_approver');
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
    ruleIds: s.ruleIds,
    fallbackIds: s.fallback.map((p) => p.id),
    distinctApprovers: s.distinctApprovers,
    delegates: [],
    waitingSince: null,
    reminders: 0,
    lastRemindedAt: null,
  }));
  const ruleIds = [...new Set(evaluation.keys.map((k) => k.ruleId).filter((r): r is string => r !== null))];
  const insight = insightOf(evaluation, engine.peerHolding(accountId, keys));
  await tx.execute({
    sql: `INSERT INTO requests (id, requester_id, connection_id, account_id, permissions, page, justification, evidence,
            duration_days, status, stages, created_at, updated_at, decided_at, granted_at, expires_at, version,
            bundle_id, starts_at, filed_by, previous_request_id, extends_request_id, rule_ids, timeline, insight)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, NULL, NULL, NULL, ?, ?, ?, ?, ?, ?, ?, '[]', ?)`,
    args: [
      args.requestId,
      subject.id,
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
      bundle?.id ?? null,
      startsAt,
      filedBy,
      args.previousRequestId ?? null,
      extending?.id ?? null,
      JSON.stringify(ruleIds),
      JSON.stringify(insight),
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
      requesterId: subject.id,
      filedBy,
      permissions: keys,
      bundleId: bundle?.id ?? null,
      startsAt,
      previousRequestId: args.previousRequestId ?? null,
      extendsRequestId: extending?.id ?? null,
      durationDays,
      requestedDurationDays: args.durationDays,
      cappedBy: evaluation.duration.cappedBy,
      ruleIds,
      policyVersion: engine.data.policy.version,
      approverIds: stages[0]?.approverIds ?? [],
      stages: stages.map((s) => ({ kind: s.kind, label: s.label, approverIds: s.approverIds, required: s.required, escalated: s.escalated })),
      autoApproved: evaluation.autoApproved,
      warnings: evaluation.warnings.map((p) => p.message),
      evidence: args.evidence,
      page: args.page,
    },
  });
  w.affected.add(subject.id);
  if (filedBy) w.affected.add(filedBy);
  const request = { id: args.requestId, requesterId: subject.id, filedBy };

  if (evaluation.autoApproved) {
    // No stages: the rule approved it, for at most its auto-approval duration. The grant goes to the
    // CRM through a fulfilment job (or an admin task) — at the window's start when it has one — and
    // counts from the CRM's confirmation.
    await tx.execute({
      sql: `UPDATE requests SET status = 'approved', decided_at = ?, updated_at = ? WHERE id = ?`,
      args: [w.nowIso, w.nowIso, args.requestId],
    });
    await appendTimeline(w, args.requestId, { kind: 'submitted', actorId: me.id });
    await appendTimeline(w, args.requestId, { kind: 'auto-approved' });
    await w.audit({
      actorId: null,
      action: 'request.auto_approved',
      subjectType: 'request',
      subjectId: args.requestId,
      data: { ruleIds: evaluation.autoApprovalRuleIds, durationDays, policyVersion: engine.data.policy.version },
    });
    await startGrant(
      w,
      {
        ...request,
        accountId,
        permissions: keys,
        connectionId: args.connectionId,
        bundleId: bundle?.id ?? null,
        startsAt,
        extendsRequestId: extending?.id ?? null,
      },
      durationDays,
      findings,
    );
    return;
  }

  await openStage(w, request, stages, 0, { kind: 'submitted', actorId: me.id });
  await tx.execute({ sql: 'UPDATE requests SET stages = ? WHERE id = ?', args: [JSON.stringify(stages), args.requestId] });
}

/** The requester of record: the caller, or the direct report a manager files for. */
/**
 * What helps an approver decide, as at submission: the highest risk among the keys (from the catalog), the
 * SoD rules the grant would break, and how many of the requester's peers hold each key.
 */
export function insightOf(evaluation: Pick<RequestEvaluation, 'keys' | 'sodConflicts'>, peers: ReturnType<OrgEngine['peerHolding']>): RequestInsight {
  let rank = -1;
  for (const k of evaluation.keys) if (k.risk !== null) rank = Math.max(rank, RISK_LEVELS.indexOf(k.risk));
  return {
    risk: rank < 0 ? null : RISK_LEVELS[rank]!,
    sodConflicts: evaluation.sodConflicts.map((c) => ({ ruleId: c.ruleId, name: c.name, severity: c.severity })),
    peers: peers && {
      department: peers.department,
      title: peers.title,
      count: peers.peers,
      keys: Object.entries(peers.holders).map(([key, holders]) => ({ key, holders })),
    },
  };
}

export async function resolveRequester(
  source: Source,
  me: Person,
  onBehalfOf: string | null,
  field: (f: string) => string,
): Promise<{ subject: Person; filedBy: string | null }> {
  if (!onBehalfOf || onBehalfOf === me.id) return { subject: me, filedBy: null };
  const [r] = await readBatch(source, [{ sql: `SELECT ${PERSON_COLUMNS} FROM people p WHERE p.id = ?`, args: [onBehalfOf] }]);
  const row = r!.rows[0];
  if (!row) throw withField(refuse.notFound('person_not_found', { personId: onBehalfOf }), field('onBehalfOf'));
  const subject = personFromRow(row);
  if (subject.managerId !== me.id) throw withField(refuse.forbidden('not_your_report', { name: subject.name }), field('onBehalfOf'));
  if (subject.status !== 'active')
    throw withField(refuse.forbidden('subject_inactive', { name: subject.name, personStatus: subject.status }), field('onBehalfOf'));
  return { subject, filedBy: me.id };
}

/** The grant an extension extends: the requester's, on this connection, in force; its root when it was an extension itself. */
async function extensionTarget(w: WriteContext, subject: Person, connectionId: string, id: string, field: (f: string) => string): Promise<AccessRequest> {
  let grant = await loadRequest(w.tx, id);
  if (!grant) throw withField(refuse.notFound('extend_request_not_found'), field('extendsRequestId'));
  if (grant.requesterId !== subject.id) throw withField(refuse.forbidden('extend_not_holder'), field('extendsRequestId'));
  if (grant.connectionId !== connectionId) throw ApiFailure.of(400, 'invalid_input', 'grant_on_other_connection', {}, { field: field('connectionId') });
  if (grant.status !== 'fulfilled' || !grant.expiresAt || grant.expiresAt <= w.nowIso)
    throw withField(refuse.conflict('extend_not_in_force', { status: grant.status }), field('extendsRequestId'));
  for (let i = 0; i < 10 && grant.extendsRequestId && !grant.fulfilment; i++) {
    const root = await loadRequest(w.tx, grant.extendsRequestId);
    if (!root) break;
    grant = root;
  }
  return grant;
}

async function previousTarget(w: WriteContext, subject: Person, id: string, field: (f: string) => string): Promise<void> {
  const previous = await loadRequest(w.tx, id);
  if (!previous) throw withField(refuse.notFound('previous_request_not_found'), field('previousRequestId'));
  if (previous.requesterId !== subject.id) throw withField(refuse.forbidden('request_again_not_requester'), field('previousRequestId'));
  if (previous.status !== 'denied') throw withField(refuse.conflict('request_again_not_denied', { status: previous.status }), field('previousRequestId'));
}

/** The access window's start: in the future, at most a year ahead. */
function checkStartsAt(now: Date, startsAt: string | null, field: (f: string) => string): string | null {
  if (startsAt === null) return null;
  const at = Date.parse(startsAt);
  if (at <= now.getTime()) throw ApiFailure.of(400, 'invalid_input', 'starts_in_past', {}, { field: field('startsAt') });
  if (at > now.getTime() + 365 * DAY_MS) throw ApiFailure.of(400, 'invalid_input', 'starts_too_late', {}, { field: field('startsAt') });
  return new Date(at).toISOString();
}

export interface BundleRequest {
  id: string;
  name: string;
  kind: BundleKind;
  /** Keys it grants that the account does not hold: what the request asks for. */
  adds: string[];
  alreadyHeld: string[];
}

/** A bundle of the connection with every key it grants (through what it includes). */
export async function readBundle(
  source: Source,
  connectionId: string,
  bundleId: string,
): Promise<{ id: string; name: string; kind: BundleKind; keys: string[]; removed: boolean } | null> {
  const [rows, removed] = await readBatch(source, [
    { sql: `SELECT ${BUNDLE_COLUMNS} FROM bundles b WHERE b.connection_id = ?`, args: [connectionId] },
    { sql: 'SELECT removed_at FROM bundles WHERE id = ? AND connection_id = ?', args: [bundleId, connectionId] },
  ]);
  const all = new Map(rows!.rows.map(bundleFromRow).map((b) => [b.id, b] as const));
  const bundle = all.get(bundleId);
  if (!bundle) return null;
  const keys = new Set<string>();
  const seen = new Set<string>();
  const walk = (id: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    const b = all.get(id);
    if (!b) return;
    for (const k of b.permissions) keys.add(k);
    for (const inc of b.includes) walk(inc);
  };
  walk(bundleId);
  return { id: bundle.id, name: bundle.name, kind: bundle.kind, keys: [...keys].sort(), removed: removed!.rows[0]?.removed_at != null };
}

/** Which of `keys` the account holds, through any bundle, grant or implication (the engine's decision, as the overlay's). */
export async function heldKeys(source: Source, connectionId: string, accountId: string, keys: string[], now: Date): Promise<Set<string>> {
  const [kindRows, bundleRows, assignmentRows] = await readBatch(source, [
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
    now,
  });
  return new Set(keys.filter((k) => index.canKey(accountId, k)));
}

/**
 * The checks that come before the policy, shared with the preview: the connection exists, the requester
 * has an active account on it, every key is in its catalog and requestable there, none is held already
 * (unless extending), and no open request of the requester overlaps. A bundle request asks for the keys
 * the bundle adds beyond what the account holds (a profile cannot be requested: it replaces the user's).
 */
export async function checkRequestable(
  w: Pick<WriteContext, 'tx' | 'now'>,
  subject: Person,
  connectionId: string,
  permissions: string[],
  field: (f: string) => string,
  options: { allowHeld?: boolean; bundleId?: string | null; onBehalf?: boolean } = {},
): Promise<{ accountId: string; connectionName: string; keys: string[]; bundle: BundleRequest | null }> {
  const { tx } = w;
  let keys = [...new Set(permissions)];
  let context = await readRequestContext(tx, subject.id, connectionId, keys);
  const { connectionName, accountId } = context;
  if (connectionName === null) throw withField(refuse.notFound('connection_not_found', { connectionId }), field('connectionId'));
  if (accountId === null)
    throw withField(
      options.onBehalf
        ? refuse.forbidden('subject_no_account', { name: subject.name, connection: connectionName })
        : refuse.forbidden('no_account', { connection: connectionName }),
      field('connectionId'),
    );
  let bundle: BundleRequest | null = null;
  if (options.bundleId) {
    const b = await readBundle(tx, connectionId, options.bundleId);
    if (!b || b.removed) throw withField(refuse.notFound('bundle_not_found', { bundleId: options.bundleId, connection: connectionName }), field('bundleId'));
    if (b.kind === 'profile') throw ApiFailure.of(400, 'invalid_input', 'bundle_is_profile', { bundle: b.name }, { field: field('bundleId') });
    const held = await heldKeys(tx, connectionId, accountId, b.keys, w.now);
    bundle = { id: b.id, name: b.name, kind: b.kind, adds: b.keys.filter((k) => !held.has(k)), alreadyHeld: b.keys.filter((k) => held.has(k)) };
    if (bundle.adds.length === 0) throw new PolicyBlocked([policyProblem('bundle-adds-nothing', { bundle: b.name })], field('bundleId'));
    keys = [...new Set([...keys, ...bundle.adds])];
    context = await readRequestContext(tx, subject.id, connectionId, keys);
  }
  const at = (key: string) =>
    permissions.includes(key) ? field(`permissions.${permissions.indexOf(key)}`) : field(options.bundleId ? 'bundleId' : 'extendsRequestId');
  for (const key of keys) {
    const entry = context.catalog.get(key);
    if (!entry) throw withField(refuse.notFound('not_in_catalog', { key, connection: connectionName }), at(key));
    if (!entry.requestable) throw withField(refuse.forbidden('not_requestable', { key }), at(key));
  }
  if (!options.allowHeld) {
    const held = await heldKeys(tx, connectionId, accountId, keys, w.now);
    for (const key of keys)
      if (held.has(key))
        throw withField(
          options.onBehalf ? refuse.conflict('subject_already_held', { name: subject.name, key }) : refuse.conflict('already_held', { key }),
          at(key),
        );
  }
  const first = context.overlapping[0];
  if (first)
    throw new ApiFailure(
      409,
      'duplicate_request',
      `${options.onBehalf ? `${subject.name} already has` : 'You already have'} a pending request (${first.id}) for ${first.keys.join(', ')}.`,
      field('permissions'),
    );
  return { accountId, connectionName, keys, bundle };
}

/** The field a policy rejection is about: the first key concerned, the bundle, the evidence or the justification. */
function blockedField(problems: PolicyProblem[], permissions: string[], isBundle: boolean, field: (f: string) => string): string {
  const keyOf = (p: PolicyProblem) => (typeof p.params.key === 'string' ? p.params.key : Array.isArray(p.params.keys) ? p.params.keys[0] : undefined);
  const keyed = problems.map(keyOf).find((k) => k !== undefined);
  if (keyed !== undefined)
    return permissions.includes(keyed) ? field(`permissions.${permissions.indexOf(keyed)}`) : field(isBundle ? 'bundleId' : 'permissions');
  if (problems.some((p) => p.code === 'evidence-required')) return field('evidence');
  if (problems.some((p) => p.code === 'justification-required')) return field('justification');
  return field(isBundle ? 'bundleId' : 'permissions');
}

export function withField(failure: ApiFailure, field: string): ApiFailure {
  return failure.withField(field);
}
