/**
 * The access request form, pre-filled from the page. Justification is required. It asks for one or
 * several of the page's missing permissions (checkboxes), or for a whole bundle the CRM models; it may
 * carry a start date (an access window), an evidence link, and — for a manager — be filed for a direct
 * report. "Request again" opens it filled from the denied request, with the reason in view. While it is
 * open the background asks the server what submitting would do (who is asked, in order; caps; blockers,
 * rendered from their codes) and the form says so before anything is sent; offline, it falls back to
 * the local prediction (the manager).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AccessRequest, ObservedPage, PageDecision, PermissionRow, PersonRef } from '@accesslens/shared';
import { DURATION_CHOICES } from '@accesslens/shared/constants';
import { durationText, joinNames, labelOf, t } from '../utils/i18n';
import { ask } from '../utils/messaging';
import { trusted } from './trusted';
import { evidenceLinksOf, evidenceProblem, previewNotes, willAskText } from '../utils/preview';
import type { OfferedBundle, PageDecideAnswer, PreviewAnswer, ReportsAnswer, RequestAnswer } from '../utils/protocol';

/** What the form asks for: some of the page's keys (maybe again, after a denial), or a whole bundle. */
export type FormIntent = { kind: 'keys'; keys: string[]; previous: AccessRequest | null } | { kind: 'bundle'; bundleId: string };

interface Props {
  decision: PageDecision;
  /** The permissions that may be requested from here. */
  rows: PermissionRow[];
  intent: FormIntent;
  bundles: OfferedBundle[];
  keys: PageDecideAnswer['keys'];
  page: ObservedPage;
  /** Names by person id (the denied request's decider). */
  nameOf: (id: string) => string | undefined;
  onCancel: () => void;
  /** `keys`: what was asked for; `forName`: the direct report it was filed for, if any. */
  onSubmitted: (keys: string[], forName: string | null) => void | Promise<void>;
}

function defaultDuration(choices: number[], wanted = 7): number {
  if (choices.includes(wanted)) return wanted;
  return choices.includes(7) ? 7 : (choices.at(-1) ?? 1);
}

/** The choices every key allows (each key's are a prefix of DURATION_CHOICES: the shortest list). */
function choicesFor(keys: string[], known: PageDecideAnswer['keys'], fallback: number[]): number[] {
  const lists = keys.map((k) => known[k]?.durationChoices).filter((c): c is number[] => Array.isArray(c));
  if (lists.length === 0) return fallback;
  return lists.reduce((a, b) => a.filter((d) => b.includes(d)));
}

/** YYYY-MM-DD of a local date. */
const dayOf = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

