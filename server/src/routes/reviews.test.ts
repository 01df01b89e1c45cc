/**
 * Access reviews, licence seats and notices over HTTP: a campaign over a scope with the managers as
 * reviewers, the popup's "mine" list, keep/revoke in bulk (a revoke needs a comment and starts at once),
 * what the due date does to undecided items (scheduled in the database), the auditors' report and CSV;
 * licence seats with reclaim and the term-end reminders, read as notices.
 */
import {
  REVIEW_CSV_HEADER,
  licenseSeatsResponse,
  myReviewsResponse,
  noticesResponse,
  reclaimResponse,
  reviewCampaignResponse,
  reviewDecisionsResponse,
  reviewItemsResponse,
  reviewReportResponse,
} from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, harness, type Harness } from '../testing.ts';

let h: Harness;
let cara: string;
beforeEach(async () => {
  h = await harness();
  cara = await h.signIn('cara@acme.test');
});
afterEach(async () => {
  await h.close();
});

const inDays = (d: number) => new Date(h.clock.now().getTime() + d * DAY_MS).toISOString();

async function salesCampaign(onUnreviewed: 'keep' | 'revoke' | 'escalate' = 'keep', extra: Record<string, unknown> = {}) {
  const res = await h.post(cara, '/api/reviews/campaigns', {
    name: 'Q2 Sales review',
    scope: { connectionId: 'sf-acme', department: 'Sales' },
    reviewers: { kind: 'manager' },
    dueAt: inDays(14),
    reminderDays: [7],
    onUnreviewed,
    ...extra,
  });
  expect(res.status).toBe(201);
  return reviewCampaignResponse.parse(await res.json()).campaign;
}

const mine = async (token: string) => myReviewsResponse.parse(await (await h.get(token, '/api/reviews/mine')).json()).items;

