/**
 * Every user-facing string of the extension, in English and Simplified Chinese. The browser's language
 * picks the dictionary (`zh*` → zh-CN, anything else → en). Placeholders are `{name}`.
 * i18n.test.ts proves both dictionaries have the same keys and the same placeholders.
 */

const en = {
  // ---- overlay: badge ----
  'badge.summary': '{object} · {allowed}/{total} allowed',
  'badge.signIn': 'AccessLens: sign in',
  'badge.noAccount': 'AccessLens: no account',
  'badge.noConnection': 'AccessLens: CRM not connected',
  'badge.loading': 'AccessLens…',
  'badge.open': 'Show AccessLens details',
  // ---- overlay: panel ----
  'panel.title': 'Your access to {object}',
  'panel.close': 'Close',
  'panel.denialSeen': 'The CRM said: “{text}”',
  'panel.signedOut': 'Sign in to AccessLens to see what you may do on this page and request what is missing.',
  'panel.openOptions': 'Open AccessLens settings',
  'panel.noAccount': 'AccessLens has no active account of yours for this CRM. Ask an administrator to link it.',
  'panel.noConnection': 'This CRM is not connected to AccessLens.',
  'panel.offline': 'Offline — showing what was last synced.',
  'panel.error': 'AccessLens could not decide this page: {message}',
  'action.read': 'Read',
  'action.create': 'Create',
  'action.edit': 'Edit',
  'action.delete': 'Delete',
  'state.allowed': 'Allowed',
  'state.missing': 'Missing',
  'state.pending': 'Pending',
  'state.granted': 'Granted',
  'why.via': 'via {path}',
  'why.direct': 'via a direct grant',
  'why.impliedBy': 'implied by {key}',
  'why.grantedUntil': 'approved request, until {date}',
  'why.grantedOpenEnded': 'approved request, no end date',
  'why.nothingGrants': 'Nothing you hold grants this.',
  'why.heldBy': 'Held by: {bundles}',
  'why.pending': 'Requested {when}; waiting for {names}',
  'bundle.profile': 'Profile',
  'bundle.role': 'Role',
  'bundle.permissionSet': 'Permission set',
  'bundle.permissionSetGroup': 'Permission set group',
  'bundle.securityRole': 'Security role',
  'bundle.team': 'Team',
  // ---- overlay: request form ----
  'request.button': 'Request access',
  'request.again': 'Request again',
  'request.title': 'Request {permission}',
  'request.permission': 'Permission',
  'request.page': 'Page',
  'request.record': 'Record',
  'request.denialText': 'Message seen',
  'request.none': '—',
  'request.justification': 'Why do you need this access?',
  'request.justificationPlaceholder': 'e.g. I own the renewal of this contract',
  'request.justificationRequired': 'Please say why you need this access.',
  'request.duration': 'For how long',
  'request.willAsk': 'Will ask: {names}',
  'request.willAskAdmins': 'Will ask: the CRM administrators',
  'request.submit': 'Send request',
  'request.sending': 'Sending…',
  'request.cancel': 'Cancel',
  'request.notRequestable': 'This permission cannot be requested through AccessLens. Ask an administrator.',
  'status.pending': 'Pending — waiting for {names}',
  'status.grantedUntil': 'Granted until {date}',
  'status.grantedOpenEnded': 'Granted',
  'status.reload': 'Reload the page',
  'status.denied': 'Denied by {name}: {reason}',
  'status.cancelled': 'Request cancelled',
  'status.expired': 'Grant expired',
  'status.revoked': 'Grant revoked',
  'status.failed': 'Request not sent: {message}',
  'status.queued': 'Saved — will be sent when the server is reachable',
  // ---- shared: durations, people, statuses ----
  'duration.day': '1 day',
  'duration.days': '{n} days',
  'people.unknown': 'someone',
  'people.admins': 'the CRM administrators',
  'people.separator': ', ',
  'requestStatus.pending': 'Pending',
  'requestStatus.needs-info': 'Needs information',
  'requestStatus.approved': 'Approved',
  'requestStatus.denied': 'Denied',
  'requestStatus.cancelled': 'Cancelled',
  'requestStatus.fulfilled': 'Granted',
  'requestStatus.expired': 'Expired',
  'requestStatus.revoked': 'Revoked',
  'requestStatus.failed': 'Not sent',
  // ---- popup ----
  'popup.title': 'AccessLens',
  'popup.signedOut': 'You are not signed in.',
  'popup.signIn': 'Sign in',
  'popup.settings': 'Settings',
  'popup.queue': 'Waiting for you ({n})',
  'popup.queueEmpty': 'Nothing waiting for you',
  'popup.keys': 'j/k or ↑/↓ move · a approve · d deny',
  'popup.requestedBy': '{name} asks for',
  'popup.page': 'Page',
  'popup.record': 'Record',
  'popup.why': 'Why',
  'popup.duration': 'Asked for',
  'popup.approve': 'Approve',
  'popup.approveFor': 'Approve for',
  'popup.deny': 'Deny',
  'popup.denyReason': 'Reason for denying',
  'popup.denyReasonRequired': 'Give a reason to deny.',
  'popup.myRequests': 'My requests',
  'popup.myRequestsEmpty': 'You have not requested anything yet.',
  'popup.waitingFor': 'Waiting for {names}',
  'popup.cancelRequest': 'Cancel request',
  'popup.noPage': 'not from a page',
  'sync.last': 'Synced {when}',
  'sync.never': 'Not synced yet',
  'sync.offline': 'Offline: {message}',
  'sync.outbox': '{n} change(s) waiting to be sent',
  'sync.now': 'Sync now',
  // ---- options ----
  'options.title': 'AccessLens settings',
  'options.serverUrl': 'Server URL',
  'options.email': 'Email',
  'options.password': 'Password',
  'options.signIn': 'Sign in',
  'options.signingIn': 'Signing in…',
  'options.signedInAs': 'Signed in as {name} ({email})',
  'options.server': 'Server: {url}',
  'options.signOut': 'Sign out',
  'options.required': 'is required',
  // ---- errors made by the background ----
  'error.network': 'Could not reach the AccessLens server at {url}.',
  'error.server': 'The server failed ({status}).',
  'error.badResponse': 'The server sent an answer this extension does not understand.',
  'error.invalidMessage': 'This message was not understood.',
  'error.notSignedIn': 'You are not signed in to AccessLens.',
  'error.sessionEnded': 'Your session ended. Sign in again.',
  'error.noAccount': 'You have no active account on this CRM.',
  'error.notOnPage': 'That permission is not about this page.',
  'error.alreadyHeld': 'You already hold this permission.',
  'error.duplicate': 'You already have a pending request for this permission.',
  'error.notRequestable': 'This permission cannot be requested.',
  'error.durationChoice': 'must be one of {choices} days',
  'error.notInQueue': 'That request is no longer waiting for you.',
  'error.notYours': 'You can only cancel your own pending requests.',
  'error.approveLonger': 'cannot be longer than the {n} days requested',
  'error.noResponse': 'The extension did not answer. Reload the page and try again.',
  'error.signedOutBeforeSend': 'You were signed out before this could be sent.',
} as const;

