/**
 * What a notification says, in the recipient's language (en, zh-CN): who, which permission and why —
 * never CRM record contents (no page URL, no record id).
 */
import type { Locale, NotificationEvent } from '@accesslens/shared';
import type { NotificationPayload } from './outbox.ts';

export interface RenderedMessage {
  /** One line: the subject of an email, the title of a card. */
  title: string;
  /** Label/value lines, in order. */
  facts: [string, string][];
  /** What the recipient should do, if anything. */
  action: string | null;
}

const dateOf = (iso: string | null, locale: Locale) =>
  iso === null
    ? ''
    : new Date(iso).toLocaleString(locale === 'zh-CN' ? 'zh-CN' : 'en-GB', { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'short' }) + ' UTC';

type Texts = {
  titles: Record<NotificationEvent, (p: NotificationPayload) => string>;
  actions: Partial<Record<NotificationEvent, string>>;
  labels: {
    requester: string;
    filedBy: string;
    permissions: string;
    bundle: string;
    crm: string;
    why: string;
    duration: string;
    starts: string;
    ends: string;
    question: string;
    answer: string;
    reason: string;
    stage: string;
  };
  days: (n: number) => string;
  list: (items: string[]) => string;
};

const actorName = (p: NotificationPayload, fallback: string) => p.actor?.name ?? fallback;

const TEXTS: Record<Locale, Texts> = {
  en: {
    titles: {
      'request.submitted': (p) => `${p.requester.name} asks for access on ${p.connection}`,
      'request.reminder': (p) => `Reminder: ${p.requester.name}'s access request is waiting for you`,
      'request.escalated': (p) => `Escalated to you: ${p.requester.name}'s access request`,
      'request.needs-info': (p) => `${actorName(p, 'An approver')} has a question about your access request`,
      'request.answered': (p) => `${p.requester.name} answered your question`,
      'request.approved': () => 'Your access request was approved',
      'request.denied': (p) => `${actorName(p, 'An approver')} denied your access request`,
      'request.timed-out': () => 'Your access request was denied: nobody decided in time',
      'grant.active': (p) => `Your access on ${p.connection} is active`,
      'grant.expiring': (p) => `Your access on ${p.connection} ends soon`,
      'grant.expired': (p) => `Your access on ${p.connection} has ended`,
    },
    actions: {
      'request.submitted': 'Open the AccessLens extension to approve, deny or ask a question.',
      'request.reminder': 'Open the AccessLens extension to approve, deny or ask a question.',
      'request.escalated': 'Open the AccessLens extension to approve, deny or ask a question.',
      'request.needs-info': 'Open the AccessLens extension to answer.',
      'request.denied': 'You can request it again with more details from the AccessLens extension.',
      'request.timed-out': 'You can request it again from the AccessLens extension.',
      'grant.expiring': 'Open the AccessLens extension to extend it.',
    },
    labels: {
      requester: 'Requester',
      filedBy: 'Filed by',
      permissions: 'Permissions',
      bundle: 'Bundle',
      crm: 'CRM',
      why: 'Why',
      duration: 'Duration',
      starts: 'Starts',
      ends: 'Ends',
      question: 'Question',
      answer: 'Answer',
      reason: 'Reason',
      stage: 'Stage',
    },
    days: (n) => (n === 1 ? '1 day' : `${n} days`),
    list: (items) => items.join(', '),
  },
  'zh-CN': {
    titles: {
      'request.submitted': (p) => `${p.requester.name} 申请 ${p.connection} 的访问权限`,
      'request.reminder': (p) => `提醒：${p.requester.name} 的访问申请正在等待您审批`,
      'request.escalated': (p) => `已升级给您：${p.requester.name} 的访问申请`,
      'request.needs-info': (p) => `${actorName(p, '审批人')} 对您的访问申请有疑问`,
      'request.answered': (p) => `${p.requester.name} 回答了您的问题`,
      'request.approved': () => '您的访问申请已获批准',
      'request.denied': (p) => `${actorName(p, '审批人')} 拒绝了您的访问申请`,
      'request.timed-out': () => '您的访问申请已被拒绝：无人在期限内审批',
      'grant.active': (p) => `您在 ${p.connection} 的访问权限已生效`,
      'grant.expiring': (p) => `您在 ${p.connection} 的访问权限即将到期`,
      'grant.expired': (p) => `您在 ${p.connection} 的访问权限已到期`,
    },
    actions: {
      'request.submitted': '请在 AccessLens 扩展中批准、拒绝或提出问题。',
      'request.reminder': '请在 AccessLens 扩展中批准、拒绝或提出问题。',
      'request.escalated': '请在 AccessLens 扩展中批准、拒绝或提出问题。',
      'request.needs-info': '请在 AccessLens 扩展中回答。',
      'request.denied': '您可以在 AccessLens 扩展中补充说明后重新申请。',
      'request.timed-out': '您可以在 AccessLens 扩展中重新申请。',
      'grant.expiring': '请在 AccessLens 扩展中申请延期。',
    },
    labels: {
      requester: '申请人',
      filedBy: '代为提交',
      permissions: '权限',
      bundle: '权限包',
      crm: 'CRM',
      why: '理由',
      duration: '期限',
      starts: '开始',
      ends: '到期',
      question: '问题',
      answer: '回答',
      reason: '原因',
      stage: '审批环节',
    },
    days: (n) => `${n} 天`,
    list: (items) => items.join('、'),
  },
};

