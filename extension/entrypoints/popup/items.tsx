/** One request in the approver queue, and one of the viewer's own requests. */
import { useRef, useState } from 'preact/hooks';
import { DURATION_CHOICES, type AccessRequest, type Risk } from '@accesslens/shared';
import { durationText, formatRelative, joinNames, t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import type { RequestAnswer } from '../../utils/protocol';
import {
  approvedSoFar,
  isOpen,
  namesOf,
  openStageOf,
  stageLabel,
  stageProgress,
  statusLine,
  stillNeeded,
  type NameOf,
} from '../../utils/requests';
import { labelFor, type SignedIn } from './state';

interface QueueItemProps {
  request: AccessRequest;
  state: SignedIn;
  risk: Risk;
  active: boolean;
  open: boolean;
  selected: boolean;
  onActivate: () => void;
  onToggleOpen: () => void;
  onToggleSelected: () => void;
  /** Decides this request; resolves to an error message, or null when it is held for undo. */
  decide: (outcome: 'approve' | 'deny', reason: string | null, durationDays: number | null) => Promise<string | null>;
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

/** Where a queued request stands: "Stage 2 of 2 · Deal Desk", "Needs 2 of 3 approvals", "Ben Ortiz approved". */
function StageFacts({ request, nameOf }: { request: AccessRequest; nameOf: NameOf }) {
  const stage = openStageOf(request);
  if (!stage) return null;
  const index = request.stages.indexOf(stage);
  const multi = request.stages.length > 1;
  const nOfM = stage.required > 1;
  const approved = approvedSoFar(request);
  if (!multi && !nOfM && approved.length === 0 && !stage.escalated) return null;
  return (
    <div class="stage" data-testid="al-stage">
      <p>
        <strong>{t('popup.stage', { n: index + 1, total: request.stages.length, label: stageLabel(stage) })}</strong>
        {stage.escalated && <span class="chip chip--pending">{t('popup.stageEscalated')}</span>}
      </p>
      {nOfM && (
        <p class="muted">
          {t('popup.needs', { n: stage.required, total: stage.approverIds.length })}
          {stillNeeded(stage) < stage.required && ` · ${t('status.waitingForN', { n: stillNeeded(stage), names: namesOf(stage.approverIds.filter((id) => !stage.approvals.some((a) => a.deciderId === id)), nameOf) })}`}
        </p>
      )}
      {approved.length > 0 && (
        <ul class="history" data-testid="al-stage-history">
          {approved.map((id) => (
            <li key={id}>{t('popup.approvedBy', { name: nameOf(id) ?? t('people.unknown') })}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Each stage of one's own request, in order: approved by whom, waiting for whom, who comes later. */
function StageProgress({ request, nameOf }: { request: AccessRequest; nameOf: NameOf }) {
  if (request.stages.length <= 1 && (request.stages[0]?.required ?? 1) <= 1) return null;
  return (
    <ol class="stages" data-testid="al-stage-progress" aria-label={t('popup.stages')}>
      {stageProgress(request).map(({ stage, index, state }) => {
        const pendingIds = stage.approverIds.filter((id) => !stage.approvals.some((a) => a.deciderId === id));
        let text: string;
        if (state === 'approved') text = t('popup.stageApproved', { names: namesOf(stage.approvals.map((a) => a.deciderId), nameOf) });
        else if (state === 'denied') text = t('popup.stageDenied', { name: (stage.decision && nameOf(stage.decision.deciderId)) ?? t('people.unknown') });
        else if (state === 'open') {
          const need = stillNeeded(stage);
          text =
            need > 1 && pendingIds.length > need
              ? t('popup.stageWaitingN', { n: need, names: namesOf(pendingIds, nameOf) })
              : t('popup.stageWaiting', { names: namesOf(pendingIds, nameOf) });
          if (stage.approvals.length > 0)
            text = `${t('popup.stageApproved', { names: joinNames(stage.approvals.map((a) => nameOf(a.deciderId) ?? t('people.unknown'))) })} · ${text}`;
        } else text = t('popup.stageLater', { names: namesOf(stage.approverIds, nameOf) });
        return (
          <li key={index} class={`stage-row stage-row--${state}`} data-state={state}>
            <span class="stage-label">{stageLabel(stage)}</span> — {text}
            {stage.escalated && ` (${t('popup.stageEscalated')})`}
          </li>
        );
      })}
    </ol>
  );
}

/**
 * One queued request as a compact card: who, what, risk, how long ago, and Approve at hand. Opening
 * it (click, Enter) shows the page, the reason, evidence, stages, a shorter duration and Deny.
 */
export function QueueItem({ request, state, risk, active, open, selected, onActivate, onToggleOpen, onToggleSelected, decide, nameOf }: QueueItemProps) {
  const [days, setDays] = useState(request.durationDays);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reasonField = useRef<HTMLTextAreaElement>(null);
  const requester = nameOf(request.requesterId) ?? t('people.unknown');
  const labels = request.permissions.map((k) => labelFor(state, k, request.connectionId));
  const detailsId = `details-${request.id}`;

  const submit = async (outcome: 'approve' | 'deny') => {
    if (busy) return;
    if (outcome === 'deny' && !reason.trim()) {
      if (!open) onToggleOpen();
      setError(t('popup.denyReasonRequired'));
      requestAnimationFrame(() => reasonField.current?.focus());
      return;
    }
    setBusy(true);
    setError(null);
    const failed = await decide(outcome, outcome === 'deny' ? reason.trim() : null, outcome === 'approve' && days !== request.durationDays ? days : null);
    setBusy(false);
    if (failed) setError(failed);
  };

  return (
    <li
      class={`item${active ? ' item--active' : ''}${open ? ' item--open' : ''}`}
      data-testid="al-queue-item"
      data-request-id={request.id}
      data-risk={risk}
      aria-selected={selected}
      tabIndex={0}
      onFocusIn={onActivate}
      onClick={onActivate}
    >
      <div class="card">
        <input
          type="checkbox"
          class="pick"
          data-testid="al-select"
          checked={selected}
          aria-label={t('popup.selectOne', { name: requester })}
          onChange={onToggleSelected}
        />
        <button type="button" class="card-main" aria-expanded={open} aria-controls={detailsId} data-testid="al-queue-open" onClick={onToggleOpen}>
          <span class="row">
            <strong>{requester}</strong>
            <span class="muted" title={request.createdAt}>
              {formatRelative(request.createdAt)}
            </span>
          </span>
          <span class="perm">
            <span class={`chip chip--risk-${risk}`}>{t(`risk.${risk}`)}</span> {labels.join(', ')}
          </span>
          {!open && <span class="why why--short muted">{request.justification}</span>}
        </button>
        <button type="button" class="button button--primary button--small" data-testid="al-approve" disabled={busy} onClick={() => void submit('approve')}>
          {t('popup.approve')}
        </button>
      </div>
      {error && (
        <p class="error" data-testid="al-error" role="alert">
          {error}
        </p>
      )}
      {open && (
        <div id={detailsId} class="details" data-testid="al-queue-details">
          <p class="muted keys-line">{request.permissions.join(', ')}</p>
          <StageFacts request={request} nameOf={nameOf} />
          <dl class="facts">
            <PageFacts request={request} />
            <dt>{t('popup.why')}</dt>
            <dd class="why">{request.justification}</dd>
            {request.evidence.length > 0 && (
              <>
                <dt>{t('popup.evidence')}</dt>
                <dd data-testid="al-evidence-links">
                  {request.evidence.map((link) => (
                    <a key={link} class="url" href={link} target="_blank" rel="noopener noreferrer">
                      {link}
                    </a>
                  ))}
                </dd>
              </>
            )}
            <dt>{t('popup.duration')}</dt>
            <dd>{durationText(request.durationDays)}</dd>
          </dl>
          <div class="decide">
            <label class="inline">
              <span>{t('popup.approveFor')}</span>
              <select data-testid="al-approve-duration" value={String(days)} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}>
                {approveChoices(request.durationDays).map((d) => (
                  <option key={d} value={String(d)}>
                    {durationText(d)}
                  </option>
                ))}
              </select>
            </label>
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
            <button type="button" class="button button--danger" data-testid="al-deny" disabled={busy} onClick={() => void submit('deny')}>
              {t('popup.deny')}
            </button>
          </div>
        </div>
      )}
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
      <StageProgress request={request} nameOf={nameOf} />
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
