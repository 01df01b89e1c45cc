/** Findings: filters, search, sort, paging through any number (cursor pages), CSV export, and the charts. */
import { useEffect, useState } from 'preact/hooks';
import {
  FINDING_KINDS,
  FINDING_SORTS,
  FINDING_STATUSES,
  RISK_LEVELS,
  type FindingView,
  type FindingsResponse,
  type FindingsSummaryResponse,
  type UiError,
} from '@accesslens/shared';
import { formatDate, t } from '../../utils/i18n';
import { api, download, qs, today } from './api';
import { DepartmentBars, SEVERITY_COLOUR, SeverityBars, Trend } from './charts';
import { Problem, type ConsoleContext } from './Console';
import { DataTable } from './table';

const PAGE = 50;

interface Filters {
  kind: string;
  severity: string;
  department: string;
  connectionId: string;
  status: string;
  q: string;
  sort: string;
}
const EMPTY: Filters = { kind: '', severity: '', department: '', connectionId: '', status: '', q: '', sort: 'severity' };

export function FindingsTab({ ctx }: { ctx: ConsoleContext }) {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [search, setSearch] = useState('');
  const [page, setPage] = useState<FindingsResponse | null>(null);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [summary, setSummary] = useState<FindingsSummaryResponse | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);

  const [generation, setGeneration] = useState(0);
  const refresh = () => setGeneration((g) => g + 1);
  const { sort, ...filter } = filters;
  const cursor = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    const timer = setTimeout(() => setFilters((f) => (f.q === search.trim() ? f : { ...f, q: search.trim() })), 300);
    return () => clearTimeout(timer);
  }, [search]);

  useEffect(() => {
    let live = true;
    setBusy(true);
    void api<FindingsResponse>('GET', `/api/findings${qs({ ...filter, sort, limit: PAGE, cursor })}`).then((r) => {
      if (!live) return;
      setBusy(false);
      if (r.ok) {
        setPage(r.data);
        setError(null);
      } else setError(r.error);
    });
    return () => {
      live = false;
    };
  }, [JSON.stringify(filters), cursor, generation]);

  useEffect(() => {
    const { status: _s, ...forSummary } = filter;
    void api<FindingsSummaryResponse>('GET', `/api/findings/summary${qs({ ...forSummary, days: 30 })}`).then((r) => r.ok && setSummary(r.data));
  }, [filter.kind, filter.severity, filter.department, filter.connectionId, filter.q, generation]);

  const set = (k: keyof Filters, v: string) => {
    setFilters((f) => ({ ...f, [k]: v }));
    setCursors([null]);
  };
  const exportCsv = async () => {
    const r = await api<string>('GET', `/api/findings/export${qs(filter)}`);
    if (r.ok) download(`findings-${today()}.csv`, r.data, 'text/csv');
    else setError(r.error);
  };
  const first = (cursors.length - 1) * PAGE;

  return (
    <div class="stack">
      {summary && (
        <div class="charts" data-testid="al-findings-charts">
          <SeverityBars summary={summary} />
          <DepartmentBars summary={summary} onPick={(d) => set('department', d)} />
          <Trend summary={summary} />
        </div>
      )}
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label={t('console.filters')}>
        <label>
          <span>{t('console.search')}</span>
          <input
            type="search"
            value={search}
            data-testid="al-findings-search"
            onInput={(e) => setSearch(e.currentTarget.value)}
            placeholder={t('console.findings.searchHint')}
          />
        </label>
        <Select
          label={t('console.findings.kind')}
          value={filters.kind}
          testid="al-findings-kind"
          onChange={(v) => set('kind', v)}
          options={FINDING_KINDS.map((k) => [k, kindLabel(k)])}
        />
        <Select
          label={t('console.findings.severity')}
          value={filters.severity}
          testid="al-findings-severity"
          onChange={(v) => set('severity', v)}
          options={RISK_LEVELS.map((r) => [r, t(`risk.${r}`)])}
        />
        <Select
          label={t('console.findings.department')}
          value={filters.department}
          testid="al-findings-department"
          onChange={(v) => set('department', v)}
          options={[...new Set([...(summary?.byDepartment.map((d) => d.department) ?? []), ...(filters.department ? [filters.department] : [])])].map((d) => [
            d,
            d,
          ])}
        />
        <Select
          label={t('console.findings.crm')}
          value={filters.connectionId}
          testid="al-findings-crm"
          onChange={(v) => set('connectionId', v)}
          options={ctx.connections.map((c) => [c.id, c.name])}
        />
        <Select
          label={t('console.findings.status')}
          value={filters.status}
          testid="al-findings-status"
          onChange={(v) => set('status', v)}
          options={FINDING_STATUSES.map((s) => [s, statusLabel(s)])}
          anyLabel={t('console.findings.openAccepted')}
        />
        <Select
          label={t('console.sort')}
          value={filters.sort}
          testid="al-findings-sort"
          onChange={(v) => set('sort', v)}
          options={FINDING_SORTS.map((s) => [s, t(`console.sort.${s}`)])}
          noAny
        />
        <button type="button" class="button" data-testid="al-findings-export" onClick={() => void exportCsv()}>
          {t('console.exportCsv')}
        </button>
      </form>
      <Problem error={error} />
      {page && (
        <>
          <p class="muted" role="status" data-testid="al-findings-total" data-total={page.total}>
            {busy
              ? t('console.loading')
              : page.total === 0
                ? t('console.findings.none')
                : t('console.range', { from: first + 1, to: first + page.findings.length, total: page.total })}
          </p>
          <DataTable
            testid="al-findings-table"
            caption={t('console.tab.findings')}
            wrap
            columns={[
              t('console.findings.severity'),
              t('console.findings.person'),
              t('console.findings.department'),
              t('console.findings.kind'),
              t('console.findings.crm'),
              t('console.findings.permissions'),
              t('console.findings.status'),
              t('console.findings.since'),
            ]}
            actions
            rows={page.findings}
            row={(f) => <FindingRow key={f.id} f={f} canAct={ctx.me.roles.includes('admin')} onChanged={refresh} onError={setError} />}
          />
          <div class="pager">
            <button type="button" class="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
              {t('console.prev')}
            </button>
            <button
              type="button"
              class="button"
              data-testid="al-findings-next"
              disabled={!page.nextCursor}
              onClick={() => setCursors((c) => [...c, page.nextCursor])}
            >
              {t('console.next')}
            </button>
          </div>
        </>
      )}
    </div>
  );
}

