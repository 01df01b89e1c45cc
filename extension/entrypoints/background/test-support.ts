/**
 * Test helpers: a small in-memory server speaking docs/api.md (enough of it for the background's
 * unit tests) and a demo directory. Not bundled: only *.test.ts files import it.
 */
import {
  DURATION_CHOICES,
  requestPreviewBody,
  ssoFinishBody,
  ssoStartBody,
  type AccessRequest,
  type ApprovalStage,
  type Assignment,
  type Bundle,
  type CatalogEntry,
  type CrmAccount,
  type CrmConnection,
  type Person,
  type PersonRef,
  type RequestPreviewResponse,
  issuesOf,
  serverErrorMessage,
  type MutationResult,
} from '@accesslens/shared';
import { memoryTokenStore } from './token-store';
import { PreviewCache } from './preview';
import { Replica } from './sync';
import { handleMessage, type RouterDeps } from './router';
import { FlagsCache } from './flags';

export const ava: Person = {
  id: 'p-ava',
  email: 'ava@acme.test',
  name: 'Ava Chen',
  department: 'Sales',
  title: 'Account Executive',
  managerId: 'p-ben',
  status: 'active',
  roles: ['requester'],
};
export const ben: Person = {
  id: 'p-ben',
  email: 'ben@acme.test',
  name: 'Ben Ortiz',
  department: 'Sales',
  title: 'Sales Manager',
  managerId: null,
  status: 'active',
  roles: ['requester', 'approver'],
};
export const dan: Person = {
  id: 'p-dan',
  email: 'dan@acme.test',
  name: 'Dan Wu',
  department: 'Sales',
  title: 'VP Sales',
  managerId: null,
  status: 'active',
  roles: ['requester', 'approver'],
};
export const eve: Person = {
  id: 'p-eve',
  email: 'eve@acme.test',
  name: 'Eve Park',
  department: 'Legal',
  title: 'Counsel',
  managerId: null,
  status: 'active',
  roles: ['requester', 'approver'],
};
export const PEOPLE = [ava, ben, dan, eve];
const ref = (p: Person): PersonRef => ({ id: p.id, name: p.name, email: p.email, title: p.title });
const personById = (id: string) => PEOPLE.find((p) => p.id === id);

/** One stage of the fake policy; `manager` resolves to the requester's manager. */
export interface StageRule {
  kind: ApprovalStage['kind'];
  label: string;
  approverIds: string[] | 'manager';
  required: number;
}
/** The fake server's policy for one key. */
export interface PolicyRule {
  stages: StageRule[];
  autoApproved?: boolean;
  maxDays?: number;
  missingTraining?: string;
  sod?: { ruleId: string; name: string; severity: 'low' | 'medium' | 'high' | 'critical' };
}
const MANAGER: StageRule = { kind: 'manager', label: 'Manager', approverIds: 'manager', required: 1 };
/**
 * Contract edit: manager, then Deal Desk. Contract delete: 2 of Ben, Dan and Eve (Legal). Contract
 * create: approved automatically for up to 7 days. Anything else: the manager.
 */
export const DEFAULT_POLICY: Record<string, PolicyRule> = {
  'object:Contract:edit': { stages: [MANAGER, { kind: 'group', label: 'Deal Desk', approverIds: ['p-dan'], required: 1 }] },
  'object:Contract:delete': { stages: [{ kind: 'group', label: 'Legal', approverIds: ['p-ben', 'p-dan', 'p-eve'], required: 2 }] },
  'object:Contract:create': { stages: [], autoApproved: true, maxDays: 7 },
};

/** The fake identity provider's origin (its pages are played by a fake `identity.launchWebAuthFlow`). */
export const FAKE_IDP = 'https://idp.acme.test';

export const connection: CrmConnection = { id: 'c-acme', kind: 'salesforce', name: 'Acme Salesforce', hosts: ['acme.lightning.force.com'] };
export const HOST = 'acme.lightning.force.com';
export const CONTRACT_URL = 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view';

