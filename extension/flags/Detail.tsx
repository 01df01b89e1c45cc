/**
 * What a chip opens: the user's open findings (kind, permissions, evidence in words) and what an
 * administrator can do about each one there: accept the risk (reason and end date required, checked
 * here and again by the server) or remediate it (a revoke job or an admin task).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Result, UiError } from '@accesslens/shared';
import { formatDate, t } from '../utils/i18n';
import type { FlagFinding, FlagUser, FlagsAcceptAnswer, FlagsRemediateAnswer } from '../utils/protocol';
import { trusted } from '../overlay/trusted';

export interface DetailActions {
  accept(findingId: string, reason: string, expiresAt: string): Promise<Result<FlagsAcceptAnswer>>;
  remediate(findingId: string, side: 'left' | 'right' | undefined): Promise<Result<FlagsRemediateAnswer>>;
}

interface Props {
  externalUserId: string;
  /** Still being asked for. */
  loading: boolean;
  error: UiError | null;
  /** null: the user has no open finding left. */
  user: FlagUser | null;
  offline: boolean;
  actions: DetailActions;
  onClose: () => void;
}

const MAX_ACCEPT_DAYS = 365;
const DAY_MS = 24 * 60 * 60 * 1000;
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

export function Detail({ externalUserId, loading, error, user, offline, actions, onClose }: Props) {
  const closeButton = useRef<HTMLButtonElement>(null);
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    closeButton.current?.focus();
  }, [externalUserId]);
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      onClose();
    }
  };
  return (
    <div class="al-flags-root" onKeyDown={trusted(onKeyDown)}>
      <section
        class="al-flags-panel"
        data-testid="al-finding-detail"
        data-account-external-id={externalUserId}
        role="dialog"
        aria-label={t('flags.detail.title')}
      >
        <header class="al-flags-head">
          <div>
            <h2>{t('flags.detail.title')}</h2>
            {user?.person && (
              <p class="al-flags-muted">
                {t('flags.detail.person', { name: user.person.personName, department: user.person.department || '—', title: user.person.title || '—' })}
              </p>
            )}
          </div>
          <button
            ref={closeButton}
            type="button"
            class="al-flags-icon"
            onClick={trusted(onClose)}
            aria-label={t('flags.detail.close')}
            title={t('flags.detail.close')}
          >
            ×
          </button>
        </header>
        {offline && (
          <p class="al-flags-note" role="status">
            {t('flags.detail.offline')}
          </p>
        )}
        {notice && (
          <p class="al-flags-ok" role="status" data-testid="al-flags-notice">
            {notice}
          </p>
        )}
        {error && (
          <p class="al-flags-error" role="alert" data-testid="al-flags-error">
            {t('flags.error', { message: error.message })}
          </p>
        )}
        {loading ? (
          <p class="al-flags-muted" role="status">
            {t('flags.detail.loading')}
          </p>
        ) : !user || user.findings.length === 0 ? (
          <p class="al-flags-muted" data-testid="al-flags-empty">
            {t('flags.detail.none')}
          </p>
        ) : (
          <>
            <p class="al-flags-muted">{t('flags.detail.count', { count: user.count })}</p>
            <ul class="al-flags-list">
              {user.findings.map((f) => (
                <FindingItem key={f.id} finding={f} actions={actions} onDone={setNotice} />
              ))}
            </ul>
          </>
        )}
      </section>
    </div>
  );
}

type Mode = { kind: 'idle' } | { kind: 'accept' } | { kind: 'remediate'; side: 'left' | 'right' | undefined };

