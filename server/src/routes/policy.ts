import {
  id,
  policyProposalApproved,
  policyProposalBody,
  policyProposalResponse,
  policyProposalsQuery,
  policyProposalsResponse,
  policyPutAccepted,
  policyPutBody,
  policyResponse,
  proposalDecisionBody,
  proposalRejectBody,
  type PolicyDocument,
  type PolicyResponse,
  type ServerErrorParams,
  type ServerErrorReason,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import type { Db } from '../db.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { ApiFailure, refuse } from '../errors.ts';
import { readCurrentPolicy, type StoredPolicy } from '../policy/load.ts';
import { approveProposal, closeProposal, getProposal, listProposals, propose } from '../policy/proposals.ts';
import { runWrite } from '../write.ts';

const respond = (p: StoredPolicy): PolicyResponse => ({
  version: p.version,
  document: p.document,
  createdAt: p.createdAt,
  createdBy: p.createdBy,
  note: p.note,
});

/**
 * What a document refers to must exist: connections, bundles of that connection, approver groups and
 * people. Returns the first dangling reference as a 400 naming its field.
 */
async function checkReferences(db: Db, d: PolicyDocument): Promise<void> {
  const [conns, bundles, groups, people] = await db.readBatch([
    'SELECT id FROM crm_connections',
    'SELECT id, connection_id FROM bundles',
    'SELECT id FROM approver_groups WHERE deleted_at IS NULL',
    'SELECT id FROM people',
  ]);
  const connections = new Set(conns!.rows.map((r) => String(r.id)));
  const bundleConn = new Map(bundles!.rows.map((r) => [String(r.id), String(r.connection_id)] as const));
  const groupIds = new Set(groups!.rows.map((r) => String(r.id)));
  const personIds = new Set(people!.rows.map((r) => String(r.id)));
  const fail = (field: string, reason: ServerErrorReason, params: ServerErrorParams) => {
    throw ApiFailure.of(400, 'invalid_input', reason, params, { field: `document.${field}` });
  };
  const connection = (field: string, id: string) => {
    if (!connections.has(id)) fail(field, 'connection_not_found', { connectionId: id });
  };
  const bundleIn = (field: string, id: string, connectionId: string) => {
    const c = bundleConn.get(id);
    if (c === undefined) fail(field, 'bundle_unknown', { bundleId: id });
    else if (c !== connectionId) fail(field, 'bundle_other_connection', { bundleId: id, connectionId: c, expected: connectionId });
  };
  const approver = (field: string, spec: { kind: string; groupId?: string; personId?: string }) => {
    if (spec.kind === 'group' && !groupIds.has(spec.groupId!)) fail(`${field}.groupId`, 'approver_group_id_not_found', { groupId: spec.groupId! });
    if (spec.kind === 'person' && !personIds.has(spec.personId!)) fail(`${field}.personId`, 'person_not_found', { personId: spec.personId! });
  };
  for (const [i, b] of d.baselines.entries()) {
    connection(`baselines.${i}.connectionId`, b.connectionId);
    for (const [j, id] of b.bundleIds.entries()) bundleIn(`baselines.${i}.bundleIds.${j}`, id, b.connectionId);
  }
  for (const [i, r] of d.sodRules.entries()) {
    connection(`sodRules.${i}.connectionId`, r.connectionId);
    for (const side of ['left', 'right'] as const)
      for (const [j, id] of (r[side].bundleIds ?? []).entries()) bundleIn(`sodRules.${i}.${side}.bundleIds.${j}`, id, r.connectionId);
  }
  for (const [i, r] of d.revocations.connections.entries()) connection(`revocations.connections.${i}.connectionId`, r.connectionId);
  for (const [i, r] of d.requestRules.entries()) {
    connection(`requestRules.${i}.connectionId`, r.connectionId);
    for (const [j, s] of r.stages.entries()) approver(`requestRules.${i}.stages.${j}`, s);
    for (const [j, s] of r.fallback.entries()) approver(`requestRules.${i}.fallback.${j}`, s);
  }
}

const getPolicyRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['policy'],
  summary: 'The current policy version (administrators and auditors)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'read_policy')] as const,
  responses: { 200: json(policyResponse, 'The current version.'), ...errors(401, 403) },
});

const putPolicyRoute = createRoute({
  method: 'put',
  path: '/',
  tags: ['policy'],
  summary: 'Propose a new policy version (administrators): another administrator approves it',
  description:
    'One administrator can no longer change the policy alone: the change becomes a pending proposal (202), applied when another ' +
    'administrator approves it (POST /api/policy/proposals/{id}/approve). Only the very first policy of an organisation with a single ' +
    "administrator applies at once (200), unless it would approve that administrator's own requests automatically. " +
    '409 (field baseVersion) when baseVersion is not the current version.',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'change_policy')] as const,
  request: { body: jsonBody(policyPutBody) },
  responses: {
    200: json(policyResponse, 'The first policy, applied.'),
    202: json(policyPutAccepted, 'The change, waiting for a second administrator.'),
    ...errors(400, 401, 403, 409),
  },
});

const proposalParam = z.object({ id });

