/** The access request form, pre-filled from the page. Justification is required. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ObservedPage, PageDecision, PermissionRow } from '@accesslens/shared';
import { durationText, joinNames, labelOf, t } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import type { RequestAnswer } from '../../utils/protocol';

interface Props {
  decision: PageDecision;
  row: PermissionRow;
  page: ObservedPage;
  onCancel: () => void;
  onSubmitted: () => void | Promise<void>;
}

function defaultDuration(choices: number[]): number {
  return choices.includes(7) ? 7 : (choices.at(-1) ?? 1);
}

export function RequestForm({ decision, row, page, onCancel, onSubmitted }: Props) {
  const [justification, setJustification] = useState('');
  const [duration, setDuration] = useState(defaultDuration(decision.durationChoices));
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const textarea = useRef<HTMLTextAreaElement>(null);

  useEffect(() => textarea.current?.focus(), []);

  const permission = labelOf(row.label, row.key);
  const willAsk =
    decision.approvers.length > 0
      ? t('request.willAsk', { names: joinNames(decision.approvers.map((p) => p.name)) })
      : t('request.willAskAdmins');

  const submit = async (e: Event) => {
    e.preventDefault();
    if (sending) return;
    if (!justification.trim()) {
      setError(t('request.justificationRequired'));
      textarea.current?.focus();
      return;
    }
    setError(null);
    setSending(true);
    const result = await ask<RequestAnswer>({
      type: 'request.submit',
      page,
      permissions: [row.key],
      justification: justification.trim(),
      durationDays: duration,
    });
    setSending(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    await onSubmitted();
  };

  return (
    <form class="al-form" onSubmit={submit} noValidate>
      <h3>{t('request.title', { permission })}</h3>
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
        <span>{t('request.duration')}</span>
        <select
          data-testid="al-duration"
          value={String(duration)}
          onChange={(e) => setDuration(Number((e.target as HTMLSelectElement).value))}
        >
          {decision.durationChoices.map((d) => (
            <option key={d} value={String(d)}>
              {durationText(d)}
            </option>
          ))}
        </select>
      </label>
      <p class="al-muted">{willAsk}</p>
      <div class="al-actions">
        <button type="submit" data-testid="al-submit-request" class="al-button al-button--primary" disabled={sending}>
          {sending ? t('request.sending') : t('request.submit')}
        </button>
        <button type="button" class="al-button" onClick={onCancel}>
          {t('request.cancel')}
        </button>
      </div>
    </form>
  );
}