const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

function FindingRow({ f, canAct, onChanged, onError }: { f: FindingView; canAct: boolean; onChanged: () => void; onError: (e: UiError | null) => void }) {
  const [accepting, setAccepting] = useState(false);
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState(inDays(90));
  const accept = async (e: Event) => {
    e.preventDefault();
    const r = await api('POST', `/api/findings/${encodeURIComponent(f.id)}/accept`, {
      reason: reason.trim(),
      expiresAt: new Date(`${until}T00:00:00.000Z`).toISOString(),
    });
    if (!r.ok) return onError(r.error);
    onError(null);
    setAccepting(false);
    onChanged();
  };
  const reopen = async () => {
    const r = await api('POST', `/api/findings/${encodeURIComponent(f.id)}/reopen`, {});
    if (!r.ok) return onError(r.error);
    onError(null);
    onChanged();
  };
  return (
    <tr data-testid="al-finding-row" data-finding-id={f.id} data-kind={f.kind} data-severity={f.severity} data-department={f.department} data-status={f.status}>
      <td>
        <span class="sev" style={{ background: SEVERITY_COLOUR[f.severity] }}>
          {t(`risk.${f.severity}`)}
        </span>
      </td>
      <td>
        {f.personName}
        <div class="muted">{f.accountUsername}</div>
      </td>
      <td>
        {f.department}
        <div class="muted">{f.title}</div>
      </td>
      <td>{kindLabel(f.kind)}</td>
      <td>{f.connectionName}</td>
      <td class="keys-cell">
        {f.keys.slice(0, 4).join(', ')}
        {f.keys.length > 4 ? ` +${f.keys.length - 4}` : ''}
      </td>
      <td>
        {statusLabel(f.status)}
        {f.acceptance && <div class="muted">{t('console.findings.acceptedUntil', { date: formatDate(f.acceptance.expiresAt) })}</div>}
        {f.temporary && (
          <div class="muted">
            {t('console.findings.temporaryUntil', { names: f.temporary.approvedByNames.join(', '), date: formatDate(f.temporary.expiresAt) })}
          </div>
        )}
      </td>
      <td>{formatDate(f.firstSeenAt)}</td>
      <td>
        {canAct && f.status === 'open' && !accepting && (
          <button type="button" class="link" data-testid="al-console-accept" onClick={() => setAccepting(true)}>
            {t('console.findings.accept')}
          </button>
        )}
        {canAct && f.status === 'accepted' && (
          <button type="button" class="link" data-testid="al-console-reopen" onClick={() => void reopen()}>
            {t('console.findings.reopen')}
          </button>
        )}
        {accepting && (
          <form class="accept" onSubmit={(e) => void accept(e)}>
            <label class="field">
              <span>{t('console.findings.acceptReason')}</span>
              <input
                type="text"
                required
                maxLength={2000}
                value={reason}
                data-testid="al-console-accept-reason"
                onInput={(e) => setReason(e.currentTarget.value)}
              />
            </label>
            <label class="field">
              <span>{t('console.findings.acceptUntil')}</span>
              <input type="date" required min={inDays(1)} max={inDays(365)} value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
            </label>
            <div class="actions">
              <button type="submit" class="button button--primary" data-testid="al-console-accept-save">
                {t('console.findings.accept')}
              </button>
              <button type="button" class="button" onClick={() => setAccepting(false)}>
                {t('console.cancel')}
              </button>
            </div>
          </form>
        )}
      </td>
    </tr>
  );
}

export function kindLabel(kind: string): string {
  return t(`console.kind.${kind}` as 'console.kind.dormant');
}
export function statusLabel(status: string): string {
  return t(`console.status.${status}` as 'console.status.open');
}

export function Select({
  label,
  value,
  options,
  onChange,
  testid,
  noAny,
  anyLabel,
}: {
  label: string;
  value: string;
  options: (readonly [string, string])[];
  onChange: (v: string) => void;
  testid?: string;
  noAny?: boolean;
  anyLabel?: string;
}) {
  return (
    <label>
      <span>{label}</span>
      <select value={value} data-testid={testid} onChange={(e) => onChange(e.currentTarget.value)}>
        {!noAny && <option value="">{anyLabel ?? t('console.any')}</option>}
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );
}
