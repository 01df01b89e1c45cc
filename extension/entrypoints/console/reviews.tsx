/** Access reviews for administrators: start a campaign over a scope, follow its counts, the auditors' report (CSV and printable), cancel. */
import { useEffect, useState } from 'preact/hooks';
import { RISK_LEVELS, UNREVIEWED_ACTIONS, type ReviewCampaignView, type ReviewReportResponse, type UiError } from '@accesslens/shared';
import { formatDate, formatDateTime, t } from '../../utils/i18n';
import { api, download } from './api';
import { Problem, type ConsoleContext } from './Console';
import { Select } from './findings';
import { DataTable, Table } from './table';

export function ReviewsTab({ ctx }: { ctx: ConsoleContext }) {
  const [campaigns, setCampaigns] = useState<ReviewCampaignView[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [report, setReport] = useState<ReviewReportResponse | null>(null);
  const isAdmin = ctx.me.roles.includes('admin');
  const load = async () => {
    const r = await api<{ campaigns: ReviewCampaignView[] }>('GET', '/api/reviews/campaigns');
    if (r.ok) setCampaigns(r.data.campaigns);
    else setError(r.error);
  };
  useEffect(() => {
    void load();
  }, []);
  const csv = async (c: ReviewCampaignView) => {
    const r = await api<string>('GET', `/api/reviews/campaigns/${encodeURIComponent(c.id)}/report.csv`);
    if (r.ok) download(`review-${c.id}.csv`, r.data, 'text/csv');
    else setError(r.error);
  };
  const showReport = async (c: ReviewCampaignView) => {
    const r = await api<ReviewReportResponse>('GET', `/api/reviews/campaigns/${encodeURIComponent(c.id)}/report`);
    if (r.ok) setReport(r.data);
    else setError(r.error);
  };
  const cancel = async (c: ReviewCampaignView) => {
    const r = await api('POST', `/api/reviews/campaigns/${encodeURIComponent(c.id)}/cancel`, {});
    if (!r.ok) return setError(r.error);
    await load();
  };
  if (report) return <Report report={report} onClose={() => setReport(null)} />;
  return (
    <div class="stack">
      <Problem error={error} />
      {isAdmin && <NewCampaign ctx={ctx} onCreated={load} onError={setError} />}
      <h2>{t('console.reviews.campaigns')}</h2>
      <DataTable
        testid="al-review-campaigns"
        columns={[t('console.reviews.name'), t('console.reviews.status'), t('console.reviews.due'), t('console.reviews.progress')]}
        actions
        rows={campaigns}
        failed={error !== null}
        empty={t('console.reviews.none')}
        row={(c) => (
          <tr key={c.id} data-testid="al-review-campaign" data-campaign-id={c.id} data-status={c.status}>
            <td>{c.name}</td>
            <td>{t(`console.campaign.${c.status}`)}</td>
            <td>{formatDateTime(c.dueAt)}</td>
            <td>
              {t('console.reviews.counts', {
                decided: c.counts.total - c.counts.pending,
                total: c.counts.total,
                revoked: c.counts.revoked + c.counts.autoRevoked,
              })}
            </td>
            <td class="actions">
              <button type="button" class="link" onClick={() => void showReport(c)}>
                {t('console.reviews.report')}
              </button>
              <button type="button" class="link" onClick={() => void csv(c)}>
                {t('console.exportCsv')}
              </button>
              {isAdmin && (c.status === 'open' || c.status === 'escalated') && (
                <button type="button" class="link" onClick={() => void cancel(c)}>
                  {t('console.reviews.cancel')}
                </button>
              )}
            </td>
          </tr>
        )}
      />
    </div>
  );
}

function NewCampaign({ ctx, onCreated, onError }: { ctx: ConsoleContext; onCreated: () => Promise<void>; onError: (e: UiError | null) => void }) {
  const inTwoWeeks = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
  const [f, setF] = useState({
    name: '',
    connectionId: '',
    department: '',
    minRisk: '',
    grantedBeforeDays: '',
    reviewers: 'manager',
    dueDate: inTwoWeeks,
    onUnreviewed: 'keep',
    escalateTo: '',
    reviewerId: '',
  });
  const [created, setCreated] = useState<string | null>(null);
  const set = (k: keyof typeof f, v: string) => setF({ ...f, [k]: v });
  const submit = async (e: Event) => {
    e.preventDefault();
    const scope = {
      ...(f.connectionId ? { connectionId: f.connectionId } : {}),
      ...(f.department.trim() ? { department: f.department.trim() } : {}),
      ...(f.minRisk ? { minRisk: f.minRisk } : {}),
      ...(f.grantedBeforeDays ? { grantedBeforeDays: Number(f.grantedBeforeDays) } : {}),
    };
    const r = await api<{ campaign: ReviewCampaignView }>('POST', '/api/reviews/campaigns', {
      name: f.name.trim(),
      scope,
      reviewers: f.reviewers === 'person' ? { kind: 'person', personId: f.reviewerId.trim() } : { kind: f.reviewers },
      dueAt: new Date(`${f.dueDate}T23:59:00`).toISOString(),
      onUnreviewed: f.onUnreviewed,
      ...(f.onUnreviewed === 'escalate' && f.escalateTo.trim() ? { escalateTo: f.escalateTo.trim() } : {}),
    });
    if (!r.ok) return onError(r.error);
    onError(null);
    setCreated(t('console.reviews.created', { name: r.data.campaign.name, n: r.data.campaign.counts.total }));
    await onCreated();
  };
  return (
    <details class="card-lite">
      <summary>{t('console.reviews.new')}</summary>
      <form class="filters" onSubmit={(e) => void submit(e)}>
        <label>
          <span>{t('console.reviews.name')}</span>
          <input type="text" required value={f.name} data-testid="al-review-name" onInput={(e) => set('name', e.currentTarget.value)} />
        </label>
        <Select
          label={t('console.findings.crm')}
          value={f.connectionId}
          onChange={(v) => set('connectionId', v)}
          options={ctx.connections.map((c) => [c.id, c.name])}
        />
        <label>
          <span>{t('console.findings.department')}</span>
          <input type="text" value={f.department} data-testid="al-review-department" onInput={(e) => set('department', e.currentTarget.value)} />
        </label>
        <Select
          label={t('console.reviews.minRisk')}
          value={f.minRisk}
          onChange={(v) => set('minRisk', v)}
          options={RISK_LEVELS.map((r) => [r, t(`risk.${r}`)])}
        />
        <label>
          <span>{t('console.reviews.grantedBefore')}</span>
          <input type="number" min={1} value={f.grantedBeforeDays} onInput={(e) => set('grantedBeforeDays', e.currentTarget.value)} />
        </label>
        <Select
          label={t('console.reviews.reviewers')}
          value={f.reviewers}
          noAny
          onChange={(v) => set('reviewers', v)}
          options={[
            ['manager', t('console.reviewers.manager')],
            ['owner', t('console.reviewers.owner')],
            ['person', t('console.reviewers.person')],
          ]}
        />
        {f.reviewers === 'person' && (
          <label>
            <span>{t('console.reviews.reviewerId')}</span>
            <input type="text" required value={f.reviewerId} onInput={(e) => set('reviewerId', e.currentTarget.value)} />
          </label>
        )}
        <label>
          <span>{t('console.reviews.due')}</span>
          <input type="date" required value={f.dueDate} onInput={(e) => set('dueDate', e.currentTarget.value)} />
        </label>
        <Select
          label={t('console.reviews.onUnreviewed')}
          value={f.onUnreviewed}
          noAny
          onChange={(v) => set('onUnreviewed', v)}
          options={UNREVIEWED_ACTIONS.map((a) => [a, t(`console.unreviewed.${a}`)])}
        />
        {f.onUnreviewed === 'escalate' && (
          <label>
            <span>{t('console.reviews.escalateTo')}</span>
            <input type="text" value={f.escalateTo} onInput={(e) => set('escalateTo', e.currentTarget.value)} />
          </label>
        )}
        <button type="submit" class="button button--primary" data-testid="al-review-start">
          {t('console.reviews.start')}
        </button>
      </form>
      {created && (
        <p class="ok" role="status">
          {created}
        </p>
      )}
    </details>
  );
}

/** The printable summary for auditors. */
function Report({ report, onClose }: { report: ReviewReportResponse; onClose: () => void }) {
  const c = report.campaign;
  return (
    <div class="stack report" data-testid="al-review-report">
      <div class="actions no-print">
        <button type="button" class="button" onClick={onClose}>
          {t('console.back')}
        </button>
        <button type="button" class="button" onClick={() => window.print()}>
          {t('console.print')}
        </button>
      </div>
      <h2>{c.name}</h2>
      <p class="muted">{t('console.reviews.reportLine', { by: c.createdBy.name, due: formatDate(c.dueAt), generated: formatDateTime(report.generatedAt) })}</p>
      <p>
        {t('console.reviews.counts', { decided: c.counts.total - c.counts.pending, total: c.counts.total, revoked: c.counts.revoked + c.counts.autoRevoked })}
      </p>
      <Table columns={[t('console.reviews.reviewer'), t('console.reviews.kept'), t('console.reviews.revoked'), t('console.reviews.pending')]}>
        {report.byReviewer.map((r) => (
          <tr key={r.reviewer.id}>
            <td>{r.reviewer.name}</td>
            <td>{r.kept}</td>
            <td>{r.revoked}</td>
            <td>{r.pending}</td>
          </tr>
        ))}
      </Table>
      <Table columns={[t('console.findings.person'), t('console.reviews.access'), t('console.reviews.outcome'), t('console.reviews.comment')]}>
        {report.items.map((i) => (
          <tr key={i.id}>
            <td>
              {i.person.name}
              <div class="muted">{i.connection.name}</div>
            </td>
            <td>{i.access.type === 'bundle' ? i.access.name : i.access.key}</td>
            <td>{i.outcome ? t(`console.outcome.${i.outcome}`) : t('console.reviews.pending')}</td>
            <td>
              {i.comment ?? ''}
              {i.decidedBy ? ` — ${i.decidedBy.name}` : ''}
            </td>
          </tr>
        ))}
      </Table>
    </div>
  );
}