const catalog: CatalogEntry[] = (['read', 'create', 'edit', 'delete'] as const).map((action) => ({
  connectionId: connection.id,
  key: `object:Contract:${action}`,
  labels: { en: `${action} Contracts`, 'zh-CN': `${action} 合同` },
  risk: 'medium',
  maxDurationDays: 30,
  requestable: true,
}));
const bundles: Bundle[] = [
  { id: 'b-std', connectionId: connection.id, kind: 'profile', name: 'Standard Sales User', includes: [], permissions: ['object:Account:read'] },
  {
    id: 'b-cm',
    connectionId: connection.id,
    kind: 'permissionSet',
    name: 'Contract Manager',
    includes: [],
    permissions: ['object:Contract:read', 'object:Contract:create', 'object:Contract:edit', 'object:Contract:delete'],
  },
];
const accounts: CrmAccount[] = PEOPLE.map((p) => ({
  id: `a-${p.id}`,
  personId: p.id,
  connectionId: connection.id,
  externalUserId: `005${p.id}`,
  username: p.email,
  active: true,
  lastLoginAt: null,
}));

interface Versioned<T> {
  v: number;
  value: T;
}

export class FakeServer {
  down = false;
  /** Fail the next N requests with this HTTP status. */
  failWith: { status: number; times: number } | null = null;
  reject: ((m: { name: string; args: unknown }) => MutationResult['error'] | null) | null = null;
  version = 1;
  calls: { method: string; path: string; body: unknown; auth: string | null }[] = [];
  applied = new Set<string>();
  requests: Versioned<AccessRequest>[] = [];
  assignments: Versioned<Assignment>[] = [
    {
      v: 1,
      value: {
        id: 'as-1',
        accountId: 'a-p-ava',
        target: { type: 'bundle', bundleId: 'b-std' },
        source: 'directory',
        requestId: null,
        grantedAt: '2025-01-01T00:00:00.000Z',
        expiresAt: null,
        revokedAt: null,
      },
    },
  ];
  tokens = new Map<string, Person>();
  issued = 0;
  policy: Record<string, PolicyRule> = { ...DEFAULT_POLICY };
  /** Answer previews this late (ms); the client gives up after its timeout. */
  previewDelayMs = 0;
  /** Single sign-on offered by this server (null: password only), by its display name. */
  sso: { name: string } | null = null;
  /** Started SSO flows: state → the redirect URI they were started for (finished once). */
  ssoFlows = new Map<string, string>();

  fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input);
    const body = init.body ? JSON.parse(String(init.body)) : null;
    const auth = (init.headers as Record<string, string> | undefined)?.Authorization ?? null;
    this.calls.push({ method: init.method ?? 'GET', path: url.pathname + url.search, body, auth });
    if (this.down) throw new TypeError('Failed to fetch');
    if (this.failWith && this.failWith.times > 0) {
      this.failWith.times--;
      return json({ error: { code: 'internal', message: 'boom' } }, this.failWith.status);
    }
    if (url.pathname === '/api/auth/methods') return json({ password: true, sso: this.sso ? { protocol: 'oidc', name: this.sso.name } : null });
    if (url.pathname === '/api/auth/sso/start' || url.pathname === '/api/auth/sso/finish') return this.ssoRoute(url.pathname, body);
    if (url.pathname === '/api/auth/sign-in') {
      const person = PEOPLE.find((p) => p.email === body.email);
      if (!person || body.password !== `${person.email.split('@')[0]}-demo-2026`)
        // The server's shape (server/src/routes/auth.ts): the English sentence for API clients, and the reason.
        return json({ error: { code: 'invalid_credentials', message: serverErrorMessage('invalid_credentials'), reason: 'invalid_credentials' } }, 401);
      const token = `sess-${person.id}.secret-${++this.issued}`;
      this.tokens.set(token, person);
      return json({ token, expiresAt: '2099-01-01T00:00:00.000Z', person });
    }
    const person = auth ? this.tokens.get(auth.replace(/^Bearer /, '')) : undefined;
    if (!person) return json({ error: { code: 'unauthenticated', message: serverErrorMessage('session_expired'), reason: 'session_expired' } }, 401);
    if (url.pathname === '/api/auth/sign-out') {
      this.tokens.delete(auth!.replace(/^Bearer /, ''));
      return new Response(null, { status: 204 });
    }
    if (url.pathname === '/api/sync') return json(this.sync(person, url.searchParams.get('cursor')));
    if (url.pathname === '/api/mutations') return json(this.mutate(person, body.mutations));
    if (url.pathname === '/api/me/reports') return json({ people: PEOPLE.filter((x) => x.managerId === person.id).map(ref) });
    if (url.pathname === '/api/requests/preview' && init.method === 'POST') {
      if (this.previewDelayMs > 0) await delay(this.previewDelayMs, init.signal);
      const parsed = requestPreviewBody.safeParse(body);
      if (!parsed.success) {
        // The server's validation hook (server/src/env.ts invalidInputHook).
        const issues = issuesOf(parsed.error);
        return json({ error: { code: 'invalid_input', message: `${issues[0]!.field}: ${issues[0]!.message}`, field: issues[0]!.field, issues } }, 400);
      }
      return json(this.preview(person, parsed.data.permissions, parsed.data.durationDays));
    }
    return json({ error: { code: 'not_found', message: 'no route' } }, 404);
  };

  /**
   * docs/api.md "Single sign-on": start returns the provider's URL for a state it keeps; the (fake)
   * provider answers `code=code-for-<email>`; finish takes the state once and signs that person in.
   */
  private ssoRoute(path: string, body: unknown): Response {
    if (!this.sso) return json({ error: { code: 'sso_not_configured', message: 'Single sign-on is not configured on this server.' } }, 404);
    const invalid = (e: { issues: { path: PropertyKey[]; message: string }[] }) =>
      json({ error: { code: 'invalid_input', message: e.issues[0]!.message, field: e.issues[0]!.path.join('.') } }, 400);
    if (path === '/api/auth/sso/start') {
      const parsed = ssoStartBody.safeParse(body);
      if (!parsed.success) return invalid(parsed.error);
      const state = `state-${++this.issued}`;
      this.ssoFlows.set(state, parsed.data.redirectUri);
      const params = new URLSearchParams({ client_id: 'accesslens', response_type: 'code', redirect_uri: parsed.data.redirectUri, state });
      return json({ authorizationUrl: `${FAKE_IDP}/authorize?${params}`, expiresAt: new Date(Date.now() + 600_000).toISOString() });
    }
    const parsed = ssoFinishBody.safeParse(body);
    if (!parsed.success) return invalid(parsed.error);
    const callback = new URL(parsed.data.callbackUrl);
    const state = callback.searchParams.get('state') ?? '';
    const redirectUri = this.ssoFlows.get(state);
    this.ssoFlows.delete(state);
    if (!redirectUri || `${callback.origin}${callback.pathname}` !== redirectUri)
      return json({ error: { code: 'sso_flow_unknown', message: 'This answer does not belong to a sign-in in progress.' } }, 401);
    if (callback.searchParams.has('error'))
      return json({ error: { code: 'sso_denied', message: `Acme SSO did not sign you in: ${callback.searchParams.get('error')}` } }, 401);
    const email = (callback.searchParams.get('code') ?? '').replace(/^code-for-/, '');
    const person = PEOPLE.find((p) => p.email === email);
    if (!person) return json({ error: { code: 'sso_unknown_person', message: `Nobody with the email ${email} is in the AccessLens directory.` } }, 403);
    const token = `sess-${person.id}.secret-${++this.issued}`;
    this.tokens.set(token, person);
    return json({ token, expiresAt: '2099-01-01T00:00:00.000Z', person });
  }

  private visibleRequests(p: Person) {
    return this.requests.filter((r) => r.value.requesterId === p.id || r.value.filedBy === p.id || r.value.stages.some((s) => s.approverIds.includes(p.id)));
  }

  private sync(p: Person, cursor: string | null) {
    const since = cursor === null ? -1 : Number(cursor);
    const reset = since < 0;
    const fresh = <T>(list: Versioned<T>[]) => list.filter((x) => reset || x.v > since).map((x) => x.value);
    return {
      cursor: String(this.version),
      reset,
      me: reset ? p : null,
      people: reset ? PEOPLE.map(ref) : [],
      connections: reset ? [connection] : [],
      accounts: reset ? accounts.filter((a) => a.personId === p.id) : [],
      catalog: reset ? catalog : [],
      bundles: reset ? bundles : [],
      assignments: fresh(this.assignments).filter((a) => a.accountId === `a-${p.id}`),
      requests: fresh(this.visibleRequests(p)),
    };
  }

  private mutate(p: Person, mutations: { id: string; name: string; args: any }[]) {
    const results = mutations.map((m) => {
      if (this.applied.has(m.id)) return { id: m.id, status: 'duplicate' as const };
      const rejection = this.reject?.(m);
      if (rejection) return { id: m.id, status: 'rejected' as const, error: rejection };
      this.applied.add(m.id);
      this.version++;
      const now = new Date().toISOString();
      if (m.name === 'request.create') {
        // docs/api.md "The request lifecycle": a bundle asks for its keys; an extension, the grant's.
        const keys: string[] =
          m.args.permissions.length > 0
            ? m.args.permissions
            : m.args.bundleId
              ? (bundles.find((b) => b.id === m.args.bundleId)?.permissions ?? [])
              : (this.requests.find((r) => r.value.id === m.args.extendsRequestId)?.value.permissions ?? []);
        const plan = this.plan(p, keys);
        const days = Math.min(m.args.durationDays, plan.maxDays ?? Infinity);
        const request: AccessRequest = {
          id: m.args.requestId,
          requesterId: m.args.onBehalfOf ?? p.id,
          connectionId: m.args.connectionId,
          accountId: `a-${m.args.onBehalfOf ?? p.id}`,
          permissions: keys,
          bundleId: m.args.bundleId ?? null,
          startsAt: m.args.startsAt ?? null,
          filedBy: m.args.onBehalfOf ? p.id : null,
          previousRequestId: m.args.previousRequestId ?? null,
          extendsRequestId: m.args.extendsRequestId ?? null,
          needsInfo: null,
          timeline: [],
          page: m.args.page,
          justification: m.args.justification,
          evidence: m.args.evidence ?? [],
          durationDays: days,
          status: 'pending',
          stages: plan.autoApproved
            ? []
            : plan.stages.map((st) => ({
                kind: st.kind,
                label: st.label,
                keys: [],
                approverIds: st.approverIds,
                required: st.required,
                approvals: [],
                decision: null,
                escalated: false,
              })),
          createdAt: now,
          updatedAt: now,
          decidedAt: null,
          grantedAt: null,
          expiresAt: null,
        };
        const entry = { v: this.version, value: request };
        this.requests.push(entry);
        if (plan.autoApproved) this.grant(entry, now, days);
      } else if (m.name === 'decision.record') {
        const entry = this.requests.find((r) => r.value.id === m.args.requestId);
        if (!entry) return this.undo(m.id, { code: 'not_found', message: 'No such request.' });
        const r = entry.value;
        if (r.status !== 'pending')
          return this.undo(m.id, {
            code: 'conflict',
            message: serverErrorMessage('request_not_pending', { status: r.status }),
            reason: 'request_not_pending',
            params: { status: r.status },
          });
        // Stages run in order: only the first one without a decision may be decided.
        let open = -1;
        for (let i = 0; i < r.stages.length; i++)
          if (r.stages[i]!.decision === null) {
            open = i;
            break;
          }
        const stage = r.stages[open];
        if (!stage || !stage.approverIds.includes(p.id)) return this.undo(m.id, { code: 'forbidden', message: 'This request is not waiting for you.' });
        if (stage.approvals.some((a) => a.deciderId === p.id)) return this.undo(m.id, { code: 'conflict', message: 'You already approved this stage.' });
        const decision = { deciderId: p.id, outcome: m.args.outcome, reason: m.args.reason, durationDays: m.args.durationDays, decidedAt: now };
        const stages = [...r.stages];
        entry.v = this.version;
        if (m.args.outcome === 'needs-info') {
          // docs/api.md "Mutations", decision.record: needs-info → status needs-info, needsInfo, a needs-info timeline entry.
          const asked = { at: now, kind: 'needs-info' as const, actorId: p.id, personIds: [r.requesterId], stage: open, text: m.args.reason };
          entry.value = {
            ...r,
            status: 'needs-info',
            needsInfo: { askedBy: p.id, askedAt: now, question: m.args.reason, stage: open },
            timeline: [...(r.timeline ?? []), asked],
            updatedAt: now,
          };
        } else if (m.args.outcome === 'deny') {
          stages[open] = { ...stage, decision };
          entry.value = { ...r, stages, status: 'denied', decidedAt: now, updatedAt: now };
        } else {
          const approvals = [...stage.approvals, decision];
          stages[open] = { ...stage, approvals, decision: approvals.length >= stage.required ? decision : null };
          entry.value = { ...r, stages, updatedAt: now };
          if (stages.every((st) => st.decision !== null)) {
            let days = r.durationDays;
            for (const st of stages) for (const a of st.approvals) if (a.durationDays !== null && a.durationDays < days) days = a.durationDays;
            this.grant(entry, now, days);
          }
        }
      } else if (m.name === 'request.answer') {
        // docs/api.md "Mutations", request.answer: only while needs-info (409), back to pending at the same stage.
        const entry = this.requests.find((r) => r.value.id === m.args.requestId);
        if (!entry) return this.undo(m.id, { code: 'not_found', message: 'No such request.' });
        const r = entry.value;
        if (r.requesterId !== p.id) return this.undo(m.id, { code: 'forbidden', message: 'Not your request.' });
        if (r.status !== 'needs-info') return this.undo(m.id, { code: 'conflict', message: 'The request does not wait for an answer.' });
        entry.v = this.version;
        const answered = {
          at: now,
          kind: 'answered' as const,
          actorId: p.id,
          personIds: r.needsInfo ? [r.needsInfo.askedBy] : [],
          stage: r.needsInfo?.stage ?? 0,
          text: m.args.answer,
        };
        entry.value = { ...r, status: 'pending', needsInfo: null, timeline: [...(r.timeline ?? []), answered], updatedAt: now };
      } else if (m.name === 'request.cancel') {
        const entry = this.requests.find((r) => r.value.id === m.args.requestId)!;
        entry.v = this.version;
        entry.value = { ...entry.value, status: 'cancelled', updatedAt: now };
      }
      return { id: m.id, status: 'applied' as const };
    });
    return { results, cursor: String(this.version) };
  }

  mutationCalls() {
    return this.calls.filter((c) => c.path === '/api/mutations');
  }

  previewCalls() {
    return this.calls.filter((c) => c.path === '/api/requests/preview');
  }

  /** A mutation that turned out not to apply: nothing of it stays. */
  private undo(id: string, error: MutationResult['error'] & {}) {
    this.applied.delete(id);
    this.version--;
    return { id, status: 'rejected' as const, error };
  }

  private grant(entry: Versioned<AccessRequest>, now: string, days: number) {
    const r = entry.value;
    const expiresAt = new Date(Date.parse(now) + days * 86_400_000).toISOString();
    entry.v = this.version;
    entry.value = { ...r, status: 'approved', decidedAt: now, grantedAt: now, expiresAt, updatedAt: now };
    for (const key of r.permissions)
      this.assignments.push({
        v: this.version,
        value: {
          id: `as-${this.version}-${key.replace(/:/g, '_')}`,
          accountId: r.accountId,
          target: { type: 'permission', key },
          source: 'request',
          requestId: r.id,
          grantedAt: now,
          expiresAt,
          revokedAt: null,
        },
      });
  }

  /** The policy for a set of keys: the stages of every key's rule, in order, without repeats. */
  plan(p: Person, keys: string[]) {
    const rules = keys.map((k) => this.policy[k] ?? { stages: [MANAGER] });
    const stages: { kind: ApprovalStage['kind']; label: string; approverIds: string[]; required: number }[] = [];
    for (const rule of rules)
      for (const st of rule.stages) {
        const approverIds = st.approverIds === 'manager' ? [p.managerId ?? 'p-ben'] : st.approverIds;
        if (!stages.some((x) => x.label === st.label && x.approverIds.join() === approverIds.join()))
          stages.push({ kind: st.kind, label: st.label, approverIds, required: Math.min(st.required, approverIds.length) });
      }
    const caps = rules.map((r) => r.maxDays ?? Infinity);
    const maxDays = Math.min(...caps);
    return {
      stages,
      autoApproved: rules.every((r) => r.autoApproved),
      maxDays: Number.isFinite(maxDays) ? maxDays : null,
      missingTraining: rules.flatMap((r) => (r.missingTraining ? [r.missingTraining] : [])),
      sod: rules.flatMap((r) => (r.sod ? [r.sod] : [])),
    };
  }

  preview(p: Person, keys: string[], durationDays: number | null): RequestPreviewResponse {
    const plan = this.plan(p, keys);
    const catalogCap = Math.min(...keys.map((k) => catalog.find((c) => c.key === k)?.maxDurationDays ?? Infinity));
    const cap = Math.min(catalogCap, plan.maxDays ?? Infinity);
    const choices = DURATION_CHOICES.filter((d) => d <= cap);
    const requested = durationDays ?? 7;
    const granted = Math.min(requested, cap);
    const problems = [
      ...keys.filter((k) => !catalog.some((c) => c.key === k && c.requestable)).map((k) => `${k} cannot be requested`),
      ...plan.missingTraining.map((tr) => `Complete the "${tr}" training first.`),
    ];
    const stages = plan.autoApproved
      ? []
      : plan.stages.map((st, index) => ({
          index,
          kind: st.kind,
          label: st.label,
          keys: [],
          required: st.required,
          approvers: st.approverIds.map((id) => ref(personById(id)!)),
          escalated: false,
          escalationReason: null,
        }));
    const willNotify = new Map<string, { person: PersonRef; stages: number[]; roles: string[] }>();
    for (const st of stages)
      for (const a of st.approvers) {
        const w = willNotify.get(a.id) ?? { person: a, stages: [], roles: [] };
        w.stages.push(st.index);
        w.roles.push(st.label);
        willNotify.set(a.id, w);
      }
    return {
      ok: problems.length === 0,
      autoApproved: plan.autoApproved,
      stages,
      willNotify: [...willNotify.values()],
      keys: keys.map((key) => ({ key, requestable: catalog.some((c) => c.key === key && c.requestable), reason: null, alreadyHeld: false })),
      missingPrerequisites: plan.missingTraining.map((training) => ({
        kind: 'training' as const,
        keys,
        training,
        message: `Complete the "${training}" training first.`,
      })),
      sodConflicts: plan.sod,
      licenses: [],
      duration: { requested, granted, cappedBy: granted < requested ? ['policy'] : [] },
      durationChoices: [...choices],
      justificationRequired: true,
      evidenceRequired: false,
      problems,
      warnings: plan.sod.map((x) => `Conflicts with ${x.name}`),
    };
  }
}

