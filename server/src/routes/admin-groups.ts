/**
 * /api/admin/approver-groups (administrators): the named sets of approvers request rules and catalog
 * owners point at. The same groups an identity provider pushes as SCIM Groups.
 */
import {
  approverGroupCreateBody,
  approverGroupMemberBody,
  approverGroupResponse,
  approverGroupsResponse,
  approverGroupUpdateBody,
  id,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { checkMembers, deleteGroup, groupView, listGroupViews, newGroupId, readGroup, writeGroup } from '../directory/groups.ts';
import { refuse } from '../errors.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { runWrite } from '../write.ts';

const adminOnly = requireRole(['admin'], 'manage_approver_groups');
const groupParam = z.object({ id });
const memberParam = z.object({ id, personId: id });

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['directory'],
  summary: 'Approver groups with their members',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  responses: { 200: json(approverGroupsResponse, 'Every group, by name.'), ...errors(401, 403) },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  tags: ['directory'],
  summary: 'One approver group',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: groupParam },
  responses: { 200: json(approverGroupResponse, 'The group.'), ...errors(400, 401, 403, 404) },
});

const createGroupRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['directory'],
  summary: 'Create an approver group',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { body: jsonBody(approverGroupCreateBody) },
  responses: { 201: json(approverGroupResponse, 'The new group.'), ...errors(400, 401, 403) },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{id}',
  tags: ['directory'],
  summary: 'Rename a group or replace its members',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: groupParam, body: jsonBody(approverGroupUpdateBody) },
  responses: { 200: json(approverGroupResponse, 'The group as changed.'), ...errors(400, 401, 403, 404) },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{id}',
  tags: ['directory'],
  summary: 'Delete a group no request rule or catalog entry names (409 otherwise)',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: groupParam },
  responses: { 204: { description: 'Deleted.' }, ...errors(400, 401, 403, 404, 409) },
});

const addMemberRoute = createRoute({
  method: 'post',
  path: '/{id}/members',
  tags: ['directory'],
  summary: 'Add a member (nothing changes when already one)',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: groupParam, body: jsonBody(approverGroupMemberBody) },
  responses: { 200: json(approverGroupResponse, 'The group.'), ...errors(400, 401, 403, 404) },
});

const removeMemberRoute = createRoute({
  method: 'delete',
  path: '/{id}/members/{personId}',
  tags: ['directory'],
  summary: 'Remove a member (nothing changes when not one)',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: memberParam },
  responses: { 200: json(approverGroupResponse, 'The group.'), ...errors(400, 401, 403, 404) },
});

const noGroup = () => refuse.notFound('approver_group_not_found');

export const adminGroups = apiRoutes()
  .openapi(listRoute, async (c) => c.json({ groups: await listGroupViews(c.var.db) }, 200))
  .openapi(getRoute, async (c) => {
    const group = await groupView(c.var.db, c.req.valid('param').id);
    if (!group) throw noGroup();
    return c.json({ group }, 200);
  })
  .openapi(createGroupRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const body = c.req.valid('json');
    const group = await runWrite(
      db,
      c.var.now(),
      async (w) => {
        await checkMembers(w.tx, body.memberIds);
        const groupId = newGroupId();
        await writeGroup(w, null, { id: groupId, name: body.name, memberIds: body.memberIds, externalId: null }, { via: 'api', actorId: person.id });
        findings.track(w);
        return (await groupView(w.tx, groupId))!;
      },
      notifier,
    );
    return c.json({ group }, 201);
  })
  .openapi(updateRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const groupId = c.req.valid('param').id;
    const body = c.req.valid('json');
    const group = await runWrite(
      db,
      c.var.now(),
      async (w) => {
        const before = await readGroup(w.tx, groupId);
        if (!before) throw noGroup();
        if (body.memberIds) await checkMembers(w.tx, body.memberIds);
        const after = { id: groupId, name: body.name ?? before.name, memberIds: body.memberIds ?? before.memberIds, externalId: before.externalId };
        if (await writeGroup(w, before, after, { via: 'api', actorId: person.id })) findings.track(w);
        return (await groupView(w.tx, groupId))!;
      },
      notifier,
    );
    return c.json({ group }, 200);
  })
  .openapi(deleteRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const groupId = c.req.valid('param').id;
    await runWrite(
      db,
      c.var.now(),
      async (w) => {
        const before = await readGroup(w.tx, groupId);
        if (!before) throw noGroup();
        await deleteGroup(w, before, { via: 'api', actorId: person.id });
        findings.track(w);
      },
      notifier,
    );
    return c.body(null, 204);
  })
  .openapi(addMemberRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const groupId = c.req.valid('param').id;
    const { personId } = c.req.valid('json');
    const group = await runWrite(
      db,
      c.var.now(),
      async (w) => {
        const before = await readGroup(w.tx, groupId);
        if (!before) throw noGroup();
        await checkMembers(w.tx, [personId], () => 'personId');
        const memberIds = before.memberIds.includes(personId) ? before.memberIds : [...before.memberIds, personId];
        if (await writeGroup(w, before, { ...before, memberIds }, { via: 'api', actorId: person.id })) findings.track(w);
        return (await groupView(w.tx, groupId))!;
      },
      notifier,
    );
    return c.json({ group }, 200);
  })
  .openapi(removeMemberRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const { id: groupId, personId } = c.req.valid('param');
    const group = await runWrite(
      db,
      c.var.now(),
      async (w) => {
        const before = await readGroup(w.tx, groupId);
        if (!before) throw noGroup();
        const memberIds = before.memberIds.filter((m) => m !== personId);
        if (await writeGroup(w, before, { ...before, memberIds }, { via: 'api', actorId: person.id })) findings.track(w);
        return (await groupView(w.tx, groupId))!;
      },
      notifier,
    );
    return c.json({ group }, 200);
  });
