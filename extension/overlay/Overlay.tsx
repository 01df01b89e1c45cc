/** The badge (bottom-right) and its panel: what the viewer may do with this page's object, and why. */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { AccessRequest, ObservedPage, PageDecision, PermissionRow, Result, UiError } from '@accesslens/shared';
import { ask } from '../utils/messaging';
import { formatDate, formatRelative, labelOf, t} from '../utils/i18n';
import type { PageDecideAnswer } from '../utils/protocol';
import { isOpen, namesOf, statusLine, waitingForIds } from '../utils/requests';
import { usePort } from '../utils/use-port';
import { recordBadgeShown, type Navigation } from './perf';
import { RequestForm } from './RequestForm';
import { trusted } from './trusted';

interface Props {
  page: ObservedPage;
  /** The page has shown no refusal for a while after it loaded (or navigated). */
  settled: boolean;
  /** What this document last learned for a page like this one (same object and kind): shown at once, then refreshed. */
  initial: PageDecideAnswer | null;
  nav: Navigation;
  host: HTMLElement;
  decide: (page: ObservedPage) => Promise<Result<PageDecideAnswer>>;
}

export function Overlay({ page, settled, initial, nav, host, decide }: Props) {
  const [answer, setAnswer] = useState<PageDecideAnswer | null>(initial);
  const [error, setError] = useState<UiError | null>(null);
  const [open, setOpen] = useState(page.denialText !== null);
  const measured = useRef(false);
  const badge = useRef<HTMLButtonElement>(null);

  const refresh = useCallback(async () => {
    const result = await decide(page);
    if (result.ok) {
      const { ok: _ok, ...rest } = result;
      setAnswer(rest);
      setError(null);
    } else setError(result.error);
  }, [page, decide]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // The CRM refused this page: explain at once.
  useEffect(() => {
    if (page.denialText) setOpen(true);
  }, [page.denialText]);

  useLayoutEffect(() => {
    if (measured.current || (!answer && !error)) return;
    measured.current = true;
    recordBadgeShown(host, nav);
  }, [answer, error]);

  const decision = answer?.verdict?.state === 'ready' ? answer.verdict.decision : null;
  const waiting = decision?.rows.some((r) => r.request !== null && isOpen(r.request)) ?? false;
  usePort('overlay', open || waiting, () => void refresh());

  const close = () => {
    setOpen(false);
    badge.current?.focus();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape' && open) {
      e.stopPropagation();
      close();
    }
  };

  return (
    <div class="al-root" onKeyDown={onKeyDown}>
      {/* Always in the DOM (hidden when closed) so the rows can be read without opening it. */}
      <section data-testid="al-panel" class="al-panel" hidden={!open} role="dialog" aria-label={panelTitle(page, decision)}>
          {/* A div, not <header>: a header outside <main>/<article>/… is a banner landmark, and the CRM page has its own. */}
          <div class="al-panel-head">
            <h2>{panelTitle(page, decision)}</h2>
            <button type="button" class="al-icon-button" onClick={trusted(close)} aria-label={t('panel.close')} title={t('panel.close')}>
              ×
            </button>
          </div>
          <PanelBody answer={answer} error={error} page={page} settled={settled} refresh={refresh} />
      </section>
      <button
        ref={badge}
        type="button"
        data-testid="al-badge"
        class={`al-badge al-badge--${badgeTone(answer, decision)}`}
        aria-expanded={open}
        aria-label={`${badgeText(answer, decision)} — ${t('badge.open')}`}
        onClick={trusted(() => setOpen(!open))}
      >
        {badgeText(answer, decision)}
      </button>
    </div>
  );
}

function panelTitle(page: ObservedPage, decision: PageDecision | null): string {
  return t('panel.title', { object: decision ? labelOf(decision.objectLabels, decision.object) : (page.object ?? '') });
}

