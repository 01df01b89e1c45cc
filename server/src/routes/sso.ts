/**
 * Sign-in methods and single sign-on (OpenID Connect, authorization code + PKCE) for the extension:
 * it asks `start` for the provider's URL for its redirect URI, opens it with
 * `identity.launchWebAuthFlow`, and posts the URL the provider sent it back to `finish`.
 * The directory decides who may sign in: a provider never creates a person.
 */
import {
  authMethodsResponse,
  signInResponse,
  ssoFinishBody,
  ssoStartBody,
  ssoStartResponse,
  type AuthMethodsResponse,
  type Person,
  type SignInResponse,
  type SsoStartResponse,
} from '@accesslens/shared';
import { createRoute } from '@hono/zod-openapi';
import { claimFlow, storeFlow } from '../auth/oidc-flows.ts';
import { OidcClient, SsoRefusal, randomFlowSecrets, type VerifiedIdentity } from '../auth/oidc.ts';
import { openSession } from '../auth/sign-in.ts';
import type { Db, Transaction } from '../db.ts';
import { ApiFailure } from '../errors.ts';
import { apiRoutes, errors, json, jsonBody } from '../openapi.ts';
import { PERSON_COLUMNS, personFromRow } from '../model.ts';
import { runWrite } from '../write.ts';
import { clientAddress } from './auth.ts';

const notConfigured = () => new ApiFailure(404, 'sso_not_configured', 'Single sign-on is not configured on this server. Sign in with your email and password.');

function asFailure(refusal: SsoRefusal): ApiFailure {
  return new ApiFailure(refusal.status, refusal.code, refusal.message);
}

const methodsRoute = createRoute({
  method: 'get',
  path: '/methods',
  tags: ['auth'],
  summary: 'How people may sign in to this server: password, and single sign-on when configured',
  responses: { 200: json(authMethodsResponse, 'The sign-in methods.') },
});
const ssoStartRoute = createRoute({
  method: 'post',
  path: '/sso/start',
  tags: ['auth'],
  summary: "Start a single sign-on: the provider's authorization URL for the extension's redirect URI",
  description: '404 sso_not_configured without single sign-on; 429 after too many unfinished sign-ins from one address.',
  request: { body: jsonBody(ssoStartBody) },
  responses: { 200: json(ssoStartResponse, 'Open this URL (identity.launchWebAuthFlow).'), ...errors(400, 404, 429) },
});
const ssoFinishRoute = createRoute({
  method: 'post',
  path: '/sso/finish',
  tags: ['auth'],
  summary: 'Finish a single sign-on with the URL the provider sent the browser back to',
  description: 'Answers like password sign-in. Refusals: 401 sso_flow_unknown / sso_flow_expired, 403 sso_* (see docs/api.md).',
  request: { body: jsonBody(ssoFinishBody) },
  responses: { 200: json(signInResponse, 'A session, as password sign-in gives.'), ...errors(400, 401, 403, 404) },
});

