/**
 * The connector contract. A connector is one module, `server/src/connectors/{kind}.ts`, exporting a
 * `ConnectorDefinition` (registered in `registry.ts`), with a fake of the CRM's API in
 * `test/fakes/{kind}.ts`. It speaks the CRM's API and our vocabulary; everything else — the schedule,
 * leases, diffing against AccessLens, audit, findings, fulfilment jobs and admin tasks — is the
 * framework's (`import.ts`, `fulfilment.ts`, `worker.ts`).
 *
 * What a connector must do:
 * - `read`: users, bundles (with the permission keys they grant, mapped onto our key grammar) and
 *   assignments. Say per list whether it is complete (the framework then treats what is missing as
 *   removed) or only what changed since `cursor` (incremental; nothing is inferred removed).
 * - `holdings`: what one user holds now, read fresh from the CRM (never from a cache): used to check
 *   before writing (a grant already present is adopted, never written twice) and to confirm after.
 * - `grant` / `revoke`: change the CRM. Must be safe to call again for the same change (the framework
 *   checks holdings first, but a crash can still fall between the write and the record of it).
 * - `deactivateUser` / `userActive` (optional, together; set `canDeactivateUsers`): departures and
 *   suspensions deactivate the CRM user (revocations/jobs.ts), confirmed by reading the user again.
 *   Without them, deactivating is an admin task.
 * - Throw `CrmError`s with the right `kind`: the framework retries `unavailable` and `rate-limited`
 *   (after `retryAfterMs`), marks the connection "needs re-authorisation" on `auth`, and turns
 *   `refused` into an admin task quoting the CRM's message.
 * - Use `ctx.http` (connectors/http.ts) for every call: it honours `Retry-After`, times out, refreshes
 *   an OAuth token once on a 401 and then reports `auth`.
 */
import type { BundleKind, CrmKind } from '@accesslens/shared';
import type { z } from 'zod';
import type { CrmHttp } from './http.ts';

/** A user as the CRM has it. */
export interface CrmUser {
  externalId: string;
  username: string;
  /** Matched (case-insensitively) to a person's email. */
  email: string | null;
  active: boolean;
  /**
   * The last sign-in the CRM reports (null: never). Absent when the CRM's API does not say (Zoho,
   * Fxiaoke): the last login AccessLens already knows (e.g. from usage reports) then stays.
   */
  lastLoginAt?: string | null;
  createdAt: string | null;
}

/** A bundle as the CRM has it: a profile, role, permission set, group, security role, team. */
export interface CrmBundle {
  externalId: string;
  kind: BundleKind;
  name: string;
  /** Permission keys it grants by itself, in our grammar (`object:Account:read`, `system:ModifyAllData`). */
  permissions: string[];
  /** External ids of bundles it includes (a permission set group's permission sets). */
  includes: string[];
  /** Whether AccessLens may assign it to fulfil a request (a profile is not: each user has exactly one). */
  assignable: boolean;
  /**
   * False when the CRM's API does not say what the bundle grants (HubSpot names its permission sets but
   * publishes no per-object permissions): `permissions` is then empty and an import keeps the keys
   * AccessLens already records for the bundle instead of removing them. Default true.
   */
  permissionsKnown?: boolean;
}

/** Seats of one licence as the CRM counts them (HubSpot paid seats): kept in the connection's licences. */
export interface CrmLicence {
  name: string;
  type: 'user' | 'permission-set' | 'seat' | 'module';
  /** Seats bought (in use + free). */
  seats: number;
}

/** A user holding a bundle. */
export interface CrmAssignment {
  /** The CRM's id of the assignment, or a composite key that is stable for (user, bundle). */
  externalId: string;
  userExternalId: string;
  bundleExternalId: string;
  grantedAt: string | null;
  expiresAt: string | null;
}

/** Part of a read: everything there is (`complete`), or only what changed since the cursor. */
export interface CrmList<T> {
  complete: boolean;
  items: T[];
}

