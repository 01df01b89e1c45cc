/**
 * The admin console (console.html): findings with charts, people's access explained, policy with four
 * eyes, access reviews, the audit log, licences, tasks and revocations. The server enforces who may see
 * what; this page says "admins only" to anyone else.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { browser } from 'wxt/browser';
import type { NoticeView, Person } from '@accesslens/shared';
import { formatDateTime, t, type MessageKey } from '../../utils/i18n';
import { ask } from '../../utils/messaging';
import type { ConnectionsAnswer, PopupStateAnswer } from '../../utils/protocol';
import { api } from './api';
import { AuditTab } from './audit';
import { FindingsTab } from './findings';
import { LicencesTab } from './licences';
import { PeopleTab } from './people';
import { PolicyTab } from './policy';
import { ReviewsTab } from './reviews';
import { Loading } from './table';
import { TasksTab } from './tasks';

export type Connection = ConnectionsAnswer['connections'][number];
export interface ConsoleContext {
  me: Person;
  connections: Connection[];
}

const TABS = ['findings', 'people', 'policy', 'reviews', 'audit', 'licences', 'tasks'] as const;
type Tab = (typeof TABS)[number];
const TAB_LABEL: Record<Tab, MessageKey> = {
  findings: 'console.tab.findings',
  people: 'console.tab.people',
  policy: 'console.tab.policy',
  reviews: 'console.tab.reviews',
  audit: 'console.tab.audit',
  licences: 'console.tab.licences',
  tasks: 'console.tab.tasks',
};

/** Who may open the console at all: administrators, and auditors (who read). */
export const isConsoleUser = (me: Person) => me.roles.includes('admin') || me.roles.includes('auditor');

export function Console() {
  const [state, setState] = useState<PopupStateAnswer | null>(null);
  const [connections, setConnections] = useState<Connection[]>([]);
  const [error, setError] = useState<string | null>(null);
  const initial = TABS.find((x) => `#${x}` === location.hash) ?? 'findings';
  const [tab, setTab] = useState<Tab>(initial);
  const tabs = useRef<HTMLDivElement>(null);

  useEffect(() => {
    void (async () => {
      const [s, c] = await Promise.all([ask<PopupStateAnswer>({ type: 'popup.state' }), ask<ConnectionsAnswer>({ type: 'connections.state' })]);
      if (s.ok) setState(s);
      else setError(s.error.message);
      if (c.ok) setConnections(c.connections);
    })();
  }, []);

  const choose = (next: Tab, focus = false) => {
    setTab(next);
    history.replaceState(null, '', `#${next}`);
    if (focus) tabs.current?.querySelector<HTMLElement>(`#tab-${next}`)?.focus();
  };
  const onTabKey = (e: KeyboardEvent) => {
    const i = TABS.indexOf(tab);
    const to = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : null;
    if (to === null) return;
    e.preventDefault();
    choose(TABS[(to + TABS.length) % TABS.length]!, true);
  };

  if (error)
    return (
      <main class="console">
        <p class="error" role="alert">
          {error}
        </p>
      </main>
    );
  if (!state)
    return (
      <main class="console">
        <Loading />
      </main>
    );
  if (!state.signedIn)
    return (
      <main class="console">
        <h1>{t('console.title')}</h1>
        <p>{t('console.signedOut')}</p>
        <button type="button" class="button button--primary" onClick={() => void browser.runtime.openOptionsPage()}>
          {t('popup.signIn')}
        </button>
      </main>
    );
  if (!isConsoleUser(state.me)) return <AdminsOnly />;
  const ctx: ConsoleContext = { me: state.me, connections };

  return (
    <main class="console">
      <header class="console-head">
        <h1>{t('console.title')}</h1>
        <span class="muted">{t('console.signedInAs', { name: state.me.name })}</span>
        <Notices />
      </header>
      <div class="tabs" role="tablist" aria-label={t('console.title')} ref={tabs} onKeyDown={onTabKey}>
        {TABS.map((x) => (
          <button
            key={x}
            type="button"
            role="tab"
            id={`tab-${x}`}
            aria-selected={tab === x}
            aria-controls={`panel-${x}`}
            tabIndex={tab === x ? 0 : -1}
            class={`tab${tab === x ? ' tab--active' : ''}`}
            data-testid={`al-console-tab-${x}`}
            onClick={() => choose(x)}
          >
            {t(TAB_LABEL[x] as 'console.tab.findings')}
          </button>
        ))}
      </div>
      <section role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} class="panel">
        {tab === 'findings' && <FindingsTab ctx={ctx} />}
        {tab === 'people' && <PeopleTab ctx={ctx} />}
        {tab === 'policy' && <PolicyTab ctx={ctx} />}
        {tab === 'reviews' && <ReviewsTab ctx={ctx} />}
        {tab === 'audit' && <AuditTab ctx={ctx} />}
        {tab === 'licences' && <LicencesTab ctx={ctx} />}
        {tab === 'tasks' && <TasksTab ctx={ctx} />}
      </section>
    </main>
  );
}

export function AdminsOnly() {
  return (
    <main class="console">
      <h1>{t('console.title')}</h1>
      <p class="error" role="alert" data-testid="al-console-admins-only">
        {t('console.adminsOnly')}
      </p>
    </main>
  );
}

/** A failure to show where it happened; "admins only" when the server refused the caller. */
// The failed state, beside the table's others (table.tsx); the tabs import it from here.
export { Problem } from './table';

function noticeText(n: NoticeView): string {
  const name = String(n.data.name ?? '');
  const when = n.data.termEndDate ? String(n.data.termEndDate) : n.data.dueAt ? formatDateTime(String(n.data.dueAt)) : '';
  switch (n.kind) {
    case 'license.term-ending':
      return t('console.notice.licence', { name, when });
    case 'review.reminder':
      return t('console.notice.review', { name, when });
    case 'review.escalated':
      return t('console.notice.escalated', { name, when });
    case 'policy.proposed':
      return t('console.notice.policy');
  }
}

function Notices() {
  const [notices, setNotices] = useState<{ notices: NoticeView[]; unread: number } | null>(null);
  useEffect(() => {
    void api<{ notices: NoticeView[]; unread: number }>('GET', '/api/notices').then((r) => r.ok && setNotices(r.data));
  }, []);
  if (!notices || notices.notices.length === 0) return null;
  const markRead = async () => {
    const r = await api<{ notices: NoticeView[]; unread: number }>('POST', '/api/notices/read', {});
    if (r.ok) setNotices(r.data);
  };
  return (
    <details class="notices" data-testid="al-console-notices">
      <summary>{t('console.notices', { n: notices.unread })}</summary>
      <ul>
        {notices.notices.slice(0, 20).map((n) => (
          <li key={n.id} class={n.readAt ? 'muted' : ''}>
            {noticeText(n)}
          </li>
        ))}
      </ul>
      {notices.unread > 0 && (
        <button type="button" class="link" onClick={() => void markRead()}>
          {t('console.markRead')}
        </button>
      )}
    </details>
  );
}