function badgeText(answer: PageDecideAnswer | null, decision: PageDecision | null): string {
  if (!answer) return t('badge.loading');
  if (answer.paused) return t('badge.paused');
  if (!answer.signedIn) return t('badge.signIn');
  if (decision)
    return t('badge.summary', { object: labelOf(decision.objectLabels, decision.object), allowed: decision.summary.allowed, total: decision.rows.length });
  if (answer.verdict?.state === 'no-account') return t('badge.noAccount');
  return t('badge.noConnection');
}

function badgeTone(answer: PageDecideAnswer | null, decision: PageDecision | null): string {
  if (!answer || !answer.signedIn || !decision) return 'neutral';
  if (decision.rows.some((r) => r.state === 'pending')) return 'pending';
  return decision.summary.missing > 0 ? 'missing' : 'allowed';
}

function PanelBody({
  answer,
  error,
  page,
  settled,
  refresh,
}: {
  answer: PageDecideAnswer | null;
  error: UiError | null;
  page: ObservedPage;
  settled: boolean;
  refresh: () => Promise<void>;
}) {
  if (error && !answer)
    return (
      <p class="al-error" data-testid="al-error" role="alert">
        {t('panel.error', { message: error.message })}
      </p>
    );
  if (!answer) return <p class="al-muted">{t('badge.loading')}</p>;
  if (answer.paused)
    return (
      <p class="al-note" data-testid="al-paused" role="status">
        {t('panel.paused', { version: answer.paused.fixedIn, reason: answer.paused.reason })}
      </p>
    );
  if (!answer.signedIn)
    return (
      <div class="al-section">
        <p>{t('panel.signedOut')}</p>
        <button type="button" class="al-button al-button--primary" onClick={trusted(() => void ask({ type: 'options.open' }))}>
          {t('panel.openOptions')}
        </button>
      </div>
    );
  const verdict = answer.verdict;
  if (!verdict || verdict.state === 'no-connection') return <p class="al-muted">{t('panel.noConnection')}</p>;
  if (verdict.state === 'no-account') return <p class="al-muted">{t('panel.noAccount')}</p>;
  if (verdict.state === 'choose-connection')
    return (
      <div class="al-section" data-testid="al-choose-connection">
        <p>{t('panel.chooseConnection', { names: verdict.connections.map((c) => c.name).join(t('people.separator')) })}</p>
        <button type="button" class="al-button al-button--primary" onClick={trusted(() => void ask({ type: 'options.open' }))}>
          {t('panel.openOptions')}
        </button>
      </div>
    );
  const decision = verdict.decision;
  const nameOf = (id: string) => answer.names[id];
  return (
    <>
      {answer.sync.lastError && answer.sync.lastError.code === 'network' && <p class="al-note">{t('panel.offline')}</p>}
      {page.denialText && <p class="al-denial">{t('panel.denialSeen', { text: page.denialText })}</p>}
      <ul class="al-rows">
        {decision.rows.map((row) => (
          <Row key={row.key} row={row} focus={row.action === decision.focus} nameOf={nameOf} approvers={decision.approvers.map((p) => p.id)} />
        ))}
      </ul>
      <FocusSection answer={answer} decision={decision} page={page} settled={settled} refresh={refresh} />
    </>
  );
}

function Row({
  row,
  focus,
  nameOf,
  approvers,
}: {
  row: PermissionRow;
  focus: boolean;
  nameOf: (id: string) => string | undefined;
  approvers: string[];
}) {
  const title = labelOf(row.label, t(`action.${row.action}`));
  return (
    <li
      data-testid="al-permission-row"
      data-permission={row.key}
      data-state={row.state}
      class={`al-row al-row--${row.state}${focus ? ' al-row--focus' : ''}`}
    >
      <div class="al-row-head">
        <span class="al-row-action">{t(`action.${row.action}`)}</span>
        <span class={`al-chip al-chip--${row.state}`}>{t(`state.${row.state}`)}</span>
      </div>
      <div class="al-row-label" title={row.key}>
        {title}
      </div>
      <Why row={row} nameOf={nameOf} approvers={approvers} />
    </li>
  );
}