describe('/api/reviews', () => {
  it("a campaign's items go to each person's manager; Ben keeps and revokes his reports' items in bulk, with a comment to revoke", async () => {
    const campaign = await salesCampaign();
    expect(campaign).toMatchObject({ status: 'open', createdBy: { id: 'p-cara' } });
    expect(campaign.counts.total).toBeGreaterThan(0);
    expect(campaign.counts.pending).toBe(campaign.counts.total);

    const ben = await h.signIn('ben@acme.test');
    const items = await mine(ben);
    expect(new Set(items.map((i) => i.person.id))).toEqual(new Set(['p-ava', 'p-eli', 'p-jon']));
    expect(items.every((i) => i.reviewers.some((r) => r.id === 'p-ben') && i.decision === null)).toBe(true);
    // Ben's own access is Dan's to review, never his.
    const dan = await h.signIn('dan@acme.test');
    expect((await mine(dan)).map((i) => i.person.id)).toContain('p-ben');
    expect(items.some((i) => i.person.id === 'p-ben')).toBe(false);

    const noComment = await h.post(ben, '/api/reviews/decisions', { decisions: [{ itemId: items[0]!.id, decision: 'revoke' }] });
    expect(noComment.status).toBe(400);
    expect(((await noComment.json()) as { error: { field: string } }).error.field).toBe('decisions.0.comment');

    const danItem = (await mine(dan)).find((i) => i.person.id === 'p-ben')!;
    const notHis = await h.post(ben, '/api/reviews/decisions', {
      decisions: [
        { itemId: items[0]!.id, decision: 'keep' },
        { itemId: danItem.id, decision: 'keep' },
      ],
    });
    expect(notHis.status).toBe(403);
    expect(((await notHis.json()) as { error: unknown }).error).toEqual({
      code: 'forbidden',
      message: 'This item is not yours to review.',
      field: 'decisions.1.itemId',
      reason: 'review_item_not_yours',
    });
    expect((await mine(ben)).length).toBe(items.length); // all or nothing

    const jon = items.find((i) => i.person.id === 'p-jon')!;
    const keep = items.filter((i) => i.id !== jon.id);
    const decided = reviewDecisionsResponse.parse(
      await (
        await h.post(ben, '/api/reviews/decisions', {
          decisions: [...keep.map((i) => ({ itemId: i.id, decision: 'keep' })), { itemId: jon.id, decision: 'revoke', comment: 'Left in March' }],
        })
      ).json(),
    ).items;
    expect(decided.find((i) => i.id === jon.id)).toMatchObject({
      decision: 'revoke',
      outcome: 'revoked',
      comment: 'Left in March',
      decidedBy: { id: 'p-ben' },
    });
    const revocation = decided.find((i) => i.id === jon.id)!.revocation!;
    expect(revocation.taskIds.length + revocation.requestIds.length).toBeGreaterThan(0);
    expect(decided.filter((i) => i.id !== jon.id).every((i) => i.outcome === 'kept')).toBe(true);
    expect(await mine(ben)).toEqual([]);

    const again = await h.post(ben, '/api/reviews/decisions', { decisions: [{ itemId: jon.id, decision: 'keep' }] });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { reason: string; field: string } }).error).toMatchObject({
      reason: 'review_item_decided',
      field: 'decisions.0.itemId',
    });

    const audit = await (await h.get(cara, '/api/audit?action=review.decided')).json();
    expect((audit as { events: { actorId: string }[] }).events.every((e) => e.actorId === 'p-ben')).toBe(true);
    expect((audit as { events: unknown[] }).events.length).toBe(items.length);
  });

  it('at the due date undecided items are kept or revoked as the campaign says, once, by the schedule; the report counts them', async () => {
    const campaign = await salesCampaign('revoke');
    const ben = await h.signIn('ben@acme.test');
    const [first] = await mine(ben);
    await h.post(ben, '/api/reviews/decisions', { decisions: [{ itemId: first!.id, decision: 'keep', comment: 'Needed' }] });

    // The reminder before the due date is a notice to each reviewer with items left.
    h.clock.advance(7 * DAY_MS + 60_000);
    await h.consoleWorker.runDue();
    const notices = noticesResponse.parse(await (await h.get(ben, '/api/notices')).json());
    expect(notices.notices.map((n) => n.kind)).toContain('review.reminder');
    expect(notices.unread).toBeGreaterThan(0);
    const read = noticesResponse.parse(await (await h.post(ben, '/api/notices/read', {})).json());
    expect(read.unread).toBe(0);

    h.clock.advance(7 * DAY_MS);
    await h.consoleWorker.runDue();
    expect(await h.consoleWorker.runDue()).toBe(0);
    const closed = reviewCampaignResponse.parse(await (await h.get(cara, `/api/reviews/campaigns/${campaign.id}`)).json()).campaign;
    expect(closed.status).toBe('closed');
    expect(closed.counts).toMatchObject({ pending: 0, kept: 1, autoRevoked: closed.counts.total - 1 });

    const report = reviewReportResponse.parse(await (await h.get(cara, `/api/reviews/campaigns/${campaign.id}/report`)).json());
    expect(report.items).toHaveLength(closed.counts.total);
    expect(report.byReviewer.find((r) => r.reviewer.id === 'p-ben')).toMatchObject({ decided: 1, kept: 1 });
    const csv = await h.get(cara, `/api/reviews/campaigns/${campaign.id}/report.csv`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await csv.text())
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe(REVIEW_CSV_HEADER.join(','));
    expect(lines).toHaveLength(1 + closed.counts.total);
    expect(lines.filter((l) => l.includes(',auto-revoked,'))).toHaveLength(closed.counts.total - 1);

    const pendingPage = reviewItemsResponse.parse(await (await h.get(cara, `/api/reviews/campaigns/${campaign.id}/items?status=pending`)).json());
    expect(pendingPage.items).toEqual([]);
  });

  it('validates campaigns naming the field; cancelling stops the schedule; admins start them, auditors read, others get 403', async () => {
    const bad = await h.post(cara, '/api/reviews/campaigns', { name: 'x', reviewers: { kind: 'manager' }, dueAt: inDays(3), onUnreviewed: 'escalate' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('escalateTo');
    const campaign = await salesCampaign('revoke');
    const cancelled = await h.post(cara, `/api/reviews/campaigns/${campaign.id}/cancel`, {});
    expect(reviewCampaignResponse.parse(await cancelled.json()).campaign.status).toBe('cancelled');
    h.clock.advance(30 * DAY_MS);
    await h.consoleWorker.runDue();
    cara = await h.signIn('cara@acme.test');
    const after = reviewCampaignResponse.parse(await (await h.get(cara, `/api/reviews/campaigns/${campaign.id}`)).json()).campaign;
    expect(after.counts.autoRevoked).toBe(0);

    const ava = await h.signIn('ava@acme.test');
    const denied = await h.get(ava, '/api/reviews/campaigns');
    expect(denied.status).toBe(403);
    const refusal = ((await denied.json()) as { error: { message: string } }).error;
    expect(refusal.message).toMatch(/administrators/i);
    expect(refusal).toMatchObject({ code: 'forbidden', reason: 'admins_and_auditors_only', params: { action: 'see_review_campaigns' } });
    expect((await h.post(ava, '/api/reviews/campaigns', { name: 'x' })).status).toBe(403);
    expect((await h.get(ava, '/api/reviews/mine')).status).toBe(200);
    const unknown = await h.get(cara, '/api/reviews/campaigns/nope');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { reason: string } }).error.reason).toBe('campaign_not_found');
  });
});

