/**
 * Flags on CRM user pages (administrators): the open findings of the users a page links to, by their
 * CRM user ids. The background asks the server (`POST /api/findings/by-accounts`) for ids it has not
 * asked about lately; those accounts become watched, so from then on their findings arrive in the
 * admin's sync slice (`findings`) and a sync supersedes what a query answered (newer `updatedAt` wins).
 * Content scripts never hold the token: they send ids and get back what to draw, already in words.
 */
import {
  connectionForPage,
  findingsByAccountsResponse,
  remediateFindingResponse,
  findingResponse,
  userKey,
  RISK_LEVELS,
  FINDINGS_BY_ACCOUNTS_MAX,
  type FindingEvidence,
  type FlagsPage,
  type Result,
  type Risk,
  type Slice,
  type SyncedFinding,
} from '@accesslens/shared';
import { formatDate, labelOf, t } from '../../utils/i18n';
import type { FlagChip, FlagFinding, FlagsAnswer, FlagsAcceptAnswer, FlagsDetailAnswer, FlagsRemediateAnswer } from '../../utils/protocol';
import { ApiFailure } from './api';
import { chosen } from './page';
import type { Replica } from './sync';

/** Ids asked about within this long are answered from what is held (the slice keeps them current). */
export const FLAGS_ASK_AGAIN_MS = 5 * 60_000;
const DAY_MS = 24 * 60 * 60_000;

interface AccountInfo {
  personName: string;
  department: string;
  title: string;
}

/** What the background holds for the flags, per signed-in person. In memory: the slice is the durable part. */
export class FlagsCache {
  private personId: string | null = null;
  /** Findings from by-accounts answers, by id (the slice's copy wins when newer). */
  readonly queried = new Map<string, SyncedFinding>();
  /** `connectionId key` → when it was last asked. */
  readonly asked = new Map<string, number>();
  /** `connectionId key` → who the account is (from by-accounts). */
  readonly accounts = new Map<string, AccountInfo>();
  /** In-flight questions by connection, so two frames asking at once send one request per id. */
  readonly inflight = new Map<string, Promise<void>>();

  /** Forgets everything when another person signs in. */
  forPerson(personId: string): this {
    if (this.personId !== personId) {
      this.personId = personId;
      this.queried.clear();
      this.asked.clear();
      this.accounts.clear();
      this.inflight.clear();
    }
    return this;
  }

  /** A finding changed on the server through this browser (accepted, remediated): keep the newer copy. */
  put(f: SyncedFinding): void {
    this.queried.set(f.id, f);
  }
}

export interface FlagsDeps {
  replica: Replica;
  now: () => Date;
  flags: FlagsCache;
}

const rank = (r: Risk) => RISK_LEVELS.indexOf(r);
const aKey = (connectionId: string, key: string) => `${connectionId} ${key}`;

/** The findings held for a connection: the slice's and the queries', the newer copy of each. */
export function mergedFindings(slice: Pick<Slice, 'findings'>, cache: FlagsCache, connectionId: string): SyncedFinding[] {
  const byId = new Map<string, SyncedFinding>();
  for (const f of cache.queried.values()) if (f.connectionId === connectionId) byId.set(f.id, f);
  for (const f of slice.findings) {
    if (f.connectionId !== connectionId) continue;
    const held = byId.get(f.id);
    if (!held || f.updatedAt >= held.updatedAt) byId.set(f.id, f);
  }
  return [...byId.values()];
}

/** Open findings (an expired acceptance is open again) are flagged; accepted and temporary ones are not. */
export const flagged = (f: SyncedFinding) => f.status === 'open';

function keyLabel(view: Slice, connectionId: string, key: string): string {
  const entry = view.catalog.find((c) => c.connectionId === connectionId && c.key === key);
  return labelOf(entry?.labels, key);
}

function bundleName(view: Slice, id: string): string {
  return view.bundles.find((b) => b.id === id)?.name ?? id;
}

const list = (items: string[]) => items.join(t('people.separator'));
const daysBetween = (from: string, now: Date) => Math.max(0, Math.floor((now.getTime() - Date.parse(from)) / DAY_MS));

