/**
 * The access request form, pre-filled from the page. Justification is required. While it is open the
 * background asks the server what submitting would do (who is asked, in order; caps; blockers) and the
 * form says so before anything is sent; offline, it falls back to the local prediction (the manager).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ObservedPage, PageDecision, PermissionRow } from '@accesslens/shared';
import { DURATION_CHOICES } from '@accesslens/shared/constants';
import { durationText, joinNames, labelOf, t } from '../utils/i18n';
import { ask } from '../utils/messaging';
import { trusted } from './trusted';
import { evidenceProblem, previewNotes, willAskText } from '../utils/preview';
import type { PageDecideAnswer, PreviewAnswer, RequestAnswer } from '../utils/protocol';

interface Props {
  decision: PageDecision;
  /** The permissions that may be requested from here; the first form shows `initialKey`. */
  rows: PermissionRow[];
  initialKey: string;
  keys: PageDecideAnswer['keys'];
  page: ObservedPage;
  onCancel: () => void;
  onSubmitted: (key: string) => void | Promise<void>;
}

function defaultDuration(choices: number[]): number {
  return choices.includes(7) ? 7 : (choices.at(-1) ?? 1);
}

export function RequestForm({ decision, rows, initialKey, keys, page, onCancel, onSubmitted }: Props) {
  const [key, setKey] = useState(rows.some((r) => r.key === initialKey) ? initialKey : (rows[0]?.key ?? initialKey));
  const localChoices = keys[key]?.durationChoices ?? decision.durationChoices;
  const [justification, setJustification] = useState('');
  const [evidence, setEvidence] = useState('');
  const [evidenceError, setEvidenceError] = useState<string | null>(null);
  const [duration, setDuration] = useState(defaultDuration(localChoices));
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [answer, setAnswer] = useState<PreviewAnswer | null>(null);
  const [checking, setChecking] = useState(true);
  const seq = useRef(0);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const evidenceField = useRef<HTMLInputElement>(null);

  useEffect(() => textarea.current?.focus(), []);

  // Ask the server on open and whenever what would be requested changes.
  useEffect(() => {
    const n = ++seq.current;
    setChecking(true);
    void ask<PreviewAnswer>({ type: 'request.preview', page, permissions: [key], durationDays: duration }).then((result) => {
      if (n !== seq.current) return;
      setChecking(false);
      if (!result.ok) {
        setAnswer({ preview: null, offline: false, error: result.error });
        return;
      }
      const { ok: _ok, ...rest } = result;
      setAnswer(rest);
      const choices = rest.preview?.durationChoices ?? [];
      // The policy capped it: settle on what it allows (asks again for that duration).
      if (choices.length > 0 && !choices.includes(duration)) setDuration(defaultDuration(choices));
    });
  }, [key, duration, page]);

  const row = rows.find((r) => r.key === key) ?? rows[0]!;
  const permission = labelOf(row.label, row.key);
  const preview = answer?.preview ?? null;
  const choices = preview && preview.durationChoices.length > 0 ? preview.durationChoices : localChoices;
  const notes = preview ? previewNotes(preview) : { blocking: [], warnings: [] };
  const blocked = notes.blocking.length > 0;
  const evidenceRequired = preview?.evidenceRequired ?? false;

  const localNames = decision.approvers.length > 0 ? joinNames(decision.approvers.map((p) => p.name)) : t('people.admins');
  let willNotify: string;
  if (preview?.autoApproved) willNotify = t('request.autoApproved', { duration: durationText(Math.max(...choices)) });
  else if (preview) {
    const names = willAskText(preview);
    willNotify = names ? t('request.willAsk', { names }) : t('request.willAskAdmins');
  } else if (answer?.offline) willNotify = t('request.willAskOffline', { names: localNames });
  else if (answer?.error) willNotify = t('request.willAskUnchecked', { names: localNames, message: answer.error.message });
  // Until the server answers: the local prediction (the manager), said to be unconfirmed.
  else willNotify = decision.approvers.length > 0 ? t('request.willAsk', { names: localNames }) : t('request.willAskAdmins');

  const longest = Math.max(...choices);
  const capped = longest < Math.max(...DURATION_CHOICES);
  const cappedBy = preview?.duration.cappedBy ?? [];
  const capNote = capped
    ? cappedBy.length > 0
      ? t('request.cappedBy', { duration: durationText(longest), by: cappedBy.join(', ') })
      : t('request.capped', { duration: durationText(longest) })
    : null;

  const chooseKey = (next: string) => {
    setKey(next);
    const nextChoices = keys[next]?.durationChoices ?? decision.durationChoices;
    if (!nextChoices.includes(duration)) setDuration(defaultDuration(nextChoices));
  };

  /**
   * Filing a request needs the person's own click on Send (or Enter, which the browser turns into a
   * trusted click on it): a page script's `click()` or `requestSubmit()` is not trusted and does nothing.
   */
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!e.isTrusted || sending || blocked) return;
    if (!justification.trim()) {
      setError(t('request.justificationRequired'));
      textarea.current?.focus();
      return;
    }
    const badEvidence = evidenceProblem(evidence, evidenceRequired);
    setEvidenceError(badEvidence);
    if (badEvidence) {
      setError(null);
      evidenceField.current?.focus();
      return;
    }
    setError(null);
    setSending(true);
    const result = await ask<RequestAnswer>({
      type: 'request.submit',
      page,
      permissions: [key],
      justification: justification.trim(),
      evidence: evidence.trim() ? [evidence.trim()] : [],
      durationDays: duration,
    });
    setSending(false);
    if (!result.ok) {
      if (result.error.field?.startsWith('evidence')) setEvidenceError(result.error.message);
      else setError(result.error.message);
      return;
    }
    await onSubmitted(key);
  };

  return (
    <form class="al-form" onSubmit={(e) => e.preventDefault()} noValidate>
      <h3>{t('request.title', { permission })}</h3>
      {rows.length > 1 && (
        <label class="al-field">
          <span>{t('request.which')}</span>
          <select data-testid="al-request-permission" value={key} onChange={(e) => chooseKey((e.target as HTMLSelectElement).value)}>
            {rows.map((r) => (
              <option key={r.key} value={r.key}>
                {t(`action.${r.action}`)} — {labelOf(r.label, r.key)}
              </option>
            ))}
          </select>
        </label>
      )}
      <dl class="al-facts">
        <dt>{t('request.permission')}</dt>
        <dd>
          {permission} <code>{row.key}</code>
        </dd>
        <dt>{t('request.page')}</dt>
        <dd class="al-break">{page.url}</dd>
        <dt>{t('request.record')}</dt>
        <dd>{page.recordId ?? t('request.none')}</dd>
        <dt>{t('request.denialText')}</dt>
        <dd>{page.denialText ?? t('request.none')}</dd>
      </dl>
      <label class="al-field">
        <span>{t('request.justification')}</span>
        <textarea
          ref={textarea}
          data-testid="al-justification"
          rows={3}
          maxLength={2000}
          required
          aria-invalid={error !== null && !justification.trim()}
          placeholder={t('request.justificationPlaceholder')}
          value={justification}
          onInput={(e) => setJustification((e.target as HTMLTextAreaElement).value)}
        />
      </label>
      {error && (
        <p class="al-error" data-testid="al-error" role="alert">
          {error}
        </p>
      )}
      <label class="al-field">
        <span>{evidenceRequired ? t('request.evidenceRequiredLabel') : t('request.evidence')}</span>
        <input
          ref={evidenceField}
          type="url"
          inputMode="url"
          data-testid="al-evidence"
          maxLength={2048}
          required={evidenceRequired}
          aria-invalid={evidenceError !== null}
          aria-describedby={evidenceError ? 'al-evidence-error' : undefined}
          placeholder={t('request.evidencePlaceholder')}
          value={evidence}
          onInput={(e) => {
            setEvidence((e.target as HTMLInputElement).value);
            if (evidenceError) setEvidenceError(null);
          }}
          onBlur={() => setEvidenceError(evidence.trim() ? evidenceProblem(evidence, false) : null)}
        />
      </label>
      {evidenceError && (
        <p class="al-error" id="al-evidence-error" data-testid="al-error" data-field="evidence" role="alert">
          {evidenceError}
        </p>
      )}
      <label class="al-field">
        <span>{t('request.duration')}</span>
        <select data-testid="al-duration" value={String(duration)} onChange={(e) => setDuration(Number((e.target as HTMLSelectElement).value))}>
          {choices.map((d) => (
            <option key={d} value={String(d)}>
              {durationText(d)}
            </option>
          ))}
        </select>
      </label>
      {capNote && <p class="al-muted" data-testid="al-duration-cap">{capNote}</p>}
      <div data-testid="al-preview" class="al-preview" aria-live="polite" aria-busy={checking}>
        <p data-testid="al-will-notify" class={preview?.autoApproved ? 'al-auto' : undefined}>
          {willNotify}
        </p>
        {checking && !preview && (
          <p class="al-muted" data-testid="al-preview-checking">
            {t('request.checking')}
          </p>
        )}
        {notes.warnings.length > 0 && (
          <ul class="al-warnings">
            {notes.warnings.map((w) => (
              <li key={w} data-testid="al-warning">
                {w}
              </li>
            ))}
          </ul>
        )}
        {blocked && (
          <div class="al-blocked" role="alert">
            <p>{t('request.blocked')}</p>
            <ul>
              {notes.blocking.map((p, i) => (
                <li key={`${i}-${p}`} data-testid="al-problem">
                  {p}
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
      <div class="al-actions">
        <button
          type="submit"
          data-testid="al-submit-request"
          onClick={submit}
          class="al-button al-button--primary"
          disabled={sending || blocked}
          title={blocked ? t('request.blockedShort') : undefined}
        >
          {sending ? t('request.sending') : t('request.submit')}
        </button>
        <button type="button" class="al-button" onClick={trusted(onCancel)}>
          {t('request.cancel')}
        </button>
      </div>
    </form>
  );
}
