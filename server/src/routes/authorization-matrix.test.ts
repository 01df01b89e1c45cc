/**
 * The authorization matrix, generated from the route table (issue 10): every route the app serves
 * (`app.routes`, the table the OpenAPI test checks the document against), called by five callers —
 * nobody, a requester (Ava), her approver (Ben, her manager), an administrator (Cara) and another
 * person (Eli: signed in, no role, unrelated to Ava's request) — must allow exactly the callers its entry names. A route without an entry fails the test, so a new route
 * cannot ship without saying who may call it.
 *
 * "allow" means the call got past authentication and authorization (any answer but 401 and 403, and
 * never a 5xx); for `/api/mutations` it means the decision on Ava's request was applied, not rejected
 * as forbidden.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMutation, decisionMutation, harness, type Harness } from '../testing.ts';

const CALLERS = ['anonymous', 'requester', 'other', 'approver', 'admin'] as const;
type Caller = (typeof CALLERS)[number];
const EMAIL: Record<Exclude<Caller, 'anonymous'>, 'ava@acme.test' | 'ben@acme.test' | 'cara@acme.test' | 'eli@acme.test'> = {
  requester: 'ava@acme.test',
  approver: 'ben@acme.test',
  admin: 'cara@acme.test',
  other: 'eli@acme.test',
};

const PUBLIC: readonly Caller[] = CALLERS;
const SIGNED_IN: readonly Caller[] = ['requester', 'other', 'approver', 'admin'];
const ADMIN: readonly Caller[] = ['admin'];
const NOBODY: readonly Caller[] = [];

interface Fixture {
  findingId: string;
  pageRuleId: string;
  killSwitchId: string;
  groupId: string;
  trainingId: string;
  licenseId: string;
  scimTokenId: string;
  connectionToDelete: string;
  taskId: string;
  /** Ava's pending request, routed to Ben. */
  requestId: string;
}

interface Call {
  /** The path with its parameters filled in, and a query when needed. */
  path: string;
  body?: unknown;
  /** A body of another type than JSON. */
  contentType?: string;
  /** Sign in anew for this call (the call ends the session). */
  freshSession?: boolean;
}

interface Entry {
  allow: readonly Caller[];
  call: (f: Fixture, caller: Caller) => Call;
  /** How to read the outcome when the status alone does not tell (default: 401 and 403 deny). */
  outcome?: (res: Response) => Promise<'allow' | 'deny'>;
}

let n = 0;
const unique = () => `${Date.now().toString(36)}${(n++).toString(36)}`;