describe('/api/admin/license-seats', () => {
  it("bought, assigned, free; a departed person's seat is reclaimed in one click; term-end reminders reach admins", async () => {
    const seats = licenseSeatsResponse.parse(await (await h.get(cara, '/api/admin/license-seats')).json()).licenses;
    const platform = seats.find((l) => l.id === 'lic-sf-platform')!;
    expect(platform).toMatchObject({ connectionId: 'sf-acme', seats: 13 });
    expect(platform.free).toBe(platform.seats - platform.assigned);
    const jon = platform.reclaimable.find((r) => r.person.id === 'p-jon')!;
    expect(jon).toMatchObject({ state: 'departed', reclaim: null });

    const reclaimed = reclaimResponse.parse(
      await (await h.post(cara, `/api/admin/license-seats/${platform.id}/reclaim`, { accountIds: [jon.account.id] })).json(),
    );
    expect(reclaimed.reclaimed[0]!.accountId).toBe(jon.account.id);
    expect(reclaimed.reclaimed[0]!.taskIds.length + reclaimed.reclaimed[0]!.requestIds.length).toBeGreaterThan(0);
    const again = licenseSeatsResponse.parse(await (await h.get(cara, '/api/admin/license-seats?connectionId=sf-acme')).json()).licenses;
    expect(again.find((l) => l.id === platform.id)!.reclaimable.find((r) => r.person.id === 'p-jon')!.reclaim).not.toBeNull();

    const notHolder = await h.post(cara, `/api/admin/license-seats/${platform.id}/reclaim`, { accountIds: ['acct-nobody'] });
    expect(notHolder.status).toBe(409);
    expect(((await notHolder.json()) as { error: { field: string } }).error).toEqual({
      code: 'conflict',
      message: `This account holds no seat of ${platform.name}.`,
      field: 'accountIds.0',
      reason: 'no_seat',
      params: { licence: platform.name },
    });
    expect((await h.post(cara, '/api/admin/license-seats/lic-nope/reclaim', { accountIds: [jon.account.id] })).status).toBe(404);

    // A term entered 40 days before its end: the 60-day reminder (already past) at once, then the 30- and
    // 7-day ones when due, each once, to every admin.
    const end = new Date(h.clock.now().getTime() + 40 * DAY_MS).toISOString().slice(0, 10);
    expect((await h.patch(cara, `/api/admin/licenses/${platform.id}`, { termEndDate: end })).status).toBe(200);
    await h.consoleWorker.runDue();
    const late = noticesResponse.parse(await (await h.get(cara, '/api/notices')).json()).notices.filter((n) => n.kind === 'license.term-ending');
    expect(late.map((n) => n.data.daysBefore)).toEqual([60]);
    h.clock.advance(11 * DAY_MS);
    await h.consoleWorker.runDue();
    await h.consoleWorker.runDue();
    let notices = noticesResponse.parse(await (await h.get(cara, '/api/notices')).json()).notices.filter((n) => n.kind === 'license.term-ending');
    expect(notices.map((n) => n.data.daysBefore)).toEqual([30, 60]);
    h.clock.advance(23 * DAY_MS);
    await h.consoleWorker.runDue();
    cara = await h.signIn('cara@acme.test');
    notices = noticesResponse.parse(await (await h.get(cara, '/api/notices')).json()).notices.filter((n) => n.kind === 'license.term-ending');
    expect(notices.map((n) => n.data.daysBefore)).toEqual([7, 30, 60]);

    const ava = await h.signIn('ava@acme.test');
    expect((await h.get(ava, '/api/admin/license-seats')).status).toBe(403);
  });

  it('reclaiming a seat a reviewer already revoked points at the task under way, once (the bug: no reclaim was shown)', async () => {
    await salesCampaign();
    const ben = await h.signIn('ben@acme.test');
    const jonItems = (await mine(ben)).filter((i) => i.person.id === 'p-jon');
    const decided = reviewDecisionsResponse.parse(
      await (await h.post(ben, '/api/reviews/decisions', { decisions: jonItems.map((i) => ({ itemId: i.id, decision: 'revoke', comment: 'Left' })) })).json(),
    ).items;
    const reviewTasks = decided.flatMap((i) => i.revocation?.taskIds ?? []);
    expect(reviewTasks.length).toBeGreaterThan(0);
    const tasksBefore = Number((await h.db.execute("SELECT COUNT(*) AS n FROM admin_tasks WHERE kind = 'revoke'")).rows[0]!.n);

    const jon = licenseSeatsResponse
      .parse(await (await h.get(cara, '/api/admin/license-seats')).json())
      .licenses.find((l) => l.id === 'lic-sf-platform')!
      .reclaimable.find((r) => r.person.id === 'p-jon')!;
    const reclaimed = reclaimResponse.parse(
      await (await h.post(cara, '/api/admin/license-seats/lic-sf-platform/reclaim', { accountIds: [jon.account.id] })).json(),
    );
    expect(reclaimed.reclaimed[0]!.taskIds.length).toBeGreaterThan(0);
    expect(reclaimed.reclaimed[0]!.taskIds.every((t) => reviewTasks.includes(t))).toBe(true);
    expect(Number((await h.db.execute("SELECT COUNT(*) AS n FROM admin_tasks WHERE kind = 'revoke'")).rows[0]!.n)).toBe(tasksBefore);
    const after = licenseSeatsResponse.parse(await (await h.get(cara, '/api/admin/license-seats')).json()).licenses.find((l) => l.id === 'lic-sf-platform')!;
    expect(after.reclaimable.find((r) => r.person.id === 'p-jon')!.reclaim).toMatchObject({ taskIds: [reclaimed.reclaimed[0]!.taskIds[0]] });
  });
});
