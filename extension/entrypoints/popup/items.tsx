/** One request in the approver queue, and one of the viewer's own requests. */
import { useRef, useState } from 'preact/hooks';
import { DURATION_CHOICES, durationChoicesFor, type AccessRequest, type Risk } from '@accesslens/shared';
import { durationText, formatDate, formatRelative, joinNames, t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import type { RequestAnswer } from '../../utils/protocol';
import { approvedSoFar, isOpen, namesOf, openStageOf, stageLabel, stageProgress, statusLine, stillNeeded, type NameOf } from '../../utils/requests';
import { EXTEND_WITHIN_DAYS, labelFor, type SignedIn } from './state';
import { timelineText } from './timeline';

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
  /** Decides this request (or asks its requester a question); resolves to an error message, or null when it is held for undo. */
  decide: (outcome: 'approve' | 'deny' | 'needs-info', reason: string | null, durationDays: number | null) => Promise<string | null>;
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
          {stillNeeded(stage) < stage.required &&
            ` · ${t('status.waitingForN', {
              n: stillNeeded(stage),
              names: namesOf(
                stage.approverIds.filter((id) => !stage.approvals.some((a) => a.deciderId === id)),
                nameOf,
              ),
            })}`}
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
        if (state === 'approved')
          text = t('popup.stageApproved', {
            names: namesOf(
              stage.approvals.map((a) => a.deciderId),
              nameOf,
            ),
          });
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

/** What helps decide at a glance, from the request itself: where it came from, and how long it has waited. */
function cardHints(request: AccessRequest, meId: string, nameOf: NameOf): string[] {
  const hints: string[] = [];
  if (request.page?.object) hints.push(t('popup.fromPage', { page: [request.page.object, request.page.recordId].filter(Boolean).join(' ') }));
  const stage = openStageOf(request);
  if (stage?.reminders) hints.push(t('popup.remindedTimes', { n: stage.reminders }));
  const index = stage ? request.stages.indexOf(stage) : -1;
  const forWhom = stage?.delegates?.find((d) => d.delegateId === meId);
  if (forWhom) hints.push(t('popup.delegatedToYou', { name: nameOf(forWhom.approverId) ?? t('people.unknown') }));
  else if ((request.timeline ?? []).some((e) => e.kind === 'escalated' && e.stage === index && e.personIds.includes(meId)))
    hints.push(t('popup.escalatedToYou'));
  return hints;
}

/**
 * What the server worked out when the request was made (`insight`): separation-of-duties rules it would
 * break, and how many of the requester's peers hold what is asked ("held by 31 of 38 peers"; with several
 * keys, the least held one).
 */
export function insightLines(request: AccessRequest): string[] {
  const insight = request.insight;
  if (!insight) return [];
  const out: string[] = [];
  if (insight.sodConflicts.length > 0) out.push(t('popup.insightSod', { rules: insight.sodConflicts.map((c) => c.name).join(', ') }));
  const peers = insight.peers;
  if (peers) {
    const where = [peers.department, peers.title].filter(Boolean).join(' / ');
    if (peers.count === 0) out.push(t('popup.insightNoPeers', { where }));
    else if (peers.keys.length > 0) {
      const least = Math.min(...peers.keys.map((k) => k.holders));
      out.push(t('popup.insightPeers', { n: least, m: peers.count, where }));
    }
  }
  return out;
}

/**
 * One queued request as a compact card: who, what, risk, how long ago, and Approve at hand. Opening
 * it (click, Enter) shows the page, the reason, evidence, stages, a shorter duration and Deny.
 */
export function QueueItem({ request, state, risk, active, open, selected, onActivate, onToggleOpen, onToggleSelected, decide, nameOf }: QueueItemProps) {
  const [days, setDays] = useState(request.durationDays);
  const [reason, setReason] = useState('');
  const [question, setQuestion] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reasonField = useRef<HTMLTextAreaElement>(null);
  const questionField = useRef<HTMLTextAreaElement>(null);
  const hints = cardHints(request, state.me.id, nameOf);
  const insight = insightLines(request);
  // Questions asked and answered so far: the answer is often what decides.
  const qa = (request.timeline ?? []).filter((e) => (e.kind === 'needs-info' || e.kind === 'answered') && e.text);
  const requester = nameOf(request.requesterId) ?? t('people.unknown');
  const labels = request.permissions.map((k) => labelFor(state, k, request.connectionId));
  const detailsId = `details-${request.id}`;

  const submit = async (outcome: 'approve' | 'deny' | 'needs-info') => {
    if (busy) return;
    if (outcome === 'deny' && !reason.trim()) {
      if (!open) onToggleOpen();
      setError(t('popup.denyReasonRequired'));
      requestAnimationFrame(() => reasonField.current?.focus());
      return;
    }
    if (outcome === 'needs-info' && !question.trim()) {
      setError(t('popup.questionRequired'));
      questionField.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    const text = outcome === 'deny' ? reason.trim() : outcome === 'needs-info' ? question.trim() : null;
    const failed = await decide(outcome, text, outcome === 'approve' && days !== request.durationDays ? days : null);
    setBusy(false);
    if (failed) setError(failed);
  };

  return (
    <li
      class={`item${active ? ' item--active' : ''}${open ? ' item--open' : ''}`}
      data-testid="al-queue-item"
      data-request-id={request.id}
      data-risk={risk}
      data-selected={selected}
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
          {insight.length > 0 && (
            <span class="hints insight" data-testid="al-card-insight">
              {insight.join(' · ')}
            </span>
          )}
          {hints.length > 0 && (
            <span class="hints muted" data-testid="al-card-hints">
              {hints.join(' · ')}
            </span>
          )}
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
          {qa.length > 0 && (
            <ul class="history" data-testid="al-card-qa">
              {qa.map((e, i) => (
                <li key={i} data-kind={e.kind}>
                  {timelineText(e, nameOf)}: <span class="why">{e.text}</span>
                </li>
              ))}
            </ul>
          )}
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
            <label class="field">
              <span>{t('popup.question', { name: requester })}</span>
              <textarea
                ref={questionField}
                data-testid="al-question"
                rows={2}
                maxLength={2000}
                value={question}
                onInput={(e) => setQuestion((e.target as HTMLTextAreaElement).value)}
              />
            </label>
            <button type="button" class="button" data-testid="al-ask" disabled={busy} onClick={() => void submit('needs-info')}>
              {t('popup.ask')}
            </button>
          </div>
        </div>
      )}
    </li>
  );
}