/** Who may call what. Keys are `METHOD /path` exactly as the OpenAPI document writes them. */
const MATRIX: Record<string, Entry> = {
  'GET /api/health': { allow: PUBLIC, call: () => ({ path: '/api/health' }) },
  'GET /api/openapi.json': { allow: PUBLIC, call: () => ({ path: '/api/openapi.json' }) },
  'POST /api/auth/sign-in': { allow: PUBLIC, call: () => ({ path: '/api/auth/sign-in', body: { email: 'dan@acme.test', password: 'dan-demo-2026' } }) },
  'POST /api/auth/sign-out': { allow: SIGNED_IN, call: () => ({ path: '/api/auth/sign-out', body: {}, freshSession: true }) },
  'GET /api/auth/methods': { allow: PUBLIC, call: () => ({ path: '/api/auth/methods' }) },
  // Single sign-on is not configured here: 404 sso_not_configured for everyone, never 401/403.
  'POST /api/auth/sso/start': {
    allow: PUBLIC,
    call: () => ({ path: '/api/auth/sso/start', body: { redirectUri: `https://${'a'.repeat(32)}.chromiumapp.org/oidc` } }),
  },
  'POST /api/auth/sso/finish': {
    allow: PUBLIC,
    call: () => ({ path: '/api/auth/sso/finish', body: { callbackUrl: `https://${'a'.repeat(32)}.chromiumapp.org/oidc?code=x&state=y` } }),
  },
  'GET /api/me': { allow: SIGNED_IN, call: () => ({ path: '/api/me' }) },
  'GET /api/sync': { allow: SIGNED_IN, call: () => ({ path: '/api/sync' }) },
  'GET /api/sync/events': { allow: SIGNED_IN, call: () => ({ path: '/api/sync/events' }) },
  // Deciding Ava's request: only the approver it is routed to; not Ava herself, not an admin, not Eli.
  'POST /api/mutations': {
    allow: ['approver'],
    call: (f) => ({ path: '/api/mutations', body: { mutations: [decisionMutation(f.requestId, 'approve')] } }),
    outcome: async (res) => {
      if (res.status === 401 || res.status === 403) return 'deny';
      const body = (await res.json()) as { results: { status: string; error?: { code: string } }[] };
      const r = body.results[0]!;
      if (r.status === 'applied') return 'allow';
      expect(r.error?.code).toBe('forbidden');
      return 'deny';
    },
  },
  'POST /api/requests/preview': {
    allow: SIGNED_IN,
    call: () => ({ path: '/api/requests/preview', body: { connectionId: 'sf-acme', permissions: ['object:Contract:read'], durationDays: 7 } }),
  },
  'GET /api/findings': { allow: ADMIN, call: () => ({ path: '/api/findings' }) },
  'POST /api/findings/{id}/accept': {
    allow: ADMIN,
    call: (f) => ({ path: `/api/findings/${f.findingId}/accept`, body: { reason: 'Known and accepted.', expiresAt: '2026-04-01T00:00:00.000Z' } }),
  },
  'POST /api/findings/{id}/reopen': { allow: ADMIN, call: (f) => ({ path: `/api/findings/${f.findingId}/reopen`, body: {} }) },
  'GET /api/policy': { allow: ADMIN, call: () => ({ path: '/api/policy' }) },
  'PUT /api/policy': { allow: ADMIN, call: () => ({ path: '/api/policy', body: {} }) },
  'GET /api/admin/page-rules': { allow: ADMIN, call: () => ({ path: '/api/admin/page-rules' }) },
  'POST /api/admin/page-rules': { allow: ADMIN, call: () => ({ path: '/api/admin/page-rules', body: {} }) },
  'PUT /api/admin/page-rules/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/page-rules/${f.pageRuleId}`, body: {} }) },
  'DELETE /api/admin/page-rules/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/page-rules/${f.pageRuleId}` }) },
  'GET /api/admin/kill-switches': { allow: ADMIN, call: () => ({ path: '/api/admin/kill-switches' }) },
  'POST /api/admin/kill-switches': {
    allow: ADMIN,
    call: () => ({ path: '/api/admin/kill-switches', body: { crm: 'zoho', fixedIn: '0.3.0', reason: 'Zoho changed its pages.' } }),
  },
  'DELETE /api/admin/kill-switches/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/kill-switches/${f.killSwitchId}` }) },
  'GET /api/admin/people': { allow: ADMIN, call: () => ({ path: '/api/admin/people' }) },
  'POST /api/admin/people': { allow: ADMIN, call: () => ({ path: '/api/admin/people', body: { email: `new-${unique()}@acme.test`, name: 'New Person' } }) },
  'GET /api/admin/people/{id}': { allow: ADMIN, call: () => ({ path: '/api/admin/people/p-ava' }) },
  'PATCH /api/admin/people/{id}': { allow: ADMIN, call: () => ({ path: '/api/admin/people/p-eli', body: { title: 'Senior Account Executive' } }) },
  'POST /api/admin/people/import': {
    allow: ADMIN,
    call: () => ({
      path: '/api/admin/people/import?dryRun=true',
      body: 'email,name,department,title,manager_email,hire_date,status,trainings\n',
      contentType: 'text/csv',
    }),
  },
  'GET /api/admin/approver-groups': { allow: ADMIN, call: () => ({ path: '/api/admin/approver-groups' }) },
  'POST /api/admin/approver-groups': { allow: ADMIN, call: () => ({ path: '/api/admin/approver-groups', body: { name: `Group ${unique()}` } }) },
  'GET /api/admin/approver-groups/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/approver-groups/${f.groupId}` }) },
  'PATCH /api/admin/approver-groups/{id}': {
    allow: ADMIN,
    call: (f) => ({ path: `/api/admin/approver-groups/${f.groupId}`, body: { name: `Renamed ${unique()}` } }),
  },
  'DELETE /api/admin/approver-groups/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/approver-groups/${f.groupId}` }) },
  'POST /api/admin/approver-groups/{id}/members': {
    allow: ADMIN,
    call: () => ({ path: '/api/admin/approver-groups/grp-deal-desk/members', body: { personId: 'p-ava' } }),
  },
  'DELETE /api/admin/approver-groups/{id}/members/{personId}': {
    allow: ADMIN,
    call: () => ({ path: '/api/admin/approver-groups/grp-deal-desk/members/p-ava' }),
  },
  'GET /api/admin/trainings': { allow: ADMIN, call: () => ({ path: '/api/admin/trainings' }) },
  'POST /api/admin/trainings': { allow: ADMIN, call: () => ({ path: '/api/admin/trainings', body: { id: `t-${unique()}`, title: 'Training' } }) },
  'PATCH /api/admin/trainings/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/trainings/${f.trainingId}`, body: { title: 'Renamed' } }) },
  'DELETE /api/admin/trainings/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/trainings/${f.trainingId}` }) },
  'GET /api/admin/trainings/{id}/completions': { allow: ADMIN, call: () => ({ path: '/api/admin/trainings/sox-controls/completions' }) },
  'PUT /api/admin/trainings/{id}/completions/{personId}': {
    allow: ADMIN,
    call: () => ({ path: '/api/admin/trainings/sox-controls/completions/p-ava', body: { completedOn: '2026-01-01' } }),
  },
  'DELETE /api/admin/trainings/{id}/completions/{personId}': { allow: ADMIN, call: () => ({ path: '/api/admin/trainings/sox-controls/completions/p-ava' }) },
  'GET /api/admin/licenses': { allow: ADMIN, call: () => ({ path: '/api/admin/licenses' }) },
  'POST /api/admin/licenses': {
    allow: ADMIN,
    call: () => ({ path: '/api/admin/licenses', body: { connectionId: 'sf-acme', name: `L ${unique()}`, seats: 1 } }),
  },
  'GET /api/admin/licenses/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/licenses/${f.licenseId}` }) },
  'PATCH /api/admin/licenses/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/licenses/${f.licenseId}`, body: { seats: 3 } }) },
  'DELETE /api/admin/licenses/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/licenses/${f.licenseId}` }) },
  'GET /api/admin/scim-tokens': { allow: ADMIN, call: () => ({ path: '/api/admin/scim-tokens' }) },
  'POST /api/admin/scim-tokens': { allow: ADMIN, call: () => ({ path: '/api/admin/scim-tokens', body: { name: `idp-${unique()}` } }) },
  'POST /api/admin/scim-tokens/{id}/revoke': { allow: ADMIN, call: (f) => ({ path: `/api/admin/scim-tokens/${f.scimTokenId}/revoke`, body: {} }) },
  // SCIM: discovery is public; resources take a SCIM token, which no session is.
  'GET /scim/v2/ServiceProviderConfig': { allow: PUBLIC, call: () => ({ path: '/scim/v2/ServiceProviderConfig' }) },
  'GET /scim/v2/ResourceTypes': { allow: PUBLIC, call: () => ({ path: '/scim/v2/ResourceTypes' }) },
  'GET /scim/v2/ResourceTypes/{id}': { allow: PUBLIC, call: () => ({ path: '/scim/v2/ResourceTypes/User' }) },
  'GET /scim/v2/Schemas': { allow: PUBLIC, call: () => ({ path: '/scim/v2/Schemas' }) },
  'GET /scim/v2/Schemas/{id}': { allow: PUBLIC, call: () => ({ path: '/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User' }) },
  'GET /scim/v2/Users': { allow: NOBODY, call: () => ({ path: '/scim/v2/Users' }) },
  'POST /scim/v2/Users': { allow: NOBODY, call: () => ({ path: '/scim/v2/Users', body: { userName: 'x@acme.test' } }) },
  'GET /scim/v2/Users/{id}': { allow: NOBODY, call: () => ({ path: '/scim/v2/Users/p-ava' }) },
  'PUT /scim/v2/Users/{id}': { allow: NOBODY, call: () => ({ path: '/scim/v2/Users/p-ava', body: { userName: 'ava@acme.test' } }) },
  'PATCH /scim/v2/Users/{id}': { allow: NOBODY, call: () => ({ path: '/scim/v2/Users/p-ava', body: { Operations: [] } }) },
  'DELETE /scim/v2/Users/{id}': { allow: NOBODY, call: () => ({ path: '/scim/v2/Users/p-ava' }) },
  'GET /scim/v2/Groups': { allow: NOBODY, call: () => ({ path: '/scim/v2/Groups' }) },
  'POST /scim/v2/Groups': { allow: NOBODY, call: () => ({ path: '/scim/v2/Groups', body: { displayName: 'G' } }) },
  'GET /scim/v2/Groups/{id}': { allow: NOBODY, call: () => ({ path: '/scim/v2/Groups/grp-deal-desk' }) },
  'PUT /scim/v2/Groups/{id}': { allow: NOBODY, call: () => ({ path: '/scim/v2/Groups/grp-deal-desk', body: { displayName: 'G' } }) },
  'PATCH /scim/v2/Groups/{id}': { allow: NOBODY, call: () => ({ path: '/scim/v2/Groups/grp-deal-desk', body: { Operations: [] } }) },
  'DELETE /scim/v2/Groups/{id}': { allow: NOBODY, call: () => ({ path: '/scim/v2/Groups/grp-deal-desk' }) },
  'GET /api/admin/connections': { allow: ADMIN, call: () => ({ path: '/api/admin/connections' }) },
  'POST /api/admin/connections': {
    allow: ADMIN,
    call: () => ({ path: '/api/admin/connections', body: { id: `c-${unique()}`, kind: 'generic', name: 'In-house', hosts: ['crm.acme.internal'] } }),
  },
  'GET /api/admin/connections/{id}': { allow: ADMIN, call: () => ({ path: '/api/admin/connections/sf-acme' }) },
  'PATCH /api/admin/connections/{id}': { allow: ADMIN, call: () => ({ path: '/api/admin/connections/sf-acme', body: { scheduleMinutes: 0 } }) },
  'DELETE /api/admin/connections/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/connections/${f.connectionToDelete}` }) },
  'POST /api/admin/connections/{id}/test': { allow: ADMIN, call: () => ({ path: '/api/admin/connections/desk-acme/test', body: {} }) },
  'POST /api/admin/connections/{id}/import': { allow: ADMIN, call: () => ({ path: '/api/admin/connections/desk-acme/import', body: {} }) },
  'GET /api/admin/connections/{id}/imports': { allow: ADMIN, call: () => ({ path: '/api/admin/connections/sf-acme/imports' }) },
  'GET /api/admin/connections/{id}/imports/{runId}': { allow: ADMIN, call: () => ({ path: '/api/admin/connections/sf-acme/imports/run-none' }) },
  'GET /api/admin/revocations': { allow: ADMIN, call: () => ({ path: '/api/admin/revocations' }) },
  // The request lifecycle (issue 8): everyone manages their own delegations and preferences; a manager's reports.
  'GET /api/me/reports': { allow: SIGNED_IN, call: () => ({ path: '/api/me/reports' }) },
  'PATCH /api/me/preferences': { allow: SIGNED_IN, call: () => ({ path: '/api/me/preferences', body: {} }) },
  'GET /api/delegations': { allow: SIGNED_IN, call: () => ({ path: '/api/delegations' }) },
  'POST /api/delegations': { allow: SIGNED_IN, call: () => ({ path: '/api/delegations', body: {} }) },
  'POST /api/delegations/{id}/end': { allow: SIGNED_IN, call: () => ({ path: '/api/delegations/dlg-none/end', body: {} }) },
  'GET /api/admin/webhooks': { allow: ADMIN, call: () => ({ path: '/api/admin/webhooks' }) },
  'POST /api/admin/webhooks': { allow: ADMIN, call: () => ({ path: '/api/admin/webhooks', body: {} }) },
  'GET /api/admin/webhooks/{id}': { allow: ADMIN, call: () => ({ path: '/api/admin/webhooks/wh-none' }) },
  'PATCH /api/admin/webhooks/{id}': { allow: ADMIN, call: () => ({ path: '/api/admin/webhooks/wh-none', body: {} }) },
  'DELETE /api/admin/webhooks/{id}': { allow: ADMIN, call: () => ({ path: '/api/admin/webhooks/wh-none' }) },
  'POST /api/admin/webhooks/{id}/test': { allow: ADMIN, call: () => ({ path: '/api/admin/webhooks/wh-none/test', body: {} }) },
  'GET /api/admin/notifications': { allow: ADMIN, call: () => ({ path: '/api/admin/notifications' }) },
  // Findings for administrators (issue 9): the console and the flags on CRM user pages.
  'GET /api/findings/summary': { allow: ADMIN, call: () => ({ path: '/api/findings/summary' }) },
  'GET /api/findings/export': { allow: ADMIN, call: () => ({ path: '/api/findings/export' }) },
  'POST /api/findings/by-accounts': { allow: ADMIN, call: () => ({ path: '/api/findings/by-accounts', body: {} }) },
  'POST /api/findings/{id}/remediate': { allow: ADMIN, call: () => ({ path: '/api/findings/fnd-none/remediate', body: {} }) },
  // Policy with four eyes: proposals are administrators' business.
  'GET /api/policy/proposals': { allow: ADMIN, call: () => ({ path: '/api/policy/proposals' }) },
  'POST /api/policy/proposals': { allow: ADMIN, call: () => ({ path: '/api/policy/proposals', body: {} }) },
  'GET /api/policy/proposals/{id}': { allow: ADMIN, call: () => ({ path: '/api/policy/proposals/pp-none' }) },
  'POST /api/policy/proposals/{id}/approve': { allow: ADMIN, call: () => ({ path: '/api/policy/proposals/pp-none/approve', body: {} }) },
  'POST /api/policy/proposals/{id}/reject': { allow: ADMIN, call: () => ({ path: '/api/policy/proposals/pp-none/reject', body: {} }) },
  'POST /api/policy/proposals/{id}/withdraw': { allow: ADMIN, call: () => ({ path: '/api/policy/proposals/pp-none/withdraw', body: {} }) },
  // The console: notices reach anyone they concern; the audit log, access explained, campaigns and seats are administrators'.
  'GET /api/notices': { allow: SIGNED_IN, call: () => ({ path: '/api/notices' }) },
  'POST /api/notices/read': { allow: SIGNED_IN, call: () => ({ path: '/api/notices/read', body: {} }) },
  'GET /api/audit': { allow: ADMIN, call: () => ({ path: '/api/audit' }) },
  'GET /api/audit/export': { allow: ADMIN, call: () => ({ path: '/api/audit/export' }) },
  'POST /api/audit/verify': { allow: ADMIN, call: () => ({ path: '/api/audit/verify', body: {} }) },
  'GET /api/admin/access/people/{id}': { allow: ADMIN, call: () => ({ path: '/api/admin/access/people/p-ava' }) },
  'GET /api/admin/access/holders': { allow: ADMIN, call: () => ({ path: '/api/admin/access/holders?connectionId=sf-acme&key=object:Account:read' }) },
  // Access reviews: reviewers (anyone signed in may be one) decide their own items; campaigns are administrators'.
  'GET /api/reviews/mine': { allow: SIGNED_IN, call: () => ({ path: '/api/reviews/mine' }) },
  'POST /api/reviews/decisions': { allow: SIGNED_IN, call: () => ({ path: '/api/reviews/decisions', body: {} }) },
  'GET /api/reviews/campaigns': { allow: ADMIN, call: () => ({ path: '/api/reviews/campaigns' }) },
  'POST /api/reviews/campaigns': { allow: ADMIN, call: () => ({ path: '/api/reviews/campaigns', body: {} }) },
  'GET /api/reviews/campaigns/{id}': { allow: ADMIN, call: () => ({ path: '/api/reviews/campaigns/rc-none' }) },
  'GET /api/reviews/campaigns/{id}/items': { allow: ADMIN, call: () => ({ path: '/api/reviews/campaigns/rc-none/items' }) },
  'POST /api/reviews/campaigns/{id}/cancel': { allow: ADMIN, call: () => ({ path: '/api/reviews/campaigns/rc-none/cancel', body: {} }) },
  'GET /api/reviews/campaigns/{id}/report': { allow: ADMIN, call: () => ({ path: '/api/reviews/campaigns/rc-none/report' }) },
  'GET /api/reviews/campaigns/{id}/report.csv': { allow: ADMIN, call: () => ({ path: '/api/reviews/campaigns/rc-none/report.csv' }) },
  'GET /api/admin/license-seats': { allow: ADMIN, call: () => ({ path: '/api/admin/license-seats' }) },
  'POST /api/admin/license-seats/{id}/reclaim': { allow: ADMIN, call: () => ({ path: '/api/admin/license-seats/ls-none/reclaim', body: {} }) },
  'GET /api/admin/tasks': { allow: ADMIN, call: () => ({ path: '/api/admin/tasks' }) },
  'GET /api/admin/tasks/{id}': { allow: ADMIN, call: (f) => ({ path: `/api/admin/tasks/${f.taskId}` }) },
  'POST /api/admin/tasks/{id}/done': { allow: ADMIN, call: (f) => ({ path: `/api/admin/tasks/${f.taskId}/done`, body: {} }) },
};

