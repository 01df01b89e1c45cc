/**
 * The approver queue, built to be cleared fast: compact cards (several fit at once), keyboard first
 * (j/k move, Enter open, a approve, d deny, q ask a question, x select, / search, u undo), select many and approve or
 * deny them with one reason, filter by CRM, search, sort by age or risk, and undo for a few seconds —
 * decisions are held by the background that long before they are sent (and sent exactly once, even
 * offline: the outbox).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { RISK_LEVELS, type AccessRequest, type Risk } from '@accesslens/shared';
import { t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import type { DecisionAnswer } from '../../utils/protocol';
import { QueueItem } from './items';
import { labelFor, type SignedIn } from './state';

export type SortOrder = 'oldest' | 'risk';

/** The highest risk among a request's permissions, from the catalog (low when unknown). */
export function riskOf(s: SignedIn, r: AccessRequest): Risk {
  let rank = 0;
  for (const key of r.permissions) {
    const risk = s.catalog.find((c) => c.connectionId === r.connectionId && c.key === key)?.risk ?? 'low';
    rank = Math.max(rank, RISK_LEVELS.indexOf(risk));
  }
  return RISK_LEVELS[rank]!;
}

/** The queue as filtered, searched and sorted (oldest first, or riskiest first then oldest). */
export function arrange(s: SignedIn, queue: AccessRequest[], q: { search: string; connectionId: string; sort: SortOrder }): AccessRequest[] {
  const needle = q.search.trim().toLowerCase();
  const nameOf = (id: string) => s.people.find((p) => p.id === id)?.name ?? '';
  const shown = queue.filter((r) => {
    if (q.connectionId && r.connectionId !== q.connectionId) return false;
    if (!needle) return true;
    const text = [
      nameOf(r.requesterId),
      r.justification,
      r.page?.object ?? '',
      r.page?.recordId ?? '',
      ...r.permissions,
      ...r.permissions.map((k) => labelFor(s, k, r.connectionId)),
    ]
      .join(' ')
      .toLowerCase();
    return text.includes(needle);
  });
  return shown.sort((a, b) =>
    q.sort === 'risk'
      ? RISK_LEVELS.indexOf(riskOf(s, b)) - RISK_LEVELS.indexOf(riskOf(s, a)) || a.createdAt.localeCompare(b.createdAt)
      : a.createdAt.localeCompare(b.createdAt),
  );
}

interface Undo {
  mutationIds: string[];
  text: string;
  until: number;
}

export const UNDO_VISIBLE_MS = 5_000;

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

