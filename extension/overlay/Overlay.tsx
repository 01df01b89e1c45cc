/** The badge (bottom-right) and its panel: what the viewer may do with this page's object, and why. */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { AccessRequest, ObservedPage, PageDecision, PermissionRow, Result, UiError } from '@accesslens/shared';
import { ask } from '../utils/messaging';
import { durationText, formatDate, formatRelative, labelOf, t } from '../utils/i18n';
import type { LiveCheckAnswer, MutationFailure, PageDecideAnswer, RequestAnswer } from '../utils/protocol';
import { liveCan, liveMismatches } from '@accesslens/shared/live-check';
import { live as liveChecks } from './live';
import { problemText } from '../utils/preview';
import { isOpen, namesOf, statusLine, timelineLines, waitingForIds } from '../utils/requests';
import { usePort } from '../utils/use-port';
import { recordBadgeShown, type Navigation } from './perf';
import { RequestForm, type FormIntent } from './RequestForm';
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
  const panel = useRef<HTMLElement>(null);
  /** Where focus was when the panel opened by itself: it goes back there when the panel closes. */
  const returnTo = useRef<HTMLElement | null>(null);

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

  // The CRM refused this page: explain at once, and take focus so the keyboard is there too.
  useEffect(() => {
    if (!page.denialText) return;
    const active = document.activeElement;
    if (!returnTo.current && active instanceof HTMLElement && active !== document.body && !host.contains(active)) returnTo.current = active;
    setOpen(true);
    requestAnimationFrame(() => panel.current?.focus({ preventScroll: true }));
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
    // Back where the person was before the panel opened by itself (if it is still there), else the badge.
    const back = returnTo.current;
    returnTo.current = null;
    if (back && back.isConnected) back.focus();
    else badge.current?.focus();
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
      <section ref={panel} data-testid="al-panel" class="al-panel" hidden={!open} role="dialog" tabIndex={-1} aria-label={panelTitle(page, decision)}>
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
        onClick={trusted(() => {
          if (open) return close();
          // Opened from the badge: focus moves into the panel, and comes back to the badge on close.
          returnTo.current = null;
          setOpen(true);
          requestAnimationFrame(() => panel.current?.focus({ preventScroll: true }));
        })}
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
  return <ReadyBody answer={answer} decision={verdict.decision} page={page} settled={settled} refresh={refresh} />;
}

function ReadyBody({
  answer,
  decision,
  page,
  settled,
  refresh,
}: {
  answer: PageDecideAnswer;
  decision: PageDecision;
  page: ObservedPage;
  settled: boolean;
  refresh: () => Promise<void>;
}) {
  /** Rows ticked for one request of several permissions. */
  const [selected, setSelected] = useState<string[]>([]);
  const [form, setForm] = useState<FormIntent | null>(null);
  /** The permissions last requested from this overlay (may differ from the page's focus). */
  const [chosen, setChosen] = useState<string[]>([]);
  const [sentFor, setSentFor] = useState<string | null>(null);
  const nameOf = (id: string) => answer.names[id];
  const options = requestableRows(decision, answer.keys ?? {});
  const requestable = new Set(options.map((r) => r.key));
  // Ticked rows that stopped being requestable (requested meanwhile) drop out.
  const ticked = selected.filter((k) => requestable.has(k));
  const history = answer.history ?? [];
  const openForm = (intent: FormIntent) => {
    setSentFor(null);
    setForm(intent);
  };
  return (
    <>
      {answer.sync.lastError && answer.sync.lastError.code === 'network' && <p class="al-note">{t('panel.offline')}</p>}
      {page.denialText && <p class="al-denial">{t('panel.denialSeen', { text: page.denialText })}</p>}
      {history
        .filter((r) => r.status === 'needs-info')
        .map((r) => (
          <NeedsInfo key={r.id} request={r} nameOf={nameOf} decision={decision} refresh={refresh} />
        ))}
      <Expiring answer={answer} decision={decision} page={page} refresh={refresh} />
      <ul class="al-rows">
        {decision.rows.map((row) => (
          <Row
            key={row.key}
            row={row}
            focus={row.action === decision.focus}
            nameOf={nameOf}
            approvers={decision.approvers.map((p) => p.id)}
            selectable={requestable.has(row.key) && form === null}
            selected={ticked.includes(row.key)}
            onSelect={(on) => setSelected(on ? [...ticked, row.key] : ticked.filter((k) => k !== row.key))}
          />
        ))}
      </ul>
      <FocusSection
        answer={answer}
        decision={decision}
        page={page}
        settled={settled}
        refresh={refresh}
        options={options}
        ticked={ticked}
        form={form}
        chosen={chosen}
        sentFor={sentFor}
        openForm={openForm}
        closeForm={() => setForm(null)}
        onSubmitted={async (keys, forName) => {
          setChosen(keys);
          setSelected([]);
          setForm(null);
          setSentFor(forName);
          await refresh();
        }}
      />
      <History history={history} decision={decision} nameOf={nameOf} options={options} openForm={openForm} formOpen={form !== null} />
    </>
  );
}

function Row({
  row,
  focus,
  nameOf,
  approvers,
  selectable,
  selected,
  onSelect,
}: {
  row: PermissionRow;
  focus: boolean;
  nameOf: (id: string) => string | undefined;
  approvers: string[];
  selectable: boolean;
  selected: boolean;
  onSelect: (on: boolean) => void;
}) {
  const title = labelOf(row.label, t(`action.${row.action}`));
  return (
    <li data-testid="al-permission-row" data-permission={row.key} data-state={row.state} class={`al-row al-row--${row.state}${focus ? ' al-row--focus' : ''}`}>
      <div class="al-row-head">
        <span class="al-row-action">
          {selectable && (
            <input
              type="checkbox"
              class="al-row-select"
              data-testid="al-row-select"
              checked={selected}
              aria-label={t('overlay.selectRow', { permission: title })}
              onChange={trusted((e: Event) => onSelect((e.target as HTMLInputElement).checked))}
            />
          )}
          {t(`action.${row.action}`)}
        </span>
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
    return <p class="al-why">{row.grantExpiresAt ? t('why.grantedUntil', { date: formatDate(row.grantExpiresAt) }) : t('why.grantedOpenEnded')}</p>;
  if (row.state === 'approved' && row.request) return <p class="al-why">{statusLine(row.request, nameOf, approvers)}</p>;
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
    if (row.request.status === 'needs-info') return <p class="al-why">{statusLine(row.request, nameOf, approvers)}</p>;
    const ids = waitingForIds(row.request);
    return <p class="al-why">{t('why.pending', { when: formatRelative(row.request.createdAt), names: namesOf(ids.length ? ids : approvers, nameOf) })}</p>;
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

/** Rows that may be asked for from here: missing, requestable, with no open or just-approved request for that key. */
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
 * After a grant: does the CRM let the person in now? Where the CRM has current-user APIs (Salesforce,
 * Dynamics: `live.check`), they answer for this user, object and record; else (or when the API gives no
 * answer) the page itself does — its own refusal is watched for, none within a moment means the access
 * works. HubSpot applies changes only at sign-in. Where the API's answer differs from AccessLens's record,
 * each difference is named, with the age of that record (the connection's last import).
 */
function AccessCheck({
  request,
  page,
  crm,
  settled,
  decision,
  lastImportAt,
}: {
  request: AccessRequest;
  page: ObservedPage;
  crm: ObservedPage['crm'];
  settled: boolean;
  decision: PageDecision;
  lastImportAt: string | null;
}) {
  const [reported, setReported] = useState(request.fulfilment?.state === 'problem-reported');
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<LiveCheckAnswer | null>(null);
  useEffect(() => {
    const check = liveChecks.check;
    if (!check) return;
    let current = true;
    setLive(null);
    check(page).then(
      (a) => current && setLive(a),
      () => current && setLive({ verdict: null, unavailable: 'unreachable' }),
    );
    return () => {
      current = false;
    };
  }, [page.url, page.object, page.recordId]);
  const verdict = live?.verdict ?? null;
  // What the CRM's API says about this grant's keys on this page.
  const answers = verdict ? decision.rows.filter((r) => request.permissions.includes(r.key)).map((r) => liveCan(verdict, r.action)) : [];
  const apiSays = answers.includes(false) ? 'blocked' : answers.includes(true) ? 'works' : null;
  const result = page.denialText ? 'blocked' : (apiSays ?? (settled && (!liveChecks.check || live) ? 'works' : 'checking'));
  // The API answered (and the page, if it refused, agrees): say so; else the page's own behaviour answered.
  const method = apiSays === 'blocked' || (apiSays === 'works' && !page.denialText) ? 'api' : 'page';
  const report = async () => {
    setError(null);
    // What the page showed: the CRM's refusal, or (none shown) what its API said, as identifiers and booleans.
    const said = verdict ? `${verdict.method}: ${JSON.stringify({ object: verdict.object, record: verdict.record })}` : null;
    const sent = await ask({ type: 'request.reportProblem', requestId: request.id, page: { ...page, denialText: page.denialText ?? said } });
    if (sent.ok) setReported(true);
    else setError(sent.error.message);
  };
  const mismatches = verdict ? liveMismatches(decision.rows, verdict) : [];
  const imported = lastImportAt ? t('check.lastImport', { when: formatRelative(lastImportAt) }) : t('check.neverImported');
  if (result === 'checking')
    return (
      <p data-testid="al-access-check" data-result="checking" class="al-muted">
        {t('check.checking')}
      </p>
    );
  return (
    <div data-testid="al-access-check" data-result={result} data-method={method} class={`al-check al-check--${result}`}>
      <p>{result === 'works' ? t(method === 'api' ? 'check.worksApi' : 'check.works') : t(method === 'api' ? 'check.blockedApi' : 'check.blocked')}</p>
      <p class="al-muted" data-testid="al-check-method">
        {method === 'api'
          ? t('check.byApi', { crm: t(`crm.${crm}`) })
          : live?.unavailable && live.unavailable !== 'unsupported'
            ? t('check.apiUnavailable', { crm: t(`crm.${crm}`), reason: t(`check.unavailable.${live.unavailable}`) })
            : t('check.byPage')}
      </p>
      {mismatches.map((m) => (
        <p key={m.key} class="al-note" data-testid="al-check-mismatch" data-permission={m.key} data-crm={String(m.crm)}>
          {t(m.crm ? 'check.mismatchCan' : 'check.mismatchCannot', { action: t(`action.${m.action}`).toLowerCase(), imported })}
        </p>
      ))}
      {result === 'blocked' && crm === 'hubspot' && <p class="al-muted">{t('check.signOutIn')}</p>}
      {result === 'blocked' &&
        (reported ? (
          <p data-testid="al-problem-reported">{t('check.reported')}</p>
        ) : (
          <button type="button" data-testid="al-report-problem" class="al-button" onClick={trusted(() => void report())}>
            {t('check.report')}
          </button>
        ))}
      {error && (
        <p class="al-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** The server's timeline of a request, newest first: "Ben Ortiz was reminded 2 hours ago". */
function Timeline({ request, nameOf, limit }: { request: AccessRequest; nameOf: (id: string) => string | undefined; limit?: number }) {
  const lines = timelineLines(request, nameOf, limit);
  if (lines.length === 0) return null;
  return (
    <ul class="al-timeline" aria-label={t('overlay.timelineLabel')}>
      {lines.map((l, i) => (
        <li key={`${l.at}-${i}`} data-testid="al-timeline-line" data-kind={l.kind}>
          {l.text}
        </li>
      ))}
    </ul>
  );
}

/** Why the server refused a request: its policy problems in the person's language, else its message. */
function failureText(failure: MutationFailure, decision: PageDecision): string {
  if (!failure.problems || failure.problems.length === 0) return failure.error.message;
  const keyLabel = (key: string) => {
    const row = decision.rows.find((r) => r.key === key);
    return row ? labelOf(row.label, key) : key;
  };
  return failure.problems.map((p) => problemText(p, keyLabel)).join(' ');
}

/** The keys of a request, named for people where this page knows them. */
function keysText(request: AccessRequest, decision: PageDecision): string {
  return request.permissions
    .map((k) => {
      const row = decision.rows.find((r) => r.key === k);
      return row ? labelOf(row.label, k) : k;
    })
    .join(t('people.separator'));
}

/** An approver asked a question: shown with an answer field (request.answer), until answered. */
function NeedsInfo({
  request,
  nameOf,
  decision,
  refresh,
}: {
  request: AccessRequest;
  nameOf: (id: string) => string | undefined;
  decision: PageDecision;
  refresh: () => Promise<void>;
}) {
  const [answer, setAnswer] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const field = useRef<HTMLTextAreaElement>(null);
  const asker = request.needsInfo ? (nameOf(request.needsInfo.askedBy) ?? t('people.unknown')) : t('people.unknown');
  const fieldId = `al-answer-${request.id}`;
  const send = async (e: Event) => {
    e.preventDefault();
    if (!e.isTrusted || sending) return;
    if (!answer.trim()) {
      setError(t('request.answerRequired'));
      field.current?.focus();
      return;
    }
    setError(null);
    setSending(true);
    const result = await ask<RequestAnswer>({ type: 'request.answer', requestId: request.id, answer: answer.trim() });
    setSending(false);
    if (!result.ok) {
      setError(result.error.message);
      return;
    }
    await refresh();
  };
  return (
    <form
      class="al-section al-status al-status--needs-info"
      data-testid="al-needs-info"
      data-request-id={request.id}
      onSubmit={(e) => e.preventDefault()}
      noValidate
    >
      <h3>{t('overlay.needsInfoTitle', { name: asker })}</h3>
      <p class="al-muted">{keysText(request, decision)}</p>
      {request.needsInfo && (
        <p data-testid="al-needs-info-question">
          {t('overlay.needsInfoAsked', { name: asker, when: formatRelative(request.needsInfo.askedAt), question: request.needsInfo.question })}
        </p>
      )}
      <label class="al-field" for={fieldId}>
        <span>{t('overlay.answerLabel')}</span>
      </label>
      <textarea
        id={fieldId}
        ref={field}
        class="al-textarea"
        data-testid="al-answer"
        rows={2}
        maxLength={2000}
        aria-invalid={error !== null}
        value={answer}
        onInput={(e) => setAnswer((e.target as HTMLTextAreaElement).value)}
      />
      {error && (
        <p class="al-error" data-testid="al-error" role="alert">
          {error}
        </p>
      )}
      <div class="al-actions">
        <button type="submit" data-testid="al-answer-send" class="al-button al-button--primary" onClick={send} disabled={sending}>
          {sending ? t('overlay.answerSending') : t('overlay.answerSend')}
        </button>
      </div>
    </form>
  );
}

const DAY_MS = 86_400_000;

/**
 * Grants of this page ending soon (the policy's reminder days, or the server's `expiring` step): a
 * reminder with one-click "Extend" — a new request linked to the grant, routed like any request.
 */
function Expiring({ answer, decision, page, refresh }: { answer: PageDecideAnswer; decision: PageDecision; page: ObservedPage; refresh: () => Promise<void> }) {
  const history = answer.history ?? [];
  const days = answer.expiryReminderDays ?? 3;
  const now = Date.now();
  const ending = history.filter((r) => {
    if (r.status !== 'fulfilled' || !r.expiresAt) return false;
    const end = Date.parse(r.expiresAt);
    if (end <= now) return false;
    const reminded = (r.timeline ?? []).some((e) => e.kind === 'expiring' && e.expiresAt === r.expiresAt);
    return reminded || end - now <= days * DAY_MS;
  });
  if (ending.length === 0) return null;
  return (
    <>
      {ending.map((grant) => (
        <ExpiringGrant
          key={grant.id}
          grant={grant}
          extension={history.find((r) => r.extendsRequestId === grant.id && (isOpen(r) || r.status === 'approved')) ?? null}
          answer={answer}
          decision={decision}
          page={page}
          refresh={refresh}
        />
      ))}
    </>
  );
}

function ExpiringGrant({
  grant,
  extension,
  answer,
  decision,
  page,
  refresh,
}: {
  grant: AccessRequest;
  extension: AccessRequest | null;
  answer: PageDecideAnswer;
  decision: PageDecision;
  page: ObservedPage;
  refresh: () => Promise<void>;
}) {
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nameOf = (id: string) => answer.names[id];
  // The grant's own length, within what every key allows.
  const lists = grant.permissions.map((k) => answer.keys[k]?.durationChoices).filter((c): c is number[] => Array.isArray(c));
  const choices = lists.length > 0 ? lists.reduce((a, b) => a.filter((d) => b.includes(d))) : decision.durationChoices;
  const days = choices.includes(grant.durationDays) ? grant.durationDays : (choices.filter((d) => d <= grant.durationDays).at(-1) ?? choices[0] ?? 1);
  const extend = async () => {
    setError(null);
    setSending(true);
    const result = await ask<RequestAnswer>({
      type: 'request.submit',
      page,
      permissions: [],
      justification: grant.justification,
      evidence: grant.evidence,
      durationDays: days,
      extendsRequestId: grant.id,
    });
    setSending(false);
    if (!result.ok) setError(result.error.message);
    else await refresh();
  };
  const failure = answer.failures.find((f) => f.name === 'request.create' && grant.permissions.some((k) => f.permissions.includes(k)));
  return (
    <div class="al-section al-status al-status--expiring" data-testid="al-expiring" data-request-id={grant.id} role="status">
      <p>
        {t('overlay.expiring', {
          permissions: keysText(grant, decision),
          when: formatRelative(grant.expiresAt!),
          date: formatDate(grant.expiresAt!),
        })}
      </p>
      {extension ? (
        <p data-testid="al-extension-status" data-status={extension.status}>
          {t('overlay.extensionPending', {
            status: statusLine(
              extension,
              nameOf,
              decision.approvers.map((p) => p.id),
            ),
          })}
        </p>
      ) : (
        <button
          type="button"
          data-testid="al-extend"
          class="al-button al-button--primary"
          disabled={sending}
          aria-label={t('overlay.extendFor', { duration: durationText(days) })}
          onClick={trusted(() => void extend())}
        >
          {sending ? t('overlay.extending') : t('overlay.extend')}
        </button>
      )}
      {(error ?? (failure && !extension ? failureText(failure, decision) : null)) && (
        <p class="al-error" data-testid="al-error" role="alert">
          {error ?? (failure ? failureText(failure, decision) : '')}
        </p>
      )}
    </div>
  );
}

/** Every request of mine about this page's permissions, every status: history stays after expiry. */
function History({
  history,
  decision,
  nameOf,
  options,
  openForm,
  formOpen,
}: {
  history: AccessRequest[];
  decision: PageDecision;
  nameOf: (id: string) => string | undefined;
  options: PermissionRow[];
  openForm: (intent: FormIntent) => void;
  formOpen: boolean;
}) {
  if (history.length === 0) return null;
  const approvers = decision.approvers.map((p) => p.id);
  return (
    <details class="al-section al-history" data-testid="al-history">
      <summary>{t('overlay.history', { n: history.length })}</summary>
      <ul class="al-history-list">
        {history.map((r) => {
          const again = r.status === 'denied' ? options.filter((o) => r.permissions.includes(o.key)).map((o) => o.key) : [];
          return (
            <li key={r.id} data-testid="al-history-item" data-request-id={r.id} data-status={r.status} class={`al-status al-status--${r.status}`}>
              <p>
                <strong>{keysText(r, decision)}</strong>
              </p>
              <p>{statusLine(r, nameOf, approvers)}</p>
              {r.filedBy && r.filedBy !== r.requesterId && (
                <p class="al-muted">
                  {t('overlay.forWhom', { name: nameOf(r.filedBy) ?? t('people.unknown'), report: nameOf(r.requesterId) ?? t('people.unknown') })}
                </p>
              )}
              <Timeline request={r} nameOf={nameOf} />
              {again.length > 0 && !formOpen && (
                <button
                  type="button"
                  class="al-button"
                  data-testid="al-history-request-again"
                  onClick={trusted(() => openForm({ kind: 'keys', keys: again, previous: r }))}
                >
                  {t('overlay.requestAgain')}
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </details>
  );
}

function FocusSection({
  answer,
  decision,
  page,
  settled,
  refresh,
  options,
  ticked,
  form,
  chosen,
  sentFor,
  openForm,
  closeForm,
  onSubmitted,
}: {
  answer: PageDecideAnswer;
  decision: PageDecision;
  page: ObservedPage;
  /** The page has shown no refusal for a while after it loaded. */
  settled: boolean;
  refresh: () => Promise<void>;
  options: PermissionRow[];
  ticked: string[];
  form: FormIntent | null;
  chosen: string[];
  sentFor: string | null;
  openForm: (intent: FormIntent) => void;
  closeForm: () => void;
  onSubmitted: (keys: string[], forName: string | null) => Promise<void>;
}) {
  const focusRow = decision.rows.find((r) => r.action === decision.focus);
  if (!focusRow) return null;
  const nameOf = (id: string) => answer.names[id];
  const approverIds = decision.approvers.map((p) => p.id);
  // Whose request to show: the one just made here, else the focus's, else the newest on this page.
  const newest = decision.rows.filter((r) => r.request).sort((a, b) => b.request!.createdAt.localeCompare(a.request!.createdAt))[0];
  const statusRow = decision.rows.find((r) => chosen.includes(r.key) && r.request) ?? (focusRow.request ? focusRow : (newest ?? focusRow));
  const request = statusRow.request;
  const failure = answer.failures.find((f) => f.permissions.includes(focusRow.key) || chosen.some((k) => f.permissions.includes(k)));
  const granted = request && (request.status === 'approved' || request.status === 'fulfilled');
  const bundles = answer.bundles ?? [];
  // The denied request's keys that may be asked for again from here.
  const again = request?.status === 'denied' ? options.filter((o) => request.permissions.includes(o.key)).map((o) => o.key) : [];
  const initial = ticked.length > 0 ? ticked : options.some((o) => o.key === focusRow.key) ? [focusRow.key] : options.slice(0, 1).map((o) => o.key);

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
          {request.startsAt && request.status === 'approved' && <p class="al-muted">{t('request.status.startsAt', { date: formatDate(request.startsAt) })}</p>}
          {request.status === 'pending' && answer.sync.outbox > 0 && answer.sync.lastError && <p class="al-muted">{t('status.queued')}</p>}
          <Timeline request={request} nameOf={nameOf} limit={3} />
          {again.length > 0 && form === null && (
            <button
              type="button"
              data-testid="al-request-again"
              class="al-button"
              onClick={trusted(() => openForm({ kind: 'keys', keys: again, previous: request }))}
            >
              {t('overlay.requestAgain')}
            </button>
          )}
          {granted && request.status === 'fulfilled' && grantedBeforeThisPage(request) ? (
            <AccessCheck request={request} page={page} crm={page.crm} settled={settled} decision={decision} lastImportAt={answer.lastImportAt ?? null} />
          ) : (
            granted && (
              <button type="button" class="al-button al-button--primary" onClick={trusted(() => location.reload())}>
                {t('status.reload')}
              </button>
            )
          )}
        </div>
      )}
      {sentFor && (
        <p class="al-note" data-testid="al-sent-for" role="status">
          {t('overlay.filedFor', { name: sentFor })}
        </p>
      )}
      {failure && (!request || !isOpen(request)) && (
        <div class="al-error" data-testid="al-error" role="alert">
          <p>{t('status.failed', { message: failureText(failure, decision) })}</p>
        </div>
      )}
      {form ? (
        <RequestForm
          decision={decision}
          rows={options}
          intent={form}
          bundles={bundles}
          keys={answer.keys ?? {}}
          page={page}
          nameOf={nameOf}
          onCancel={closeForm}
          onSubmitted={onSubmitted}
        />
      ) : options.length > 0 || bundles.length > 0 ? (
        <div class="al-actions">
          {options.length > 0 && (
            <button
              type="button"
              data-testid="al-request-button"
              class="al-button al-button--primary"
              onClick={trusted(() => openForm({ kind: 'keys', keys: initial, previous: null }))}
            >
              {ticked.length > 1 ? t('overlay.requestSelected', { n: ticked.length }) : t('request.button')}
            </button>
          )}
          {bundles.length > 0 && (
            <button
              type="button"
              data-testid="al-request-bundle"
              class="al-button"
              onClick={trusted(() => openForm({ kind: 'bundle', bundleId: bundles[0]!.id }))}
            >
              {t('overlay.requestBundle')}
            </button>
          )}
        </div>
      ) : (
        focusRow.state === 'missing' && !(focusRow.request && isOpen(focusRow.request)) && <p class="al-muted">{t('request.notRequestable')}</p>
      )}
    </div>
  );
}
