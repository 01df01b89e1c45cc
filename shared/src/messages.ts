/**
 * Messages into the extension's background, the only trusted party. Every message is parsed with
 * these schemas before any handler runs; content scripts may send only `contentMessage`s.
 */
import { z } from 'zod';
import { PAGE_KINDS } from './crm/types.ts';
import {
  accessRequest,
  crmConnection,
  decisionOutcome,
  durationDays,
  id,
  pageContext,
  permissionKey,
  person,
  personRef,
  catalogEntry,
  clientId,
  crmKind,
  evidenceLinks,
  isoDateTime,
} from './schemas.ts';
import { plainText } from './text.ts';
import { SERVER_URL_INSECURE, serverUrlProblem } from './server-url.ts';

/**
 * What a content script may tell the background about its page: identifiers only, as its adapter
 * read them from the URL (`detectPage`), and the CRM's own denial phrase when one is shown.
 */
export const observedPage = pageContext.extend({
  crm: crmKind,
  tenant: plainText(200).nullable(),
  pageKind: z.enum(PAGE_KINDS),
});
export type ObservedPage = z.infer<typeof observedPage>;

/**
 * A CRM user page (a list of users, or one user's page) as the flags' content script reads it: its
 * URL (without query or fragment), CRM, tenant and page kind. Never names or emails.
 */
export const flagsPage = z.object({
  url: z.url({ protocol: /^https?$/ }).max(2048),
  crm: crmKind,
  tenant: z.string().max(200).nullable(),
  pageKind: z.enum(['user-list', 'user-record']),
});
export type FlagsPage = z.infer<typeof flagsPage>;

/** At most this many user ids in one question from a user page (the server's by-accounts limit). */
export const FLAGS_QUERY_MAX = 500;
/** What a request from a page may also say: a whole bundle, for a direct report, extending a grant. */
const lifecycleOptions = {
  /** A whole bundle the CRM models (permission set, role…) instead of, or besides, single keys. */
  bundleId: id.nullable().optional(),
  /** A manager asking for a direct report (their person id). */
  onBehalfOf: id.nullable().optional(),
  /** "Extend": the grant (a fulfilled request) to extend; its keys may be held. */
  extendsRequestId: id.nullable().optional(),
};

function needsSomething(v: { permissions: string[]; bundleId?: string | null; extendsRequestId?: string | null }, ctx: z.RefinementCtx) {
  if (v.permissions.length === 0 && !v.bundleId && !v.extendsRequestId)
    ctx.addIssue({ code: 'custom', path: ['permissions'], message: 'name at least one permission (or a bundle)', params: { kind: 'required' } });
}

/** The requester answers an approver's question on a request waiting for it (`needs-info`): from a page or the popup. */
const requestAnswerMessage = z.object({ type: z.literal('request.answer'), requestId: id, answer: plainText(2000, { required: true, multiline: true }) });

export const contentMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('page.decide'), page: observedPage }),
  /** An in-house CRM's content script asks how to read its host's pages (the admins' page rules). */
  z.object({ type: z.literal('page.rules') }),
  z
    .object({
      type: z.literal('request.submit'),
      page: observedPage,
      /** May be empty for a whole bundle (`bundleId`) or an extension (the grant's own keys). */
      permissions: z.array(permissionKey).max(20),
      justification: plainText(2000, { required: true, multiline: true }),
      evidence: evidenceLinks,
      durationDays,
      ...lifecycleOptions,
      /** An access window's start (in the future); null = as soon as approved. */
      startsAt: isoDateTime.nullable().optional(),
      /** "Request again": the denied request this one follows. */
      previousRequestId: id.nullable().optional(),
    })
    .superRefine(needsSomething),
  z.object({ type: z.literal('sync.now') }),
  /** What submitting would do (who is asked, caps, blockers); the background asks the server. */
  z
    .object({
      type: z.literal('request.preview'),
      page: observedPage,
      permissions: z.array(permissionKey).max(20),
      durationDays: durationDays.nullable(),
      ...lifecycleOptions,
    })
    .superRefine(needsSomething),
  requestAnswerMessage,
  /** A manager's direct reports (to file a request on behalf of one). */
  z.object({ type: z.literal('people.reports') }),
  /**
   * After a grant, "does it work now?" asked of the CRM's current-user API by the background (Salesforce:
   * the org's session cookie is a CRM credential, so it never reaches a content script). Identifiers only.
   */
  z.object({ type: z.literal('page.check'), page: observedPage }),
  /** "Report a problem with this grant": the page still refuses access the CRM should now give. */
  z.object({ type: z.literal('request.reportProblem'), requestId: id, page: observedPage }),
  /** Content scripts cannot open the options page themselves (e.g. the overlay's "Sign in"). */
  z.object({ type: z.literal('options.open') }),
  /** Flags on a CRM user page (administrators): the open findings of the users whose ids the page links. */
  z.object({
    type: z.literal('flags.query'),
    page: flagsPage,
    externalUserIds: z.array(z.string().trim().min(1).max(100)).max(FLAGS_QUERY_MAX),
  }),
  /** What a flag opens: one flagged user's open findings, in words. */
  z.object({ type: z.literal('flags.detail'), page: flagsPage, externalUserId: z.string().trim().min(1).max(100) }),
  /** Accept the risk of a finding shown by a flag (reason and expiry required). */
  z.object({
    type: z.literal('flags.accept'),
    page: flagsPage,
    findingId: z.string().min(1).max(200),
    reason: plainText(2000, { required: true, multiline: true }),
    expiresAt: isoDateTime,
  }),
  /** Remediate a finding shown by a flag: a revoke job, or an admin task. */
  z.object({
    type: z.literal('flags.remediate'),
    page: flagsPage,
    findingId: z.string().min(1).max(200),
    /** A separation-of-duties conflict: which side to take out. */
    side: z.enum(['left', 'right']).optional(),
  }),
]);
export type ContentMessage = z.infer<typeof contentMessage>;
/** What a sender writes (defaults may be left out). */
export type ContentMessageInput = z.input<typeof contentMessage>;