export function Queue({ state: s, nameOf, onChanged }: { state: SignedIn; nameOf: (id: string) => string | undefined; onChanged: () => void | Promise<void> }) {
  const [search, setSearch] = useState('');
  const [connectionId, setConnectionId] = useState('');
  const [sort, setSort] = useState<SortOrder>('oldest');
  const [active, setActive] = useState(0);
  const [open, setOpen] = useState<string | null>(null);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [bulkReason, setBulkReason] = useState('');
  const [bulkError, setBulkError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [undo, setUndo] = useState<Undo | null>(null);
  const list = useRef<HTMLOListElement>(null);
  const searchField = useRef<HTMLInputElement>(null);
  const bulkReasonField = useRef<HTMLTextAreaElement>(null);

  const shown = useMemo(() => arrange(s, s.queue, { search, connectionId, sort }), [s, search, connectionId, sort]);
  const connections = s.connections.filter((c) => s.queue.some((r) => r.connectionId === c.id));
  const chosen = shown.filter((r) => selected.has(r.id));

  useEffect(() => {
    if (active >= shown.length && shown.length > 0) setActive(shown.length - 1);
  }, [shown.length, active]);
  // Selections of requests no longer queued are dropped.
  useEffect(() => {
    if ([...selected].some((id) => !s.queue.some((r) => r.id === id))) setSelected(new Set([...selected].filter((id) => s.queue.some((r) => r.id === id))));
  }, [s.queue]);
  useEffect(() => {
    if (!undo) return;
    const timer = setTimeout(() => setUndo(null), Math.max(0, undo.until - Date.now()));
    return () => clearTimeout(timer);
  }, [undo]);

  const itemAt = (i: number) => list.current?.querySelectorAll<HTMLElement>('[data-testid="al-queue-item"]')[i] ?? null;
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };

  /** Decides `requests` (held for undo), then offers "Undo" for them all. */
  const decideAll = async (
    requests: AccessRequest[],
    outcome: 'approve' | 'deny' | 'needs-info',
    reason: string | null,
    durationDays: number | null = null,
  ) => {
    const ids: string[] = [];
    let failed: string | null = null;
    for (const r of requests) {
      const result = await ask<DecisionAnswer>({ type: 'decision.submit', requestId: r.id, outcome, reason, durationDays, hold: true });
      if (result.ok) ids.push(result.mutationId);
      else failed ??= result.error.message;
    }
    if (ids.length > 0) {
      const who = requests.length === 1 ? (nameOf(requests[0]!.requesterId) ?? t('people.unknown')) : '';
      const text =
        outcome === 'needs-info'
          ? t('popup.askedOne', { name: who || t('people.unknown') })
          : outcome === 'approve'
            ? requests.length === 1
              ? t('popup.approvedOne', { name: who })
              : t('popup.approvedMany', { n: ids.length })
            : requests.length === 1
              ? t('popup.deniedOne', { name: who })
              : t('popup.deniedMany', { n: ids.length });
      setUndo({ mutationIds: ids, text, until: Date.now() + UNDO_VISIBLE_MS });
    }
    setSelected(new Set());
    await onChanged();
    // The decided card is gone: keep the keyboard on the queue, at the card that took its place.
    if (!document.activeElement || document.activeElement === document.body) requestAnimationFrame(() => itemAt(active)?.focus());
    return failed;
  };

  const undoNow = async () => {
    if (!undo) return;
    const result = await ask({ type: 'decisions.undo', mutationIds: undo.mutationIds });
    setUndo(null);
    if (!result.ok) setBulkError(result.error.message);
    await onChanged();
  };

  const bulk = async (outcome: 'approve' | 'deny') => {
    if (busy || chosen.length === 0) return;
    if (outcome === 'deny' && !bulkReason.trim()) {
      setBulkError(t('popup.denyReasonRequired'));
      bulkReasonField.current?.focus();
      return;
    }
    setBusy(true);
    setBulkError(null);
    const failed = await decideAll(chosen, outcome, outcome === 'deny' ? bulkReason.trim() : null);
    setBusy(false);
    if (failed) setBulkError(failed);
    else setBulkReason('');
  };

  // Shortcuts listen on the document: a decided card leaves the list and takes the focus with it, and
  // "u" must still work then (re-registered each render so the handler sees current state).
  useEffect(() => {
    document.addEventListener('keydown', onKeyDown);
    return () => document.removeEventListener('keydown', onKeyDown);
  });

  function onKeyDown(e: KeyboardEvent) {
    if (e.defaultPrevented) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape' && isTyping(e.target)) {
      (e.target as HTMLElement).blur();
      itemAt(active)?.focus();
      return;
    }
    if (isTyping(e.target)) return;
    if (e.key === '/') {
      e.preventDefault();
      searchField.current?.focus();
      return;
    }
    if (e.key === 'u' && undo) {
      e.preventDefault();
      void undoNow();
      return;
    }
    const r = shown[active];
    if (!r) return;
    const move = (to: number) => {
      const next = Math.max(0, Math.min(shown.length - 1, to));
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
      case 'Enter':
        if ((e.target as HTMLElement | null)?.closest?.('button, a, summary')) return; // the control's own action
        e.preventDefault();
        setOpen(open === r.id ? null : r.id);
        return;
      case 'x':
        e.preventDefault();
        toggle(r.id);
        return;
      case 'a':
        e.preventDefault();
        void decideAll([r], 'approve', null);
        return;
      case 'q':
        // Asking a question: open the card at its question.
        e.preventDefault();
        setOpen(r.id);
        requestAnimationFrame(() => itemAt(active)?.querySelector<HTMLTextAreaElement>('[data-testid="al-question"]')?.focus());
        return;
      case 'd':
        // Denying needs a reason: open the card at its reason.
        e.preventDefault();
        setOpen(r.id);
        requestAnimationFrame(() => itemAt(active)?.querySelector<HTMLTextAreaElement>('[data-testid="al-deny-reason"]')?.focus());
        return;
    }
  }

  return (
    <section aria-labelledby="queue-title">
      <h2 id="queue-title">{t('popup.queue', { n: s.queue.length })}</h2>
      {s.queue.length === 0 ? (
        <p class="muted" data-testid="al-queue-empty">
          {t('popup.queueEmpty')}
        </p>
      ) : (
        <>
          <div class="toolbar">
            <input
              ref={searchField}
              type="search"
              data-testid="al-queue-search"
              aria-label={t('popup.search')}
              placeholder={t('popup.searchPlaceholder')}
              value={search}
              onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
            />
            {connections.length > 1 && (
              <select
                data-testid="al-queue-filter"
                aria-label={t('popup.filterCrm')}
                value={connectionId}
                onChange={(e) => setConnectionId((e.target as HTMLSelectElement).value)}
              >
                <option value="">{t('popup.allCrms')}</option>
                {connections.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            )}
            <select
              data-testid="al-queue-sort"
              aria-label={t('popup.sort')}
              value={sort}
              onChange={(e) => setSort((e.target as HTMLSelectElement).value as SortOrder)}
            >
              <option value="oldest">{t('popup.sortOldest')}</option>
              <option value="risk">{t('popup.sortRisk')}</option>
            </select>
          </div>
          <div class="bulk" data-testid="al-bulk">
            <label class="inline">
              <input
                type="checkbox"
                data-testid="al-select-all"
                checked={shown.length > 0 && chosen.length === shown.length}
                onChange={(e) => setSelected((e.target as HTMLInputElement).checked ? new Set(shown.map((r) => r.id)) : new Set())}
              />
              <span>{chosen.length > 0 ? t('popup.selected', { n: chosen.length }) : t('popup.selectAll')}</span>
            </label>
            {chosen.length > 0 && (
              <div class="bulk-actions">
                <button type="button" class="button button--primary" data-testid="al-bulk-approve" disabled={busy} onClick={() => void bulk('approve')}>
                  {t('popup.approveSelected', { n: chosen.length })}
                </button>
                <textarea
                  ref={bulkReasonField}
                  data-testid="al-bulk-reason"
                  rows={1}
                  maxLength={2000}
                  aria-label={t('popup.denyReason')}
                  placeholder={t('popup.denyReason')}
                  value={bulkReason}
                  onInput={(e) => setBulkReason((e.target as HTMLTextAreaElement).value)}
                />
                <button type="button" class="button button--danger" data-testid="al-bulk-deny" disabled={busy} onClick={() => void bulk('deny')}>
                  {t('popup.denySelected', { n: chosen.length })}
                </button>
              </div>
            )}
            {bulkError && (
              <p class="error" data-testid="al-error" role="alert">
                {bulkError}
              </p>
            )}
          </div>
          <p class="muted keys">{t('popup.keys')}</p>
          {shown.length === 0 ? (
            <p class="muted" data-testid="al-queue-none-match">
              {t('popup.noneMatch')}
            </p>
          ) : (
            <ol class="queue" ref={list}>
              {shown.map((r, i) => (
                <QueueItem
                  key={r.id}
                  request={r}
                  state={s}
                  risk={riskOf(s, r)}
                  active={i === active}
                  open={open === r.id}
                  selected={selected.has(r.id)}
                  onActivate={() => setActive(i)}
                  onToggleOpen={() => setOpen(open === r.id ? null : r.id)}
                  onToggleSelected={() => toggle(r.id)}
                  decide={(outcome, reason, days) => decideAll([r], outcome, reason, days)}
                  nameOf={nameOf}
                />
              ))}
            </ol>
          )}
        </>
      )}
      {undo && (
        <div class="undo" role="status" data-testid="al-undo-bar">
          <span>{undo.text}</span>
          <button type="button" class="link" data-testid="al-undo" onClick={() => void undoNow()}>
            {t('popup.undo')}
          </button>
        </div>
      )}
    </section>
  );
}