export type MessageKey = keyof typeof en;

const zhCN: Record<MessageKey, string> = {
  'badge.summary': '{object} · 允许 {allowed}/{total}',
  'badge.signIn': 'AccessLens：请登录',
  'badge.noAccount': 'AccessLens：无账号',
  'badge.noConnection': 'AccessLens：未连接此 CRM',
  'badge.loading': 'AccessLens…',
  'badge.open': '显示 AccessLens 详情',
  'panel.title': '您对 {object} 的权限',
  'panel.close': '关闭',
  'panel.denialSeen': 'CRM 提示：“{text}”',
  'panel.signedOut': '登录 AccessLens 以查看您在此页面上可以做什么，并申请缺少的权限。',
  'panel.openOptions': '打开 AccessLens 设置',
  'panel.noAccount': 'AccessLens 中没有您在此 CRM 上的有效账号。请联系管理员关联。',
  'panel.noConnection': '此 CRM 尚未连接到 AccessLens。',
  'panel.offline': '离线 — 显示的是上次同步的内容。',
  'panel.error': 'AccessLens 无法判断此页面：{message}',
  'action.read': '查看',
  'action.create': '创建',
  'action.edit': '编辑',
  'action.delete': '删除',
  'state.allowed': '允许',
  'state.missing': '缺少',
  'state.pending': '审批中',
  'state.granted': '已授予',
  'why.via': '来自 {path}',
  'why.direct': '来自直接授权',
  'why.impliedBy': '由 {key} 隐含',
  'why.grantedUntil': '申请已批准，有效期至 {date}',
  'why.grantedOpenEnded': '申请已批准，无到期日',
  'why.nothingGrants': '您持有的权限中没有授予此项的。',
  'why.heldBy': '可授予此项的：{bundles}',
  'why.pending': '{when}已申请；等待 {names} 审批',
  'bundle.profile': '简档',
  'bundle.role': '角色',
  'bundle.permissionSet': '权限集',
  'bundle.permissionSetGroup': '权限集组',
  'bundle.securityRole': '安全角色',
  'bundle.team': '团队',
  'request.button': '申请权限',
  'request.again': '重新申请',
  'request.title': '申请 {permission}',
  'request.permission': '权限',
  'request.page': '页面',
  'request.record': '记录',
  'request.denialText': '看到的提示',
  'request.none': '—',
  'request.justification': '您为什么需要此权限？',
  'request.justificationPlaceholder': '例如：我负责此合同的续签',
  'request.justificationRequired': '请说明您需要此权限的原因。',
  'request.duration': '期限',
  'request.willAsk': '将请 {names} 审批',
  'request.willAskAdmins': '将请 CRM 管理员审批',
  'request.submit': '提交申请',
  'request.sending': '正在提交…',
  'request.cancel': '取消',
  'request.notRequestable': '此权限不能通过 AccessLens 申请。请联系管理员。',
  'status.pending': '审批中 — 等待 {names}',
  'status.grantedUntil': '已授予，有效期至 {date}',
  'status.grantedOpenEnded': '已授予',
  'status.reload': '重新加载页面',
  'status.denied': '{name} 已拒绝：{reason}',
  'status.cancelled': '申请已取消',
  'status.expired': '授权已过期',
  'status.revoked': '授权已撤销',
  'status.failed': '申请未能提交：{message}',
  'status.queued': '已保存 — 服务器可用时将自动提交',
  'duration.day': '1 天',
  'duration.days': '{n} 天',
  'people.unknown': '某人',
  'people.admins': 'CRM 管理员',
  'people.separator': '、',
  'requestStatus.pending': '审批中',
  'requestStatus.needs-info': '需要补充信息',
  'requestStatus.approved': '已批准',
  'requestStatus.denied': '已拒绝',
  'requestStatus.cancelled': '已取消',
  'requestStatus.fulfilled': '已授予',
  'requestStatus.expired': '已过期',
  'requestStatus.revoked': '已撤销',
  'requestStatus.failed': '未提交',
  'popup.title': 'AccessLens',
  'popup.signedOut': '您尚未登录。',
  'popup.signIn': '登录',
  'popup.settings': '设置',
  'popup.queue': '等待您审批（{n}）',
  'popup.queueEmpty': '没有等待您审批的申请',
  'popup.keys': 'j/k 或 ↑/↓ 移动 · a 批准 · d 拒绝',
  'popup.requestedBy': '{name} 申请',
  'popup.page': '页面',
  'popup.record': '记录',
  'popup.why': '理由',
  'popup.duration': '申请期限',
  'popup.approve': '批准',
  'popup.approveFor': '批准期限',
  'popup.deny': '拒绝',
  'popup.denyReason': '拒绝理由',
  'popup.denyReasonRequired': '拒绝时请填写理由。',
  'popup.myRequests': '我的申请',
  'popup.myRequestsEmpty': '您还没有提交过申请。',
  'popup.waitingFor': '等待 {names}',
  'popup.cancelRequest': '撤回申请',
  'popup.noPage': '非来自页面',
  'sync.last': '{when}已同步',
  'sync.never': '尚未同步',
  'sync.offline': '离线：{message}',
  'sync.outbox': '{n} 项更改等待发送',
  'sync.now': '立即同步',
  'options.title': 'AccessLens 设置',
  'options.serverUrl': '服务器地址',
  'options.email': '邮箱',
  'options.password': '密码',
  'options.signIn': '登录',
  'options.signingIn': '正在登录…',
  'options.signedInAs': '已登录为 {name}（{email}）',
  'options.server': '服务器：{url}',
  'options.signOut': '退出登录',
  'options.required': '为必填项',
  'error.network': '无法连接 AccessLens 服务器 {url}。',
  'error.server': '服务器出错（{status}）。',
  'error.badResponse': '服务器返回了本扩展无法识别的内容。',
  'error.invalidMessage': '无法识别此消息。',
  'error.notSignedIn': '您尚未登录 AccessLens。',
  'error.sessionEnded': '您的会话已结束，请重新登录。',
  'error.noAccount': '您在此 CRM 上没有有效账号。',
  'error.notOnPage': '该权限与此页面无关。',
  'error.alreadyHeld': '您已持有此权限。',
  'error.duplicate': '您已有此权限的待审批申请。',
  'error.notRequestable': '此权限不可申请。',
  'error.durationChoice': '必须是 {choices} 天之一',
  'error.notInQueue': '该申请已不在您的待审批列表中。',
  'error.notYours': '您只能撤回自己的待审批申请。',
  'error.approveLonger': '不能超过申请的 {n} 天',
  'error.noResponse': '扩展没有响应。请重新加载页面后重试。',
  'error.signedOutBeforeSend': '在提交之前您已退出登录。',
};

