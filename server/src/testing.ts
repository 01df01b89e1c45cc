/**
 * Test support (not a test file): a fresh database file per test with the real migrations and the
 * real demo seed, the real app, and a clock the test moves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mutation, MutationsResponse, RequestCreateArgs, SyncResponse } from '@accesslens/shared';
import { createApp } from './app.ts';
import type { OidcSettings } from './auth/oidc.ts';
import { FindingsService } from './findings/service.ts';
import { openDatabase, type Db } from './db.ts';
import { migrate } from './migrate.ts';
import { Notifier } from './notifier.ts';
import { DEMO_PASSWORDS, seedDemoIfEmpty } from './seed/demo.ts';
import { loadTemplate, startSqld, templateOf, type DatabaseTemplate } from './testing-sqld.ts';
import { ConnectorWorker } from './connectors/worker.ts';
import { ConsoleWorker } from './console/worker.ts';
import { generateKey, KeyRing, SecretBox } from './secrets.ts';
import { LifecycleWorker } from './lifecycle/worker.ts';
import { Mailer, type MailSettings } from './lifecycle/mail.ts';
import { AuditSigner } from './audit-checkpoint.ts';

export const T0 = new Date('2026-03-02T09:00:00.000Z');
export const DAY_MS = 24 * 60 * 60 * 1000;

export interface Harness {
  db: Db;
  url: string;
  app: ReturnType<typeof createApp>;
  notifier: Notifier;
  /** The app's findings engine (one per server process). */
  findings: FindingsService;
  clock: { now(): Date; set(d: Date): void; advance(ms: number): void };
  /** Another app on the same database, with its own findings engine: as another server process would be. */
  newApp(findings?: FindingsService): ReturnType<typeof createApp>;
  /** The secret box the app encrypts CRM credentials with. */
  secrets: SecretBox;
  /** This "process"'s connector worker, not started: tests call `worker.runDue()` after moving the clock. */
  worker: ConnectorWorker;
  /** This "process"'s console schedule worker, not started: tests call `consoleWorker.runDue()` after moving the clock. */
  consoleWorker: ConsoleWorker;
  /** This "process"'s lifecycle worker (reminders, escalation, outbox), not started: tests call `lifecycle.runDue()` after moving the clock. */
  lifecycle: LifecycleWorker;
  /** As Cara (an administrator): marks the open admin task of a request done. */
  completeTask(requestId: string, kind?: 'grant' | 'revoke' | 'problem'): Promise<Response>;
  /** As Cara, through the admin people API: makes a demo person an administrator too. */
  makeAdmin(personId: string): Promise<void>;
  /**
   * A policy change with four eyes: Cara proposes it (PUT /api/policy, 202), Kai — made an administrator
   * for it — approves it. Returns the approval's response (200 `{proposal, policy}`) or the first failure.
   */
  changePolicy(body: { baseVersion: number; document: unknown; note?: string }): Promise<Response>;
  signIn(email: keyof typeof DEMO_PASSWORDS): Promise<string>;
  get(token: string | null, path: string): Promise<Response>;
  post(token: string | null, path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  put(token: string | null, path: string, body: unknown): Promise<Response>;
  patch(token: string | null, path: string, body: unknown): Promise<Response>;
  del(token: string | null, path: string): Promise<Response>;
  mutate(token: string, mutations: unknown[]): Promise<MutationsResponse>;
  pull(token: string, cursor?: string): Promise<SyncResponse>;
  close(): Promise<void>;
}

const TEMPLATE_KEY = generateKey();
const templates = new Map<boolean, Promise<DatabaseTemplate>>();

/** The migrated (and seeded) database every libsql-server harness of this process starts from. */
function templateFor(seed: boolean): Promise<DatabaseTemplate> {
  let template = templates.get(seed);
  if (!template) {
    template = (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'accesslens-template-'));
      const db = await openDatabase(`file:${join(dir, 'template.db')}`);
      try {
        db.auditSigner = new AuditSigner(() => new KeyRing(TEMPLATE_KEY));
        await migrate(db);
        if (seed) await seedDemoIfEmpty(db, T0);
        return await templateOf(db.client);
      } finally {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    templates.set(seed, template);
  }
  return template;
}

/**
 * With ACCESSLENS_TEST_DB=sqld (the `server-libsql` test project) every harness gets its own libsql
 * server instead of a file, so the same tests prove the same code on both kinds of DATABASE_URL.
 */
