/** Sign-in and session: server URL, email, password; "Signed in as …" with sign-out. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { UiError } from '@accesslens/shared';
import { t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import { DEFAULT_SERVER_URL, type AuthStatusAnswer, type SignInAnswer } from '../../utils/protocol';

type Field = 'serverUrl' | 'email' | 'password';

export function Options() {
  const [status, setStatus] = useState<AuthStatusAnswer | null>(null);
  const [serverUrl, setServerUrl] = useState(DEFAULT_SERVER_URL);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);
  const refs = { serverUrl: useRef<HTMLInputElement>(null), email: useRef<HTMLInputElement>(null), password: useRef<HTMLInputElement>(null) };

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
    for (const [field, value] of [['serverUrl', serverUrl], ['email', email], ['password', password]] as const)
      if (!value.trim()) return fail({ code: 'invalid_input', field, message: `${label(field)} ${t('options.required')}` });
    setBusy(true);
    setError(null);
    const result = await ask<SignInAnswer>({ type: 'auth.signIn', serverUrl: serverUrl.trim(), email: email.trim(), password });
    setBusy(false);
    if (!result.ok) return fail(result.error);
    setPassword('');
    await load();
  };

  const signOut = async () => {
    setBusy(true);
    await ask({ type: 'auth.signOut' });
    setBusy(false);
    await load();
  };

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
          {status.sync.lastError && <p class="muted">{t('sync.offline', { message: status.sync.lastError.message })}</p>}
          <button type="button" class="button" data-testid="al-sign-out" disabled={busy} onClick={() => void signOut()}>
            {t('options.signOut')}
          </button>
        </section>
      ) : (
        <form class="card" onSubmit={signIn} noValidate>
          {status?.sync.lastError?.code === 'unauthenticated' && <p class="muted">{status.sync.lastError.message}</p>}
          <label class="field">
            <span>{t('options.serverUrl')}</span>
            <input
              ref={refs.serverUrl}
              data-testid="al-server-url"
              type="url"
              value={serverUrl}
              aria-invalid={error?.field === 'serverUrl'}
              aria-describedby="serverUrl-error"
              onInput={(e) => setServerUrl((e.target as HTMLInputElement).value)}
            />
          </label>
          {errorFor('serverUrl')}
          <label class="field">
            <span>{t('options.email')}</span>
            <input
              ref={refs.email}
              data-testid="al-email"
              type="email"
              autocomplete="username"
              value={email}
              aria-invalid={error?.field === 'email'}
              aria-describedby="email-error"
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
              aria-describedby="password-error"
              onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
            />
          </label>
          {errorFor('password')}
          {error && !['serverUrl', 'email', 'password'].includes(error.field ?? '') && (
            <p class="error" data-testid="al-error" role="alert">
              {error.message}
            </p>
          )}
          <button type="submit" class="button button--primary" data-testid="al-sign-in" disabled={busy}>
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