function FindingItem({ finding: f, actions, onDone }: { finding: FlagFinding; actions: DetailActions; onDone: (text: string) => void }) {
  const [mode, setMode] = useState<Mode>({ kind: 'idle' });
  return (
    <li
      class={`al-flags-finding al-flags-finding--${f.severity}`}
      data-testid="al-finding"
      data-finding-id={f.id}
      data-kind={f.kind}
      data-severity={f.severity}
    >
      <div class="al-flags-finding-head">
        <strong>{f.kindLabel}</strong>
        <span class={`al-flags-sev al-flags-sev--${f.severity}`}>{t(`flags.severity.${f.severity}`)}</span>
      </div>
      {f.reopened && <p class="al-flags-note">{t('flags.detail.reopened')}</p>}
      {f.permissions.length > 0 && (
        <p>
          <span class="al-flags-label">{t('flags.detail.permissions')}: </span>
          {f.permissions.join(t('people.separator'))}
        </p>
      )}
      {f.evidence.length > 0 && (
        <p data-testid="al-finding-evidence">
          <span class="al-flags-label">{t('flags.detail.evidence')}: </span>
          {f.evidence.join('; ')}
        </p>
      )}
      {mode.kind === 'idle' && (
        <div class="al-flags-actions">
          <button type="button" data-testid="al-accept-risk" onClick={trusted(() => setMode({ kind: 'accept' }))}>
            {t('flags.action.accept')}
          </button>
          {f.sides ? (
            <>
              <button type="button" data-testid="al-remediate" data-side="left" onClick={trusted(() => setMode({ kind: 'remediate', side: 'left' }))}>
                {t('flags.action.remediateSide', { what: f.sides.left })}
              </button>
              <button type="button" data-testid="al-remediate" data-side="right" onClick={trusted(() => setMode({ kind: 'remediate', side: 'right' }))}>
                {t('flags.action.remediateSide', { what: f.sides.right })}
              </button>
            </>
          ) : (
            <button type="button" data-testid="al-remediate" onClick={trusted(() => setMode({ kind: 'remediate', side: undefined }))}>
              {t('flags.action.remediate')}
            </button>
          )}
        </div>
      )}
      {mode.kind === 'accept' && <AcceptForm finding={f} actions={actions} onCancel={() => setMode({ kind: 'idle' })} onDone={onDone} />}
      {mode.kind === 'remediate' && (
        <RemediateConfirm finding={f} side={mode.side} actions={actions} onCancel={() => setMode({ kind: 'idle' })} onDone={onDone} />
      )}
    </li>
  );
}