export function ssoRoutes(oidc: OidcClient | null) {
  return apiRoutes()
    .openapi(methodsRoute, (c) => {
      const methods: AuthMethodsResponse = { password: true, sso: oidc ? { protocol: 'oidc', name: oidc.name } : null };
      return c.json(authMethodsResponse.parse(methods), 200);
    })
    .openapi(ssoStartRoute, async (c) => {
      if (!oidc) throw notConfigured();
      const now = c.var.now();
      const flow = randomFlowSecrets(c.req.valid('json').redirectUri);
      let url: URL;
      try {
        // Before storing anything: an unreachable provider leaves no flow behind.
        url = await oidc.authorizationUrl(flow);
      } catch (error) {
        if (!(error instanceof SsoRefusal)) throw error;
        console.warn(`[accesslens] single sign-on: ${error.reason}`);
        throw asFailure(error);
      }
      const stored = await storeFlow(c.var.db, flow, oidc.issuer, clientAddress(c), now);
      if (!stored.ok)
        throw ApiFailure.of(
          429,
          'rate_limited',
          'sso_rate_limited',
          { seconds: stored.retryAfterSeconds },
          { headers: { 'Retry-After': String(stored.retryAfterSeconds) } },
        );
      return c.json({ authorizationUrl: url.href, expiresAt: stored.expiresAt.toISOString() } satisfies SsoStartResponse, 200);
    })
    .openapi(ssoFinishRoute, async (c) => {
      if (!oidc) throw notConfigured();
      const db = c.var.db;
      const now = c.var.now();
      const address = clientAddress(c);
      const callback = new URL(c.req.valid('json').callbackUrl);
      // What the audit log knows about this attempt so far.
      const attempt: Record<string, unknown> = { method: 'oidc', address, issuer: oidc.issuer };

      const refuse = async (refusal: SsoRefusal, personId: string | null = null): Promise<never> => {
        await runWrite(db, now, (w) =>
          w.audit({
            actorId: personId,
            action: 'auth.sign_in_failed',
            subjectType: 'email',
            subjectId: null,
            data: { ...attempt, reason: refusal.reason },
          }),
        );
        if (refusal.status === 502) console.warn(`[accesslens] single sign-on: ${refusal.reason}`);
        throw asFailure(refusal);
      };
      const startAgain = `This answer from ${oidc.name} does not belong to a sign-in in progress. Start the sign-in again.`;

      const state = callback.searchParams.get('state');
      if (!state) return refuse(new SsoRefusal(401, 'sso_flow_unknown', startAgain, 'state_missing'));
      // Taken out of the database here, whatever happens next: a flow is tried once.
      const flow = await claimFlow(db, state);
      if (!flow) return refuse(new SsoRefusal(401, 'sso_flow_unknown', startAgain, 'state_unknown_or_used'));
      if (flow.expiresAt.getTime() <= now.getTime())
        return refuse(new SsoRefusal(401, 'sso_flow_expired', `The sign-in with ${oidc.name} took too long. Start it again.`, 'flow_expired'));
      if (flow.issuer !== oidc.issuer) return refuse(new SsoRefusal(401, 'sso_flow_unknown', startAgain, 'issuer_changed'));
      if (stripQuery(callback) !== stripQuery(new URL(flow.redirectUri)))
        return refuse(new SsoRefusal(401, 'sso_flow_unknown', startAgain, 'redirect_uri_mismatch'));

      let identity: VerifiedIdentity;
      try {
        identity = await oidc.verify(callback, flow);
      } catch (error) {
        if (error instanceof SsoRefusal) return refuse(error);
        throw error;
      }
      attempt.subject = identity.subject;
      attempt.email = identity.email;

      const problem = emailProblem(oidc, identity);
      if (problem) return refuse(problem);
      const email = identity.email!.trim().toLowerCase();

      const found = await findPerson(db, identity, email);
      if (!found.ok) return refuse(found.refusal, found.personId);
      const person = found.person;
      if (person.status !== 'active')
        return refuse(
          new SsoRefusal(
            403,
            'sso_person_inactive',
            `${person.email} is marked as ${person.status} in the AccessLens directory, so it cannot sign in. Ask an administrator if this is wrong.`,
            `person_${person.status}`,
          ),
          person.id,
        );

      let answer: SignInResponse;
      try {
        answer = await openSession(db, now, person, { ...attempt, linkedBy: found.linkedBy }, (w) =>
          linkIdentity(w.tx, identity, email, person, now, (data) =>
            w.audit({ actorId: person.id, action: 'auth.sso_linked', subjectType: 'person', subjectId: person.id, data }),
          ),
        );
      } catch (error) {
        if (error instanceof SsoRefusal) return refuse(error, person.id);
        throw error;
      }
      return c.json(answer, 200);
    });
}