const DAY_MS = 86_400_000;

/** Ends within EXTEND_WITHIN_DAYS: "Extend" is offered. */
export function expiresSoon(r: AccessRequest, now: Date = new Date()): boolean {
  return r.status === 'fulfilled' && r.expiresAt !== null && Date.parse(r.expiresAt) - now.getTime() <= EXTEND_WITHIN_DAYS * DAY_MS;
}

/** Why a request was denied: the denial's reason (a time-out has none). */
function denialReason(r: AccessRequest): string | null {
  const last = [...(r.timeline ?? [])].reverse().find((e) => e.kind === 'denied' || e.kind === 'timed-out');
  return last?.text ?? r.stages.find((s) => s.decision?.outcome === 'deny')?.decision?.reason ?? null;
}

/** "Request again" (after a denial) or "Extend" (a grant ending soon): same keys, a new justification and duration. */
function FollowUp({ request, state, kind, onDone }: { request: AccessRequest; state: SignedIn; kind: 'again' | 'extend'; onDone: () => void | Promise<void> }) {
  const choices = durationChoicesFor(request.permissions, state.catalog, request.connectionId);
  const [justification, setJustification] = useState(request.justification);
  const [days, setDays] = useState(choices.includes(request.durationDays) ? request.durationDays : (choices.at(-1) ?? request.durationDays));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLTextAreaElement>(null);
  const send = async (e: Event) => {
    e.preventDefault();
    if (!justification.trim()) {
      setError(t('popup.justificationRequired'));
      field.current?.focus();
      return;
    }
    setBusy(true);
    const result = await ask<RequestAnswer>({
      type: kind === 'again' ? 'request.again' : 'request.extend',
      requestId: request.id,
      justification: justification.trim(),
      durationDays: days,
    });
    setBusy(false);
    if (!result.ok) setError(result.error.message);
    else await onDone();
  };
  return (
    <form class="follow-up" data-testid={`al-${kind}-form`} onSubmit={(e) => void send(e)}>
      <label class="field">
        <span>{t('popup.justification')}</span>
        <textarea
          ref={field}
          data-testid={`al-${kind}-justification`}
          rows={2}
          maxLength={2000}
          value={justification}
          onInput={(e) => setJustification((e.target as HTMLTextAreaElement).value)}
        />
      </label>
      <label class="inline">
        <span>{t('popup.for')}</span>
        <select data-testid={`al-${kind}-duration`} value={String(days)} onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}>
          {choices.map((d) => (
            <option key={d} value={String(d)}>
              {durationText(d)}
            </option>
          ))}
        </select>
      </label>
      {error && (
        <p class="error" data-testid="al-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="button button--primary" data-testid={`al-${kind}-send`} disabled={busy}>
        {kind === 'again' ? t('popup.sendRequest') : t('popup.sendExtend')}
      </button>
    </form>
  );
}

/** The requester answers an approver's question (the request goes back to the same stage). */
function AnswerQuestion({ request, nameOf, onDone }: { request: AccessRequest; nameOf: NameOf; onDone: () => void | Promise<void> }) {
  const [answer, setAnswer] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = useRef<HTMLTextAreaElement>(null);
  const asked = request.needsInfo;
  const question = asked?.question ?? [...(request.timeline ?? [])].reverse().find((e) => e.kind === 'needs-info')?.text ?? '';
  const asker = (asked && nameOf(asked.askedBy)) ?? t('people.unknown');
  const send = async (e: Event) => {
    e.preventDefault();
    if (!answer.trim()) {
      setError(t('popup.answerRequired'));
      field.current?.focus();
      return;
    }
    setBusy(true);
    const result = await ask<RequestAnswer>({ type: 'request.answer', requestId: request.id, answer: answer.trim() });
    setBusy(false);
    if (!result.ok) setError(result.error.message);
    else await onDone();
  };
  return (
    <form class="follow-up" data-testid="al-answer-form" onSubmit={(e) => void send(e)}>
      <p class="question" data-testid="al-question-text">
        {t('popup.askedYou', { name: asker, question })}
      </p>
      <label class="field">
        <span>{t('popup.answer')}</span>
        <textarea
          ref={field}
          data-testid="al-answer"
          rows={2}
          maxLength={2000}
          value={answer}
          onInput={(e) => setAnswer((e.target as HTMLTextAreaElement).value)}
        />
      </label>
      {error && (
        <p class="error" data-testid="al-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="button button--primary" data-testid="al-send-answer" disabled={busy}>
        {t('popup.sendAnswer')}
      </button>
    </form>
  );
}

function Timeline({ request, nameOf }: { request: AccessRequest; nameOf: NameOf }) {
  const entries = request.timeline ?? [];
  if (entries.length === 0) return null;
  return (
    <details class="timeline-box">
      <summary>{t('popup.timeline')}</summary>
      <ol class="timeline" data-testid="al-timeline">
        {entries.map((e, i) => (
          <li key={i} data-kind={e.kind} title={e.at}>
            {timelineText(e, nameOf)}
          </li>
        ))}
      </ol>
    </details>
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
  const [followUp, setFollowUp] = useState<'again' | 'extend' | null>(null);
  const cancel = async () => {
    const result = await ask<RequestAnswer>({ type: 'request.cancel', requestId: request.id });
    if (!result.ok) setError(result.error.message);
    else await onChanged();
  };
  const manager = state.me.managerId ? [state.me.managerId] : [];
  // The latest step that says who was reminded or escalated to ("Ben Ortiz was reminded 2 hours ago").
  const latest = [...(request.timeline ?? [])].reverse().find((e) => e.kind === 'reminded' || e.kind === 'escalated' || e.kind === 'delegated');
  const denied = request.status === 'denied' ? denialReason(request) : null;
  const done = async () => {
    setFollowUp(null);
    await onChanged();
  };
  return (
    <li class="mine-item" data-testid="al-my-request" data-request-id={request.id} data-status={request.status}>
      <div class="row">
        <strong>{request.permissions.map((k) => labelFor(state, k, request.connectionId)).join(', ')}</strong>
        <span class={`chip chip--${request.status}`}>{t(`requestStatus.${request.status}`)}</span>
      </div>
      <p>{statusLine(request, nameOf, manager)}</p>
      {isOpen(request) && latest && (
        <p class="muted" data-testid="al-latest-step">
          {timelineText(latest, nameOf)}
        </p>
      )}
      <StageProgress request={request} nameOf={nameOf} />
      <p class="muted">
        {request.page ? `${request.page.object ?? ''} ${request.page.recordId ?? ''} · ` : ''}
        {formatRelative(request.createdAt)}
        {request.status === 'fulfilled' && request.expiresAt && ` · ${t('popup.endsOn', { date: formatDate(request.expiresAt) })}`}
      </p>
      {request.status === 'needs-info' && <AnswerQuestion request={request} nameOf={nameOf} onDone={onChanged} />}
      {denied && (
        <p class="muted" data-testid="al-denied-reason">
          {t('popup.deniedBecause', { reason: denied })}
        </p>
      )}
      <div class="mine-actions">
        {isOpen(request) && (
          <button type="button" class="link" onClick={() => void cancel()}>
            {t('popup.cancelRequest')}
          </button>
        )}
        {request.status === 'denied' && (
          <button
            type="button"
            class="link"
            data-testid="al-request-again"
            aria-expanded={followUp === 'again'}
            onClick={() => setFollowUp(followUp === 'again' ? null : 'again')}
          >
            {t('popup.requestAgain')}
          </button>
        )}
        {expiresSoon(request) && (
          <button
            type="button"
            class="link"
            data-testid="al-extend"
            aria-expanded={followUp === 'extend'}
            onClick={() => setFollowUp(followUp === 'extend' ? null : 'extend')}
          >
            {t('popup.extend')}
          </button>
        )}
      </div>
      {followUp && <FollowUp request={request} state={state} kind={followUp} onDone={done} />}
      <Timeline request={request} nameOf={nameOf} />
      {error && (
        <p class="error" data-testid="al-error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}

/** "My decisions": what I approved, denied or asked, newest first. */
export function History({ state, nameOf }: { state: SignedIn; nameOf: NameOf }) {
  const items = state.history ?? [];
  return (
    <details class="history-box" data-testid="al-history">
      <summary>
        <h2 class="inline-heading">{t('popup.history')}</h2>
      </summary>
      {items.length === 0 ? (
        <p class="muted" data-testid="al-history-empty">
          {t('popup.historyEmpty')}
        </p>
      ) : (
        <ul class="mine">
          {items.map((h) => (
            <li
              key={`${h.requestId}:${h.outcome}:${h.at}`}
              class="mine-item"
              data-testid="al-history-item"
              data-request-id={h.requestId}
              data-outcome={h.outcome}
            >
              <div class="row">
                <span class={`chip chip--${h.outcome === 'approve' ? 'approved' : h.outcome === 'deny' ? 'denied' : 'needs-info'}`}>
                  {t(`popup.hist.${h.outcome}`)}
                </span>
                <span class="muted" title={h.at}>
                  {formatRelative(h.at)}
                </span>
              </div>
              <p>
                {t('popup.historyLine', {
                  name: nameOf(h.request.requesterId) ?? t('people.unknown'),
                  what: h.request.permissions.map((k) => labelFor(state, k, h.request.connectionId)).join(', '),
                })}
              </p>
              {h.text && <p class="muted why">{h.text}</p>}
            </li>
          ))}
        </ul>
      )}
    </details>
  );
}
