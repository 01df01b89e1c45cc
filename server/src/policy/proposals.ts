/**
 * Policy with four eyes. A change is a proposal; another administrator approves it before it applies.
 *
 * The rules, enforced here (docs/api.md "Policy"):
 * - the proposer never approves their own proposal;
 * - nobody approves a change that gives them more through their own job function (an auto-approval rule
 *   covering their job, a wider baseline for it, their job becoming an admin function — `policyGains`):
 *   an administrator the change gives nothing must approve it;
 * - a proposal applies only on top of the version it was made against (else 409: propose again);
 *   applying one supersedes the other pending proposals made against the same version;
 * - the very first policy of an organisation with a single administrator applies at once (there is no
 *   second administrator to ask yet: it may set the baseline of their own job), unless it would approve
 *   that administrator's own requests automatically — then it waits for a second administrator like any
 *   other change.
 * Every step is audited: policy.proposed, policy.proposal_approved + policy.changed, policy.proposal_rejected,
 * policy.proposal_withdrawn, policy.proposal_superseded.
 *
 * Requests by administrators for themselves follow the policy like anyone's (they may be approved
 * automatically): the rule that allows it was approved by an administrator it gives nothing.
 */
import { randomUUID } from 'node:crypto';
import {
  diffPolicy,
  policyDocument,
  policyGains,
  type PersonRef,
  type PolicyDocument,
  type PolicyGain,
  type PolicyProposalView,
  type ProposalStatus,
} from '@accesslens/shared';
import type { Row } from '@libsql/client';
import type { Db, Transaction } from '../db.ts';
import { ApiFailure, refuse } from '../errors.ts';
import type { FindingsService } from '../findings/service.ts';
import { notify } from '../console/notices.ts';
import type { WriteContext } from '../write.ts';
import { readBatch, readCurrentPolicy, policyFromRows, EMPTY_POLICY_DOCUMENT, type Source, type StoredPolicy } from './load.ts';

export interface Beneficiary {
  personId: string;
  gains: PolicyGain[];
}

/** Active administrators, with their job function. */
async function admins(source: Source): Promise<{ id: string; department: string; title: string }[]> {
  const [rows] = await readBatch(source, [
    `SELECT id, department, title FROM people p WHERE p.status = 'active' AND EXISTS (SELECT 1 FROM json_each(p.roles) WHERE value = 'admin') ORDER BY id`,
  ]);
  return rows!.rows.map((r) => ({ id: String(r.id), department: String(r.department), title: String(r.title) }));
}

/** Administrators a change from `before` to `after` would give more, and what. */
export async function beneficiariesOf(source: Source, before: PolicyDocument, after: PolicyDocument): Promise<Beneficiary[]> {
  return (await admins(source)).map((a) => ({ personId: a.id, gains: policyGains(before, after, a) })).filter((b) => b.gains.length > 0);
}

async function documentAt(source: Source, version: number): Promise<PolicyDocument> {
  if (version === 0) return EMPTY_POLICY_DOCUMENT;
  const [rows] = await readBatch(source, [
    { sql: 'SELECT version, document, created_at, created_by, note FROM policy_versions WHERE version = ?', args: [version] },
  ]);
  return policyFromRows(rows!.rows).document;
}

/** Writes a new policy version on top of `current` (the caller checked references and the base). */
export async function applyPolicyVersion(
  w: WriteContext,
  current: StoredPolicy,
  document: PolicyDocument,
  note: string,
  actorId: string,
  findings: FindingsService,
  extra: Record<string, unknown> = {},
): Promise<StoredPolicy> {
  const next: StoredPolicy = { version: current.version + 1, document, createdAt: w.nowIso, createdBy: actorId, note };
  // Other processes notice a policy change by the sync version moving.
  await w.version();
  await w.tx.execute({
    sql: 'INSERT INTO policy_versions (version, document, created_at, created_by, note) VALUES (?, ?, ?, ?, ?)',
    args: [next.version, JSON.stringify(next.document), next.createdAt, next.createdBy, next.note],
  });
  await w.audit({
    actorId,
    action: 'policy.changed',
    subjectType: 'policy',
    subjectId: String(next.version),
    data: { fromVersion: current.version, toVersion: next.version, note: next.note, ...extra },
  });
  findings.track(w);
  return next;
}

const PROPOSAL_COLUMNS = `pp.id, pp.base_version, pp.document, pp.note, pp.proposed_by, pp.proposed_at, pp.beneficiaries, pp.status,
  pp.decided_by, pp.decided_at, pp.decision_note, pp.applied_version`;

