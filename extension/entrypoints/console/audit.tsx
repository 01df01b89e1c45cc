/** The audit log: filter, search, page back in time, export CSV or JSON, verify the hash chain in one click. */
import { useEffect, useState } from 'preact/hooks';
import type { AuditResponse, AuditVerifyResponse, UiError } from '@accesslens/shared';
import { formatDateTime, t } from '../../utils/i18n';
import { api, download, qs, today } from './api';
import { Problem, type ConsoleContext } from './Console';
import { DataTable } from './table';

interface Filter {
  action: string;
  q: string;
  from: string;
  to: string;
}

/** A date field (YYYY-MM-DD) as the instant the server filters on: the day's start, or the next day's for `to`. */
const instant = (day: string, end = false) => (day ? new Date(Date.parse(`${day}T00:00:00.000Z`) + (end ? 86_400_000 : 0)).toISOString() : undefined);

export function AuditTab(_props: { ctx: ConsoleContext }) {
  const [draft, setDraft] = useState<Filter>({ action: '', q: '', from: '', to: '' });
  const [filter, setFilter] = useState<Filter>(draft);
  const [pages, setPages] = useState<(number | null)[]>([null]);
  const [page, setPage] = useState<AuditResponse | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [verify, setVerify] = useState<AuditVerifyResponse | null>(null);
  const [verifying, setVerifying] = useState(false);
  const before = pages[pages.length - 1] ?? null;
  const params = { action: filter.action.trim(), q: filter.q.trim(), from: instant(filter.from), to: instant(filter.to, true) };

  useEffect(() => {
    void api<AuditResponse>('GET', `/api/audit${qs({ ...params, limit: 50, before })}`).then((r) => {
      if (r.ok) {
        setPage(r.data);
        setError(null);
      } else setError(r.error);
    });
  }, [JSON.stringify(filter), before]);

  const apply = (e: Event) => {
    e.preventDefault();
    setFilter(draft);
    setPages([null]);
  };
  const exportAs = async (format: 'csv' | 'json') => {
    const r = await api<string | unknown[]>('GET', `/api/audit/export${qs({ ...params, format })}`);
    if (!r.ok) return setError(r.error);
    download(
      `audit-${today()}.${format}`,
      typeof r.data === 'string' ? r.data : JSON.stringify(r.data, null, 2),
      format === 'csv' ? 'text/csv' : 'application/json',
    );
  };
  const runVerify = async () => {
    setVerifying(true);
    const r = await api<AuditVerifyResponse>('POST', '/api/audit/verify', {});
    setVerifying(false);
    if (r.ok) setVerify(r.data);
    else setError(r.error);
  };

  return (
    <div class="stack">
      <form class="filters" onSubmit={apply} aria-label={t('console.filters')}>
        <label>
          <span>{t('console.audit.action')}</span>
          <input
            type="text"
            value={draft.action}
            placeholder="policy."
            data-testid="al-audit-action"
            onInput={(e) => setDraft({ ...draft, action: e.currentTarget.value })}
          />
        </label>
        <label>
          <span>{t('console.search')}</span>
          <input type="search" value={draft.q} data-testid="al-audit-search" onInput={(e) => setDraft({ ...draft, q: e.currentTarget.value })} />
        </label>
        <label>
          <span>{t('console.audit.from')}</span>
          <input type="date" value={draft.from} onInput={(e) => setDraft({ ...draft, from: e.currentTarget.value })} />
        </label>
        <label>
          <span>{t('console.audit.to')}</span>
          <input type="date" value={draft.to} onInput={(e) => setDraft({ ...draft, to: e.currentTarget.value })} />
        </label>
        <button type="submit" class="button button--primary" data-testid="al-audit-apply">
          {t('console.apply')}
        </button>
        <button type="button" class="button" data-testid="al-audit-export-csv" onClick={() => void exportAs('csv')}>
          {t('console.exportCsv')}
        </button>
        <button type="button" class="button" data-testid="al-audit-export-json" onClick={() => void exportAs('json')}>
          {t('console.exportJson')}
        </button>
        <button type="button" class="button" data-testid="al-audit-verify" disabled={verifying} onClick={() => void runVerify()}>
          {verifying ? t('console.audit.verifying') : t('console.audit.verify')}
        </button>
      </form>
      {verify && (
        <p class={verify.ok ? 'ok' : 'error'} role="status" data-testid="al-audit-verified" data-ok={String(verify.ok)}>
          {verify.ok
            ? t('console.audit.chainOk', { n: verify.events })
            : t('console.audit.chainBroken', { seq: verify.brokenSeq ?? '?', reason: verify.reason ?? '' })}
        </p>
      )}
      <Problem error={error} />
      {page && (
        <>
          <p class="muted" role="status">
            {page.total === 0 ? t('console.audit.none') : t('console.audit.count', { n: page.total })}
          </p>
          <DataTable
            testid="al-audit-table"
            caption={t('console.tab.audit')}
            wrap
            columns={['#', t('console.audit.when'), t('console.audit.actor'), t('console.audit.action'), t('console.audit.subject'), t('console.audit.data')]}
            rows={page.events}
            row={(e) => (
              <tr key={e.seq} data-testid="al-audit-row" data-action={e.action}>
                <td>{e.seq}</td>
                <td>{formatDateTime(e.at)}</td>
                <td>{e.actorName ?? e.actorId ?? t('console.audit.system')}</td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>
                  {e.subjectType}
                  {e.subjectId ? ` · ${e.subjectId}` : ''}
                </td>
                <td class="data-cell">
                  <code>{JSON.stringify(e.data).slice(0, 200)}</code>
                </td>
              </tr>
            )}
          />
          <div class="pager">
            <button type="button" class="button" disabled={pages.length === 1} onClick={() => setPages((p) => p.slice(0, -1))}>
              {t('console.newer')}
            </button>
            <button type="button" class="button" disabled={!page.nextBefore} onClick={() => setPages((p) => [...p, page.nextBefore])}>
              {t('console.older')}
            </button>
          </div>
        </>
      )}
    </div>
  );
}