export async function harness(
  options: {
    seed?: boolean;
    dir?: string;
    oidc?: OidcSettings;
    crmFetch?: typeof fetch;
    mail?: MailSettings;
    /** On a libsql server: migrate and seed over HTTP as a server does, instead of loading the template. */
    fresh?: boolean;
  } = {},
): Promise<Harness> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'accesslens-test-'));
  const seed = options.seed ?? true;
  const sqld = process.env.ACCESSLENS_TEST_DB === 'sqld' ? await startSqld() : null;
  const url = sqld ? sqld.url : `file:${join(dir, 'accesslens.db')}`;
  const db = await openDatabase(url);
  // On a libsql server the copies of one template share its key: the seed's audit head is signed with it.
  const secrets = new SecretBox(new KeyRing(sqld ? TEMPLATE_KEY : generateKey()));
  // As a server process does: whoever holds the key signs the audit chain's head, the seed's too.
  db.auditSigner = new AuditSigner(() => secrets.keyRing);
  let t = T0;
  const clock = {
    now: () => t,
    set: (d: Date) => void (t = d),
    advance: (ms: number) => void (t = new Date(t.getTime() + ms)),
  };
  if (sqld && !options.fresh) await loadTemplate(db.client, await templateFor(seed));
  else {
    await migrate(db);
    if (seed) await seedDemoIfEmpty(db, clock.now());
  }
  const notifier = new Notifier();
  const findings = new FindingsService(db);
  const crm = options.crmFetch ? { crmFetch: options.crmFetch } : {};
  const newApp = (f = new FindingsService(db)) =>
    createApp({ db, now: clock.now, notifier, findings: f, secrets, ...crm, ...(options.oidc ? { oidc: options.oidc } : {}) });
  const app = newApp(findings);
  const worker = new ConnectorWorker({ db, box: secrets, now: clock.now, findings, notifier, ...(options.crmFetch ? { fetch: options.crmFetch } : {}) });
  const consoleWorker = new ConsoleWorker({ db, now: clock.now, findings, notifier });
  const mailer = options.mail ? new Mailer(options.mail) : null;
  const lifecycle = new LifecycleWorker({ db, box: secrets, now: clock.now, notifier, mailer });

  const h: Harness = {
    db,
    url,
    app,
    notifier,
    findings,
    clock,
    newApp,
    secrets,
    worker,
    consoleWorker,
    lifecycle,
    async completeTask(requestId, kind = 'grant') {
      const cara = await h.signIn('cara@acme.test');
      const r = await db.execute("SELECT id FROM admin_tasks WHERE request_id = ? AND kind = ? AND status = 'open'", [requestId, kind]);
      const taskId = r.rows[0]?.id;
      if (taskId === undefined) throw new Error(`no open ${kind} task for request ${requestId}`);
      return h.post(cara, `/api/admin/tasks/${String(taskId)}/done`, {});
    },
    async makeAdmin(personId) {
      const cara = await h.signIn('cara@acme.test');
      const person = (await (await h.get(cara, `/api/admin/people/${personId}`)).json()) as { person: { roles: string[] } };
      if (person.person.roles.includes('admin')) return;
      const res = await h.patch(cara, `/api/admin/people/${personId}`, { roles: [...person.person.roles, 'admin'] });
      if (res.status !== 200) throw new Error(`making ${personId} an administrator failed: ${res.status} ${await res.text()}`);
    },
    async changePolicy(body) {
      const cara = await h.signIn('cara@acme.test');
      const put = await h.put(cara, '/api/policy', body);
      if (put.status !== 202) return put;
      const { proposal } = (await put.json()) as { proposal: { id: string } };
      await h.makeAdmin('p-kai');
      const kai = await h.signIn('kai@acme.test');
      return h.post(kai, `/api/policy/proposals/${proposal.id}/approve`, {});
    },
    async signIn(email) {
      const res = await h.post(null, '/api/auth/sign-in', { email, password: DEMO_PASSWORDS[email] });
      if (res.status !== 200) throw new Error(`sign-in as ${email} failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    get: (token, path) => Promise.resolve(app.request(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} })),
    post: (token, path, body, headers = {}) =>
      Promise.resolve(
        app.request(path, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
            ...headers,
          },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
      ),
    put: (token, path, body) =>
      Promise.resolve(
        app.request(path, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        }),
      ),
    patch: (token, path, body) =>
      Promise.resolve(
        app.request(path, {
          method: 'PATCH',
          headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        }),
      ),
    del: (token, path) => Promise.resolve(app.request(path, { method: 'DELETE', headers: token ? { Authorization: `Bearer ${token}` } : {} })),
    async mutate(token, mutations) {
      const res = await h.post(token, '/api/mutations', { mutations });
      if (res.status !== 200) throw new Error(`mutations failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as MutationsResponse;
    },
    async pull(token, cursor) {
      const res = await h.get(token, cursor === undefined ? '/api/sync' : `/api/sync?cursor=${encodeURIComponent(cursor)}`);
      if (res.status !== 200) throw new Error(`sync failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as SyncResponse;
    },
    async close() {
      await worker.stop();
      await consoleWorker.stop();
      await lifecycle.stop();
      mailer?.close();
      notifier.closeAll();
      db.close();
      await sqld?.stop();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export function createMutation(args: Partial<RequestCreateArgs> = {}, id = crypto.randomUUID()): Mutation & { name: 'request.create' } {
  return {
    id,
    name: 'request.create',
    args: {
      requestId: crypto.randomUUID(),
      connectionId: 'sf-acme',
      permissions: ['object:Contract:read'],
      page: {
        url: 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
        object: 'Contract',
        recordId: '800xx000001AbCdAAK',
        denialText: 'Insufficient Privileges',
      },
      justification: 'Renewal for Globex is due this week.',
      evidence: [],
      durationDays: 30,
      ...args,
    },
  };
}

export function decisionMutation(
  requestId: string,
  outcome: 'approve' | 'deny',
  extra: { reason?: string | null; durationDays?: number | null } = {},
  id = crypto.randomUUID(),
) {
  return { id, name: 'decision.record' as const, args: { requestId, outcome, reason: null, durationDays: null, ...extra } };
}

export function cancelMutation(requestId: string, id = crypto.randomUUID()) {
  return { id, name: 'request.cancel' as const, args: { requestId } };
}