async function peopleRefs(source: Source, ids: string[]): Promise<Map<string, PersonRef>> {
  if (ids.length === 0) return new Map();
  const list = [...new Set(ids)];
  const [rows] = await readBatch(source, [{ sql: `SELECT id, name, email, title FROM people WHERE id IN (${list.map(() => '?').join(', ')})`, args: list }]);
  return new Map(rows!.rows.map((r) => [String(r.id), { id: String(r.id), name: String(r.name), email: String(r.email), title: String(r.title) }] as const));
}

async function viewsOf(source: Source, rows: Row[]): Promise<PolicyProposalView[]> {
  const current = await readCurrentPolicy(source);
  const beneficiaries = rows.map((r) => JSON.parse(String(r.beneficiaries)) as Beneficiary[]);
  const refs = await peopleRefs(source, [
    ...rows.flatMap((r) => [String(r.proposed_by), ...(r.decided_by === null ? [] : [String(r.decided_by)])]),
    ...beneficiaries.flatMap((b) => b.map((x) => x.personId)),
  ]);
  const ref = (id: string): PersonRef => refs.get(id) ?? { id, name: id, email: 'unknown@invalid', title: '' };
  const bases = new Map<number, PolicyDocument>();
  const out: PolicyProposalView[] = [];
  for (const [i, r] of rows.entries()) {
    const base = Number(r.base_version);
    if (!bases.has(base)) bases.set(base, await documentAt(source, base));
    const document = policyDocument.parse(JSON.parse(String(r.document)));
    const status = String(r.status) as ProposalStatus;
    out.push({
      id: String(r.id),
      baseVersion: base,
      document,
      note: String(r.note),
      proposedBy: ref(String(r.proposed_by)),
      proposedAt: String(r.proposed_at),
      status,
      beneficiaries: beneficiaries[i]!.map((b) => ({ person: ref(b.personId), gains: b.gains })),
      diff: diffPolicy(bases.get(base)!, document),
      stale: status === 'pending' && base !== current.version,
      decidedBy: r.decided_by === null ? null : ref(String(r.decided_by)),
      decidedAt: r.decided_at === null ? null : String(r.decided_at),
      decisionNote: r.decision_note === null ? null : String(r.decision_note),
      appliedVersion: r.applied_version === null ? null : Number(r.applied_version),
    });
  }
  return out;
}

export async function listProposals(db: Db, status?: ProposalStatus): Promise<PolicyProposalView[]> {
  const rows = await db.execute(
    `SELECT ${PROPOSAL_COLUMNS} FROM policy_proposals pp ${status ? 'WHERE pp.status = ?' : ''} ORDER BY pp.proposed_at DESC, pp.id LIMIT 200`,
    status ? [status] : [],
  );
  return viewsOf(db, rows.rows);
}

export async function getProposal(source: Source, id: string): Promise<PolicyProposalView | null> {
  const [rows] = await readBatch(source, [{ sql: `SELECT ${PROPOSAL_COLUMNS} FROM policy_proposals pp WHERE pp.id = ?`, args: [id] }]);
  const r = rows!.rows[0];
  return r ? (await viewsOf(source, [r]))[0]! : null;
}

/**
 * Records a proposal (pending), or — the first policy of a single-administrator organisation, giving
 * that administrator nothing — applies it at once. Returns the proposal id and, when applied, the version.
 */
export async function propose(
  w: WriteContext,
  actorId: string,
  body: { baseVersion: number; document: PolicyDocument; note: string },
  findings: FindingsService,
): Promise<{ id: string; applied: StoredPolicy | null }> {
  const current = await readCurrentPolicy(w.tx);
  if (body.baseVersion !== current.version)
    throw ApiFailure.of(409, 'conflict', 'policy_changed', { baseVersion: body.baseVersion, version: current.version }, { field: 'baseVersion' });
  const beneficiaries = await beneficiariesOf(w.tx, current.document, body.document);
  const id = `prop-${randomUUID()}`;
  const everyAdmin = await admins(w.tx);
  // Alone, an administrator may set the first policy, but never one that approves their own requests.
  const selfApproving = beneficiaries.some((b) => b.personId === actorId && b.gains.some((g) => g.kind === 'auto-approval'));
  const bootstrap = current.version === 0 && everyAdmin.length === 1 && everyAdmin[0]!.id === actorId && !selfApproving;
  await w.tx.execute({
    sql: `INSERT INTO policy_proposals (id, base_version, document, note, proposed_by, proposed_at, beneficiaries, status)
          VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')`,
    args: [id, body.baseVersion, JSON.stringify(body.document), body.note, actorId, w.nowIso, JSON.stringify(beneficiaries)],
  });
  await w.audit({
    actorId,
    action: 'policy.proposed',
    subjectType: 'policy_proposal',
    subjectId: id,
    data: { baseVersion: body.baseVersion, note: body.note, changes: diffPolicy(current.document, body.document).length, beneficiaries },
  });
  if (bootstrap) {
    const applied = await applyPolicyVersion(w, current, body.document, body.note, actorId, findings, { proposalId: id, bootstrap: true });
    await w.tx.execute({
      sql: "UPDATE policy_proposals SET status = 'applied', decided_by = ?, decided_at = ?, decision_note = ?, applied_version = ? WHERE id = ?",
      args: [actorId, w.nowIso, 'The first policy of an organisation with one administrator.', applied.version, id],
    });
    return { id, applied };
  }
  for (const a of everyAdmin)
    if (a.id !== actorId) await notify(w, a.id, 'policy.proposed', { proposalId: id, proposedBy: actorId, note: body.note, baseVersion: body.baseVersion });
  return { id, applied: null };
}

