import { findingsByAccountsResponse, remediateFindingResponse } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findingsResponse, type FindingView } from '../findings/schemas.ts';
import { harness, type Harness } from '../testing.ts';

let h: Harness;
let cara: string;
beforeEach(async () => {
  h = await harness();
  cara = await h.signIn('cara@acme.test');
});
afterEach(async () => {
  await h.close();
});

async function findings(query = ''): Promise<FindingView[]> {
  const res = await h.app.request(`/api/findings${query}`, { headers: { Authorization: `Bearer ${cara}` } });
  expect(res.status).toBe(200);
  return findingsResponse.parse(await res.json()).findings;
}
const one = async (kind: string, personId: string) => {
  const f = (await findings()).find((x) => x.kind === kind && x.personId === personId);
  expect(f, `${kind} of ${personId}`).toBeDefined();
  return f!;
};

describe('POST /api/findings/by-accounts on Salesforce', () => {
  it('matches the 15-character ids user pages link to against the 18-character ids the API gives', async () => {
    const res = await h.post(cara, '/api/findings/by-accounts', {
      connectionId: 'sf-acme',
      externalUserIds: ['005Hs0000000002', '005Hs0000000001AAA', '005hs0000000002'],
    });
    expect(res.status).toBe(200);
    const body = findingsByAccountsResponse.parse(await res.json());
    expect(body.accounts.map((a) => a.externalUserId).sort()).toEqual(['005Hs0000000001AAA', '005Hs0000000002AAA']);
    expect(new Set(body.findings.map((f) => f.personId))).toEqual(new Set(['p-ben', 'p-dan']));
  });
});

describe('POST /api/findings/:id/remediate', () => {
  it('opens an admin task for access no request granted, once', async () => {
    const f = (await findings()).find((x) => x.kind === 'high-risk' && x.personId === 'p-ben' && x.keys.includes('system:ExportReport'))!;
    const res = await h.post(cara, `/api/findings/${f.id}/remediate`, {});
    expect(res.status).toBe(200);
    const { remediation } = remediateFindingResponse.parse(await res.json());
    expect(remediation).toMatchObject({ findingId: f.id, assignmentIds: ['asg-ben-3'], requestIds: [] });
    expect(remediation.taskIds).toHaveLength(1);
    const task = await h.app.request(`/api/admin/tasks/${remediation.taskIds[0]}`, { headers: { Authorization: `Bearer ${cara}` } });
    expect(task.status).toBe(200);
    expect(((await task.json()) as { task: { kind: string } }).task.kind).toBe('revoke');
    // Already being taken out: the answer points at the task under way; no second task is opened.
    const again = await h.post(cara, `/api/findings/${f.id}/remediate`, {});
    expect(again.status).toBe(200);
    expect(remediateFindingResponse.parse(await again.json()).remediation.taskIds).toEqual(remediation.taskIds);
    const open = await h.db.execute("SELECT COUNT(*) AS n FROM admin_tasks WHERE kind = 'revoke' AND status = 'open' AND details LIKE '%asg-ben-3%'");
    expect(Number(open.rows[0]!.n)).toBe(1);
  });

  it('needs the side of a separation-of-duties conflict', async () => {
    const f = await one('sod-conflict', 'p-dan');
    const res = await h.post(cara, `/api/findings/${f.id}/remediate`, {});
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe('side');
    const right = await h.post(cara, `/api/findings/${f.id}/remediate`, { side: 'right' });
    expect(right.status).toBe(200);
    const { remediation } = remediateFindingResponse.parse(await right.json());
    expect(remediation.assignmentIds.length).toBeGreaterThan(0);
  });

  it('is for administrators, and says when there is no such finding', async () => {
    const ava = await h.signIn('ava@acme.test');
    const f = await one('dormant', 'p-ivy');
    expect((await h.post(ava, `/api/findings/${f.id}/remediate`, {})).status).toBe(403);
    expect((await h.post(cara, '/api/findings/nope/remediate', {})).status).toBe(404);
  });
});
