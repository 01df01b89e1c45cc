/**
 * The popup's access reviews: a reviewer (a manager, a permission owner, a named person) keeps or
 * revokes each item with a comment, one at a time or in bulk, by mouse or keyboard (↑/↓ move, Space
 * select, y keep, r revoke). Decisions are final; a revoke needs a comment and starts at once.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ReviewItemView, UiError } from '@accesslens/shared';
import { formatDate, labelOf, t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import type { ConsoleApiAnswer } from '../../utils/protocol';

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ ok: true; data: T } | { ok: false; error: UiError }> {
  const r = await ask<ConsoleApiAnswer>({ type: 'console.api', method, path, ...(body === undefined ? {} : { body }) });
  return r.ok ? { ok: true, data: r.json as T } : r;
}

const accessName = (i: ReviewItemView) => (i.access.type === 'bundle' ? i.access.name : labelOf(i.keys[0]?.label, i.access.key));

export function Reviews() {
  const [items, setItems] = useState<ReviewItemView[] | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [active, setActive] = useState(0);
  const [comment, setComment] = useState('');
  const [error, setError] = useState<UiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const list = useRef<HTMLOListElement>(null);
  const commentField = useRef<HTMLTextAreaElement>(null);

  const load = useCallback(async () => {
    const r = await call<{ items: ReviewItemView[] }>('GET', '/api/reviews/mine');
    if (r.ok) setItems(r.data.items);
    else if (r.error.code !== 'unauthenticated') setError(r.error);
  }, []);
  useEffect(() => {
    void load();
  }, [load]);

  if (!items || items.length === 0) return null;

  const decide = async (ids: string[], decision: 'keep' | 'revoke') => {
    if (ids.length === 0) return;
    if (decision === 'revoke' && !comment.trim()) {
      setError({ code: 'invalid_input', field: 'comment', message: t('reviews.commentRequired') });
      commentField.current?.focus();
      return;
    }
    setBusy(true);
    const r = await call<{ items: ReviewItemView[] }>('POST', '/api/reviews/decisions', {
      decisions: ids.map((itemId) => ({ itemId, decision, comment: comment.trim() })),
    });
    setBusy(false);
    if (!r.ok) {
      setError(r.error);
      return;
    }
    setError(null);
    setComment('');
    setSelected(new Set());
    setDone(t('reviews.decided', { n: r.data.items.length }));
    await load();
    list.current?.querySelector<HTMLElement>('[data-testid="al-review-item"]')?.focus();
  };

  const toggle = (id: string) => setSelected((s) => (s.has(id) ? new Set([...s].filter((x) => x !== id)) : new Set([...s, id])));
  const itemAt = (i: number) => list.current?.querySelectorAll<HTMLElement>('[data-testid="al-review-item"]')[i] ?? null;
  const targets = () => (selected.size > 0 ? [...selected] : items[active] ? [items[active]!.id] : []);

  // Keys work on the list and stop there.
  const onKeyDown = (e: KeyboardEvent) => {
    const el = e.target as HTMLElement;
    const typing = el.tagName === 'TEXTAREA' || (el.tagName === 'INPUT' && (el as HTMLInputElement).type !== 'checkbox');
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    const move = (to: number) => {
      const next = Math.max(0, Math.min(items.length - 1, to));
      setActive(next);
      itemAt(next)?.focus();
    };
    const handled = (() => {
      switch (e.key) {
        case 'ArrowDown':
          move(active + 1);
          return true;
        case 'ArrowUp':
          move(active - 1);
          return true;
        case ' ':
          if (items[active]) toggle(items[active]!.id);
          return true;
        case 'y':
          void decide(targets(), 'keep');
          return true;
        case 'r':
          if (!comment.trim()) commentField.current?.focus();
          else void decide(targets(), 'revoke');
          return true;
        default:
          return false;
      }
    })();
    if (handled) e.preventDefault();
    // Keys pressed on a review item are the reviews' own: never the approver queue's document-wide shortcuts.
    e.stopPropagation();
  };

  return (
    <section aria-labelledby="reviews-title" data-testid="al-reviews">
      <h2 id="reviews-title">{t('reviews.title', { n: items.length })}</h2>
      <p class="muted keys">{t('reviews.keys')}</p>
      {error && (
        <p class="error" role="alert" data-testid="al-review-error">
          {error.message}
        </p>
      )}
      {done && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
      <ol class="queue" ref={list} onKeyDown={onKeyDown}>
        {items.map((i, n) => (
          <li
            key={i.id}
            class={`item${n === active ? ' item--active' : ''}`}
            tabIndex={n === active ? 0 : -1}
            data-testid="al-review-item"
            data-item-id={i.id}
            data-person-id={i.person.id}
            onFocus={() => setActive(n)}
          >
            <div class="row">
              <label class="inline">
                <input
                  type="checkbox"
                  checked={selected.has(i.id)}
                  onChange={() => toggle(i.id)}
                  data-testid="al-review-select"
                  aria-label={t('reviews.select', { name: i.person.name, access: accessName(i) })}
                />
                <strong>{i.person.name}</strong>
              </label>
              <span class="muted">{t(`risk.${i.risk}`)}</span>
            </div>
            <p class="perm">
              {i.connection.name} · {accessName(i)}
            </p>
            <p class="muted">
              {t('reviews.grants', {
                keys: i.keys
                  .slice(0, 3)
                  .map((k) => labelOf(k.label, k.key))
                  .join(', '),
              })}
              {i.keyCount > 3 && ` ${t('reviews.more', { n: i.keyCount - 3 })}`}
            </p>
            <p class="muted">
              {i.person.title} · {i.account.lastLoginAt ? t('reviews.lastLogin', { date: formatDate(i.account.lastLoginAt) }) : ''} ·{' '}
              {t('reviews.campaign', { name: i.campaignName, date: formatDate(i.dueAt) })}
            </p>
            <div class="approve">
              <button type="button" class="button" data-testid="al-review-keep" disabled={busy} onClick={() => void decide([i.id], 'keep')}>
                {t('reviews.keep')}
              </button>
              <button type="button" class="button button--danger" data-testid="al-review-revoke" disabled={busy} onClick={() => void decide([i.id], 'revoke')}>
                {t('reviews.revoke')}
              </button>
            </div>
          </li>
        ))}
      </ol>
      <label class="field">
        <span>{t('reviews.comment')}</span>
        <textarea
          ref={commentField}
          rows={2}
          maxLength={2000}
          value={comment}
          data-testid="al-review-comment"
          onInput={(e) => setComment(e.currentTarget.value)}
        />
      </label>
      {selected.size > 0 && (
        <div class="approve">
          <span class="muted">{t('reviews.selected', { n: selected.size })}</span>
          <button type="button" class="button" data-testid="al-review-keep-selected" disabled={busy} onClick={() => void decide([...selected], 'keep')}>
            {t('reviews.keepSelected')}
          </button>
          <button
            type="button"
            class="button button--danger"
            data-testid="al-review-revoke-selected"
            disabled={busy}
            onClick={() => void decide([...selected], 'revoke')}
          >
            {t('reviews.revokeSelected')}
          </button>
        </div>
      )}
    </section>
  );
}
