/**
 * /api/admin/scim-tokens (administrators): bearer tokens for identity providers that push people and
 * groups by SCIM (Okta, Entra ID). A token is shown once, when created; revoking one stops it at once.
 */
import { scimTokenCreateBody, scimTokenCreatedResponse, scimTokenResponse, scimTokensResponse } from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { createScimToken, listScimTokens, revokeScimToken } from '../scim/tokens.ts';
import { runWrite } from '../write.ts';

const adminOnly = requireRole(['admin'], 'manage_scim_tokens');
const tokenParam = z.object({ id: z.string().min(1).max(64) });

const listRoute = createRoute({
  method: 'get',
  path: '/',
  tags: ['scim'],
  summary: 'SCIM tokens (never their secrets)',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  responses: { 200: json(scimTokensResponse, 'Every token, revoked ones included.'), ...errors(401, 403) },
});

const createTokenRoute = createRoute({
  method: 'post',
  path: '/',
  tags: ['scim'],
  summary: 'Create a SCIM token for an identity provider (shown once)',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { body: jsonBody(scimTokenCreateBody) },
  responses: { 201: json(scimTokenCreatedResponse, 'The token (only now) and its record.'), ...errors(400, 401, 403) },
});

const revokeRoute = createRoute({
  method: 'post',
  path: '/{id}/revoke',
  tags: ['scim'],
  summary: 'Revoke a SCIM token',
  security: bearer,
  middleware: [requireSession, adminOnly] as const,
  request: { params: tokenParam },
  responses: { 200: json(scimTokenResponse, 'The revoked token.'), ...errors(400, 401, 403, 404, 409) },
});

export const adminScimTokens = apiRoutes()
  .openapi(listRoute, async (c) => c.json({ tokens: await listScimTokens(c.var.db) }, 200))
  .openapi(createTokenRoute, async (c) => {
    const created = await runWrite(c.var.db, c.var.now(), (w) => createScimToken(w, c.req.valid('json').name, c.var.person.id));
    return c.json(created, 201);
  })
  .openapi(revokeRoute, async (c) => {
    const scimToken = await runWrite(c.var.db, c.var.now(), (w) => revokeScimToken(w, c.req.valid('param').id, c.var.person.id));
    return c.json({ scimToken }, 200);
  });
