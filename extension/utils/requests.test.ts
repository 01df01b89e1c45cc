/** How multi-stage requests and previews read, in English and Chinese. */
import { afterEach, describe, expect, it } from 'vitest';
import { POLICY_PROBLEM_CODES, TIMELINE_KINDS, type AccessRequest, type ApprovalStage, type RequestPreviewResponse } from '@accesslens/shared';
import { setTestLocale as setLocale } from '../locales/testing';
import { evidenceLinksOf, evidenceProblem, previewNotes, problemText, willAskText } from './preview';
import { approvedAutomatically, stageProgress, statusLine, timelineLine, timelineLines } from './requests';

const NAMES: Record<string, string> = { 'p-ben': 'Ben Ortiz', 'p-dan': 'Dan Wu', 'p-eve': 'Eve Park', 'p-cara': 'Cara Diaz' };
const nameOf = (id: string) => NAMES[id];
const at = '2026-03-01T00:00:00.000Z';
const approval = (deciderId: string, outcome: 'approve' | 'deny' = 'approve', reason: string | null = null) => ({
  deciderId,
  outcome,
  reason,
  durationDays: null,
  decidedAt: at,
});
const stage = (over: Partial<ApprovalStage>): ApprovalStage => ({
  kind: 'manager',
  label: 'Manager',
  keys: [],
  approverIds: ['p-ben'],
  required: 1,
  approvals: [],
  decision: null,
  escalated: false,
  ...over,
});
const request = (over: Partial<AccessRequest>): AccessRequest => ({
  id: 'r1',
  requesterId: 'p-ava',
  connectionId: 'c-acme',
  accountId: 'a-ava',
  permissions: ['object:Quote:edit'],
  page: null,
  justification: 'x',
  evidence: [],
  durationDays: 7,
  status: 'pending',
  stages: [stage({})],
  createdAt: at,
  updatedAt: at,
  decidedAt: null,
  grantedAt: null,
  expiresAt: null,
  ...over,
});
const dealDesk = stage({ kind: 'group', label: 'Deal Desk', approverIds: ['p-dan'] });

afterEach(() => setLocale('en'));

describe('statusLine', () => {
  it('single stage: the wording people know', () => {
    expect(statusLine(request({}), nameOf)).toBe('Pending — waiting for Ben Ortiz');
  });

  it('two stages, before and after the first approval', () => {
    expect(statusLine(request({ stages: [stage({}), dealDesk] }), nameOf)).toBe('Pending — waiting for Ben Ortiz (Manager)');
    const after = request({ stages: [stage({ approvals: [approval('p-ben')], decision: approval('p-ben') }), dealDesk] });
    expect(statusLine(after, nameOf)).toBe('Approved by Ben Ortiz · waiting for Dan Wu (Deal Desk)');
    setLocale('zh-CN');
    expect(statusLine(after, nameOf)).toBe('Ben Ortiz 已批准 · 等待 Dan Wu（Deal Desk）');
    expect(statusLine(request({ stages: [stage({}), dealDesk] }), nameOf)).toBe('审批中 — 等待 Ben Ortiz（经理）');
  });

  it('N of M: how many are still needed, from whom', () => {
    const legal = stage({ kind: 'group', label: 'Legal', approverIds: ['p-ben', 'p-dan', 'p-eve'], required: 2 });
    expect(statusLine(request({ stages: [legal] }), nameOf)).toBe('Pending — waiting for 2 of Ben Ortiz, Dan Wu, Eve Park (Legal)');
    const one = request({ stages: [{ ...legal, approvals: [approval('p-dan')] }] });
    expect(statusLine(one, nameOf)).toBe('Approved by Dan Wu · waiting for Ben Ortiz, Eve Park (Legal)');
  });

  it('escalated stages say so', () => {
    const escalated = request({ stages: [stage({ approverIds: ['p-cara'], escalated: true })] });
    expect(statusLine(escalated, nameOf)).toBe('Pending — escalated to Cara Diaz (Manager)');
  });

  it('granted, approved automatically, denied', () => {
    const expiresAt = '2026-03-08T12:00:00.000Z';
    const granted = request({ status: 'approved', expiresAt, stages: [stage({ approvals: [approval('p-ben')], decision: approval('p-ben') })] });
    expect(statusLine(granted, nameOf)).toMatch(/^Granted until Mar 8, 2026$/);
    const auto = request({ status: 'approved', expiresAt, stages: [] });
    expect(approvedAutomatically(auto)).toBe(true);
    expect(approvedAutomatically(granted)).toBe(false);
    expect(statusLine(auto, nameOf)).toBe('Approved automatically until Mar 8, 2026');
    const denied = request({
      status: 'denied',
      stages: [
        stage({ approvals: [approval('p-ben')], decision: approval('p-ben') }),
        { ...dealDesk, decision: approval('p-dan', 'deny', 'Not this quarter') },
      ],
    });
    expect(statusLine(denied, nameOf)).toBe('Denied by Dan Wu: Not this quarter');
  });

  it('per-stage progress for the popup', () => {
    const r = request({ stages: [stage({ approvals: [approval('p-ben')], decision: approval('p-ben') }), dealDesk, stage({ label: 'Legal' })] });
    expect(stageProgress(r).map((s) => s.state)).toEqual(['approved', 'open', 'later']);
  });
});