export interface CrmSnapshot {
  users: CrmList<CrmUser>;
  bundles: CrmList<CrmBundle>;
  assignments: CrmList<CrmAssignment>;
  /** The connector's position for the next incremental read (JSON-serialisable), kept only if the import succeeds. */
  cursor: unknown;
  /** The CRM's org id, when the read learns it. */
  tenant?: string | null;
  /** Problems that do not fail the import. */
  warnings?: string[];
  /** Licence seat counts, when the CRM reports them: each updates (or adds) the connection's licence of that name and type. */
  licences?: CrmLicence[];
}

export interface ReadProgress {
  phase: 'users' | 'bundles' | 'assignments';
  users: number;
  bundles: number;
  assignments: number;
}

/** What a user holds now in the CRM (for check-before-write and confirmation). */
export interface CrmHolding {
  externalId: string;
  bundleExternalId: string;
  expiresAt: string | null;
}

export interface GrantOperation {
  userExternalId: string;
  bundles: { externalId: string; kind: BundleKind }[];
  /** When the CRM should end the assignment by itself, where it can; null = until revoked. */
  expiresAt: string | null;
}

/** Per bundle: the new assignment's id, or why the CRM refused it (partial failures are normal). */
export type GrantOutcome = { bundleExternalId: string; ok: true; externalId: string } | { bundleExternalId: string; ok: false; error: CrmError };

export interface RevokeOperation {
  userExternalId: string;
  /** The CRM assignments to remove. */
  assignments: { externalId: string; bundleExternalId: string }[];
  /**
   * CRMs where a user holds exactly one bundle of a kind (`exclusiveKinds`: a Zoho profile): what the
   * grant replaced, to put back. Empty when the grant replaced nothing or AccessLens does not know what
   * it replaced (then a connector that cannot remove without a replacement refuses).
   */
  restore?: { bundleExternalId: string; kind: BundleKind }[];
}

export type RevokeOutcome = { externalId: string; ok: true } | { externalId: string; ok: false; error: CrmError };

export interface TestReport {
  identity: { userId: string; username: string | null; tenant: string | null } | null;
  canRead: boolean;
  canProvision: boolean;
  checks: { id: string; ok: boolean; message: string }[];
}

export interface ConnectionConfig<Settings = unknown> {
  id: string;
  kind: CrmKind;
  name: string;
  tenant: string | null;
  mode: 'read-only' | 'provision';
  automaticChange: boolean;
  settings: Settings;
}

export interface ConnectorContext<Settings, Credentials> {
  connection: ConnectionConfig<Settings>;
  credentials: Credentials;
  /** HTTP with Retry-After, time-outs and the 401 → refresh once → `auth` rule. */
  http: CrmHttp;
  /** Persisted OAuth token (encrypted at rest), shared by every process. */
  tokens: TokenStore;
  now: () => Date;
  signal: AbortSignal;
}

/** An OAuth token as stored: refreshed before `expiresAt`. */
export interface StoredToken {
  accessToken: string;
  /** Where API calls go (Salesforce returns `instance_url` with the token). */
  instanceUrl: string | null;
  expiresAt: string | null;
  /** Anything else the connector keeps with the token (e.g. a rotated refresh token). */
  extra?: Record<string, string>;
}

export interface TokenStore {
  get(): Promise<StoredToken | null>;
  set(token: StoredToken): Promise<void>;
  clear(): Promise<void>;
}

/** A connection opened for one piece of work (an import, a job, a test). */
export interface CrmClient {
  test(): Promise<TestReport>;
  read(cursor: unknown, progress: (p: ReadProgress) => void): Promise<CrmSnapshot>;
  holdings(userExternalId: string): Promise<CrmHolding[]>;
  grant(op: GrantOperation): Promise<GrantOutcome[]>;
  revoke(op: RevokeOperation): Promise<RevokeOutcome[]>;
  /** Deactivates the user (they can no longer sign in); safe to call again. Optional: see `canDeactivateUsers`. */
  deactivateUser?(userExternalId: string): Promise<void>;
  /** Whether the user is active now, read fresh from the CRM; null when the CRM has no such user. */
  userActive?(userExternalId: string): Promise<boolean | null>;
}