function Why({ row, nameOf, approvers }: { row: PermissionRow; nameOf: (id: string) => string | undefined; approvers: string[] }) {
  const ex = row.explanation;
  if (row.state === 'granted')
    return (
      <p class="al-why">
        {row.grantExpiresAt ? t('why.grantedUntil', { date: formatDate(row.grantExpiresAt) }) : t('why.grantedOpenEnded')}
      </p>
    );
  if (row.state === 'approved' && row.request)
    return <p class="al-why">{statusLine(row.request, nameOf, approvers)}</p>;
  if (ex.allowed) {
    const path = ex.paths[0];
    if (!path) return null;
    let text: string;
    if (path.bundles.length > 0)
      text = t('why.via', {
        path: path.bundles.map((b) => `${t(`bundle.${b.kind}`)}: ${b.name}`).join(' › '),
      });
    else text = t('why.direct');
    return (
      <p class="al-why">
        {text}
        {path.impliedBy ? ` (${t('why.impliedBy', { key: path.impliedBy })})` : ''}
      </p>
    );
  }
  if (row.state === 'pending' && row.request) {
    const ids = waitingForIds(row.request);
    return (
      <p class="al-why">
        {t('why.pending', { when: formatRelative(row.request.createdAt), names: namesOf(ids.length ? ids : approvers, nameOf) })}
      </p>
    );
  }
  return (
    <div class="al-why">
      <p>{t('why.nothingGrants')}</p>
      {ex.grantableBy.length > 0 && (
        <p class="al-muted">{t('why.heldBy', { bundles: ex.grantableBy.map((b) => `${b.name} (${t(`bundle.${b.kind}`)})`).join(', ') })}</p>
      )}
    </div>
  );
}

/** Rows that may be asked for from here: missing, with no open or just-approved request. */
function requestableRows(decision: PageDecision, keys: PageDecideAnswer['keys']): PermissionRow[] {
  return decision.rows.filter(
    (r) =>
      r.state === 'missing' &&
      (keys[r.key]?.requestable ?? (r.action === decision.focus && decision.requestable)) &&
      !(r.request && (isOpen(r.request) || r.request.status === 'approved' || r.request.status === 'fulfilled')),
  );
}

/** Whether the CRM held the grant before this page was loaded: then the page shows the access as it is now. */
function grantedBeforeThisPage(request: AccessRequest): boolean {
  const at = request.fulfilment?.confirmedAt ?? request.grantedAt;
  return at !== null && Date.parse(at) <= performance.timeOrigin;
}

/**
 * After a grant: does the CRM let the person in now? The page itself answers — its own refusal is
 * watched for; none within a moment means the access works. HubSpot applies changes only at sign-in.
 */
function AccessCheck({ request, page, crm, settled }: { request: AccessRequest; page: ObservedPage; crm: ObservedPage['crm']; settled: boolean }) {
  const [reported, setReported] = useState(request.fulfilment?.state === 'problem-reported');
  const [error, setError] = useState<string | null>(null);
  const report = async () => {
    setError(null);
    const result = await ask({ type: 'request.reportProblem', requestId: request.id, page });
    if (result.ok) setReported(true);
    else setError(result.error.message);
  };
  if (page.denialText)
    return (
      <div data-testid="al-access-check" data-result="blocked" class="al-check al-check--blocked">
        <p>{t('check.blocked')}</p>
        {crm === 'hubspot' && <p class="al-muted">{t('check.signOutIn')}</p>}
        {reported ? (
          <p data-testid="al-problem-reported">{t('check.reported')}</p>
        ) : (
          <button type="button" data-testid="al-report-problem" class="al-button" onClick={trusted(() => void report())}>
            {t('check.report')}
          </button>
        )}
        {error && (
          <p class="al-error" role="alert">
            {error}
          </p>
        )}
      </div>
    );
  if (!settled)
    return (
      <p data-testid="al-access-check" data-result="checking" class="al-muted">
        {t('check.checking')}
      </p>
    );
  return (
    <p data-testid="al-access-check" data-result="works" class="al-check al-check--works">
      {t('check.works')}
    </p>
  );
}

