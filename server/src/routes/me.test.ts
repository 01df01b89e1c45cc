import { reportsResponse } from '@accesslens/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../testing.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe('GET /api/me/reports', () => {
  it("a manager's active direct reports, by name; nobody's for someone who manages nobody", async () => {
    const ben = await h.signIn('ben@acme.test');
    const res = await h.get(ben, '/api/me/reports');
    expect(res.status).toBe(200);
    const body = reportsResponse.parse(await res.json());
    // Ava, Eli and Jon report to Ben in the demo directory; Jon has left the company.
    expect(body.people.map((p) => p.id)).toEqual(['p-ava', 'p-eli']);
    expect(body.people[0]).toEqual({ id: 'p-ava', name: 'Ava Chen', email: 'ava@acme.test', title: 'Account Executive' });

    const ava = await h.signIn('ava@acme.test');
    expect(reportsResponse.parse(await (await h.get(ava, '/api/me/reports')).json()).people).toEqual([]);
  });

  it('a suspended report is left out; no session is 401', async () => {
    await h.db.execute("UPDATE people SET status = 'suspended' WHERE id = 'p-eli'");
    const ben = await h.signIn('ben@acme.test');
    const body = reportsResponse.parse(await (await h.get(ben, '/api/me/reports')).json());
    expect(body.people.map((p) => p.id)).toEqual(['p-ava']);
    expect((await h.get(null, '/api/me/reports')).status).toBe(401);
  });
});
