/** Sign-in (password or the company's SSO), sign-out and status. The token goes to the token store and nowhere else. */
import { browser } from 'wxt/browser';
import { authMethodsResponse, signInResponse, ssoStartResponse, type Result, type SignInResponse, type UiError } from '@accesslens/shared';
import { t, type MessageKey } from '../../utils/i18n';
import type { AuthMethodsAnswer, AuthStatusAnswer, SignInAnswer } from '../../utils/protocol';
import { ApiFailure, callApi, normaliseServerUrl, type Fetch } from './api';
import type { Replica } from './sync';
import type { TokenStore } from './token-store';

export interface AuthDeps {
  fetch: Fetch;
  tokens: TokenStore;
  replica: Replica;
}

/** Puts a server error next to the form field it is about. */
function signInError(e: ApiFailure): UiError {
  const { code, message } = e.error;
  if (e.status === 0) return { code, message, field: 'serverUrl' };
  const field = e.error.field?.split('.').at(-1);
  if (field === 'email' || field === 'password') return { code, message, field };
  if (e.status === 401) return { code, message, field: 'password' };
  return e.error;
}

export async function signIn(deps: AuthDeps, input: { serverUrl: string; email: string; password: string }): Promise<Result<SignInAnswer>> {
  const serverUrl = normaliseServerUrl(input.serverUrl);
  let answer;
  try {
    answer = await callApi(deps.fetch, serverUrl, '/api/auth/sign-in', {
      method: 'POST',
      body: { email: input.email, password: input.password },
      schema: signInResponse,
    });
  } catch (e) {
    if (e instanceof ApiFailure) return { ok: false, error: signInError(e) };
    throw e;
  }
  return adoptSession(deps, serverUrl, answer);
}

/** Every sign-in ends here: the token to the token store, the person to the replica, a first pull. */
async function adoptSession(deps: AuthDeps, serverUrl: string, answer: SignInResponse): Promise<Result<SignInAnswer>> {
  await deps.tokens.set(answer.token);
  await deps.replica.adopt(serverUrl, answer.person);
  // A failed first pull is shown as sync status; the sign-in itself succeeded.
  await deps.replica.syncNow({ force: true });
  return { ok: true, person: answer.person };
}

/** Which sign-in methods a server offers; unreachable is said next to the server URL. */
export async function authMethods(deps: Pick<AuthDeps, 'fetch'>, input: { serverUrl: string }): Promise<Result<AuthMethodsAnswer>> {
  try {
    const methods = await callApi(deps.fetch, normaliseServerUrl(input.serverUrl), '/api/auth/methods', { schema: authMethodsResponse });
    return { ok: true, methods };
  } catch (e) {
    if (e instanceof ApiFailure) return { ok: false, error: e.status === 0 ? { ...e.error, field: 'serverUrl' } : e.error };
    throw e;
  }
}

/** The path of the extension's redirect URL given to the identity provider (`https://<id>.chromiumapp.org/oidc`). */
export const SSO_REDIRECT_PATH = 'oidc';

/** The server's refusals, said in the user's language (the server's own message is English). */
/** Refusals, each a message without placeholders. */
type SsoRefusal = Exclude<Extract<MessageKey, `sso.${string}`>, 'sso.signIn' | 'sso.waiting'>;
const SSO_ERRORS: Record<string, SsoRefusal> = {
  sso_not_configured: 'sso.notConfigured',
  sso_flow_unknown: 'sso.flowUnknown',
  sso_flow_expired: 'sso.flowExpired',
  sso_denied: 'sso.denied',
  sso_invalid_response: 'sso.invalidResponse',
  sso_provider_unreachable: 'sso.providerUnreachable',
  sso_email_missing: 'sso.emailMissing',
  sso_email_unverified: 'sso.emailUnverified',
  sso_domain_not_allowed: 'sso.domainNotAllowed',
  sso_unknown_person: 'sso.unknownPerson',
  sso_person_inactive: 'sso.personInactive',
  sso_identity_mismatch: 'sso.identityMismatch',
};

function ssoError(e: ApiFailure): UiError {
  if (e.status === 0) return { ...e.error, field: 'serverUrl' };
  const key = SSO_ERRORS[e.error.code];
  return key ? { code: e.error.code, message: t(key) } : { code: e.error.code, message: e.error.message };
}

/**
 * Single sign-on: the server makes the authorization URL (state, nonce and PKCE stay on the server),
 * the browser runs the provider's pages in its own window (`identity.launchWebAuthFlow`), and the URL
 * the provider sends the person back to goes to the server, which answers like a password sign-in.
 */
export async function signInWithSso(deps: AuthDeps, input: { serverUrl: string }): Promise<Result<SignInAnswer>> {
  const serverUrl = normaliseServerUrl(input.serverUrl);
  let redirectUri: string;
  try {
    redirectUri = browser.identity.getRedirectURL(SSO_REDIRECT_PATH);
  } catch {
    return { ok: false, error: { code: 'sso_unsupported', message: t('sso.unsupported') } };
  }
  let callbackUrl: string | undefined;
  try {
    const started = await callApi(deps.fetch, serverUrl, '/api/auth/sso/start', {
      method: 'POST',
      body: { redirectUri },
      schema: ssoStartResponse,
    });
    try {
      callbackUrl = await browser.identity.launchWebAuthFlow({ url: started.authorizationUrl, interactive: true });
    } catch (e) {
      // Chromium: "The user did not approve access." (window closed) or "Authorization page could not be loaded."
      const message = e instanceof Error ? e.message : String(e);
      if (/could not be loaded/i.test(message)) return { ok: false, error: { code: 'sso_page_failed', message: t('sso.pageFailed') } };
      return { ok: false, error: { code: 'sso_cancelled', message: t('sso.cancelled') } };
    }
    if (!callbackUrl) return { ok: false, error: { code: 'sso_cancelled', message: t('sso.cancelled') } };
    const answer = await callApi(deps.fetch, serverUrl, '/api/auth/sso/finish', {
      method: 'POST',
      body: { callbackUrl },
      schema: signInResponse,
    });
    return await adoptSession(deps, serverUrl, answer);
  } catch (e) {
    if (e instanceof ApiFailure) return { ok: false, error: ssoError(e) };
    throw e;
  }
}

export async function signOut(deps: AuthDeps): Promise<Result<{}>> {
  const token = await deps.tokens.get();
  const serverUrl = await deps.replica.serverUrl();
  await deps.tokens.clear();
  if (token && serverUrl) {
    try {
      await callApi(deps.fetch, serverUrl, '/api/auth/sign-out', { method: 'POST', token, schema: null });
    } catch {
      // Signed out locally either way; the session expires on the server by itself.
    }
  }
  await deps.replica.clear();
  return { ok: true };
}

export async function authStatus(deps: AuthDeps): Promise<Result<AuthStatusAnswer>> {
  const signedIn = (await deps.tokens.get()) !== null;
  const view = await deps.replica.view();
  return {
    ok: true,
    signedIn,
    serverUrl: await deps.replica.serverUrl(),
    me: signedIn ? (view?.me ?? null) : null,
    sync: await deps.replica.syncStatus(),
  };
}