/**
 * The AccessLens server: https://, or plain http:// only on this computer (the token would cross the
 * network in the clear otherwise).
 */
const serverUrl = z
  .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
  .refine((u) => serverUrlProblem(u) === null, { message: SERVER_URL_INSECURE });

/**
 * The server routes extension pages (the admin console, the popup's reviews) may call through the
 * background, which alone holds the session token: these prefixes only, never `..`, never another host.
 * The server still decides who may do what (admins only, 403 otherwise).
 */
export const CONSOLE_API_PREFIXES = [
  'findings',
  'policy',
  'audit',
  'admin/access',
  'admin/license-seats',
  'admin/licenses',
  'admin/revocations',
  'admin/tasks',
  'admin/people',
  'reviews',
  'notices',
] as const;
export const consoleApiPath = z
  .string()
  .max(4000)
  .refine(
    (p) =>
      !p.includes('..') && !p.includes('//') && CONSOLE_API_PREFIXES.some((x) => p === `/api/${x}` || p.startsWith(`/api/${x}/`) || p.startsWith(`/api/${x}?`)),
    'is not an API path the console may call',
  );

export const extensionPageMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auth.status') }),
  /** Which sign-in methods the server at `serverUrl` offers (password; the company's SSO). */
  z.object({ type: z.literal('auth.methods'), serverUrl }),
  z.object({
    type: z.literal('auth.signIn'),
    serverUrl,
    email: z.email(),
    password: z.string().min(1, 'is required'),
  }),
  /** Single sign-on: the background runs the whole flow (identity.launchWebAuthFlow) and keeps the token. */
  z.object({ type: z.literal('auth.signInSso'), serverUrl }),
  z.object({ type: z.literal('auth.signOut') }),
  z.object({ type: z.literal('popup.state') }),
  z.object({
    type: z.literal('decision.submit'),
    requestId: id,
    outcome: decisionOutcome,
    reason: plainText(2000, { multiline: true }).nullable(),
    durationDays: z.number().int().positive().nullable(),
    /** Hold it for a few seconds before sending, so the approver can undo it. */
    hold: z.boolean().default(false),
  }),
  /** Takes back decisions still held for undo (by the mutation ids `decision.submit` answered). */
  z.object({ type: z.literal('decisions.undo'), mutationIds: z.array(clientId).min(1).max(500) }),
  z.object({ type: z.literal('request.cancel'), requestId: id }),
  requestAnswerMessage,
  /** "Request again" after a denial: the same keys, linked to the denied request, with a new justification. */
  z.object({
    type: z.literal('request.again'),
    requestId: id,
    justification: plainText(2000, { required: true, multiline: true }),
    durationDays,
  }),
  /** "Extend" a grant in force: a new request for its keys, linked to it, routed like any request. */
  z.object({
    type: z.literal('request.extend'),
    requestId: id,
    justification: plainText(2000, { required: true, multiline: true }),
    durationDays,
  }),
  /** Out of office: the caller's delegations (as approver or delegate); set one; end one. */
  z.object({ type: z.literal('delegations.list') }),
  z.object({
    type: z.literal('delegations.create'),
    delegateId: id,
    startsAt: isoDateTime,
    endsAt: isoDateTime,
    note: plainText(300).default(''),
  }),
  z.object({ type: z.literal('delegations.end'), id }),
  z.object({ type: z.literal('sync.now') }),
  /** Settings: the CRM connections, in-house hosts and whether they are allowed, the chosen connections. */
  z.object({ type: z.literal('connections.state') }),
  /** Settings: for pages whose URL names no tenant, which connection of this CRM kind is the person's. */
  z.object({ type: z.literal('connections.choose'), kind: crmKind, connectionId: id.nullable() }),
  /** The admin console and the popup's reviews: one server call with the session token (see CONSOLE_API_PREFIXES). */
  z.object({
    type: z.literal('console.api'),
    method: z.enum(['GET', 'POST', 'PUT']),
    path: consoleApiPath,
    body: z.unknown().optional(),
  }),
]);
export type ExtensionPageMessage = z.infer<typeof extensionPageMessage>;
/** What a sender writes (defaults may be left out). */
export type ExtensionPageMessageInput = z.input<typeof extensionPageMessage>;

/** A failure a UI can show: a code for logic, a message for people, the field when input was bad. */
export const uiError = z.object({ code: z.string(), message: z.string(), field: z.string().optional() });
export type UiError = z.infer<typeof uiError>;

export type Result<T> = ({ ok: true } & T) | { ok: false; error: UiError };

export const syncStatus = z.object({
  lastSyncAt: z.string().nullable(),
  /** Set while the server cannot be reached or refuses; cleared by the next good pull. */
  lastError: uiError.nullable(),
  /** Mutations waiting to be delivered. */
  outbox: z.number().int().nonnegative(),
});
export type SyncStatus = z.infer<typeof syncStatus>;

export const popupState = z.discriminatedUnion('signedIn', [
  z.object({ signedIn: z.literal(false), serverUrl: z.string().nullable() }),
  z.object({
    signedIn: z.literal(true),
    serverUrl: z.string(),
    me: person,
    queue: z.array(accessRequest),
    myRequests: z.array(accessRequest),
    people: z.array(personRef),
    connections: z.array(crmConnection),
    catalog: z.array(catalogEntry),
    sync: syncStatus,
  }),
]);
export type PopupState = z.infer<typeof popupState>;