const preview = (over: Partial<RequestPreviewResponse>): RequestPreviewResponse => ({
  ok: true,
  autoApproved: false,
  stages: [],
  willNotify: [],
  keys: [],
  missingPrerequisites: [],
  sodConflicts: [],
  licenses: [],
  duration: { requested: 7, granted: 7, cappedBy: [] },
  durationChoices: [1, 7, 30],
  justificationRequired: true,
  evidenceRequired: false,
  problems: [],
  warnings: [],
  ...over,
});
const ref = (id: string) => ({ id, name: NAMES[id]!, email: `${id}@acme.test`, title: '' });
const previewStage = (index: number, label: string, ids: string[], required = 1) => ({
  index,
  kind: (index === 0 ? 'manager' : 'group') as 'manager' | 'group',
  label,
  keys: [],
  required,
  approvers: ids.map(ref),
  escalated: false,
  escalationReason: null,
});

describe('the preview in the form', () => {
  it('who will be asked, in stage order', () => {
    const p = preview({ stages: [previewStage(1, 'Deal Desk', ['p-dan']), previewStage(0, 'Manager', ['p-ben'])] });
    expect(willAskText(p)).toBe('Ben Ortiz (Manager), then Dan Wu (Deal Desk)');
    expect(willAskText(preview({ stages: [previewStage(0, 'Legal', ['p-ben', 'p-dan', 'p-eve'], 2)] }))).toBe('2 of Ben Ortiz, Dan Wu, Eve Park (Legal)');
    expect(willAskText(preview({}))).toBeNull();
  });

  it('problems and warnings render from their codes and params in each language, never from the English sentence', () => {
    const p = preview({
      ok: false,
      // The English sentences are deliberately different: nothing may read them when codes are sent.
      problems: ['ENGLISH-ONLY training sentence', 'ENGLISH-ONLY rule sentence'],
      problemDetails: [
        { code: 'training-missing', params: { training: 'sfdc-security-101', keys: ['system:ViewSetup'] }, message: 'ENGLISH-ONLY training sentence' },
        { code: 'rule-forbids', params: { key: 'object:Quote:delete', rule: 'Deal Desk changes' }, message: 'ENGLISH-ONLY rule sentence' },
      ],
      warnings: ['ENGLISH-ONLY sod'],
      warningDetails: [{ code: 'sod-conflict', params: { ruleId: 'sod-1', name: 'Quote approve vs. create', severity: 'high' }, message: 'ENGLISH-ONLY sod' }],
      sodConflicts: [{ ruleId: 'sod-1', name: 'Quote approve vs. create', severity: 'high' }],
      licenses: [{ licenseId: 'l1', name: 'CPQ', seats: 10, used: 9, left: 1, needsSeat: true }],
    });
    const label = (k: string) => (k === 'object:Quote:delete' ? 'Delete Quotes' : k);
    expect(previewNotes(p, label)).toEqual({
      blocking: ['Complete the “sfdc-security-101” training first.', 'The request rule “Deal Desk changes” does not allow requesting Delete Quotes.'],
      warnings: ['Conflicts with “Quote approve vs. create” (separation of duties, high risk).', 'CPQ license: 1 of 10 seats left'],
    });
    setLocale('zh-CN');
    expect(previewNotes(p, label)).toEqual({
      blocking: ['请先完成“sfdc-security-101”培训。', '申请规则“Deal Desk changes”不允许申请 Delete Quotes。'],
      warnings: ['与“Quote approve vs. create”冲突（职责分离，高风险）。', 'CPQ 许可证：剩余 1/10 个席位'],
    });
  });

  it('every problem code has a sentence in both languages', () => {
    for (const locale of ['en', 'zh-CN'] as const) {
      setLocale(locale);
      for (const code of POLICY_PROBLEM_CODES) {
        const text = problemText({ code, params: { key: 'object:Quote:read', keys: ['object:Quote:read'], requiredDays: 90, actualDays: 10 } });
        expect(text, `${locale} ${code}`).not.toMatch(/^request\.problem/);
        expect(text.length).toBeGreaterThan(3);
      }
    }
  });

  it('an older server without codes: its sentences are shown as sent', () => {
    expect(previewNotes(preview({ ok: false, problems: ['Not requestable.'] })).blocking).toEqual(['Not requestable.']);
  });

  it('a refusal without reasons still blocks', () => {
    expect(previewNotes(preview({ ok: false })).blocking).toHaveLength(1);
  });

  it('evidence must be an http(s) link', () => {
    expect(evidenceProblem('', false)).toBeNull();
    expect(evidenceProblem('', true)).not.toBeNull();
    expect(evidenceProblem('https://tickets.acme.test/OPS-1', false)).toBeNull();
    expect(evidenceProblem(' http://wiki/approval ', false)).toBeNull();
    for (const bad of ['javascript:alert(1)', 'ftp://x.test/a', 'tickets/OPS-1', 'https://']) expect(evidenceProblem(bad, false)).not.toBeNull();
  });
});

