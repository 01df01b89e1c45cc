/**
 * Test support (not bundled: only *.test.ts files import it, and the Firefox sources zip leaves it out):
 * the real AccessLens server in-process — server/src/testing.ts's harness, i.e. `createApp` on a fresh
 * database with the real migrations and the real demo seed — reached through a `fetch` that hands each
 * request to `app.request`. No network, and no copy of the server: what the background is tested against
 * is what it talks to in production.
 *
 * The fetch shim is the network between the two, and only the network: it records what the background
 * sent, and can be down (fetch rejects), slow, or answered by a failing proxy in front of the server
 * (a 5xx that never reaches the app). Everything the server knows is set up through its own API (admin
 * routes, policy proposals, mutations), as an administrator would.
 *
 * The server's clock is the test's `Date`: under vitest's fake timers both sides see the same moving time.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, inject, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import type { AccessRequest, MutationsResponse, SyncResponse } from '@accesslens/shared';
import { createMutation, decisionMutation, harness, type Harness } from '../../../server/src/testing.ts';
import type { OidcSettings } from '../../../server/src/auth/oidc.ts';
import { DEMO_PASSWORDS } from '../../../server/src/seed/demo.ts';
import { memoryTokenStore } from './token-store';
import { PreviewCache } from './preview';
import { Replica } from './sync';
import { handleMessage, type RouterDeps } from './router';
import { FlagsCache } from './flags';

export type DemoEmail = keyof typeof DEMO_PASSWORDS;
export { DEMO_PASSWORDS };

/** The server URL the background is signed in to (loopback: plain HTTP is allowed). */
export const SERVER_URL = 'http://localhost:8787';
/** The demo org's Salesforce connection (server/src/seed/demo.ts). */
export const CONNECTION_ID = 'sf-acme';
export const CONTRACT_URL = 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view';

/** One call the background made, as the network saw it. */
export interface Call {
  method: string;
  path: string;
  body: unknown;
  auth: string | null;
}

// Captured before any test fakes the timers: waiting for the server's own I/O (argon2 runs on libuv's pool).
const realSetImmediate = globalThis.setImmediate;
const realSetTimeout = globalThis.setTimeout;
const realTick = () => new Promise<void>((resolve) => realSetImmediate(resolve));
const realSleep = (ms: number) => new Promise<void>((resolve) => realSetTimeout(resolve, ms));

export class TestServer {
  /** The network is down: every fetch rejects, as the browser's does. */
  down = false;
  /** A proxy in front of the server answers the next `times` requests with this status (the app never sees them). */
  failWith: { status: number; times: number } | null = null;
  /** The network delivers the answers to these paths this late (ms, on the test's timers). */
  slow: { path: string; ms: number } | null = null;
  readonly calls: Call[] = [];
  /** Requests handed to the app and not answered yet (closing waits for them). */
  #inFlight = 0;
  #closed = false;
  /** Sessions the test itself holds (its own sign-ins, not the background's), by email. */
  readonly #tokens: Map<string, string>;

  constructor(
    readonly h: Harness,
    tokens: ReadonlyMap<string, string> = new Map(),
    /** The database's folder when this server owns it (a copy of a template): removed on close. */
    private readonly dir: string | null = null,
  ) {
    this.#tokens = new Map(tokens);
  }

  /** The test's own sessions (a template hands them to its copies, whose databases hold them). */
  get tokens(): ReadonlyMap<string, string> {
    return this.#tokens;
  }

  fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input);
    const headers = new Headers(init.headers);
    const body = typeof init.body === 'string' ? parsed(init.body) : null;
    this.calls.push({ method: init.method ?? 'GET', path: url.pathname + url.search, body, auth: headers.get('Authorization') });
    if (this.down || this.#closed) throw new TypeError('Failed to fetch');
    if (this.failWith && this.failWith.times > 0) {
      this.failWith.times--;
      return new Response('<html><body>Service Unavailable</body></html>', { status: this.failWith.status, headers: { 'Content-Type': 'text/html' } });
    }
    if (this.slow && url.pathname === this.slow.path) await delay(this.slow.ms, init.signal);
    this.#inFlight++;
    try {
      return await this.h.app.request(input, init);
    } finally {
      this.#inFlight--;
    }
  };

  mutationCalls(): Call[] {
    return this.calls.filter((c) => c.path === '/api/mutations');
  }

  previewCalls(): Call[] {
    return this.calls.filter((c) => c.path === '/api/requests/preview');
  }

  /** The mutations the background sent (every attempt, in order). */
  sentMutations(): { id: string; name: string; args: Record<string, any> }[] {
    return this.mutationCalls().flatMap((c) => (c.body as { mutations: { id: string; name: string; args: Record<string, any> }[] }).mutations);
  }

  /** A session of the test's own for a demo person (signed in once per server). */
  async token(email: DemoEmail): Promise<string> {
    let token = this.#tokens.get(email);
    if (!token) this.#tokens.set(email, (token = await this.h.signIn(email)));
    return token;
  }

  /** Everything `email` may see, as the server answers a full pull. */
  async pull(email: DemoEmail): Promise<SyncResponse> {
    return this.h.pull(await this.token(email));
  }

  /** The server's copy of a request, as `email` (its requester by default) sees it. */
  async request(id: string, email: DemoEmail = 'ava@acme.test'): Promise<AccessRequest | undefined> {
    return (await this.pull(email)).requests.find((r) => r.id === id);
  }

  /** The requests `email` may see on the server. */
  async requests(email: DemoEmail = 'ava@acme.test'): Promise<AccessRequest[]> {
    return (await this.pull(email)).requests;
  }

  /** Mutations as `email`, straight to the server (another person's browser, or a lost response replayed). */
  async mutate(email: DemoEmail, mutations: unknown[]): Promise<MutationsResponse> {
    return this.h.mutate(await this.token(email), mutations);
  }

  /** As Cara (an administrator), through the admin API. */
  async admin(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<Response> {
    const token = await this.token('cara@acme.test');
    const res = await this.h.app.request(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status >= 400) throw new Error(`${method} ${path} failed: ${res.status} ${await res.text()}`);
    return res;
  }

  /** Changes the policy with four eyes (Cara proposes, Kai approves), from the current document. */
  async changePolicy(edit: (document: any) => void): Promise<void> {
    const current = (await (await this.admin('GET', '/api/policy')).json()) as { version: number; document: unknown };
    const document = structuredClone(current.document);
    edit(document);
    const res = await this.h.changePolicy({ baseVersion: current.version, document, note: 'extension test' });
    if (res.status !== 200) throw new Error(`policy change failed: ${res.status} ${await res.text()}`);
  }

  /**
   * The approval rules the background's tests exercise, set up on top of the demo policy through the
   * admin API (an approver group, then a policy change with four eyes):
   * Contract edit = the manager, then Deal Desk (Dan); Contract delete = 2 of Legal (Ben, Dan, Gil);
   * Contract create = approved automatically for up to 7 days.
   */
  async contractRules(): Promise<void> {
    const res = await this.admin('POST', '/api/admin/approver-groups', { name: 'Legal', memberIds: ['p-ben', 'p-dan', 'p-gil'] });
    const legal = ((await res.json()) as { group: { id: string } }).group.id;
    const manager = { kind: 'manager', mode: { type: 'any' }, label: 'Manager' };
    const fallback = [{ kind: 'group', groupId: 'grp-admins' }];
    const rule = (id: string, key: string, extra: Record<string, unknown>) => ({
      id,
      connectionId: CONNECTION_ID,
      name: id,
      match: { keys: [key] },
      fallback,
      defaultDurationDays: 7,
      maxDurationDays: 90,
      ...extra,
    });
    await this.changePolicy((document) => {
      document.requestRules.unshift(
        rule('rr-contract-edit', 'object:Contract:edit', {
          stages: [manager, { kind: 'group', groupId: 'grp-deal-desk', mode: { type: 'any' }, label: 'Deal Desk' }],
        }),
        rule('rr-contract-delete', 'object:Contract:delete', {
          stages: [{ kind: 'group', groupId: legal, mode: { type: 'nOfM', n: 2 }, label: 'Legal' }],
          maxDurationDays: 7,
        }),
        rule('rr-contract-create', 'object:Contract:create', {
          stages: [manager],
          autoApprove: { maxRisk: 'critical', maxDurationDays: 7 },
          maxDurationDays: 7,
        }),
      );
    });
  }

  /** Ends a session on the server (as signing out elsewhere, or its expiry, would). */
  async endSession(token: string): Promise<void> {
    const res = await this.h.post(token, '/api/auth/sign-out', {});
    if (res.status !== 204 && res.status !== 200) throw new Error(`sign-out failed: ${res.status}`);
  }

  /**
   * Grants `key` to `email` through the server's whole path, from another browser: the person asks, their
   * manager approves, and Cara marks the admin task done (the demo connection is read-only, so an
   * administrator grants in Salesforce). Returns the request's id.
   */
  async grant(email: DemoEmail, manager: DemoEmail, key: string): Promise<string> {
    const create = createMutation({ permissions: [key], durationDays: 7 });
    const created = await this.mutate(email, [create]);
    if (created.results[0]?.status !== 'applied') throw new Error(`request.create: ${JSON.stringify(created.results[0])}`);
    const approved = await this.mutate(manager, [decisionMutation(create.args.requestId, 'approve')]);
    if (approved.results[0]?.status !== 'applied') throw new Error(`decision.record: ${JSON.stringify(approved.results[0])}`);
    await this.fulfil(create.args.requestId);
    return create.args.requestId;
  }

  /** Cara marks the grant task of an approved request done: the CRM holds it (status fulfilled). */
  async fulfil(requestId: string): Promise<void> {
    const res = await this.h.completeTask(requestId);
    if (res.status !== 200) throw new Error(`completing the grant task failed: ${res.status} ${await res.text()}`);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await until(() => this.#inFlight === 0, 'the requests in flight to finish');
    await this.h.close();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Waits until `check` holds: between looks it lets the background's pending promises run (fake timers
 * advanced by 0 ms, so no retry, poll or alarm fires early) and the server's own asynchronous work finish
 * (argon2 runs on libuv's pool). Fails after `seconds` of real time, saying what it waited for.
 */
export async function until(check: () => boolean | Promise<boolean>, what = check.toString(), seconds = 10): Promise<void> {
  const deadline = process.hrtime.bigint() + BigInt(seconds * 1e9);
  for (let look = 0; process.hrtime.bigint() < deadline; look++) {
    if (await check()) return;
    if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(0);
    // A few quick looks, then short real pauses: spinning would take the core argon2 and the other test files need.
    await (look < 20 ? realTick() : realSleep(2));
  }
  throw new Error(`waited in vain for: ${what}`);
}

/** The server's clock: the test's `Date`, which vitest's fake timers drive. */
const testClock = {
  now: () => new Date(),
  set: (d: Date) => vi.setSystemTime(d),
  advance: (ms: number) => vi.setSystemTime(Date.now() + ms),
};

/** Starts the real server on a fresh database (migrated, demo seeded), its clock reading the test's `Date`. */
export async function startTestServer(options: { oidc?: OidcSettings } = {}): Promise<TestServer> {
  return new TestServer(await harness({ clock: testClock, ...options }));
}

/**
 * A database prepared once per test file (migrations, demo seed, `setup` through the API, the test's own
 * sign-ins), copied for each test: every test gets a server of its own without paying for the seed's
 * and the sign-ins' password hashing again.
 */
export class ServerTemplate {
  private constructor(
    private readonly dir: string,
    private readonly tokens: ReadonlyMap<string, string>,
    private readonly options: { oidc?: OidcSettings },
  ) {}

  static async create(setup: (server: TestServer) => Promise<void> = async () => undefined, options: { oidc?: OidcSettings } = {}): Promise<ServerTemplate> {
    const dir = mkdtempSync(join(tmpdir(), 'accesslens-ext-template-'));
    // The run's seeded database (test-server-seed.ts), when the global setup made one.
    const seeded = inject('accesslensSeededDir');
    if (seeded) copyDatabase(seeded, dir);
    const server = new TestServer(await harness({ clock: testClock, dir, ...options }));
    await setup(server);
    // The sessions most tests use, signed in once here.
    for (const email of ['ava@acme.test', 'ben@acme.test', 'cara@acme.test'] as const) await server.token(email);
    const tokens = server.tokens;
    await server.close();
    return new ServerTemplate(dir, tokens, options);
  }

  /** A server of its own on a copy of the template's database. */
  async start(): Promise<TestServer> {
    const dir = mkdtempSync(join(tmpdir(), 'accesslens-ext-test-'));
    copyDatabase(this.dir, dir);
    return new TestServer(await harness({ clock: testClock, dir, ...this.options }), this.tokens, dir);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The set-up most background test files share, registered as the calling file's (or describe block's)
 * hooks: one ServerTemplate (seeded by `setup`) for all its tests, and for each test a reset fake browser
 * and a server of its own on a copy of the template, closed after the test. With `fakeTimers`, the test's
 * timers are faked before its server starts and real again before it closes. Returns the current test's
 * server (hooks registered after this call, e.g. a `createDeps`, run after it starts and before it closes).
 */
export function useTestServer(setup?: (server: TestServer) => Promise<void>, { fakeTimers = false }: { fakeTimers?: boolean } = {}): () => TestServer {
  let template: ServerTemplate | undefined;
  let server: TestServer | undefined;
  beforeAll(async () => void (template = await ServerTemplate.create(setup)));
  afterAll(() => template?.dispose());
  beforeEach(async () => {
    fakeBrowser.reset();
    if (fakeTimers) vi.useFakeTimers();
    server = await template!.start();
  });
  afterEach(async () => {
    if (fakeTimers) vi.useRealTimers();
    await server?.close();
    server = undefined;
  });
  return () => {
    if (!server) throw new Error('useTestServer: the server exists only while a test runs');
    return server;
  };
}

let counter = 0;
/** Deterministic v4-shaped UUIDs. */
export function uuid(): string {
  counter++;
  return `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
}

/** Waits until the background's outbox has delivered everything (the server answered each mutation). */
export function delivered(deps: RouterDeps): Promise<void> {
  return until(async () => (await deps.replica.syncStatus()).outbox === 0, 'the outbox to be delivered');
}

export function createDeps(server: TestServer): RouterDeps {
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

/** Signs in through the router as a demo person (the seed's password), as the options page does. */
export async function signInAs(deps: RouterDeps, email: DemoEmail): Promise<void> {
  const answer = await handleMessage(deps, { type: 'auth.signIn', serverUrl: SERVER_URL, email, password: DEMO_PASSWORDS[email] }, popupSender, SELF);
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

/** Copies a closed database (and any write-ahead log left beside it) from one folder to another. */
function copyDatabase(from: string, to: string): void {
  for (const suffix of ['', '-wal', '-shm'])
    if (existsSync(join(from, `accesslens.db${suffix}`))) copyFileSync(join(from, `accesslens.db${suffix}`), join(to, `accesslens.db${suffix}`));
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
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
