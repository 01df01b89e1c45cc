/** One request in the approver queue, and one of the viewer's own requests. */
import { useRef, useState } from 'preact/hooks';
import { DURATION_CHOICES, type AccessRequest } from '@accesslens/shared';
import { durationText, formatRelative, t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import type { RequestAnswer } from '../../utils/protocol';
import { isOpen, statusLine } from '../../utils/requests';
import { labelFor, type SignedIn } from './state';

interface QueueItemProps {
  request: AccessRequest;
  state: SignedIn;
  active: boolean;
  onActivate: () => void;
  onDecided: () => void | Promise<void>;
  nameOf: (id: string) => string | undefined;
}

/** Approving may shorten, never lengthen: every shorter choice plus what was asked. */
export function approveChoices(requested: number): number[] {
  return [...DURATION_CHOICES.filter((d) => d < requested), requested];
}

function PageFacts({ request }: { request: AccessRequest }) {
  const page = request.page;
  if (!page)
    return (
      <>
        <dt>{t('popup.page')}</dt>
        <dd class="muted">{t('popup.noPage')}</dd>
      </>
    );
  return (
    <>
      <dt>{t('popup.page')}</dt>
      <dd>
        {page.object ?? '—'} · <span class="url">{page.url}</span>
      </dd>
      {page.recordId && (
        <>
          <dt>{t('popup.record')}</dt>
          <dd>{page.recordId}</dd>
        </>
      )}
    </>
  );
}

export function QueueItem({ request, state, active, onActivate, onDecided, nameOf }: QueueItemProps) {
  const [days, setDays] = useState(request.durationDays);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reasonField = useRef<HTMLTextAreaElement>(null);
  const requester = nameOf(request.requesterId) ?? t('people.unknown');
  const labels = request.permissions.map((k) => labelFor(state, k, request.connectionId));

  const decide = async (outcome: 'approve' | 'deny') => {
    if (busy) return;
    if (outcome === 'deny' && !reason.trim()) {
      setError(t('popup.denyReasonRequired'));
      reasonField.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    const result = await ask<RequestAnswer>({
      type: 'decision.submit',
      requestId: request.id,
      outcome,
      reason: outcome === 'deny' ? reason.trim() : null,
      durationDays: outcome === 'approve' && days !== request.durationDays ? days : null,
    });
    setBusy(false);
    if (!result.ok) {
      setError(result.error.message);
      if (result.error.field === 'reason') reasonField.current?.focus();
      return;
    }
    await onDecided();
  };

  return (
    <li
      class={`item${active ? ' item--active' : ''}`}
      data-testid="al-queue-item"
      data-request-id={request.id}
      tabIndex={0}
      onFocusIn={onActivate}
      onClick={onActivate}
    >
      <div class="row">
        <strong>{t('popup.requestedBy', { name: requester })}</strong>
        <span class="muted" title={request.createdAt}>
          {formatRelative(request.createdAt)}
        </span>
      </div>
      <p class="perm">
        {labels.join(', ')}{' '}
        <span class="muted">({request.permissions.join(', ')})</span>
      </p>
      <dl class="facts">
        <PageFacts request={request} />
        <dt>{t('popup.why')}</dt>
        <dd class="why">{request.justification}</dd>
        <dt>{t('popup.duration')}</dt>
        <dd>{durationText(request.durationDays)}</dd>
      </dl>
      <div class="decide">
        <div class="approve">
          <label class="inline">
            <span>{t('popup.approveFor')}</span>
            <select
              data-testid="al-approve-duration"
              value={String(days)}
              onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}
            >
              {approveChoices(request.durationDays).map((d) => (
                <option key={d} value={String(d)}>
                  {durationText(d)}
                </option>
              ))}
            </select>
          </label>
          <button type="button" class="button button--primary" data-testid="al-approve" disabled={busy} onClick={() => void decide('approve')}>
            {t('popup.approve')}
          </button>
        </div>
        <label class="field">
          <span>{t('popup.denyReason')}</span>
          <textarea
            ref={reasonField}
            data-testid="al-deny-reason"
            rows={2}
            maxLength={2000}
            aria-invalid={error !== null && !reason.trim()}
            value={reason}
            onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
          />
        </label>
        {error && (
          <p class="error" data-testid="al-error" role="alert">
            {error}
          </p>
        )}
        <button type="button" class="button button--danger" data-testid="al-deny" disabled={busy} onClick={() => void decide('deny')}>
          {t('popup.deny')}
        </button>
      </div>
    </li>
  );
}

export function MyRequest({
  request,
  state,
  nameOf,
  onChanged,
}: {
  request: AccessRequest;
  state: SignedIn;
  nameOf: (id: string) => string | undefined;
  onChanged: () => void | Promise<void>;
}) {
  const [error, setError] = useState<string | null>(null);
  const cancel = async () => {
    const result = await ask<RequestAnswer>({ type: 'request.cancel', requestId: request.id });
    if (!result.ok) setError(result.error.message);
    else await onChanged();
  };
  const manager = state.me.managerId ? [state.me.managerId] : [];
  return (
    <li class="mine-item" data-testid="al-my-request" data-request-id={request.id} data-status={request.status}>
      <div class="row">
        <strong>{request.permissions.map((k) => labelFor(state, k, request.connectionId)).join(', ')}</strong>
        <span class={`chip chip--${request.status}`}>{t(`requestStatus.${request.status}`)}</span>
      </div>
      <p>{statusLine(request, nameOf, manager)}</p>
      <p class="muted">
        {request.page ? `${request.page.object ?? ''} ${request.page.recordId ?? ''} · ` : ''}
        {formatRelative(request.createdAt)}
      </p>
      {isOpen(request) && (
        <button type="button" class="link" onClick={() => void cancel()}>
          {t('popup.cancelRequest')}
        </button>
      )}
      {error && (
        <p class="error" data-testid="al-error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}
