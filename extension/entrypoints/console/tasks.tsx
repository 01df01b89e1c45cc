/**
 * Fulfilment tasks (grants and revocations an administrator makes by hand, grants reported as not
 * working) and revocations due: from /api/admin/revocations where the server has it, else the open
 * revoke tasks.
 */
import { useEffect, useState } from 'preact/hooks';
import type { AdminTaskView, UiError } from '@accesslens/shared';
import { formatDateTime, t } from '../../utils/i18n';
import { api } from './api';
import { Problem, type ConsoleContext } from './Console';

interface Revocation {
  id?: string;
  personName?: string;
  person?: { name: string };
  connectionName?: string;
  reason?: string | { message: string };
  dueAt?: string;
  keys?: string[];
  status?: string;
}

export function TasksTab(_props: { ctx: ConsoleContext }) {
  const [tasks, setTasks] = useState<AdminTaskView[] | null>(null);
  const [revocations, setRevocations] = useState<Revocation[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const load = async () => {
    const [list, due] = await Promise.all([api<{ tasks: AdminTaskView[] }>('GET', '/api/admin/tasks?status=open'), api<{ revocations?: Revocation[] }>('GET', '/api/admin/revocations')]);
    if (list.ok) setTasks(list.data.tasks);
    else setError(list.error);
    // Servers without the departures work answer 404: the open revoke tasks stand in.
    setRevocations(due.ok && Array.isArray(due.data.revocations) ? due.data.revocations : null);
  };
  useEffect(() => {
    void load();
  }, []);
  const done = async (id: string) => {
    const r = await api('POST', `/api/admin/tasks/${encodeURIComponent(id)}/done`, {});
    if (!r.ok) return setError(r.error);
    await load();
  };
  const revokes = tasks?.filter((x) => x.kind === 'revoke') ?? [];
  return (
    <div class="stack">
      <Problem error={error} />
      <section aria-labelledby="revocations-title">
        <h2 id="revocations-title">{t('console.tasks.revocations')}</h2>
        {revocations ? (
          revocations.length === 0 ? (
            <p class="muted">{t('console.tasks.noRevocations')}</p>
          ) : (
            <ul data-testid="al-revocations">
              {revocations.map((r, i) => (
                <li key={r.id ?? i}>
                  {r.person?.name ?? r.personName ?? ''} · {r.connectionName ?? ''} · {(r.keys ?? []).join(', ')}
                  {r.reason ? ` · ${typeof r.reason === 'string' ? r.reason : r.reason.message}` : ''}
                  {r.dueAt ? ` · ${formatDateTime(r.dueAt)}` : ''}
                </li>
              ))}
            </ul>
          )
        ) : revokes.length === 0 ? (
          <p class="muted">{t('console.tasks.noRevocations')}</p>
        ) : (
          <p class="muted">{t('console.tasks.revokeTasks', { n: revokes.length })}</p>
        )}
      </section>
      <section aria-labelledby="tasks-title">
        <h2 id="tasks-title">{t('console.tasks.open', { n: tasks?.length ?? 0 })}</h2>
        {tasks && tasks.length === 0 && <p class="muted">{t('console.tasks.none')}</p>}
        {tasks && tasks.length > 0 && (
          <table class="table" data-testid="al-tasks">
            <thead>
              <tr>
                <th scope="col">{t('console.tasks.kind')}</th>
                <th scope="col">{t('console.tasks.who')}</th>
                <th scope="col">{t('console.tasks.what')}</th>
                <th scope="col">{t('console.tasks.why')}</th>
                <th scope="col">{t('console.tasks.since')}</th>
                <th scope="col">
                  <span class="sr-only">{t('console.tasks.actions')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((x) => (
                <tr key={x.id} data-testid="al-task" data-kind={x.kind}>
                  <td>{t(`console.taskKind.${x.kind}`)}</td>
                  <td>
                    {x.account.personName}
                    <div class="muted">
                      {x.connectionName} · {x.account.username}
                    </div>
                  </td>
                  <td>{[...x.bundles.map((b) => b.name), ...x.keys].join(', ')}</td>
                  <td>{x.reason.message}</td>
                  <td>{formatDateTime(x.createdAt)}</td>
                  <td>
                    <button type="button" class="button" onClick={() => void done(x.id)}>
                      {t('console.tasks.done')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
