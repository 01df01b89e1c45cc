/**
 * Test helpers: a small in-memory server speaking docs/api.md (enough of it for the background's
 * unit tests) and a demo directory. Not bundled: only *.test.ts files import it.
 */
import type { AccessRequest, Assignment, Bundle, CatalogEntry, CrmAccount, CrmConnection, Person, PersonRef } from '@accesslens/shared';
import { memoryTokenStore } from './token-store';
import { Replica } from './sync';
import type { RouterDeps } from './router';

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
const ref = (p: Person): PersonRef => ({ id: p.id, name: p.name, email: p.email, title: p.title });

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
const accounts: CrmAccount[] = [ava, ben].map((p) => ({
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
  reject: ((m: { name: string; args: unknown }) => { code: string; message: string } | null) | null = null;
  version = 1;
  calls: { method: string; path: string; body: unknown; auth: string | null }[] = [];
  applied = new Set<string>();
  requests: Versioned<AccessRequest>[] = [];
  assignments: Versioned<Assignment>[] = [
    { v: 1, value: { id: 'as-1', accountId: 'a-p-ava', target: { type: 'bundle', bundleId: 'b-std' }, source: 'directory', requestId: null, grantedAt: '2025-01-01T00:00:00.000Z', expiresAt: null, revokedAt: null } },
  ];
  tokens = new Map<string, Person>();
  issued = 0;

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
    if (url.pathname === '/api/auth/sign-in') {
      const person = [ava, ben].find((p) => p.email === body.email);
      if (!person || body.password !== `${person.email.split('@')[0]}-demo-2026`)
        return json({ error: { code: 'invalid_credentials', message: 'Wrong email or password' } }, 401);
      const token = `sess-${person.id}.secret-${++this.issued}`;
      this.tokens.set(token, person);
      return json({ token, expiresAt: '2099-01-01T00:00:00.000Z', person });
    }
    const person = auth ? this.tokens.get(auth.replace(/^Bearer /, '')) : undefined;
    if (!person) return json({ error: { code: 'unauthenticated', message: 'Sign in first' } }, 401);
    if (url.pathname === '/api/auth/sign-out') {
      this.tokens.delete(auth!.replace(/^Bearer /, ''));
      return new Response(null, { status: 204 });
    }
    if (url.pathname === '/api/sync') return json(this.sync(person, url.searchParams.get('cursor')));
    if (url.pathname === '/api/mutations') return json(this.mutate(person, body.mutations));
    return json({ error: { code: 'not_found', message: 'no route' } }, 404);
  };

  private visibleRequests(p: Person) {
    return this.requests.filter((r) => r.value.requesterId === p.id || r.value.stages.some((s) => s.approverIds.includes(p.id)));
  }

  private sync(p: Person, cursor: string | null) {
    const since = cursor === null ? -1 : Number(cursor);
    const reset = since < 0;
    const fresh = <T>(list: Versioned<T>[]) => list.filter((x) => reset || x.v > since).map((x) => x.value);
    return {
      cursor: String(this.version),
      reset,
      me: reset ? p : null,
      people: reset ? [ref(ava), ref(ben)] : [],
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
        this.requests.push({
          v: this.version,
          value: {
            id: m.args.requestId,
            requesterId: p.id,
            connectionId: m.args.connectionId,
            accountId: `a-${p.id}`,
            permissions: m.args.permissions,
            page: m.args.page,
            justification: m.args.justification,
            durationDays: m.args.durationDays,
            status: 'pending',
            stages: [{ kind: 'manager', approverIds: [p.managerId ?? 'p-admin'], decision: null }],
            createdAt: now,
            updatedAt: now,
            decidedAt: null,
            grantedAt: null,
            expiresAt: null,
          },
        });
      } else if (m.name === 'decision.record') {
        const entry = this.requests.find((r) => r.value.id === m.args.requestId)!;
        const r = entry.value;
        const days = m.args.durationDays ?? r.durationDays;
        const expiresAt = new Date(Date.now() + days * 86_400_000).toISOString();
        entry.v = this.version;
        entry.value = {
          ...r,
          status: m.args.outcome === 'approve' ? 'approved' : 'denied',
          stages: [{ ...r.stages[0]!, decision: { deciderId: p.id, outcome: m.args.outcome, reason: m.args.reason, durationDays: m.args.durationDays, decidedAt: now } }],
          decidedAt: now,
          grantedAt: m.args.outcome === 'approve' ? now : null,
          expiresAt: m.args.outcome === 'approve' ? expiresAt : null,
          updatedAt: now,
        };
        if (m.args.outcome === 'approve')
          for (const key of r.permissions)
            this.assignments.push({
              v: this.version,
              value: { id: `as-${this.version}-${key.replace(/:/g, '_')}`, accountId: r.accountId, target: { type: 'permission', key }, source: 'request', requestId: r.id, grantedAt: now, expiresAt, revokedAt: null },
            });
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
  return { replica, tokens, fetch: server.fetch, now, uuid, openOptionsPage: async () => undefined };
}

export const SELF = { id: 'test-extension-id', origin: 'chrome-extension://test-extension-id/' };
export const popupSender = { id: SELF.id, url: `${SELF.origin}popup.html` };
export const contentSender = { id: SELF.id, url: CONTRACT_URL, tab: { id: 1, url: CONTRACT_URL } };

export const contractPage = {
  url: CONTRACT_URL,
  object: 'Contract',
  recordId: '800xx000001AbCdAAK',
  view: 'view',
  denialText: 'Insufficient Privileges',
};
