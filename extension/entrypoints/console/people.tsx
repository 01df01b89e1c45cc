/** People and accounts: who holds what, with the engine's explanation of every path. */
import { useEffect, useState } from 'preact/hooks';
import type { AdminPeopleResponse, HoldersResponse, PersonAccessResponse, UiError } from '@accesslens/shared';
import { formatDate, labelOf, t } from '../../utils/i18n';
import { api, qs } from './api';
import { Problem, type ConsoleContext } from './Console';
import { Loading, Table } from './table';

type Path = PersonAccessResponse['accounts'][number]['permissions'][number]['paths'][number];

export function PeopleTab({ ctx }: { ctx: ConsoleContext }) {
  const [q, setQ] = useState('');
  const [people, setPeople] = useState<AdminPeopleResponse | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const [access, setAccess] = useState<PersonAccessResponse | null>(null);
  const [error, setError] = useState<UiError | null>(null);

  useEffect(() => {
    const timer = setTimeout(() => {
      void api<AdminPeopleResponse>('GET', `/api/admin/people${qs({ q: q.trim(), limit: 50 })}`).then((r) => (r.ok ? setPeople(r.data) : setError(r.error)));
    }, 250);
    return () => clearTimeout(timer);
  }, [q]);

  useEffect(() => {
    if (!chosen) return;
    setAccess(null);
    void api<PersonAccessResponse>('GET', `/api/admin/access/people/${encodeURIComponent(chosen)}`).then((r) => (r.ok ? setAccess(r.data) : setError(r.error)));
  }, [chosen]);

  return (
    <div class="split">
      <div class="stack">
        <label class="field">
          <span>{t('console.people.search')}</span>
          <input type="search" value={q} data-testid="al-people-search" onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        <Problem error={error} />
        {people && people.people.length === 0 && <p class="muted">{t('console.people.none')}</p>}
        <ul class="people" aria-label={t('console.tab.people')}>
          {people?.people.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                class={`person${chosen === p.id ? ' person--chosen' : ''}`}
                aria-pressed={chosen === p.id}
                data-testid="al-people-person"
                data-person-id={p.id}
                onClick={() => setChosen(p.id)}
              >
                <strong>{p.name}</strong>
                <span class="muted">
                  {p.department} · {p.title}
                  {p.status !== 'active' ? ` · ${t(`console.personStatus.${p.status}` as 'console.personStatus.departed')}` : ''}
                </span>
              </button>
            </li>
          ))}
        </ul>
      </div>
      <div class="stack" aria-live="polite">
        <Holders ctx={ctx} onPick={setChosen} />
        {!chosen && <p class="muted">{t('console.people.choose')}</p>}
        {chosen && !access && <Loading />}
        {access && <Access access={access} />}
      </div>
    </div>
  );
}

