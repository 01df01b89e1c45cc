/**
 * /api/reviews: access reviews. Administrators run campaigns; reviewers (anyone an item names: a
 * manager, a permission owner, a named person) decide their items — the popup's Reviews view — keep or
 * revoke with a comment, in bulk. Auditors read campaigns and their reports (CSV and JSON for the
 * printable summary). Every step is audited.
 */
import {
  id,
  myReviewsResponse,
  reviewCampaignBody,
  reviewCampaignResponse,
  reviewCampaignsResponse,
  reviewDecisionsBody,
  reviewDecisionsResponse,
  reviewItemsQuery,
  reviewItemsResponse,
  reviewReportResponse,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { requireRole } from '../auth/require-role.ts';
import { requireSession } from '../auth/require-session.ts';
import { streamed } from '../console/audit-query.ts';
import { CSV_BOM, csvHeaders } from '../console/csv.ts';
import {
  campaignCsv,
  campaignItems,
  campaignReport,
  cancelCampaign,
  createCampaign,
  decide,
  getCampaign,
  itemsByIds,
  listCampaigns,
  myItems,
} from '../console/reviews.ts';
import { refuse } from '../errors.ts';
import { apiRoutes, bearer, errors, json, jsonBody } from '../openapi.ts';
import { runWrite } from '../write.ts';

const campaignParam = z.object({ id });
const noCampaign = () => refuse.notFound('campaign_not_found');

const mineRoute = createRoute({
  method: 'get',
  path: '/mine',
  tags: ['reviews'],
  summary: "The caller's review items waiting for a decision, soonest due first",
  security: bearer,
  middleware: [requireSession] as const,
  responses: { 200: json(myReviewsResponse, 'Items to review.'), ...errors(401) },
});

const decideRoute = createRoute({
  method: 'post',
  path: '/decisions',
  tags: ['reviews'],
  summary: 'Keep or revoke review items, in bulk (their reviewers; a revoke needs a comment and starts at once)',
  description:
    'All or nothing: 403 for an item the caller does not review (or their own access), 409 for one already decided or whose campaign ' +
    "ended, each naming `decisions.N.itemId`. A revoke becomes the request's revoke job, or an admin task for access no request granted.",
  security: bearer,
  middleware: [requireSession] as const,
  request: { body: jsonBody(reviewDecisionsBody) },
  responses: { 200: json(reviewDecisionsResponse, 'The items as decided.'), ...errors(400, 401, 403, 404, 409) },
});

const listRoute = createRoute({
  method: 'get',
  path: '/campaigns',
  tags: ['reviews'],
  summary: 'Review campaigns with their counts, newest first (administrators and auditors)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'see_review_campaigns')] as const,
  responses: { 200: json(reviewCampaignsResponse, 'Campaigns.'), ...errors(401, 403) },
});

const createCampaignRoute = createRoute({
  method: 'post',
  path: '/campaigns',
  tags: ['reviews'],
  summary: 'Start a review campaign over a scope (administrators)',
  description:
    'One item per assignment in force in the scope (a connection, a department, assignments granting a permission of at least `minRisk`, ' +
    'granted more than `grantedBeforeDays` ago). Reminders and the due date are scheduled in the database.',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'start_access_reviews')] as const,
  request: { body: jsonBody(reviewCampaignBody) },
  responses: { 201: json(reviewCampaignResponse, 'The campaign.'), ...errors(400, 401, 403) },
});

const getCampaignRoute = createRoute({
  method: 'get',
  path: '/campaigns/{id}',
  tags: ['reviews'],
  summary: 'One review campaign',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'see_review_campaigns')] as const,
  request: { params: campaignParam },
  responses: { 200: json(reviewCampaignResponse, 'The campaign.'), ...errors(400, 401, 403, 404) },
});

const itemsRoute = createRoute({
  method: 'get',
  path: '/campaigns/{id}/items',
  tags: ['reviews'],
  summary: "A campaign's items (administrators and auditors)",
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'see_review_campaigns')] as const,
  request: { params: campaignParam, query: reviewItemsQuery },
  responses: { 200: json(reviewItemsResponse, 'A page of items.'), ...errors(400, 401, 403, 404) },
});