async function pendingRow(tx: Transaction, id: string): Promise<Row> {
  const r = await tx.execute({ sql: `SELECT ${PROPOSAL_COLUMNS} FROM policy_proposals pp WHERE pp.id = ?`, args: [id] });
  const row = r.rows[0];
  if (!row) throw refuse.notFound('proposal_not_found');
  if (String(row.status) !== 'pending') throw refuse.conflict('proposal_not_pending', { proposalStatus: String(row.status) });
  return row;
}

/** A second administrator approves: the change applies as the next version. */
export async function approveProposal(
  w: WriteContext,
  actorId: string,
  id: string,
  note: string,
  findings: FindingsService,
  checkReferences: (d: PolicyDocument) => Promise<void>,
): Promise<StoredPolicy> {
  const row = await pendingRow(w.tx, id);
  if (String(row.proposed_by) === actorId) throw refuse.forbidden('proposal_own_approve');
  const current = await readCurrentPolicy(w.tx);
  const base = Number(row.base_version);
  if (base !== current.version)
    throw ApiFailure.of(409, 'conflict', 'policy_moved_on', { version: current.version, baseVersion: base }, { field: 'baseVersion' });
  const document = policyDocument.parse(JSON.parse(String(row.document)));
  await checkReferences(document);
  // Who gains is decided again now: people's jobs and roles may have changed since.
  const beneficiaries = await beneficiariesOf(w.tx, current.document, document);
  const mine = beneficiaries.find((b) => b.personId === actorId);
  if (mine) throw refuse.forbidden('proposal_benefits_you', { gains: [...new Set(mine.gains.map((g) => g.kind))].join(', ') });
  const applied = await applyPolicyVersion(w, current, document, String(row.note), actorId, findings, { proposalId: id, proposedBy: String(row.proposed_by) });
  await w.tx.execute({
    sql: "UPDATE policy_proposals SET status = 'applied', decided_by = ?, decided_at = ?, decision_note = ?, applied_version = ?, beneficiaries = ? WHERE id = ?",
    args: [actorId, w.nowIso, note, applied.version, JSON.stringify(beneficiaries), id],
  });
  await w.audit({
    actorId,
    action: 'policy.proposal_approved',
    subjectType: 'policy_proposal',
    subjectId: id,
    data: { proposedBy: String(row.proposed_by), appliedVersion: applied.version, note, beneficiaries },
  });
  // Proposals made against the version this one replaced can no longer apply.
  const stale = await w.tx.execute({ sql: "SELECT id FROM policy_proposals WHERE status = 'pending' AND base_version = ? AND id <> ?", args: [base, id] });
  for (const s of stale.rows) {
    await w.tx.execute({ sql: "UPDATE policy_proposals SET status = 'superseded', decided_at = ? WHERE id = ?", args: [w.nowIso, String(s.id)] });
    await w.audit({
      actorId: null,
      action: 'policy.proposal_superseded',
      subjectType: 'policy_proposal',
      subjectId: String(s.id),
      data: { by: id, version: applied.version },
    });
  }
  return applied;
}

/** Another administrator rejects it (with a reason), or its proposer withdraws it. */
export async function closeProposal(w: WriteContext, actorId: string, id: string, how: 'rejected' | 'withdrawn', note: string): Promise<void> {
  const row = await pendingRow(w.tx, id);
  const proposer = String(row.proposed_by);
  if (how === 'rejected' && proposer === actorId) throw refuse.forbidden('proposal_own_reject');
  if (how === 'withdrawn' && proposer !== actorId) throw refuse.forbidden('proposal_withdraw_not_yours');
  await w.tx.execute({
    sql: 'UPDATE policy_proposals SET status = ?, decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ?',
    args: [how, actorId, w.nowIso, note, id],
  });
  await w.audit({
    actorId,
    action: how === 'rejected' ? 'policy.proposal_rejected' : 'policy.proposal_withdrawn',
    subjectType: 'policy_proposal',
    subjectId: id,
    data: { proposedBy: proposer, note },
  });
}