let h: Harness;
let fixture: Fixture;
const tokens = new Map<Caller, string>();
let documented: { method: string; path: string }[];

beforeAll(async () => {
  h = await harness();
  for (const [caller, email] of Object.entries(EMAIL)) tokens.set(caller as Caller, await h.signIn(email));
  const cara = tokens.get('admin')!;
  const created = async (path: string, body: unknown) => {
    const res = await h.post(cara, path, body);
    expect(res.status, `${path}: ${await res.clone().text()}`).toBe(201);
    return (await res.json()) as Record<string, Record<string, unknown>>;
  };
  const findings = (await (await h.get(cara, '/api/findings')).json()) as { findings: { id: string }[] };
  const pageRules = await h.db.execute('SELECT id FROM page_rules LIMIT 1');
  const ks = await created('/api/admin/kill-switches', { crm: 'hubspot', fixedIn: '0.3.0', reason: 'Matrix fixture.' });
  const group = await created('/api/admin/approver-groups', { name: 'Matrix group' });
  const training = await created('/api/admin/trainings', { id: 'matrix-training', title: 'Matrix' });
  const license = await created('/api/admin/licenses', { connectionId: 'sf-acme', name: 'Matrix licence', seats: 2 });
  const scim = await created('/api/admin/scim-tokens', { name: 'matrix-idp' });
  await created('/api/admin/connections', { id: 'matrix-delete-me', kind: 'generic', name: 'Delete me', hosts: ['delete-me.acme.internal'] });
  // An admin task: Ava's Contract request approved by Ben (the demo org applies it by hand).
  const taskRequest = createMutation();
  await h.mutate(tokens.get('requester')!, [taskRequest]);
  await h.mutate(tokens.get('approver')!, [decisionMutation(taskRequest.args.requestId, 'approve')]);
  const task = await h.db.execute("SELECT id FROM admin_tasks WHERE request_id = ? AND status = 'open'", [taskRequest.args.requestId]);
  // The request the decision cells act on: Ava's, routed to Ben.
  const pending = createMutation({ permissions: ['object:Quote:read'] });
  await h.mutate(tokens.get('requester')!, [pending]);
  fixture = {
    findingId: findings.findings[0]!.id,
    pageRuleId: String(pageRules.rows[0]!.id),
    killSwitchId: String((ks.killSwitch ?? ks).id),
    groupId: String((group.group ?? group).id),
    trainingId: String((training.training ?? training).id),
    licenseId: String((license.license ?? license).id),
    scimTokenId: String((scim.scimToken ?? scim).id),
    connectionToDelete: 'matrix-delete-me',
    taskId: String(task.rows[0]!.id),
    requestId: pending.args.requestId,
  };
  // The route table itself (middleware entries are method ALL), written as the OpenAPI document writes paths.
  const seen = new Set<string>();
  documented = [];
  for (const r of h.app.routes) {
    if (r.method === 'ALL') continue;
    const path = r.path.replace(/\/$/, '').replaceAll(/:([^/]+)/g, '{$1}') || '/';
    if (seen.has(`${r.method} ${path}`)) continue;
    seen.add(`${r.method} ${path}`);
    documented.push({ method: r.method, path });
  }
});
afterAll(async () => {
  await h.close();
});