function delay(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new DOMException('The operation was aborted.', 'AbortError'));
    });
  });
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

let counter = 0;
/** Deterministic v4-shaped UUIDs. */
export function uuid(): string {
  counter++;
  return `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
}

export function createDeps(server: FakeServer): RouterDeps {
  const tokens = memoryTokenStore();
  const now = () => new Date();
  const replica = new Replica({ fetch: server.fetch, now, tokens });
  return {
    replica,
    tokens,
    fetch: server.fetch,
    now,
    uuid,
    previews: new PreviewCache(),
    flags: new FlagsCache(),
    version: '0.1.0',
    openOptionsPage: async () => undefined,
  };
}

/** Signs in through the router as a demo person (password `<name>-demo-2026`), as the options page does. */
export async function signInAs(deps: RouterDeps, email: string): Promise<void> {
  const answer = await handleMessage(
    deps,
    { type: 'auth.signIn', serverUrl: 'http://localhost:8787', email, password: `${email.split('@')[0]}-demo-2026` },
    popupSender,
    SELF,
  );
  if (!answer.ok) throw new Error(`sign-in as ${email} failed: ${answer.error.message}`);
}

export const SELF = { id: 'test-extension-id', origin: 'chrome-extension://test-extension-id/' };
export const popupSender = { id: SELF.id, url: `${SELF.origin}popup.html` };
export const contentSender = { id: SELF.id, url: CONTRACT_URL, tab: { id: 1, url: CONTRACT_URL } };

export const contractPage = {
  url: CONTRACT_URL,
  crm: 'salesforce' as const,
  tenant: 'acme',
  pageKind: 'record' as const,
  object: 'Contract',
  recordId: '800xx000001AbCdAAK',
  denialText: 'Insufficient Privileges',
};