const cancelRoute = createRoute({
  method: 'post',
  path: '/campaigns/{id}/cancel',
  tags: ['reviews'],
  summary: 'Cancel a campaign: undecided items stay as they are, nothing more is scheduled (administrators)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin'], 'cancel_access_reviews')] as const,
  request: { params: campaignParam },
  responses: { 200: json(reviewCampaignResponse, 'The campaign, cancelled.'), ...errors(400, 401, 403, 404, 409) },
});

const reportRoute = createRoute({
  method: 'get',
  path: '/campaigns/{id}/report',
  tags: ['reviews'],
  summary: 'The report for auditors: counts, per reviewer, every item (administrators and auditors)',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'read_review_reports')] as const,
  request: { params: campaignParam },
  responses: { 200: json(reviewReportResponse, 'The report.'), ...errors(400, 401, 403, 404) },
});

const csvRoute = createRoute({
  method: 'get',
  path: '/campaigns/{id}/report.csv',
  tags: ['reviews'],
  summary: 'Every item of a campaign as CSV (administrators and auditors)',
  description:
    'Header: `campaign,item_id,person,department,title,connection,account,access,keys,risk,granted_at,reviewers,decision,comment,decided_by,decided_at,outcome,escalated,revocation_tasks,revocation_requests`.',
  security: bearer,
  middleware: [requireSession, requireRole(['admin', 'auditor'], 'read_review_reports')] as const,
  request: { params: campaignParam },
  responses: { 200: { description: 'CSV.', content: { 'text/csv': { schema: z.string() } } }, ...errors(400, 401, 403, 404) },
});

export const reviewRoutes = apiRoutes()
  .openapi(mineRoute, async (c) => c.json({ items: await myItems(c.var.db, c.var.person.id) }, 200))
  .openapi(decideRoute, async (c) => {
    const { db, person, findings, notifier } = c.var;
    const body = c.req.valid('json');
    const ids = await runWrite(db, c.var.now(), (w) => decide(w, person.id, body, findings), notifier);
    return c.json({ items: await itemsByIds(db, ids) }, 200);
  })
  .openapi(listRoute, async (c) => c.json({ campaigns: await listCampaigns(c.var.db) }, 200))
  .openapi(createCampaignRoute, async (c) => {
    const { db, person, notifier } = c.var;
    const { id: campaignId } = await runWrite(db, c.var.now(), (w) => createCampaign(w, person.id, c.req.valid('json')), notifier);
    return c.json({ campaign: (await getCampaign(db, campaignId))! }, 201);
  })
  .openapi(getCampaignRoute, async (c) => {
    const campaign = await getCampaign(c.var.db, c.req.valid('param').id);
    if (!campaign) throw noCampaign();
    return c.json({ campaign }, 200);
  })
  .openapi(itemsRoute, async (c) => {
    const { id: campaignId } = c.req.valid('param');
    if (!(await getCampaign(c.var.db, campaignId))) throw noCampaign();
    return c.json(await campaignItems(c.var.db, campaignId, c.req.valid('query')), 200);
  })
  .openapi(cancelRoute, async (c) => {
    const { db, person, notifier } = c.var;
    const { id: campaignId } = c.req.valid('param');
    await runWrite(db, c.var.now(), (w) => cancelCampaign(w, person.id, campaignId), notifier);
    return c.json({ campaign: (await getCampaign(db, campaignId))! }, 200);
  })
  .openapi(reportRoute, async (c) => {
    const report = await campaignReport(c.var.db, c.req.valid('param').id, c.var.now());
    if (!report) throw noCampaign();
    return c.json(report, 200);
  })
  .openapi(csvRoute, async (c) => {
    const { id: campaignId } = c.req.valid('param');
    if (!(await getCampaign(c.var.db, campaignId))) throw noCampaign();
    return new Response(streamed(campaignCsv(c.var.db, campaignId), CSV_BOM), {
      status: 200,
      headers: { ...csvHeaders(`review-${campaignId}.csv`), 'Cache-Control': 'no-store' },
    }) as never;
  });
