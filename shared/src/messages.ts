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
} from './schemas.ts';

/**
 * What a content script may tell the background about its page: identifiers only, as its adapter
 * read them from the URL (`detectPage`), and the CRM's own denial phrase when one is shown.
 */
export const observedPage = pageContext.extend({
  crm: crmKind,
  tenant: z.string().max(200).nullable(),
  pageKind: z.enum(PAGE_KINDS),
});
export type ObservedPage = z.infer<typeof observedPage>;

export const contentMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('page.decide'), page: observedPage }),
  /** An in-house CRM's content script asks how to read its host's pages (the admins' page rules). */
  z.object({ type: z.literal('page.rules') }),
  z.object({
    type: z.literal('request.submit'),
    page: observedPage,
    permissions: z.array(permissionKey).min(1).max(20),
    justification: z.string().trim().min(1, 'is required').max(2000),
    evidence: evidenceLinks,
    durationDays,
  }),
  z.object({ type: z.literal('sync.now') }),
  /** What submitting would do (who is asked, caps, blockers); the background asks the server. */
  z.object({
    type: z.literal('request.preview'),
    page: observedPage,
    permissions: z.array(permissionKey).min(1).max(20),
    durationDays: durationDays.nullable(),
  }),
  /** "Report a problem with this grant": the page still refuses access the CRM should now give. */
  z.object({ type: z.literal('request.reportProblem'), requestId: id, page: observedPage }),
  /** Content scripts cannot open the options page themselves (e.g. the overlay's "Sign in"). */
  z.object({ type: z.literal('options.open') }),
]);
export type ContentMessage = z.infer<typeof contentMessage>;
/** What a sender writes (defaults may be left out). */
export type ContentMessageInput = z.input<typeof contentMessage>;

const serverUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });

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
    reason: z.string().trim().max(2000).nullable(),
    durationDays: z.number().int().positive().nullable(),
    /** Hold it for a few seconds before sending, so the approver can undo it. */
    hold: z.boolean().default(false),
  }),
  /** Takes back decisions still held for undo (by the mutation ids `decision.submit` answered). */
  z.object({ type: z.literal('decisions.undo'), mutationIds: z.array(clientId).min(1).max(500) }),
  z.object({ type: z.literal('request.cancel'), requestId: id }),
  z.object({ type: z.literal('sync.now') }),
  /** Settings: the CRM connections, in-house hosts and whether they are allowed, the chosen connections. */
  z.object({ type: z.literal('connections.state') }),
  /** Settings: for pages whose URL names no tenant, which connection of this CRM kind is the person's. */
  z.object({ type: z.literal('connections.choose'), kind: crmKind, connectionId: id.nullable() }),
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