export interface ConnectorDefinition<Settings = unknown, Credentials = unknown> {
  kind: CrmKind;
  /** Validates `settings` of the admin API (400 naming the field). */
  settingsSchema: z.ZodType<Settings>;
  /** Validates `credentials` of the admin API (400 naming the field); never returned. */
  credentialsSchema: z.ZodType<Credentials>;
  /**
   * True for CRMs that grant only by replacing a user's whole profile or role (Zoho, Fxiaoke): the
   * framework then applies grants automatically only when the connection's `automaticChange` is on.
   */
  replacesWholeProfile: boolean;
  /** Whether this connector can apply grants and revocations at all (false: always admin tasks). */
  canProvision: boolean;
  /** Whether its client deactivates users (`deactivateUser` and `userActive`): departures then need no admin task for it. */
  canDeactivateUsers?: boolean;
  /** Whether the CRM ends an assignment by itself at a given time (Salesforce ExpirationDate). */
  supportsExpiration: boolean;
  /**
   * Bundle kinds a user holds exactly one of (Zoho: a profile and a role). Granting one replaces the
   * user's current one: the framework keeps what it replaced with the job and hands it back to `revoke`
   * (`restore`) to put back at expiry, and records the swap in AccessLens at once.
   */
  exclusiveKinds?: readonly BundleKind[];
  /**
   * Bundle kinds a fulfilment may assign. Default: profiles and roles for `replacesWholeProfile`
   * connectors, else permission sets, groups, security roles and teams.
   */
  assignableKinds?: readonly BundleKind[];
  /** Error bodies that mean "too many requests" although the status is not 429 (Salesforce: 403 REQUEST_LIMIT_EXCEEDED). */
  isRateLimitBody?: (status: number, body: unknown) => boolean;
  /**
   * Error bodies that mean "this token is not valid (any more)" although the status is not 401
   * (Fxiaoke answers HTTP 200 with errorCode 20016): treated as a 401 — refresh once, then `auth`.
   */
  isAuthFailureBody?: (status: number, body: unknown) => boolean;
  /** The Authorization header for a token (default `Bearer {token}`; Zoho: `Zoho-oauthtoken {token}`). */
  authorization?: (accessToken: string) => string;
  /** How to sign in, for the token: called when there is no token, it is about to expire, or after a 401. */
  authenticate(ctx: Omit<ConnectorContext<Settings, Credentials>, 'tokens'>, previous: StoredToken | null): Promise<StoredToken>;
  open(ctx: ConnectorContext<Settings, Credentials>): CrmClient;
}

export type CrmErrorKind =
  /** The credentials are refused (after one token refresh): an administrator must re-authorise. */
  | 'auth'
  /** The CRM asks us to wait (HTTP 429, 503, REQUEST_LIMIT_EXCEEDED). */
  | 'rate-limited'
  /** Network failure, time-out, 5xx: worth retrying. */
  | 'unavailable'
  /** The CRM refused this change (validation, missing licence, inactive user): a person must look. */
  | 'refused'
  /** The CRM said something we do not understand. */
  | 'protocol';

/**
 * A CRM's refusal of one operation, kept as that operation's outcome (or a warning); anything else —
 * credentials, throttling, an outage — is thrown on, so that the whole job is retried.
 */
export function refusalOf(error: unknown): CrmError {
  if (error instanceof CrmError && error.kind === 'refused') return error;
  throw error;
}

export class CrmError extends Error {
  override name = 'CrmError';
  constructor(
    readonly kind: CrmErrorKind,
    message: string,
    readonly details: { status?: number; code?: string; retryAfterMs?: number } = {},
  ) {
    super(message);
  }

  get retryAfterMs(): number | undefined {
    return this.details.retryAfterMs;
  }
}
