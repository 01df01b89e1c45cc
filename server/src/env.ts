import type { Person } from '@accesslens/shared';
import { zValidator } from '@hono/zod-validator';
import { ILL_FORMED_TEXT_MESSAGE, illFormedTextAt, issuesOf, type IssueDetail } from '@accesslens/shared';
import type { Context, ValidationTargets } from 'hono';
import { createFactory } from 'hono/factory';
import type { z } from 'zod';
import type { TrustedProxies } from './client-address.ts';
import type { Db } from './db.ts';
import type { FindingsService } from './findings/service.ts';
import type { Notifier } from './notifier.ts';
import type { ScimCaller } from './scim/tokens.ts';
import type { SecretBox } from './secrets.ts';

/** What routes need of the CRM connectors: the secret box, and how to reach CRMs. */
export interface ConnectorServices {
  box: SecretBox;
  /** Replaces the global fetch for CRM calls (tests use it to count or intercept calls). */
  fetch?: typeof fetch;
}

export interface SessionInfo {
  id: string;
  personId: string;
  createdAt: Date;
  lastVerifiedAt: Date;
  expiresAt: Date;
}

/** The database's sync position as read with the session: lets an unchanged pull answer at once. */
export interface DbPosition {
  instanceId: string;
  version: number;
}

export interface Env {
  Variables: {
    db: Db;
    notifier: Notifier;
    findings: FindingsService;
    connectors: ConnectorServices;
    now: () => Date;
    /** Reverse proxies whose forwarding headers name the client (ACCESSLENS_TRUSTED_PROXIES); null: none. */
    trustedProxies: TrustedProxies | null;
    /** Set by `requireSession`. */
    person: Person;
    session: SessionInfo;
    position: DbPosition;
    /** Set by `responseHeaders` (cors.ts) on API paths: a JSON answer's whole header set, for `fastJson`. */
    jsonHeaders: Readonly<Record<string, string>>;
    /** Set by the SCIM routes' bearer check: the identity provider calling. */
    scim: ScimCaller;
  };
}

export const factory = createFactory<Env>();

/** The one validation hook every route shares: 400 invalid_input naming the first bad field. */
export function invalidInputHook(result: { success: true; data?: unknown } | { success: false; error: unknown }, c: Context): Response | undefined {
  let issues: { field: string; message: string; detail: IssueDetail }[];
  if (result.success) {
    // Valid by its schema, but text that is not text (an unpaired surrogate) can be neither stored nor sent on.
    const field = illFormedTextAt(result.data);
    if (field === null) return;
    issues = [{ field, message: ILL_FORMED_TEXT_MESSAGE, detail: { code: 'custom' } }];
  } else issues = issuesOf(result.error as z.ZodError);
  const first = issues[0] ?? { field: '(body)', message: 'is invalid' };
  return c.json(
    {
      error: {
        code: 'invalid_input',
        message: `${first.field}: ${first.message}`,
        field: first.field,
        issues,
      },
    },
    400,
  );
}

/** zValidator with the one hook every route shares (see `invalidInputHook`). */
export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(target: Target, schema: Schema) {
  return zValidator(target, schema, invalidInputHook);
}
