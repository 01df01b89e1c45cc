/** Licences: seats bought, assigned and free per connection and licence; reclaim seats of departed, suspended or dormant accounts. */
import { useEffect, useState } from 'preact/hooks';
import type { LicenseSeatsView, UiError } from '@accesslens/shared';
import { formatDate, t } from '../../utils/i18n';
import { api } from './api';
import { Problem, type ConsoleContext } from './Console';
import { Loading } from './table';

export function LicencesTab({ ctx }: { ctx: ConsoleContext }) {
  const [licences, setLicences] = useState<LicenseSeatsView[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const load = async () => {
    const r = await api<{ licenses: LicenseSeatsView[] }>('GET', '/api/admin/license-seats');
    if (r.ok) setLicences(r.data.licenses);
    else setError(r.error);
  };
  useEffect(() => {
    void load();
  }, []);
  return (
    <div class="stack">
      <Problem error={error} />
      {licences === null && error === null && <Loading />}
      {licences && licences.length === 0 && <p class="muted">{t('console.licences.none')}</p>}
      {licences?.map((l) => (
        <Licence key={l.id} l={l} canReclaim={ctx.me.roles.includes('admin')} onChanged={load} onError={setError} />
      ))}
    </div>
  );
}

function Licence({
  l,
  canReclaim,
  onChanged,
  onError,
}: {
  l: LicenseSeatsView;
  canReclaim: boolean;
  onChanged: () => Promise<void>;
  onError: (e: UiError | null) => void;
}) {
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [done, setDone] = useState<string | null>(null);
  const open = l.reclaimable.filter((r) => !r.reclaim);
  const toggle = (id: string) => setChosen((s) => (s.has(id) ? new Set([...s].filter((x) => x !== id)) : new Set([...s, id])));
  const reclaim = async () => {
    const r = await api<{ reclaimed: unknown[] }>('POST', `/api/admin/license-seats/${encodeURIComponent(l.id)}/reclaim`, { accountIds: [...chosen] });
    if (!r.ok) return onError(r.error);
    onError(null);
    setDone(t('console.licences.reclaimed', { n: r.data.reclaimed.length }));
    setChosen(new Set());
    await onChanged();
  };
  const over = l.free < 0;
  return (
    <section class="card-lite" data-testid="al-licence" data-licence-id={l.id} data-free={l.free}>
      <h2>
        {l.connectionName} · {l.name} <span class="muted">({l.type})</span>
      </h2>
      <dl class="seats">
        <div>
          <dt>{t('console.licences.bought')}</dt>
          <dd>{l.seats}</dd>
        </div>
        <div>
          <dt>{t('console.licences.assigned')}</dt>
          <dd>{l.assigned}</dd>
        </div>
        <div>
          <dt>{t('console.licences.free')}</dt>
          <dd class={over ? 'error' : ''}>{l.free}</dd>
        </div>
        <div>
          <dt>{t('console.licences.termEnd')}</dt>
          <dd>{l.termEndDate ? `${formatDate(`${l.termEndDate}T00:00:00Z`)} (${t('console.licences.daysLeft', { n: l.daysToTermEnd ?? 0 })})` : '—'}</dd>
        </div>
      </dl>
      <meter
        min={0}
        max={Math.max(l.seats, l.assigned)}
        value={l.assigned}
        aria-label={t('console.licences.usage', { assigned: l.assigned, seats: l.seats })}
      />
      {l.reclaimable.length > 0 && (
        <>
          <h3>{t('console.licences.reclaimable', { n: l.reclaimable.length })}</h3>
          <ul class="reclaim">
            {l.reclaimable.map((r) => (
              <li key={r.account.id}>
                <label class="inline">
                  <input
                    type="checkbox"
                    disabled={!canReclaim || !!r.reclaim}
                    checked={chosen.has(r.account.id)}
                    onChange={() => toggle(r.account.id)}
                    data-testid="al-licence-holder"
                  />
                  <span>
                    {r.person.name} · {r.account.username} · {t(`console.seatState.${r.state}`)}
                    {r.daysSinceLogin !== null && ` · ${t('console.licences.sinceLogin', { n: r.daysSinceLogin })}`}
                    {r.reclaim && ` · ${t('console.licences.reclaimStarted', { date: formatDate(r.reclaim.at) })}`}
                  </span>
                </label>
              </li>
            ))}
          </ul>
          {canReclaim && open.length > 0 && (
            <div class="actions">
              <button type="button" class="button" onClick={() => setChosen(new Set(open.map((r) => r.account.id)))}>
                {t('console.selectAll')}
              </button>
              <button type="button" class="button button--primary" data-testid="al-licence-reclaim" disabled={chosen.size === 0} onClick={() => void reclaim()}>
                {t('console.licences.reclaim', { n: chosen.size })}
              </button>
            </div>
          )}
        </>
      )}
      {done && (
        <p class="ok" role="status">
          {done}
        </p>
      )}
    </section>
  );
}
