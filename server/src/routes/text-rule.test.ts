/**
 * Issue 10, defect 3: a justification `"a\u0000b"` was stored whole and came back as `"a"`. One rule for
 * every text field (shared/src/text.ts): control characters, bidirectional overrides and unpaired
 * surrogates are refused with a 400 naming the field; ordinary text, Chinese and line breaks in
 * multi-line fields come back exactly as sent.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findingsResponse } from '../findings/schemas.ts';
import { createMutation, DAY_MS, harness, type Harness } from '../testing.ts';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

const BAD = [
  ['a NUL byte', 'a\u0000b and more'],
  ['an escape', 'red \u001b[31m alert'],
  ['a C1 control', 'next\u0085line'],
  ['a right-to-left override', 'invoice \u202Egnp.exe'],
  ['a right-to-left isolate', 'approve \u2067me\u2069'],
  ['an unpaired surrogate', 'broken \uD800 text'],
] as const;

async function errorOf(res: Response): Promise<{ status: number; field?: string; message: string }> {
  const body = (await res.json()) as { error: { field?: string; message: string } };
  return { status: res.status, ...body.error };
}

describe('text fields refuse control characters and bidirectional overrides', () => {
  it.each(BAD)('a justification with %s is a 400 naming the field, and nothing is stored', async (_label, text) => {
    const ava = await h.signIn('ava@acme.test');
    const m = createMutation({ justification: text });
    const res = await h.post(ava, '/api/mutations', { mutations: [m] });
    const error = await errorOf(res);
    expect(error.status).toBe(400);
    expect(error.field).toBe('mutations.0.args.justification');
    expect(error.message).toMatch(/control characters or bidirectional overrides \(U\+[0-9A-F]{4} at position \d+\)/);
    expect((await h.db.execute('SELECT COUNT(*) AS n FROM requests WHERE id = ?', [m.args.requestId])).rows[0]!.n).toBe(0);
  });

  it('a justification with line breaks, tabs and Chinese comes back exactly as sent', async () => {
    const ava = await h.signIn('ava@acme.test');
    const justification = '续约合同 — Globex\n\tticket OPS-1142, 🚀';
    const m = createMutation({ justification });
    expect((await h.mutate(ava, [m])).results[0]!.status).toBe('applied');
    const pulled = await h.pull(ava);
    expect(pulled.requests.find((r) => r.id === m.args.requestId)?.justification).toBe(justification);
  });

  it('a deny reason with a NUL byte is refused, naming the field', async () => {
    const ava = await h.signIn('ava@acme.test');
    const ben = await h.signIn('ben@acme.test');
    const m = createMutation();
    await h.mutate(ava, [m]);
    const res = await h.post(ben, '/api/mutations', {
      mutations: [
        { id: crypto.randomUUID(), name: 'decision.record', args: { requestId: m.args.requestId, outcome: 'deny', reason: 'no\u0000pe', durationDays: null } },
      ],
    });
    expect(await errorOf(res)).toMatchObject({ status: 400, field: 'mutations.0.args.reason' });
  });

  it('an accept-risk reason with a NUL byte is refused, naming the field; a clean one is stored whole', async () => {
    const cara = await h.signIn('cara@acme.test');
    const list = findingsResponse.parse(await (await h.get(cara, '/api/findings')).json());
    const finding = list.findings[0]!;
    const expiresAt = new Date(h.clock.now().getTime() + 10 * DAY_MS).toISOString();
    const refused = await h.post(cara, `/api/findings/${finding.id}/accept`, { reason: 'a\u0000b', expiresAt });
    expect(await errorOf(refused)).toMatchObject({ status: 400, field: 'reason' });
    const reason = 'Ivy is on parental leave\nuntil April.';
    const ok = await h.post(cara, `/api/findings/${finding.id}/accept`, { reason, expiresAt });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { finding: { acceptance: { reason: string } } }).finding.acceptance.reason).toBe(reason);
  });

  it('single-line fields refuse line breaks too (a kill switch reason, a person name)', async () => {
    const cara = await h.signIn('cara@acme.test');
    const ks = await h.post(cara, '/api/admin/kill-switches', { crm: 'zoho', fixedIn: '0.2.0', reason: 'first\nsecond' });
    expect(await errorOf(ks)).toMatchObject({ status: 400, field: 'reason' });
    const person = await h.post(cara, '/api/admin/people', { email: 'new@acme.test', name: 'Mallory\u202E' });
    expect(await errorOf(person)).toMatchObject({ status: 400, field: 'name' });
  });

  it('a page denial text with a bidirectional override is refused in a request', async () => {
    const ava = await h.signIn('ava@acme.test');
    const m = createMutation();
    m.args.page = { ...m.args.page!, denialText: 'Insufficient \u202EPrivileges' };
    expect(await errorOf(await h.post(ava, '/api/mutations', { mutations: [m] }))).toMatchObject({
      status: 400,
      field: 'mutations.0.args.page.denialText',
    });
  });
});

describe('text that is not text, in fields that are not free text', () => {
  // Found by the property test on a libsql server: an unpaired surrogate in a user id reached the
  // database driver, whose HTTP protocol cannot encode it (sqld: "unexpected end of hex escape"), a 500.
  it.each([['a user id', '/api/findings/by-accounts', { connectionId: 'sf-acme', externalUserIds: ['005\uD800'] }, 'externalUserIds.0']])(
    'an unpaired surrogate in %s is a 400 naming the field',
    async (_label, path, body, field) => {
      const cara = await h.signIn('cara@acme.test');
      const res = await h.post(cara, path, body);
      const error = await errorOf(res);
      expect(error).toMatchObject({ status: 400, field });
      expect(error.message).toContain('well-formed');
    },
  );

  it('a Salesforce user id is compared by its first 15 characters — never by half of a surrogate pair', async () => {
    // Found by the same property test: well-formed input, cut at 15 by the server, became ill-formed.
    const cara = await h.signIn('cara@acme.test');
    const res = await h.post(cara, '/api/findings/by-accounts', { connectionId: 'sf-acme', externalUserIds: ['005xx000001Ava\u{1F600}'] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { accounts: unknown[] }).accounts).toEqual([]);
  });

  it('the same ids, well formed, are answered', async () => {
    const cara = await h.signIn('cara@acme.test');
    const res = await h.post(cara, '/api/findings/by-accounts', { connectionId: 'sf-acme', externalUserIds: ['005xx000001Ava'] });
    expect(res.status).toBe(200);
  });
});
