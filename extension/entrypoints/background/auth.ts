/** Sign-in, sign-out and status. The token goes to the token store and nowhere else. */
import { signInResponse, type Result, type UiError } from '@accesslens/shared';
import type { AuthStatusAnswer, SignInAnswer } from '../../utils/protocol';
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

export async function signIn(
  deps: AuthDeps,
  input: { serverUrl: string; email: string; password: string },
): Promise<Result<SignInAnswer>> {
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
  await deps.tokens.set(answer.token);
  await deps.replica.adopt(serverUrl, answer.person);
  // A failed first pull is shown as sync status; the sign-in itself succeeded.
  await deps.replica.syncNow({ force: true });
  return { ok: true, person: answer.person };
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