function FocusSection({
  answer,
  decision,
  page,
  settled,
  refresh,
}: {
  answer: PageDecideAnswer;
  decision: PageDecision;
  page: ObservedPage;
  /** The page has shown no refusal for a while after it loaded. */
  settled: boolean;
  refresh: () => Promise<void>;
}) {
  const [formOpen, setFormOpen] = useState(false);
  /** The permission last requested from this overlay (may differ from the page's focus). */
  const [chosen, setChosen] = useState<string | null>(null);
  const focusRow = decision.rows.find((r) => r.action === decision.focus);
  if (!focusRow) return null;
  const nameOf = (id: string) => answer.names[id];
  const approverIds = decision.approvers.map((p) => p.id);
  // Whose request to show: the one just made here, else the focus's, else the newest on this page.
  const newest = decision.rows
    .filter((r) => r.request)
    .sort((a, b) => b.request!.createdAt.localeCompare(a.request!.createdAt))[0];
  const statusRow =
    decision.rows.find((r) => r.key === chosen && r.request) ?? (focusRow.request ? focusRow : (newest ?? focusRow));
  const request = statusRow.request;
  const failure = answer.failures.find((f) => f.permissions.includes(focusRow.key) || (chosen !== null && f.permissions.includes(chosen)));
  const granted = request && (request.status === 'approved' || request.status === 'fulfilled');
  const focusRequest = focusRow.request;
  const focusGranted = focusRequest && (focusRequest.status === 'approved' || focusRequest.status === 'fulfilled');
  const canRequest = focusRow.state === 'missing' && (!focusRequest || !isOpen(focusRequest)) && !focusGranted;
  const options = requestableRows(decision, answer.keys ?? {});

  return (
    <div class="al-section al-focus">
      {request && (
        <div
          data-testid="al-request-status"
          data-status={request.status}
          data-permission={statusRow.key}
          class={`al-status al-status--${request.status}`}
          role="status"
        >
          <p>{statusLine(request, nameOf, approverIds)}</p>
          {request.status === 'pending' && answer.sync.outbox > 0 && answer.sync.lastError && (
            <p class="al-muted">{t('status.queued')}</p>
          )}
          {granted && request.status === 'fulfilled' && grantedBeforeThisPage(request) ? (
            <AccessCheck request={request} page={page} crm={page.crm} settled={settled} />
          ) : (
            granted && (
              <button type="button" class="al-button al-button--primary" onClick={trusted(() => location.reload())}>
                {t('status.reload')}
              </button>
            )
          )}
        </div>
      )}
      {failure && (!request || !isOpen(request)) && (
        <p class="al-error" data-testid="al-error" role="alert">
          {t('status.failed', { message: failure.error.message })}
        </p>
      )}
      {canRequest &&
        (options.length > 0 ? (
          formOpen ? (
            <RequestForm
              decision={decision}
              rows={options}
              initialKey={focusRow.key}
              keys={answer.keys ?? {}}
              page={page}
              onCancel={() => setFormOpen(false)}
              onSubmitted={async (key) => {
                setChosen(key);
                setFormOpen(false);
                await refresh();
              }}
            />
          ) : (
            <button
              type="button"
              data-testid="al-request-button"
              class="al-button al-button--primary"
              onClick={trusted(() => setFormOpen(true))}
            >
              {focusRequest ? t('request.again') : t('request.button')}
            </button>
          )
        ) : (
          <p class="al-muted">{t('request.notRequestable')}</p>
        ))}
    </div>
  );
}
