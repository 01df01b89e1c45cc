/** The toolbar popup: the approver queue (keyboard-first) and the viewer's own requests. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import type { SyncStatus } from '@accesslens/shared';
import { formatRelative, t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import type { PopupStateAnswer } from '../../utils/protocol';
import { usePort } from '../../utils/use-port';
import { History, MyRequest } from './items';
import { Queue } from './queue';
import { Reviews } from './reviews';
import { ConsoleLink } from '../../utils/console-link';
import { labelFor, type SignedIn } from './state';

export function Popup() {
  const [state, setState] = useState<PopupStateAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const main = useRef<HTMLElement>(null);

  const load = useCallback(async () => {
    const result = await ask<PopupStateAnswer>({ type: 'popup.state' });
    if (result.ok) {
      const { ok: _ok, ...rest } = result;
      setState(rest as PopupStateAnswer);
      setError(null);
    } else setError(result.error.message);
  }, []);

  useEffect(() => {
    void load();
  }, [load]);
  usePort('popup', true, () => void load());

  // Keys work from the moment the popup opens: focus starts inside it.
  const signedIn = state?.signedIn === true;
  useEffect(() => {
    if (signedIn && !main.current?.contains(document.activeElement)) main.current?.focus();
  }, [signedIn]);

  if (!state)
    return (
      <main class="popup">
        <Header />
        {error ? (
          <p class="error" data-testid="al-error">
            {error}
          </p>
        ) : (
          <p class="muted">…</p>
        )}
      </main>
    );

  if (!state.signedIn)
    return (
      <main class="popup">
        <Header />
        <section class="empty">
          <p>{t('popup.signedOut')}</p>
          <button type="button" class="button button--primary" onClick={() => void browser.runtime.openOptionsPage()}>
            {t('popup.signIn')}
          </button>
        </section>
      </main>
    );

  const s = state as SignedIn;
  const nameOf = (id: string) => (id === s.me.id ? s.me.name : s.people.find((p) => p.id === id)?.name);
  return (
    <main class="popup" ref={main} tabIndex={-1}>
      <Header sync={s.sync} />
      <ConsoleLink me={s.me} />
      {error && (
        <p class="error" data-testid="al-error">
          {error}
        </p>
      )}
      <Queue state={s} nameOf={nameOf} onChanged={load} />
      <Reviews />
      <section aria-labelledby="mine-title">
        <h2 id="mine-title">{t('popup.myRequests')}</h2>
        {s.myRequests.length === 0 && s.failures.length === 0 ? (
          <p class="muted">{t('popup.myRequestsEmpty')}</p>
        ) : (
          <ul class="mine">
            {s.failures
              .filter((f) => f.name === 'request.create')
              .map((f) => (
                <li key={f.mutationId} class="mine-item" data-testid="al-my-request" data-request-id={f.requestId} data-status="failed">
                  <div class="row">
                    <strong>{f.permissions.map((k) => labelFor(s, k)).join(', ')}</strong>
                    <span class="chip chip--failed">{t('requestStatus.failed')}</span>
                  </div>
                  <p class="error">{t('status.failed', { message: f.error.message })}</p>
                </li>
              ))}
            {s.myRequests.map((r) => (
              <MyRequest key={r.id} request={r} state={s} nameOf={nameOf} onChanged={load} />
            ))}
          </ul>
        )}
      </section>
      <History state={s} nameOf={nameOf} />
    </main>
  );
}

function Header({ sync }: { sync?: SyncStatus }) {
  return (
    <header class="head">
      <div>
        <h1>{t('popup.title')}</h1>
        {sync && <SyncLine sync={sync} />}
      </div>
      <div class="head-actions">
        {sync && (
          <button type="button" class="link" onClick={() => void ask({ type: 'sync.now' })}>
            {t('sync.now')}
          </button>
        )}
        <button type="button" class="link" onClick={() => void browser.runtime.openOptionsPage()}>
          {t('popup.settings')}
        </button>
      </div>
    </header>
  );
}

function SyncLine({ sync }: { sync: SyncStatus }) {
  return (
    <p class="muted" data-testid="al-sync-status">
      {sync.lastError
        ? t('sync.offline', { message: sync.lastError.message })
        : sync.lastSyncAt
          ? t('sync.last', { when: formatRelative(sync.lastSyncAt) })
          : t('sync.never')}
      {sync.outbox > 0 && ` · ${t('sync.outbox', { n: sync.outbox })}`}
    </p>
  );
}