/** The message for `payload` in `locale`. */
export function renderMessage(payload: NotificationPayload, locale: Locale): RenderedMessage {
  const t = TEXTS[locale] ?? TEXTS.en;
  const L = t.labels;
  const facts: [string, string][] = [[L.requester, `${payload.requester.name} <${payload.requester.email}>`]];
  if (payload.filedBy) facts.push([L.filedBy, payload.filedBy.name]);
  if (payload.bundle) facts.push([L.bundle, payload.bundle.name]);
  facts.push([L.permissions, t.list(payload.permissions.map((p) => (locale === 'zh-CN' ? p.zh : p.en)))]);
  facts.push([L.crm, payload.connection]);
  facts.push([L.why, payload.justification]);
  facts.push([L.duration, t.days(payload.durationDays)]);
  if (payload.startsAt) facts.push([L.starts, dateOf(payload.startsAt, locale)]);
  if (payload.expiresAt && payload.event.startsWith('grant.')) facts.push([L.ends, dateOf(payload.expiresAt, locale)]);
  if (payload.stage) facts.push([L.stage, payload.stage]);
  if (payload.text) {
    const label = payload.event === 'request.needs-info' ? L.question : payload.event === 'request.answered' ? L.answer : L.reason;
    facts.push([label, payload.text]);
  }
  return { title: t.titles[payload.event](payload), facts, action: t.actions[payload.event] ?? null };
}

/** Plain text: the title, the facts one per line, the action. */
export function renderText(m: RenderedMessage): string {
  return [m.title, '', ...m.facts.map(([k, v]) => `${k}: ${v}`), ...(m.action ? ['', m.action] : [])].join('\n');
}

/** Markdown (Slack mrkdwn, DingTalk and WeCom markdown): the title in bold, facts as lines. */
export function renderMarkdown(m: RenderedMessage, bold: (s: string) => string = (s) => `**${s}**`): string {
  return [bold(m.title), ...m.facts.map(([k, v]) => `${bold(k)}: ${v.replaceAll('\n', ' ')}`), ...(m.action ? [m.action] : [])].join('\n');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A small HTML email body (every value escaped). */
export function renderHtml(m: RenderedMessage, locale: Locale): string {
  const rows = m.facts.map(([k, v]) => `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  return `<!doctype html><html lang="${locale}"><body><h2>${escapeHtml(m.title)}</h2><table>${rows}</table>${m.action ? `<p>${escapeHtml(m.action)}</p>` : ''}</body></html>`;
}