export function RequestForm({ decision, rows, intent, bundles, keys, page, nameOf, onCancel, onSubmitted }: Props) {
  const previous = intent.kind === 'keys' ? intent.previous : null;
  const initialKeys = intent.kind === 'keys' ? intent.keys.filter((k) => rows.some((r) => r.key === k)) : [];
  const [selected, setSelected] = useState<string[]>(initialKeys.length > 0 || intent.kind === 'bundle' ? initialKeys : rows.slice(0, 1).map((r) => r.key));
  const [bundleId, setBundleId] = useState<string | null>(intent.kind === 'bundle' ? intent.bundleId : null);
  const localChoices = bundleId ? decision.durationChoices : choicesFor(selected, keys, decision.durationChoices);
  const [justification, setJustification] = useState(previous?.justification ?? '');
  const [evidence, setEvidence] = useState(previous?.evidence.join(' ') ?? '');
  const [evidenceError, setEvidenceError] = useState<string | null>(null);
  const [startsOn, setStartsOn] = useState('');
  const [startError, setStartError] = useState<string | null>(null);
  const [onBehalfOf, setOnBehalfOf] = useState<string | null>(null);
  const [reports, setReports] = useState<PersonRef[]>([]);
  const [duration, setDuration] = useState(defaultDuration(localChoices, previous?.durationDays));
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [answer, setAnswer] = useState<PreviewAnswer | null>(null);
  const [checking, setChecking] = useState(true);
  const seq = useRef(0);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const evidenceField = useRef<HTMLInputElement>(null);
  const startField = useRef<HTMLInputElement>(null);

  useEffect(() => textarea.current?.focus(), []);

  // A manager may file for a direct report: ask once whom.
  useEffect(() => {
    void ask<ReportsAnswer>({ type: 'people.reports' }).then((result) => {
      if (result.ok) setReports(result.people);
    });
  }, []);

  const nothingChosen = !bundleId && selected.length === 0;

  // Ask the server on open and whenever what would be requested changes.
  useEffect(() => {
    const n = ++seq.current;
    if (nothingChosen) {
      setChecking(false);
      setAnswer(null);
      return;
    }
    setChecking(true);
    void ask<PreviewAnswer>({
      type: 'request.preview',
      page,
      permissions: bundleId ? [] : selected,
      durationDays: duration,
      bundleId,
      onBehalfOf,
    }).then((result) => {
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
  }, [selected.join(' '), bundleId, duration, onBehalfOf, page]);

  const keyLabel = (key: string) => {
    const row = decision.rows.find((r) => r.key === key);
    return row ? labelOf(row.label, key) : key;
  };
  const bundle = bundleId ? (bundles.find((b) => b.id === bundleId) ?? null) : null;
  const preview = answer?.preview ?? null;
  const choices = preview && preview.durationChoices.length > 0 ? preview.durationChoices : localChoices;
  const notes = preview ? previewNotes(preview, keyLabel) : { blocking: [], warnings: [] };
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

  const toggleKey = (key: string, on: boolean) => {
    const next = on ? [...new Set([...selected, key])] : selected.filter((k) => k !== key);
    // Keep the page's order.
    const ordered = rows.map((r) => r.key).filter((k) => next.includes(k));
    setSelected(ordered);
    const nextChoices = choicesFor(ordered, keys, decision.durationChoices);
    if (!nextChoices.includes(duration)) setDuration(defaultDuration(nextChoices));
  };

  // What the server's preview says the bundle adds (else what this page can tell).
  const bundleAdds = preview?.bundle?.adds ?? bundle?.adds ?? [];
  const bundleHeld = preview?.bundle?.alreadyHeld ?? [];

  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  const minStart = dayOf(tomorrow);
  const startProblem = (value: string): string | null => {
    if (!value) return null;
    const at = new Date(`${value}T00:00:00`);
    return Number.isNaN(at.getTime()) || value < minStart ? t('request.startsAtInvalid') : null;
  };

  /**
   * Filing a request needs the person's own click on Send (or Enter, which the browser turns into a
   * trusted click on it): a page script's `click()` or `requestSubmit()` is not trusted and does nothing.
   */
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!e.isTrusted || sending || blocked) return;
    if (nothingChosen) {
      setError(t('request.pickOne'));
      return;
    }
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
    const badStart = startProblem(startsOn);
    setStartError(badStart);
    if (badStart) {
      setError(null);
      startField.current?.focus();
      return;
    }
    setError(null);
    setSending(true);
    const result = await ask<RequestAnswer>({
      type: 'request.submit',
      page,
      permissions: bundleId ? [] : selected,
      justification: justification.trim(),
      evidence: evidenceLinksOf(evidence),
      durationDays: duration,
      bundleId,
      // The start of that day where the person is.
      startsAt: startsOn ? new Date(`${startsOn}T00:00:00`).toISOString() : null,
      onBehalfOf,
      previousRequestId: previous?.id ?? null,
    });
    setSending(false);
    if (!result.ok) {
      if (result.error.field?.startsWith('evidence')) setEvidenceError(result.error.message);
      else if (result.error.field === 'startsAt') setStartError(result.error.message);
      else setError(result.error.message);
      return;
    }
    const forName = onBehalfOf ? (reports.find((p) => p.id === onBehalfOf)?.name ?? null) : null;
    await onSubmitted(bundleId ? result.request.permissions : selected, forName);
  };

  const single = rows.find((r) => r.key === selected[0]);
  let title: string;
  if (bundle) title = t('request.titleBundle', { bundle: bundle.name });
  else if (selected.length > 1) title = t('request.titleMany', { n: selected.length });
  else {
    const permission = single ? labelOf(single.label, single.key) : '';
    title = previous ? t('request.titleAgain', { permission }) : t('request.title', { permission });
  }
  const decider = previous ? previous.stages.map((s) => s.decision).find((d) => d?.outcome === 'deny') : undefined;

  return (
    <form class="al-form" data-testid="al-request-form" data-mode={bundleId ? 'bundle' : 'keys'} onSubmit={(e) => e.preventDefault()} noValidate>
      <h3>{title}</h3>
      {previous && decider && (
        <p class="al-denial" data-testid="al-previous-reason">
          {t('overlay.previousReason', { name: nameOf(decider.deciderId) ?? t('people.unknown'), reason: decider.reason ?? '' })}
        </p>
      )}
      {bundleId ? (
        <div class="al-field">
          <label class="al-field">
            <span>{t('request.bundle')}</span>
            <select data-testid="al-bundle" value={bundleId} onChange={(e) => setBundleId((e.target as HTMLSelectElement).value)}>
              {bundles.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name} ({t(`bundle.${b.kind}`)})
                </option>
              ))}
            </select>
          </label>
          <p data-testid="al-bundle-adds" class="al-muted">
            {bundleAdds.length > 0 ? t('request.bundleAdds', { keys: bundleAdds.map(keyLabel).join(t('people.separator')) }) : t('request.bundleAddsNothing')}
          </p>
          {bundleHeld.length > 0 && (
            <p data-testid="al-bundle-held" class="al-muted">
              {t('request.bundleHeld', { keys: bundleHeld.map(keyLabel).join(t('people.separator')) })}
            </p>
          )}
        </div>
      ) : (
        rows.length > 1 && (
          <fieldset class="al-keys">
            <legend>{t('request.keysLegend')}</legend>
            {rows.map((r) => (
              <label key={r.key} class="al-check-row">
                <input
                  type="checkbox"
                  data-testid="al-request-key"
                  data-permission={r.key}
                  checked={selected.includes(r.key)}
                  onChange={trusted((e: Event) => toggleKey(r.key, (e.target as HTMLInputElement).checked))}
                />
                <span>
                  {t(`action.${r.action}`)} — {labelOf(r.label, r.key)}
                </span>
              </label>
            ))}
          </fieldset>
        )
      )}
      <dl class="al-facts">
        {!bundleId && (
          <>
            <dt>{t('request.permission')}</dt>
            <dd>
              {selected.map((k) => (
                <span key={k} class="al-key">
                  {keyLabel(k)} <code>{k}</code>
                </span>
              ))}
            </dd>
          </>
        )}
        <dt>{t('request.page')}</dt>
        <dd class="al-break">{page.url}</dd>
        <dt>{t('request.record')}</dt>
        <dd>{page.recordId ?? t('request.none')}</dd>
        <dt>{t('request.denialText')}</dt>
        <dd>{page.denialText ?? t('request.none')}</dd>
      </dl>
      {reports.length > 0 && (
        <label class="al-field">
          <span>{t('request.onBehalfOf')}</span>
          <select data-testid="al-on-behalf" value={onBehalfOf ?? ''} onChange={(e) => setOnBehalfOf((e.target as HTMLSelectElement).value || null)}>
            <option value="">{t('request.onBehalfMe')}</option>
            {reports.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
      )}
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
          type="text"
          inputMode="url"
          data-testid="al-evidence"
          maxLength={5 * 2049}
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
        <span>{t('request.startsAt')}</span>
        <input
          ref={startField}
          type="date"
          data-testid="al-starts-at"
          min={minStart}
          aria-invalid={startError !== null}
          aria-describedby={startError ? 'al-starts-error' : 'al-starts-hint'}
          value={startsOn}
          onInput={(e) => {
            setStartsOn((e.target as HTMLInputElement).value);
            if (startError) setStartError(null);
          }}
        />
      </label>
      {startError ? (
        <p class="al-error" id="al-starts-error" data-testid="al-error" data-field="startsAt" role="alert">
          {startError}
        </p>
      ) : (
        <p class="al-muted" id="al-starts-hint">
          {t('request.startsAtHint')}
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
      {capNote && (
        <p class="al-muted" data-testid="al-duration-cap">
          {capNote}
        </p>
      )}
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