function stripQuery(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function emailProblem(oidc: OidcClient, identity: VerifiedIdentity): SsoRefusal | null {
  const { name, settings } = oidc;
  if (!identity.email || !identity.email.includes('@'))
    return new SsoRefusal(
      403,
      'sso_email_missing',
      `${name} did not tell AccessLens your email address. Ask an administrator to release the "email" claim to AccessLens.`,
      'email_missing',
    );
  if (identity.emailVerified === false || (settings.requireVerifiedEmail && identity.emailVerified !== true))
    return new SsoRefusal(
      403,
      'sso_email_unverified',
      `${name} has not verified the email address ${identity.email}, so AccessLens cannot rely on it.`,
      identity.emailVerified === false ? 'email_unverified' : 'email_verified_missing',
    );
  const domain = identity.email.slice(identity.email.lastIndexOf('@') + 1).toLowerCase();
  if (settings.emailDomains.length > 0 && !settings.emailDomains.includes(domain))
    return new SsoRefusal(
      403,
      'sso_domain_not_allowed',
      `Sign-in with ${name} is limited to addresses at ${settings.emailDomains.join(', ')}; ${identity.email} is not one of them.`,
      'domain_not_allowed',
    );
  return null;
}

type FoundPerson = { ok: true; person: Person; linkedBy: 'subject' | 'email' } | { ok: false; refusal: SsoRefusal; personId: string | null };

/** The person this provider account is linked to (by `sub`), or else the person with its email. */
async function findPerson(db: Db, identity: VerifiedIdentity, email: string): Promise<FoundPerson> {
  const [byLink, byEmail] = await db.readBatch([
    {
      sql: `SELECT ${PERSON_COLUMNS} FROM oidc_identities i JOIN people p ON p.id = i.person_id WHERE i.issuer = ? AND i.subject = ?`,
      args: [identity.issuer, identity.subject],
    },
    { sql: `SELECT ${PERSON_COLUMNS} FROM people p WHERE p.email = ?`, args: [email] },
  ]);
  const linked = byLink!.rows[0];
  if (linked) return { ok: true, person: personFromRow(linked), linkedBy: 'subject' };
  const row = byEmail!.rows[0];
  if (!row)
    return {
      ok: false,
      personId: null,
      refusal: new SsoRefusal(
        403,
        'sso_unknown_person',
        `Nobody with the email ${email} is in the AccessLens directory. Ask an administrator to add you.`,
        'unknown_email',
      ),
    };
  return { ok: true, person: personFromRow(row), linkedBy: 'email' };
}

/**
 * Records (issuer, sub) → person on the first sign-in and the email on every one. A person already
 * linked to another account at this provider is refused: the email alone must not move a person to
 * a different provider account.
 */
async function linkIdentity(
  tx: Transaction,
  identity: VerifiedIdentity,
  email: string,
  person: Person,
  now: Date,
  audit: (data: Record<string, unknown>) => Promise<unknown>,
): Promise<void> {
  const existing = await tx.execute({
    sql: 'SELECT subject FROM oidc_identities WHERE issuer = ? AND person_id = ?',
    args: [identity.issuer, person.id],
  });
  const linkedSubject = existing.rows[0] ? String(existing.rows[0].subject) : null;
  if (linkedSubject === identity.subject) {
    await tx.execute({
      sql: 'UPDATE oidc_identities SET email = ?, last_sign_in_at = ? WHERE issuer = ? AND subject = ?',
      args: [email, now.getTime(), identity.issuer, identity.subject],
    });
    return;
  }
  if (linkedSubject !== null)
    throw new SsoRefusal(
      403,
      'sso_identity_mismatch',
      `${person.email} is already linked to another account at this identity provider. Ask an administrator.`,
      'linked_to_other_subject',
    );
  await tx.execute({
    sql: `INSERT INTO oidc_identities (issuer, subject, person_id, email, linked_at, last_sign_in_at) VALUES (?, ?, ?, ?, ?, ?)`,
    args: [identity.issuer, identity.subject, person.id, email, now.getTime(), now.getTime()],
  });
  await audit({ issuer: identity.issuer, subject: identity.subject, email });
}