/** The evidence of a finding in words, in the browser's language. */
export function evidenceWords(f: SyncedFinding, view: Slice, account: AccountInfo | undefined, now: Date): string[] {
  const e = f.evidence as unknown as FindingEvidence;
  const keys = (ks: string[]) => ks.map((k) => keyLabel(view, f.connectionId, k));
  const side = (s: { keys: string[]; bundleIds: string[] }) => list([...s.bundleIds.map((b) => bundleName(view, b)), ...keys(s.keys)]);
  const grantedBy = (g: { bundleName: string | null; bundleId: string | null }[]) => {
    const names = [...new Set(g.map((x) => x.bundleName ?? (x.bundleId ? bundleName(view, x.bundleId) : t('flags.evidence.direct'))))];
    return names.length ? [t('flags.evidence.grantedBy', { bundles: list(names) })] : [];
  };
  const job = { department: account?.department || '—', title: account?.title || '—' };
  switch (e.kind) {
    case 'beyond-baseline':
      return [t('flags.evidence.beyondBaseline', job), ...grantedBy(e.grantedBy)];
    case 'sod-conflict':
      return [t('flags.evidence.sod', { left: side(e.left), right: side(e.right) })];
    case 'high-risk':
      return [
        t('flags.evidence.highRisk', { risk: t(`flags.severity.${e.risk}`), department: e.department || '—', title: e.title || '—' }),
        ...grantedBy(e.grantedBy),
      ];
    case 'super-admin':
      return [
        t('flags.evidence.superAdmin', { keys: list(keys(e.keys)) }),
        e.adminFunction ? t('flags.evidence.adminFunction') : t('flags.evidence.notAdminFunction'),
      ];
    case 'unused':
      return e.lastUsedAt
        ? [t('flags.evidence.unused', { days: daysBetween(e.lastUsedAt, now) })]
        : [t('flags.evidence.neverUsed', { days: daysBetween(e.grantedAt, now) })];
    case 'dormant':
      return e.lastLoginAt ? [t('flags.evidence.dormant', { days: e.daysSinceLogin, limit: e.thresholdDays })] : [t('flags.evidence.neverSignedIn')];
    case 'peer-outlier':
      return [t('flags.evidence.peerOutlier', { holders: e.holders, peers: e.peers, department: e.department || '—', title: e.title || '—' })];
    case 'inactive-person':
      return [e.personStatus === 'departed' ? t('flags.evidence.departed') : t('flags.evidence.suspended')];
    case 'expired-grant':
      return [t('flags.evidence.expired', { date: formatDate(e.expiresAt) })];
    case 'outside-process':
      return [t('flags.evidence.outsideProcess', { date: formatDate(e.grantedAt) })];
    default:
      return [];
  }
}

function describe(f: SyncedFinding, view: Slice, account: AccountInfo | undefined, now: Date): FlagFinding {
  const e = f.evidence as unknown as FindingEvidence;
  const side = (s: { keys: string[]; bundleIds: string[] }) =>
    list([...s.bundleIds.map((b) => bundleName(view, b)), ...s.keys.map((k) => keyLabel(view, f.connectionId, k))]);
  return {
    id: f.id,
    kind: f.kind,
    kindLabel: t(`flags.kind.${f.kind}`),
    severity: f.severity,
    reopened: f.reopened,
    permissions: [...f.bundleIds.map((b) => bundleName(view, b)), ...f.keys.map((k) => keyLabel(view, f.connectionId, k))],
    evidence: evidenceWords(f, view, account, now),
    sides: e.kind === 'sod-conflict' ? { left: side(e.left), right: side(e.right) } : null,
  };
}

/** The page's connection (the admin's slice carries every connection), or null. */
async function connectionOf(view: Slice, host: string, page: FlagsPage) {
  const found = connectionForPage(view, page, host, await chosen());
  return found && 'connection' in found ? found.connection : null;
}

function isAdmin(view: Slice | null): view is Slice & { me: NonNullable<Slice['me']> } {
  return !!view?.me && view.me.roles.includes('admin');
}

const notAdmin: FlagsAnswer = { admin: false, connectionId: null, users: [], offline: false };