function Access({ access }: { access: PersonAccessResponse }) {
  const p = access.person;
  return (
    <div data-testid="al-people-access" data-person-id={p.id}>
      <h2>{p.name}</h2>
      <p class="muted">
        {p.email} · {p.department} · {p.title}
      </p>
      {access.accounts.length === 0 && <p class="muted">{t('console.people.noAccounts')}</p>}
      {access.accounts.map((a) => (
        <section key={a.account.id} class="card-lite">
          <h3>
            {a.connection.name} · {a.account.username}
            {!a.account.active && <span class="muted"> ({t('console.people.inactive')})</span>}
          </h3>
          <p class="muted">
            {a.account.lastLoginAt ? t('console.people.lastLogin', { date: formatDate(a.account.lastLoginAt) }) : t('console.people.neverLoggedIn')}
            {a.findingIds.length > 0 && ` · ${t('console.people.findings', { n: a.findingIds.length })}`}
          </p>
          <h4>{t('console.people.assignments')}</h4>
          <ul>
            {a.assignments
              .filter((x) => x.active)
              .map((x) => (
                <li key={x.id}>
                  {x.target.type === 'bundle' ? x.target.name : x.target.key}{' '}
                  <span class="muted">
                    ({t(`console.source.${x.source}` as 'console.source.directory')}
                    {x.expiresAt ? `, ${t('console.until', { date: formatDate(x.expiresAt) })}` : ''})
                  </span>
                </li>
              ))}
          </ul>
          <h4>{t('console.people.permissions', { n: a.permissions.length })}</h4>
          <Table columns={[t('console.people.permission'), t('console.people.risk'), t('console.people.why')]}>
            {a.permissions.map((k) => (
              <tr key={k.key} data-testid="al-people-permission" data-key={k.key}>
                <td>
                  {labelOf(k.labels, k.key)}
                  <div class="muted">{k.key}</div>
                </td>
                <td>{k.risk ? t(`risk.${k.risk}`) : '—'}</td>
                <td>
                  <ul class="paths">
                    {k.paths.map((path, i) => (
                      <li key={i}>{pathText(path)}</li>
                    ))}
                  </ul>
                  {k.missingPrerequisites.length > 0 && <p class="error">{t('console.people.missingPrereq', { keys: k.missingPrerequisites.join(', ') })}</p>}
                </td>
              </tr>
            ))}
          </Table>
        </section>
      ))}
    </div>
  );
}

/** "via Revenue Ops › Quote Desk (request, until 3 Apr)" */
export function pathText(path: Path): string {
  const via = path.bundles.length ? path.bundles.map((b) => b.name).join(' › ') : t('console.people.direct');
  const implied = path.implication.length > 1 ? ` · ${t('console.people.implied', { keys: path.implication.join(' → ') })}` : '';
  const source = t(`console.source.${path.source}` as 'console.source.directory');
  return `${t('why.via', { path: via })} (${source}${path.expiresAt ? `, ${t('console.until', { date: formatDate(path.expiresAt) })}` : ''})${implied}`;
}

/** Who holds a permission on a connection, each with the paths the engine finds. */
function Holders({ ctx, onPick }: { ctx: ConsoleContext; onPick: (personId: string) => void }) {
  const [connectionId, setConnectionId] = useState('');
  const [key, setKey] = useState('');
  const [answer, setAnswer] = useState<HoldersResponse | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const connection = connectionId || ctx.connections[0]?.id || '';
  const ask = async (e: Event) => {
    e.preventDefault();
    const r = await api<HoldersResponse>('GET', `/api/admin/access/holders${qs({ connectionId: connection, key: key.trim(), limit: 100 })}`);
    if (r.ok) {
      setAnswer(r.data);
      setError(null);
    } else setError(r.error);
  };
  return (
    <details class="card-lite">
      <summary>{t('console.holders.title')}</summary>
      <form class="filters" onSubmit={(e) => void ask(e)}>
        <label>
          <span>{t('console.findings.crm')}</span>
          <select value={connection} data-testid="al-holders-connection" onChange={(e) => setConnectionId(e.currentTarget.value)}>
            {ctx.connections.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span>{t('console.people.permission')}</span>
          <input
            type="text"
            required
            value={key}
            placeholder="system:ExportReport"
            data-testid="al-holders-key"
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="button">
          {t('console.holders.find')}
        </button>
      </form>
      <Problem error={error} />
      {answer && (
        <>
          <p class="muted">{t('console.holders.count', { n: answer.total })}</p>
          <ul class="paths" data-testid="al-holders">
            {answer.holders.map((h) => (
              <li key={h.account.id}>
                <button type="button" class="link" onClick={() => onPick(h.person.id)}>
                  {h.person.name}
                </button>{' '}
                <span class="muted">
                  {h.person.department} · {h.account.username}
                </span>
                <ul>
                  {h.paths.map((p, i) => (
                    <li key={i}>{pathText(p)}</li>
                  ))}
                </ul>
              </li>
            ))}
          </ul>
        </>
      )}
    </details>
  );
}
