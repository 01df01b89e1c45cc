/** The toolbar popup: the approver queue (keyboard-first) and the viewer's own requests. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import type { SyncStatus } from '@accesslens/shared';
import { formatRelative, t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import type { PopupStateAnswer } from '../../utils/protocol';
import { usePort } from '../../utils/use-port';
import { MyRequest, QueueItem } from './items';
import { ConsoleLink } from '../../utils/console-link';
import { Reviews } from './reviews';
import { labelFor, type SignedIn } from './state';


function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

export function Popup() {
  const [state, setState] = useState<PopupStateAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const list = useRef<HTMLOListElement>(null);

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

  const queue = state?.signedIn ? state.queue : [];
  useEffect(() => {
    if (active >= queue.length && queue.length > 0) setActive(queue.length - 1);
  }, [queue.length, active]);

  const itemAt = (i: number) =>
    list.current?.querySelectorAll<HTMLElement>('[data-testid="al-queue-item"]')[i] ?? null;

  const onKeyDown = (e: KeyboardEvent) => {
    if (isTyping(e.target) || e.ctrlKey || e.metaKey || e.altKey || queue.length === 0) return;
    const move = (to: number) => {
      const next = Math.max(0, Math.min(queue.length - 1, to));
      setActive(next);
      itemAt(next)?.focus();
      e.preventDefault();
    };
    switch (e.key) {
      case 'j':
      case 'ArrowDown':
        return move(active + 1);
      case 'k':
      case 'ArrowUp':
        return move(active - 1);
      case 'a':
        e.preventDefault();
        itemAt(active)?.querySelector<HTMLButtonElement>('[data-testid="al-approve"]')?.click();
        return;
      case 'd':
        e.preventDefault();
        itemAt(active)?.querySelector<HTMLTextAreaElement>('[data-testid="al-deny-reason"]')?.focus();
        return;
    }
  };

  if (!state)
    return (
      <main class="popup">
        <Header />
        {error ? <p class="error" data-testid="al-error">{error}</p> : <p class="muted">…</p>}
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
    <main class="popup" onKeyDown={onKeyDown}>
      <Header sync={s.sync} />
      <ConsoleLink me={s.me} />
      {error && <p class="error" data-testid="al-error">{error}</p>}
      <Reviews />
      <section aria-labelledby="queue-title">
        <h2 id="queue-title">{t('popup.queue', { n: s.queue.length })}</h2>
        {s.queue.length === 0 ? (
          <p class="muted" data-testid="al-queue-empty">
            {t('popup.queueEmpty')}
          </p>
        ) : (
          <>
            <p class="muted keys">{t('popup.keys')}</p>
            <ol class="queue" ref={list}>
              {s.queue.map((r, i) => (
                <QueueItem
                  key={r.id}
                  request={r}
                  state={s}
                  active={i === active}
                  onActivate={() => setActive(i)}
                  onDecided={load}
                  nameOf={nameOf}
                />
              ))}
            </ol>
          </>
        )}
      </section>
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
      {sync.lastError ? t('sync.offline', { message: sync.lastError.message }) : sync.lastSyncAt ? t('sync.last', { when: formatRelative(sync.lastSyncAt) }) : t('sync.never')}
      {sync.outbox > 0 && ` · ${t('sync.outbox', { n: sync.outbox })}`}
    </p>
  );
}

