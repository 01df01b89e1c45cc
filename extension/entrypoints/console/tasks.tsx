/**
 * Fulfilment tasks (grants and revocations an administrator makes by hand, grants reported as not
 * working) and revocations due after departures, suspensions and moves (GET /api/admin/revocations):
 * everything not yet done or cancelled, soonest due first.
 */
import { useEffect, useState } from 'preact/hooks';
import type { AdminRevocationsResponse, AdminTaskView, RevocationView, UiError } from '@accesslens/shared';
import { formatDateTime, locale, t } from '../../utils/i18n';
import { api } from './api';
import { Problem, type ConsoleContext } from './Console';
import { DataTable } from './table';

/** Revocations still to happen. */
const DUE_STATUSES = ['planned', 'due', 'in-progress', 'task', 'failed'] as const;

export function TasksTab(_props: { ctx: ConsoleContext }) {
  const [tasks, setTasks] = useState<AdminTaskView[] | null>(null);
  const [revocations, setRevocations] = useState<RevocationView[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const load = async () => {
    const [list, ...due] = await Promise.all([
      api<{ tasks: AdminTaskView[] }>('GET', '/api/admin/tasks?status=open'),
      ...DUE_STATUSES.map((status) => api<AdminRevocationsResponse>('GET', `/api/admin/revocations?status=${status}&limit=100`)),
    ]);
    if (list.ok) setTasks(list.data.tasks);
    else setError(list.error);
    const failed = due.find((r) => !r.ok);
    if (failed && !failed.ok) setError(failed.error);
    setRevocations(due.flatMap((r) => (r.ok ? r.data.revocations : [])).sort((a, b) => a.dueAt.localeCompare(b.dueAt)));
  };
  useEffect(() => {
    void load();
  }, []);
  const done = async (id: string) => {
    const r = await api('POST', `/api/admin/tasks/${encodeURIComponent(id)}/done`, {});
    if (!r.ok) return setError(r.error);
    await load();
  };
  return (
    <div class="stack">
      <Problem error={error} />
      <section aria-labelledby="revocations-title">
        <h2 id="revocations-title">{t('console.tasks.revocations')}</h2>
        <DataTable
          testid="al-revocations"
          columns={[t('console.tasks.who'), t('console.tasks.what'), t('console.tasks.why'), t('console.tasks.due'), t('console.reviews.status')]}
          rows={revocations}
          failed={error !== null}
          empty={t('console.tasks.noRevocations')}
          row={(r) => (
            <tr key={r.id} data-testid="al-revocation" data-status={r.status}>
              <td>
                {r.person.name}
                <div class="muted">
                  {r.connection.name} · {r.account.username}
                </div>
              </td>
              <td>
                {r.assignments.map((a) => a.bundleName ?? a.key ?? a.id).join(', ')}
                {r.deactivateAccount && <div class="muted">{t('console.tasks.deactivate')}</div>}
              </td>
              <td>
                {r.reason.text[locale()]}
                {r.problem && <div class="error">{r.problem.message}</div>}
              </td>
              <td>{formatDateTime(r.dueAt)}</td>
              <td>{t(`console.revocationStatus.${r.status}`)}</td>
            </tr>
          )}
        />
      </section>
      <section aria-labelledby="tasks-title">
        <h2 id="tasks-title">{t('console.tasks.open', { n: tasks?.length ?? 0 })}</h2>
        <DataTable
          testid="al-tasks"
          columns={[t('console.tasks.kind'), t('console.tasks.who'), t('console.tasks.what'), t('console.tasks.why'), t('console.tasks.since')]}
          actions
          rows={tasks}
          failed={error !== null}
          empty={t('console.tasks.none')}
          row={(x) => (
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
          )}
        />
      </section>
    </div>
  );
}