async function callAs(caller: Caller, route: { method: string }, c: Call): Promise<Response> {
  let token = caller === 'anonymous' ? null : tokens.get(caller)!;
  if (c.freshSession && caller !== 'anonymous') token = await h.signIn(EMAIL[caller]);
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  if (c.body !== undefined) headers['Content-Type'] = c.contentType ?? 'application/json';
  const body = c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
  return h.app.request(c.path, { method: route.method, headers, body });
}

describe('authorization matrix: every route × anonymous, requester, other person, approver, admin', () => {
  it('every route the app serves has an entry, and every entry is a route', () => {
    const keys = documented.map((r) => `${r.method} ${r.path}`);
    expect(keys.length).toBeGreaterThan(70);
    expect(
      keys.filter((k) => !MATRIX[k]),
      'routes without an entry in MATRIX: say who may call them',
    ).toEqual([]);
    expect(Object.keys(MATRIX).filter((k) => !keys.includes(k))).toEqual([]);
  });

  it('each caller is allowed exactly where its entry says, and no cell is a 5xx', async () => {
    const cells: string[] = [];
    const wrong: string[] = [];
    for (const route of documented) {
      const entry = MATRIX[`${route.method} ${route.path}`];
      if (!entry) continue;
      // Callers allowed to change things go last, so that a refused caller meets the resource as it was.
      const order = [...CALLERS].sort((a, b) => Number(entry.allow.includes(a)) - Number(entry.allow.includes(b)));
      for (const caller of order) {
        const res = await callAs(caller, route, entry.call(fixture, caller));
        const key = `${route.method} ${route.path} as ${caller}`;
        if (res.status >= 500) wrong.push(`${key}: ${res.status} ${await res.text()}`);
        // Every refusal with a coarse code says which one it is (a reason), so the extension can say it in the
        // person's language (a specific code such as sso_not_configured is its own reason).
        if ([401, 403, 404, 409].includes(res.status) && !route.path.startsWith('/scim/')) {
          const error = ((await res.clone().json()) as { error?: { code?: string; reason?: unknown } }).error;
          if (['unauthenticated', 'forbidden', 'not_found', 'conflict'].includes(String(error?.code)) && typeof error?.reason !== 'string')
            wrong.push(`${key}: ${res.status} without a reason: ${JSON.stringify(error)}`);
        }
        const outcome = entry.outcome ? await entry.outcome(res) : res.status === 401 || res.status === 403 ? 'deny' : 'allow';
        if (route.path === '/api/sync/events') await res.body?.cancel();
        const expected = entry.allow.includes(caller) ? 'allow' : 'deny';
        if (outcome !== expected) wrong.push(`${key}: expected ${expected}, got ${outcome} (${res.status})`);
        // A refused caller without a session is told to sign in (401); one with a session is forbidden (403).
        if (expected === 'deny' && caller === 'anonymous' && !entry.outcome) expect(res.status, key).toBe(401);
        if (expected === 'deny' && caller !== 'anonymous' && !entry.outcome && !route.path.startsWith('/scim/')) expect(res.status, key).toBe(403);
        cells.push(key);
      }
    }
    expect(wrong).toEqual([]);
    expect(cells.length).toBe(documented.length * CALLERS.length);
  });
});