/** Asks the server about the ids not asked lately (in chunks the server accepts); records what it says. */
async function askServer(deps: FlagsDeps, connectionId: string, ids: string[], keyOf: (id: string) => string): Promise<void> {
  const { flags } = deps;
  const now = deps.now().getTime();
  // Sent as the CRM compares them (Salesforce's 15 characters, lower-case GUIDs): the server does too.
  const due = [...new Set(ids.map(keyOf))].filter((id) => {
    const at = flags.asked.get(aKey(connectionId, id));
    return at === undefined || now - at > FLAGS_ASK_AGAIN_MS;
  });
  // Wait for a question already on its way for this connection (it may cover these ids).
  const before = flags.inflight.get(connectionId);
  if (before) await before.catch(() => undefined);
  const still = due.filter((id) => {
    const at = flags.asked.get(aKey(connectionId, id));
    return at === undefined || now - at > FLAGS_ASK_AGAIN_MS;
  });
  if (still.length === 0) return;
  const run = (async () => {
    for (let i = 0; i < still.length; i += FINDINGS_BY_ACCOUNTS_MAX) {
      const chunk = still.slice(i, i + FINDINGS_BY_ACCOUNTS_MAX);
      const answer = await deps.replica.call('/api/findings/by-accounts', {
        method: 'POST',
        body: { connectionId, externalUserIds: chunk },
        schema: findingsByAccountsResponse,
      });
      if (!answer) return;
      const at = deps.now().getTime();
      for (const id of chunk) flags.asked.set(aKey(connectionId, id), at);
      for (const a of answer.accounts)
        flags.accounts.set(aKey(connectionId, keyOf(a.externalUserId)), { personName: a.personName, department: a.department, title: a.title });
      // What the server holds now for these accounts replaces what was held (a remediated one is left out).
      const answered = new Set(answer.accounts.map((a) => a.accountId));
      for (const [id, f] of flags.queried) if (answered.has(f.accountId)) flags.queried.delete(id);
      for (const f of answer.findings) flags.queried.set(f.id, f);
    }
  })();
  flags.inflight.set(connectionId, run);
  try {
    await run;
  } finally {
    if (flags.inflight.get(connectionId) === run) flags.inflight.delete(connectionId);
  }
}

/** Open findings of a connection by user key (the CRM's way of comparing ids), most severe first. */
function openByUser(view: Slice, flags: FlagsCache, connectionId: string, keyOf: (id: string) => string): Map<string, SyncedFinding[]> {
  const byKey = new Map<string, SyncedFinding[]>();
  for (const f of mergedFindings(view, flags, connectionId)) {
    if (!flagged(f)) continue;
    const k = keyOf(f.externalUserId);
    const arr = byKey.get(k);
    if (arr) arr.push(f);
    else byKey.set(k, [f]);
  }
  for (const arr of byKey.values()) arr.sort((a, b) => rank(b.severity) - rank(a.severity) || a.id.localeCompare(b.id));
  return byKey;
}

/** `flags.query`: what to draw beside each user the page links to (the chips only: severity and count). */
export async function flagsQuery(deps: FlagsDeps, host: string, page: FlagsPage, externalUserIds: string[]): Promise<Result<FlagsAnswer>> {
  const { replica } = deps;
  const view = await replica.view();
  if (!isAdmin(view) || !(await replica.signedIn())) return { ok: true, ...notAdmin };
  const connection = await connectionOf(view, host, page);
  if (!connection) return { ok: true, admin: true, connectionId: null, users: [], offline: false };
  const flags = deps.flags.forPerson(view.me.id);
  const keyOf = (id: string) => userKey(page.crm, id);
  let offline = false;
  if (externalUserIds.length > 0) {
    try {
      await askServer(deps, connection.id, externalUserIds, keyOf);
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      if (e.unauthenticated) return { ok: false, error: { code: 'unauthenticated', message: t('error.sessionEnded') } };
      if (!e.transient) return { ok: false, error: e.error };
      offline = true; // answer from what is held
    }
  }
  const byKey = openByUser((await replica.view()) ?? view, flags, connection.id, keyOf);
  const users: FlagChip[] = [];
  for (const id of new Set(externalUserIds)) {
    const found = byKey.get(keyOf(id));
    if (found && found.length > 0) users.push({ externalUserId: id, severity: found[0]!.severity, count: found.length });
  }
  return { ok: true, admin: true, connectionId: connection.id, users, offline };
}

