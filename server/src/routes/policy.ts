import { policyPutBody, policyResponse, type PolicyDocument, type PolicyResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import type { Db } from '../db.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { ApiFailure } from '../errors.ts';
import { readCurrentPolicy, type StoredPolicy } from '../policy/load.ts';
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
  const fail = (field: string, message: string) => {
    throw new ApiFailure(400, 'invalid_input', `document.${field}: ${message}`, `document.${field}`);
  };
  const connection = (field: string, id: string) => {
    if (!connections.has(id)) fail(field, `there is no CRM connection "${id}"`);
  };
  const bundleIn = (field: string, id: string, connectionId: string) => {
    const c = bundleConn.get(id);
    if (c === undefined) fail(field, `there is no bundle "${id}"`);
    else if (c !== connectionId) fail(field, `bundle "${id}" belongs to connection "${c}", not "${connectionId}"`);
  };
  const approver = (field: string, spec: { kind: string; groupId?: string; personId?: string }) => {
    if (spec.kind === 'group' && !groupIds.has(spec.groupId!)) fail(`${field}.groupId`, `there is no approver group "${spec.groupId}"`);
    if (spec.kind === 'person' && !personIds.has(spec.personId!)) fail(`${field}.personId`, `there is no person "${spec.personId}"`);
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
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'read the policy')] as const,
  responses: { 200: json(policyResponse, 'The current version.'), ...errors(401, 403) },
});

const putPolicyRoute = createRoute({
  method: 'put',
  path: '/',
  tags: ['policy'],
  summary: 'Make a new policy version (administrators)',
  description: '409 (field baseVersion) when baseVersion is not the current version.',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'change the policy')] as const,
  request: { body: jsonBody(policyPutBody) },
  responses: { 200: json(policyResponse, 'The new version.'), ...errors(400, 401, 403, 409) },
});

/** The versioned policy: everyone's requests and every finding follow the current version. */
export const policyRoutes = apiRoutes()
  .openapi(getPolicyRoute, async (c) => c.json(respond(await readCurrentPolicy(c.var.db)), 200))
  .openapi(putPolicyRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const now = c.var.now();
    const body = c.req.valid('json');
    await checkReferences(db, body.document);
    const stored = await runWrite(
      db,
      now,
      async (w) => {
        const current = await readCurrentPolicy(w.tx);
        if (body.baseVersion !== current.version)
          throw new ApiFailure(
            409,
            'conflict',
            `The policy changed since version ${body.baseVersion}: it is now version ${current.version}. Reload it and apply your change again.`,
            'baseVersion',
          );
        const next: StoredPolicy = {
          version: current.version + 1,
          document: body.document,
          createdAt: w.nowIso,
          createdBy: person.id,
          note: body.note,
        };
        // Other processes notice a policy change by the sync version moving.
        await w.version();
        await w.tx.execute({
          sql: 'INSERT INTO policy_versions (version, document, created_at, created_by, note) VALUES (?, ?, ?, ?, ?)',
          args: [next.version, JSON.stringify(next.document), next.createdAt, next.createdBy, next.note],
        });
        await w.audit({
          actorId: person.id,
          action: 'policy.changed',
          subjectType: 'policy',
          subjectId: String(next.version),
          data: { fromVersion: current.version, toVersion: next.version, note: next.note },
        });
        findings.track(w);
        return next;
      },
      notifier,
    );
    return c.json(respond(stored), 200);
  });
