/**
 * Sign-in and session: server URL; "Sign in with <company SSO>" when that server offers it; email and
 * password; "Signed in as …" with sign-out.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AuthMethodsResponse, UiError } from '@accesslens/shared';
import { t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import { ConsoleLink } from '../../utils/console-link';
import { Connections } from './Connections';
import { NotificationSettings, OutOfOffice } from './Lifecycle';
import { DEFAULT_SERVER_URL, type AuthMethodsAnswer, type AuthStatusAnswer, type SignInAnswer } from '../../utils/protocol';

/** Wait this long after the last keystroke in the server URL before asking that server how to sign in. */
const METHODS_DEBOUNCE_MS = 400;

type Field = 'serverUrl' | 'email' | 'password';

export function Options() {
  const [status, setStatus] = useState<AuthStatusAnswer | null>(null);
  const [serverUrl, setServerUrl] = useState(DEFAULT_SERVER_URL);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [methods, setMethods] = useState<AuthMethodsResponse | null>(null);
  /** The server URL whose methods are shown (the SSO button comes and goes with it). */
  const [methodsFor, setMethodsFor] = useState<string | null>(null);
  const [ssoBusy, setSsoBusy] = useState(false);
  const [ssoError, setSsoError] = useState<UiError | null>(null);
  const methodsAsked = useRef(0);
  const refs = { serverUrl: useRef<HTMLInputElement>(null), email: useRef<HTMLInputElement>(null), password: useRef<HTMLInputElement>(null) };

  // Which methods the server in the field offers (only the latest answer counts).
  useEffect(() => {
    const asked = ++methodsAsked.current;
    const url = serverUrl.trim();
    if (!/^https?:\/\/./.test(url)) {
      setMethods(null);
      setMethodsFor(url);
      return;
    }
    const timer = setTimeout(() => {
      void ask<AuthMethodsAnswer>({ type: 'auth.methods', serverUrl: url }).then((result) => {
        if (asked !== methodsAsked.current) return;
        setMethods(result.ok ? result.methods : null);
        setMethodsFor(url);
      });
    }, METHODS_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [serverUrl]);

  const load = async () => {
    const result = await ask<AuthStatusAnswer>({ type: 'auth.status' });
    if (result.ok) {
      setStatus(result);
      if (result.serverUrl) setServerUrl(result.serverUrl);
    } else setError(result.error);
  };
  useEffect(() => {
    void load();
  }, []);

  const fail = (e: UiError) => {
    setError(e);
    const field = e.field as Field | undefined;
    if (field && refs[field]) refs[field].current?.focus();
  };

  const signIn = async (e: Event) => {
    e.preventDefault();
    setSsoError(null);
    for (const [field, value] of [
      ['serverUrl', serverUrl],
      ['email', email],
      ['password', password],
    ] as const)
      if (!value.trim()) return fail({ code: 'invalid_input', field, message: t('validation.required', { field: label(field) }) });
    setBusy(true);
    setError(null);
    const result = await ask<SignInAnswer>({ type: 'auth.signIn', serverUrl: serverUrl.trim(), email: email.trim(), password });
    setBusy(false);
    if (!result.ok) return fail(result.error);
    setPassword('');
    await load();
  };

  // The provider's pages open in a browser window the background waits on; this page says so meanwhile.
  const signInSso = async () => {
    setError(null);
    setSsoError(null);
    if (!serverUrl.trim()) return fail({ code: 'invalid_input', field: 'serverUrl', message: t('validation.required', { field: label('serverUrl') }) });
    setSsoBusy(true);
    const result = await ask<SignInAnswer>({ type: 'auth.signInSso', serverUrl: serverUrl.trim() });
    setSsoBusy(false);
    if (!result.ok) return result.error.field ? fail(result.error) : setSsoError(result.error);
    setPassword('');
    await load();
  };

  const signOut = async () => {
    setBusy(true);
    await ask({ type: 'auth.signOut' });
    setBusy(false);
    await load();
  };

  // Only while its message is on the page: an id that points at nothing is a broken reference.
  const describedBy = (field: Field) => (error?.field === field ? `${field}-error` : undefined);
  const errorFor = (field: Field) =>
    error?.field === field ? (
      <p class="error" data-testid="al-error" id={`${field}-error`} role="alert">
        {error.message}
      </p>
    ) : null;

  return (
    <main class="options">
      <h1>{t('options.title')}</h1>
      {status?.signedIn && status.me ? (
        <section class="card">
          <p data-testid="al-signed-in-as">{t('options.signedInAs', { name: status.me.name, email: status.me.email })}</p>
          {status.serverUrl && <p class="muted">{t('options.server', { url: status.serverUrl })}</p>}
          <ConsoleLink me={status.me} />
          {status.sync.lastError && <p class="muted">{t('sync.offline', { message: status.sync.lastError.message })}</p>}
          <button type="button" class="button" data-testid="al-sign-out" disabled={busy} onClick={() => void signOut()}>
            {t('options.signOut')}
          </button>
        </section>
      ) : null}
      {status?.signedIn && status.me ? (
        <>
          <Connections />
          <OutOfOffice />
          <NotificationSettings />
        </>
      ) : (
        // data-methods: whether the sign-in methods shown are the server URL's yet (until then the SSO button
        // may still appear above the form and move it: tests wait for "shown" before they click).
        <form class="card" onSubmit={signIn} noValidate data-methods={methodsFor === serverUrl.trim() ? 'shown' : 'pending'}>
          {status?.sync.lastError?.code === 'unauthenticated' && <p class="muted">{status.sync.lastError.message}</p>}
          <label class="field">
            <span>{t('options.serverUrl')}</span>
            <input
              ref={refs.serverUrl}
              data-testid="al-server-url"
              type="url"
              value={serverUrl}
              aria-invalid={error?.field === 'serverUrl'}
              aria-describedby={describedBy('serverUrl')}
              onInput={(e) => setServerUrl((e.target as HTMLInputElement).value)}
            />
          </label>
          {errorFor('serverUrl')}
          {methods?.sso && (
            <div class="sso" data-testid="al-sso">
              <button
                type="button"
                class="button button--primary"
                data-testid="al-sso-sign-in"
                disabled={busy || ssoBusy}
                aria-describedby="sso-status"
                onClick={() => void signInSso()}
              >
                {t('sso.signIn', { name: methods.sso.name })}
              </button>
              <p id="sso-status" class="muted" data-testid="al-sso-progress" role="status" aria-live="polite">
                {ssoBusy ? t('sso.waiting', { name: methods.sso.name }) : ''}
              </p>
              {ssoError && (
                <p class="error" data-testid="al-error" data-code={ssoError.code} role="alert">
                  {ssoError.message}
                </p>
              )}
              <p class="muted sso__or">{t('options.orPassword')}</p>
            </div>
          )}
          <label class="field">
            <span>{t('options.email')}</span>
            <input
              ref={refs.email}
              data-testid="al-email"
              type="email"
              autocomplete="username"
              value={email}
              aria-invalid={error?.field === 'email'}
              aria-describedby={describedBy('email')}
              onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
            />
          </label>
          {errorFor('email')}
          <label class="field">
            <span>{t('options.password')}</span>
            <input
              ref={refs.password}
              data-testid="al-password"
              type="password"
              autocomplete="current-password"
              value={password}
              aria-invalid={error?.field === 'password'}
              aria-describedby={describedBy('password')}
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
          </label>
          {errorFor('password')}
          {error && !['serverUrl', 'email', 'password'].includes(error.field ?? '') && (
            <p class="error" data-testid="al-error" role="alert">
              {error.message}
            </p>
          )}
          <button type="submit" class={methods?.sso ? 'button' : 'button button--primary'} data-testid="al-sign-in" disabled={busy || ssoBusy}>
            {busy ? t('options.signingIn') : t('options.signIn')}
          </button>
        </form>
      )}
    </main>
  );
}

function label(field: Field): string {
  return t(field === 'serverUrl' ? 'options.serverUrl' : field === 'email' ? 'options.email' : 'options.password');
}