/** `flags.detail`: one flagged user's open findings, in words (from what the query and sync brought). */
export async function flagsDetail(deps: FlagsDeps, host: string, page: FlagsPage, externalUserId: string): Promise<Result<FlagsDetailAnswer>> {
  const view = await deps.replica.view();
  if (!isAdmin(view) || !(await deps.replica.signedIn())) return { ok: false, error: { code: 'forbidden', message: t('flags.adminsOnly') } };
  const connection = await connectionOf(view, host, page);
  if (!connection) return { ok: true, user: null, offline: false };
  const flags = deps.flags.forPerson(view.me.id);
  const keyOf = (id: string) => userKey(page.crm, id);
  const found = openByUser(view, flags, connection.id, keyOf).get(keyOf(externalUserId)) ?? [];
  if (found.length === 0) return { ok: true, user: null, offline: false };
  const account = flags.accounts.get(aKey(connection.id, keyOf(externalUserId)));
  const now = deps.now();
  return {
    ok: true,
    offline: false,
    user: {
      externalUserId,
      severity: found[0]!.severity,
      count: found.length,
      person: account ?? null,
      findings: found.map((f) => describe(f, view, account, now)),
    },
  };
}

/** A finding a flag on this page showed: content scripts may act only on those, on their own CRM. */
async function shownFinding(deps: FlagsDeps, host: string, page: FlagsPage, findingId: string): Promise<Result<{ finding: SyncedFinding }>> {
  const view = await deps.replica.view();
  if (!(await deps.replica.signedIn()) || !isAdmin(view)) return { ok: false, error: { code: 'forbidden', message: t('flags.adminsOnly') } };
  const connection = await connectionOf(view, host, page);
  const finding = connection ? mergedFindings(view, deps.flags.forPerson(view.me.id), connection.id).find((f) => f.id === findingId) : undefined;
  if (!finding) return { ok: false, error: { code: 'not_found', message: t('flags.notShown') } };
  return { ok: true, finding };
}

function failure(e: unknown): { ok: false; error: { code: string; message: string; field?: string } } {
  if (e instanceof ApiFailure) return { ok: false, error: e.unauthenticated ? { code: 'unauthenticated', message: t('error.sessionEnded') } : e.error };
  throw e;
}

/** `flags.accept`: accept the risk until a date, with a reason (the server checks both again). */
export async function flagsAccept(
  deps: FlagsDeps,
  host: string,
  msg: { page: FlagsPage; findingId: string; reason: string; expiresAt: string },
): Promise<Result<FlagsAcceptAnswer>> {
  const shown = await shownFinding(deps, host, msg.page, msg.findingId);
  if (!shown.ok) return shown;
  try {
    const answer = await deps.replica.call(`/api/findings/${encodeURIComponent(msg.findingId)}/accept`, {
      method: 'POST',
      body: { reason: msg.reason, expiresAt: msg.expiresAt },
      schema: findingResponse,
    });
    if (!answer) return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
    const f = answer.finding;
    deps.flags.put({
      ...shown.finding,
      status: f.status,
      reopened: f.reopened,
      acceptance: f.acceptance
        ? { reason: f.acceptance.reason, acceptedBy: f.acceptance.acceptedBy, acceptedAt: f.acceptance.acceptedAt, expiresAt: f.acceptance.expiresAt }
        : null,
      updatedAt: f.updatedAt,
    });
    void deps.replica.syncNow({ force: true });
    return { ok: true, findingId: f.id, status: f.status, expiresAt: f.acceptance?.expiresAt ?? null };
  } catch (e) {
    return failure(e);
  }
}

/** `flags.remediate`: revoke jobs or admin tasks for the access behind a finding. */
export async function flagsRemediate(
  deps: FlagsDeps,
  host: string,
  msg: { page: FlagsPage; findingId: string; side?: 'left' | 'right' | undefined },
): Promise<Result<FlagsRemediateAnswer>> {
  const shown = await shownFinding(deps, host, msg.page, msg.findingId);
  if (!shown.ok) return shown;
  try {
    const answer = await deps.replica.call(`/api/findings/${encodeURIComponent(msg.findingId)}/remediate`, {
      method: 'POST',
      body: msg.side ? { side: msg.side } : {},
      schema: remediateFindingResponse,
    });
    if (!answer) return { ok: false, error: { code: 'unauthenticated', message: t('error.notSignedIn') } };
    void deps.replica.syncNow({ force: true });
    return { ok: true, taskIds: answer.remediation.taskIds, requestIds: answer.remediation.requestIds };
  } catch (e) {
    return failure(e);
  }
}