function AcceptForm({
  finding,
  actions,
  onCancel,
  onDone,
}: {
  finding: FlagFinding;
  actions: DetailActions;
  onCancel: () => void;
  onDone: (text: string) => void;
}) {
  const today = new Date();
  const [reason, setReason] = useState('');
  const [expires, setExpires] = useState(isoDay(new Date(today.getTime() + 90 * DAY_MS)));
  const [problems, setProblems] = useState<{ reason?: string; expires?: string }>({});
  const [error, setError] = useState<UiError | null>(null);
  const [saving, setSaving] = useState(false);
  const reasonField = useRef<HTMLTextAreaElement>(null);
  useEffect(() => reasonField.current?.focus(), []);
  const min = isoDay(new Date(today.getTime() + DAY_MS));
  const max = isoDay(new Date(today.getTime() + MAX_ACCEPT_DAYS * DAY_MS));

  const submit = async (e: Event) => {
    e.preventDefault();
    const found: { reason?: string; expires?: string } = {};
    if (!reason.trim()) found.reason = t('flags.accept.reasonRequired');
    if (!expires) found.expires = t('flags.accept.expiryRequired');
    else if (expires < min || expires > max) found.expires = t('flags.accept.expiryRange');
    setProblems(found);
    if (found.reason || found.expires) return;
    setSaving(true);
    setError(null);
    // The end of the chosen day, in the person's time zone.
    const end = new Date(`${expires}T23:59:59`);
    const capped = Math.min(end.getTime(), Date.now() + MAX_ACCEPT_DAYS * DAY_MS - 60_000);
    const result = await actions.accept(finding.id, reason.trim(), new Date(capped).toISOString());
    setSaving(false);
    if (!result.ok) {
      if (result.error.field === 'reason') setProblems({ reason: result.error.message });
      else if (result.error.field === 'expiresAt') setProblems({ expires: result.error.message });
      else setError(result.error);
      return;
    }
    onDone(t('flags.accept.done', { date: formatDate(result.expiresAt ?? new Date(capped).toISOString()) }));
  };

  const id = `al-accept-${finding.id}`;
  return (
    <form class="al-flags-form" onSubmit={trusted(submit)} noValidate data-testid="al-accept-form">
      <label for={`${id}-reason`}>{t('flags.accept.reason')}</label>
      <textarea
        ref={reasonField}
        id={`${id}-reason`}
        data-testid="al-accept-reason"
        rows={3}
        maxLength={2000}
        placeholder={t('flags.accept.reasonHint')}
        value={reason}
        aria-invalid={problems.reason ? 'true' : undefined}
        aria-describedby={problems.reason ? `${id}-reason-error` : undefined}
        onInput={(e) => setReason((e.currentTarget as HTMLTextAreaElement).value)}
      />
      {problems.reason && (
        <p class="al-flags-error" id={`${id}-reason-error`} role="alert" data-testid="al-accept-reason-error">
          {problems.reason}
        </p>
      )}
      <label for={`${id}-expires`}>{t('flags.accept.expires')}</label>
      <input
        id={`${id}-expires`}
        type="date"
        data-testid="al-accept-expires"
        min={min}
        max={max}
        value={expires}
        aria-invalid={problems.expires ? 'true' : undefined}
        aria-describedby={problems.expires ? `${id}-expires-error` : undefined}
        onInput={(e) => setExpires((e.currentTarget as HTMLInputElement).value)}
      />
      {problems.expires && (
        <p class="al-flags-error" id={`${id}-expires-error`} role="alert" data-testid="al-accept-expires-error">
          {problems.expires}
        </p>
      )}
      {error && (
        <p class="al-flags-error" role="alert" data-testid="al-flags-error">
          {t('flags.error', { message: error.message })}
        </p>
      )}
      <div class="al-flags-actions">
        <button type="submit" data-testid="al-accept-submit" disabled={saving}>
          {saving ? t('flags.accept.saving') : t('flags.accept.submit')}
        </button>
        <button type="button" onClick={trusted(onCancel)} disabled={saving}>
          {t('flags.accept.cancel')}
        </button>
      </div>
    </form>
  );
}

function RemediateConfirm({
  finding,
  side,
  actions,
  onCancel,
  onDone,
}: {
  finding: FlagFinding;
  side: 'left' | 'right' | undefined;
  actions: DetailActions;
  onCancel: () => void;
  onDone: (text: string) => void;
}) {
  const [error, setError] = useState<UiError | null>(null);
  const [saving, setSaving] = useState(false);
  const go = useRef<HTMLButtonElement>(null);
  useEffect(() => go.current?.focus(), []);
  const what = side && finding.sides ? finding.sides[side] : finding.permissions.join(t('people.separator')) || finding.kindLabel;
  const confirm = async () => {
    setSaving(true);
    setError(null);
    const result = await actions.remediate(finding.id, side);
    setSaving(false);
    if (!result.ok) return setError(result.error);
    onDone(t('flags.remediate.done', { jobs: result.requestIds.length, tasks: result.taskIds.length }));
    onCancel();
  };
  return (
    <div class="al-flags-form" data-testid="al-remediate-form">
      <p>{t('flags.remediate.confirm', { what })}</p>
      {error && (
        <p class="al-flags-error" role="alert" data-testid="al-flags-error">
          {t('flags.error', { message: error.message })}
        </p>
      )}
      <div class="al-flags-actions">
        <button ref={go} type="button" data-testid="al-remediate-confirm" disabled={saving} onClick={trusted(() => void confirm())}>
          {saving ? t('flags.remediate.saving') : t('flags.remediate.go')}
        </button>
        <button type="button" onClick={trusted(onCancel)} disabled={saving}>
          {t('flags.accept.cancel')}
        </button>
      </div>
    </div>
  );
}