describe('timeline lines from the server', () => {
  const now = new Date('2026-03-01T12:00:00.000Z');
  const entry = (kind: any, over: Record<string, unknown> = {}) => ({
    at: '2026-03-01T10:00:00.000Z',
    kind,
    actorId: null,
    personIds: [],
    stage: 0,
    text: null,
    ...over,
  });

  it('"Ben Ortiz was reminded 2 hours ago", questions, answers, escalation, extension — in English and Chinese', () => {
    setLocale('en');
    expect(timelineLine(entry('reminded', { personIds: ['p-ben'] }), nameOf, now)).toBe('Ben Ortiz was reminded 2 hours ago');
    expect(timelineLine(entry('reminded', { personIds: ['p-ben', 'p-dan'] }), nameOf, now)).toBe('Ben Ortiz, Dan Wu were reminded 2 hours ago');
    expect(timelineLine(entry('needs-info', { actorId: 'p-ben', text: 'Which account?' }), nameOf, now)).toBe('Ben Ortiz asked 2 hours ago: “Which account?”');
    expect(timelineLine(entry('escalated', { personIds: ['p-cara'] }), nameOf, now)).toBe('Escalated to Cara Diaz 2 hours ago');
    expect(timelineLine(entry('submitted', { actorId: 'p-ben' }), nameOf, now, 'p-ava')).toBe('Ben Ortiz requested it 2 hours ago');
    expect(timelineLine(entry('submitted', { actorId: 'p-ava' }), nameOf, now, 'p-ava')).toBe('Requested 2 hours ago');
    expect(timelineLine(entry('extended', { expiresAt: '2026-03-20T00:00:00.000Z' }), nameOf, now)).toMatch(/^Extended 2 hours ago until Mar 20, 2026$/);
    setLocale('zh-CN');
    expect(timelineLine(entry('reminded', { personIds: ['p-ben'] }), nameOf, now)).toBe('2小时前已提醒 Ben Ortiz');
    expect(timelineLine(entry('needs-info', { actorId: 'p-ben', text: '哪个客户？' }), nameOf, now)).toBe('Ben Ortiz 2小时前提问：“哪个客户？”');
  });

  it('every kind has a line in both languages, newest first', () => {
    for (const locale of ['en', 'zh-CN'] as const) {
      setLocale(locale);
      for (const kind of TIMELINE_KINDS)
        expect(timelineLine(entry(kind, { actorId: 'p-ben', personIds: ['p-dan'], text: 'x', expiresAt: at }), nameOf, now)).not.toMatch(/^request\./);
    }
    const r = request({ timeline: [entry('submitted', { at: '2026-03-01T09:00:00.000Z' }), entry('reminded', { personIds: ['p-ben'] })] });
    expect(timelineLines(r, nameOf, 1, now).map((l) => l.kind)).toEqual(['reminded']);
  });

  it('needs-info reads as the question, with who asked', () => {
    setLocale('en');
    const r = request({ status: 'needs-info', needsInfo: { askedBy: 'p-ben', askedAt: at, question: 'Which account?', stage: 0 } });
    expect(statusLine(r, nameOf)).toBe('Needs information — Ben Ortiz asked: “Which account?”');
  });
});

describe('several evidence links', () => {
  it('separated by spaces, commas or new lines; each an http(s) link; at most five', () => {
    setLocale('en');
    expect(evidenceLinksOf(' https://a.test/1, https://b.test/2\nhttps://c.test/3 ')).toEqual(['https://a.test/1', 'https://b.test/2', 'https://c.test/3']);
    expect(evidenceProblem('https://a.test/1 https://b.test/2', false)).toBeNull();
    expect(evidenceProblem('https://a.test/1 tickets/2', false)).toBe('Enter a link starting with http:// or https://');
    expect(evidenceProblem(Array.from({ length: 6 }, (_, i) => `https://a.test/${i}`).join(' '), false)).toBe('At most 5 links, separated by spaces.');
  });
});