const listProposalsRoute = createRoute({
  method: 'get',
  path: '/proposals',
  tags: ['policy'],
  summary: 'Policy changes proposed, newest first, with their diff and who they would give more (administrators)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'see_policy_proposals')] as const,
  request: { query: policyProposalsQuery },
  responses: { 200: json(policyProposalsResponse, 'Proposals.'), ...errors(400, 401, 403) },
});

const createProposalRoute = createRoute({
  method: 'post',
  path: '/proposals',
  tags: ['policy'],
  summary: 'Propose a policy change (administrators)',
  description: 'Same as PUT /api/policy, answered with the proposal (status `applied` for the first policy of a single-administrator organisation).',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'propose_policy_changes')] as const,
  request: { body: jsonBody(policyProposalBody) },
  responses: { 201: json(policyProposalResponse, 'The proposal.'), ...errors(400, 401, 403, 409) },
});

const getProposalRoute = createRoute({
  method: 'get',
  path: '/proposals/{id}',
  tags: ['policy'],
  summary: 'One policy proposal with its diff',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'see_policy_proposals')] as const,
  request: { params: proposalParam },
  responses: { 200: json(policyProposalResponse, 'The proposal.'), ...errors(400, 401, 403, 404) },
});

const approveRoute = createRoute({
  method: 'post',
  path: '/proposals/{id}/approve',
  tags: ['policy'],
  summary: 'Approve a proposal: it applies as the next version (another administrator than its proposer)',
  description:
    '403 for its proposer, and for an administrator the change gives more through their own job (auto-approval of their requests, a ' +
    'wider baseline for their job, their job becoming an admin function). 409 when the policy moved on since it was proposed.',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'approve_policy_changes')] as const,
  request: { params: proposalParam, body: jsonBody(proposalDecisionBody) },
  responses: { 200: json(policyProposalApproved, 'The proposal, applied, and the new policy version.'), ...errors(400, 401, 403, 404, 409) },
});

const rejectRoute = createRoute({
  method: 'post',
  path: '/proposals/{id}/reject',
  tags: ['policy'],
  summary: 'Reject a proposal, with a reason (another administrator than its proposer)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'reject_policy_changes')] as const,
  request: { params: proposalParam, body: jsonBody(proposalRejectBody) },
  responses: { 200: json(policyProposalResponse, 'The proposal, rejected.'), ...errors(400, 401, 403, 404, 409) },
});

const withdrawRoute = createRoute({
  method: 'post',
  path: '/proposals/{id}/withdraw',
  tags: ['policy'],
  summary: "Withdraw one's own pending proposal",
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'withdraw_policy_changes')] as const,
  request: { params: proposalParam },
  responses: { 200: json(policyProposalResponse, 'The proposal, withdrawn.'), ...errors(400, 401, 403, 404, 409) },
});

/** The versioned policy: everyone's requests and every finding follow the current version; changes take four eyes. */
export const policyRoutes = apiRoutes()
  .openapi(getPolicyRoute, async (c) => c.json(respond(await readCurrentPolicy(c.var.db)), 200))
  .openapi(putPolicyRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const body = c.req.valid('json');
    await checkReferences(db, body.document);
    const { id: proposalId, applied } = await runWrite(db, c.var.now(), (w) => propose(w, person.id, body, findings), notifier);
    if (applied) return c.json(respond(applied), 200);
    return c.json({ proposal: (await getProposal(db, proposalId))! }, 202);
  })
  .openapi(listProposalsRoute, async (c) => c.json({ proposals: await listProposals(c.var.db, c.req.valid('query').status) }, 200))
  .openapi(createProposalRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const body = c.req.valid('json');
    await checkReferences(db, body.document);
    const { id: proposalId } = await runWrite(db, c.var.now(), (w) => propose(w, person.id, body, findings), notifier);
    return c.json({ proposal: (await getProposal(db, proposalId))! }, 201);
  })
  .openapi(getProposalRoute, async (c) => {
    const proposal = await getProposal(c.var.db, c.req.valid('param').id);
    if (!proposal) throw refuse.notFound('proposal_not_found');
    return c.json({ proposal }, 200);
  })
  .openapi(approveRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const { id: proposalId } = c.req.valid('param');
    const { note } = c.req.valid('json');
    const applied = await runWrite(db, c.var.now(), (w) => approveProposal(w, person.id, proposalId, note, findings, (d) => checkReferences(db, d)), notifier);
    return c.json({ proposal: (await getProposal(db, proposalId))!, policy: respond(applied) }, 200);
  })
  .openapi(rejectRoute, async (c) => {
    const { db, person, notifier } = c.var;
    const { id: proposalId } = c.req.valid('param');
    await runWrite(db, c.var.now(), (w) => closeProposal(w, person.id, proposalId, 'rejected', c.req.valid('json').note), notifier);
    return c.json({ proposal: (await getProposal(db, proposalId))! }, 200);
  })
  .openapi(withdrawRoute, async (c) => {
    const { db, person, notifier } = c.var;
    const { id: proposalId } = c.req.valid('param');
    await runWrite(db, c.var.now(), (w) => closeProposal(w, person.id, proposalId, 'withdrawn', ''), notifier);
    return c.json({ proposal: (await getProposal(db, proposalId))! }, 200);
  });