export type Locale = 'en' | 'zh-CN';

export const dictionaries: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };

export function detectLocale(language: string | undefined = globalThis.navigator?.language): Locale {
  return language?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

let current: Locale = detectLocale();

export function locale(): Locale {
  return current;
}

/** For tests. */
export function setLocale(l: Locale): void {
  current = l;
}

export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const template = dictionaries[current][key] ?? en[key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** A catalog label in the current language, or the key when the catalog has none. */
export function labelOf(labels: { en: string; 'zh-CN': string } | null | undefined, fallback: string): string {
  if (!labels) return fallback;
  return labels[current] || labels.en || fallback;
}

export function durationText(days: number): string {
  return days === 1 ? t('duration.day') : t('duration.days', { n: days });
}

export function formatDate(iso: string): string {
  return new Intl.DateTimeFormat(current, { year: 'numeric', month: 'short', day: 'numeric' }).format(new Date(iso));
}

export function formatDateTime(iso: string): string {
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

/** "5 minutes ago", "yesterday", "刚刚"… */
export function formatRelative(iso: string, now: Date = new Date()): string {
  const seconds = Math.round((Date.parse(iso) - now.getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 45) return rtf.format(0, 'second');
  if (abs < 45 * 60) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 22 * 3600) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}

export function joinNames(names: string[]): string {
  return names.join(t('people.separator'));
}
