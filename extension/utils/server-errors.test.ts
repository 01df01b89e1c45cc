import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  SERVER_ERROR_REASONS,
  decisionRecordArgs,
  issuesOf,
  requestCreateArgs,
  serverErrorMessage,
  serverErrorParamNames,
  type ServerErrorReason,
} from '@accesslens/shared';
import { en } from '../locales/en';
import { zhCN } from '../locales/zh-CN';
import { placeholderNames } from '../locales/messages';
import { setTestLocale } from '../locales/testing';
import { serverErrorText } from './server-errors';

/** An error body as the server sends it for a reason (server/src/errors.ts ApiFailure.of). */
const sent = (code: string, reason: ServerErrorReason, params: Record<string, string | number> = {}) => ({
  code,
  message: serverErrorMessage(reason, params),
  reason,
  ...(Object.keys(params).length ? { params } : {}),
});

describe("the server's errors in the person's language", () => {
  it('has an en and a zh-CN string for every reason, with exactly the reason’s parameters', () => {
    for (const reason of SERVER_ERROR_REASONS) {
      const params = Object.fromEntries(serverErrorParamNames(reason).map((n, i) => [n, `P${i}`]));
      setTestLocale('en');
      const english = serverErrorText(sent('x', reason, params));
      setTestLocale('zh-CN');
      const chinese = serverErrorText(sent('x', reason, params));
      // Every parameter shows up in both languages (so none was dropped or misnumbered)…
      for (const value of Object.values(params)) {
        expect(english, reason).toContain(value);
        expect(chinese, reason).toContain(value);
      }
      // …and the Chinese sentence is not the English one, nor a message key.
      expect(chinese, reason).not.toBe(english);
      expect(chinese, reason).not.toMatch(/serverError|[A-Za-z]{4,}\s[a-z]{3,}\s/);
    }
  });

  it('uses the same placeholder names in both dictionaries', () => {
    for (const key of Object.keys(en).filter((k) => k.startsWith('serverError.')) as (keyof typeof en)[])
      expect(placeholderNames(zhCN[key]), key).toEqual(placeholderNames(en[key]));
  });

  it('says a wrong password and a sign-in lock-out in Chinese', () => {
    setTestLocale('zh-CN');
    expect(serverErrorText(sent('invalid_credentials', 'invalid_credentials'), 401)).toBe('邮箱或密码不正确。');
    expect(serverErrorText(sent('rate_limited', 'sign_in_rate_limited', { seconds: 900 }), 429)).toBe('登录失败次数过多。请在 900 秒后重试。');
    setTestLocale('en');
    expect(serverErrorText(sent('invalid_credentials', 'invalid_credentials'), 401)).toBe('The email or password is incorrect.');
  });

  it('says a request’s status in the person’s language', () => {
    setTestLocale('zh-CN');
    expect(serverErrorText(sent('conflict', 'request_not_pending', { status: 'approved' }))).toBe('此申请已不再等待审批（当前状态：已批准）。');
    setTestLocale('en');
    expect(serverErrorText(sent('conflict', 'request_not_pending', { status: 'approved' }))).toBe('This request is no longer pending: Approved.');
  });

  it('says why the CRM does not confirm an admin task, keeping the CRM’s own names and words', () => {
    const notYet = sent('conflict', 'crm_not_granted_yet', { username: 'ava@acme.test', permissions: 'object:Deals:read' });
    setTestLocale('en');
    expect(serverErrorText(notYet, 409)).toBe(
      'The CRM does not show ava@acme.test holding object:Deals:read yet: grant it there first, then mark the task done.',
    );
    setTestLocale('zh-CN');
    expect(serverErrorText(notYet, 409)).toBe('CRM 中尚未显示 ava@acme.test 拥有 object:Deals:read：请先在 CRM 中授予，再将任务标记为完成。');
    // The CRM's error text is its own words: passed through untranslated.
    expect(serverErrorText(sent('conflict', 'crm_unreadable', { message: 'INVALID_SESSION_ID' }), 409)).toBe(
      'AccessLens 无法读取 CRM 来确认此操作（INVALID_SESSION_ID）。请稍后重试。',
    );
  });

  it('says who may do what, the action in the reader’s language too', () => {
    const refusal = sent('forbidden', 'admins_and_auditors_only', { action: 'verify_audit_log' });
    expect(refusal.message).toBe('Only administrators and auditors can verify the audit log.');
    setTestLocale('zh-CN');
    expect(serverErrorText(refusal, 403)).toBe('只有管理员和审计员可以校验审计日志。');
    expect(serverErrorText(sent('forbidden', 'admins_only', { action: 'manage_trainings' }), 403)).toBe('只有管理员可以管理培训。');
    setTestLocale('en');
    expect(serverErrorText(refusal, 403)).toBe('Only administrators and auditors can verify the audit log.');
    expect(serverErrorText(sent('forbidden', 'admins_only', { action: 'see_others_delegations' }), 403)).toBe(
      "Only administrators can see other people's delegations.",
    );
  });

  it('says statuses of tasks, findings, campaigns and proposals, and a policy change’s gains, from their shared lists', () => {
    setTestLocale('zh-CN');
    expect(serverErrorText(sent('conflict', 'task_not_open', { taskStatus: 'done' }))).toBe('此任务已处理（当前状态：已完成）。');
    expect(serverErrorText(sent('conflict', 'finding_not_accepted', { findingStatus: 'open' }))).toBe('只有已接受风险的发现可以重新打开（当前状态：未处理）。');
    expect(serverErrorText(sent('conflict', 'campaign_not_open', { campaignStatus: 'closed' }))).toBe('此审查活动已不再进行（当前状态：已结束）。');
    expect(serverErrorText(sent('conflict', 'proposal_not_pending', { proposalStatus: 'applied' }))).toBe('此提议已处理（当前状态：已生效）。');
    expect(serverErrorText(sent('forbidden', 'proposal_benefits_you', { gains: 'auto-approval, baseline' }))).toBe(
      '此变更通过您自己的岗位让您获得更多（自动批准、更宽的基线）：须由不因此获益的管理员批准。',
    );
    setTestLocale('en');
    expect(serverErrorText(sent('conflict', 'task_not_open', { taskStatus: 'cancelled' }))).toBe('This task is already cancelled.');
    expect(serverErrorText(sent('forbidden', 'subject_inactive', { name: 'Jon Park', personStatus: 'departed' }))).toBe('Jon Park is departed.');
    expect(serverErrorText(sent('invalid_input', 'https_only', { crm: 'dynamics' }), 400)).toBe(
      'The protocol must be https: Dynamics 365 is served over HTTPS only.',
    );
    setTestLocale('zh-CN');
    expect(serverErrorText(sent('invalid_input', 'not_crm_host', { crm: 'fxiaoke' }), 400)).toBe('这不是 纷享销客 的主机。');
  });

  it('says one and many in a count correctly, in both languages', () => {
    setTestLocale('en');
    expect(serverErrorText(sent('conflict', 'training_completed_one', { trainingId: 'gdpr-2026' }))).toBe(
      '1 person completed "gdpr-2026": remove their completion first.',
    );
    expect(serverErrorText(sent('conflict', 'training_completed_many', { count: 3, trainingId: 'gdpr-2026' }))).toBe(
      '3 people completed "gdpr-2026": remove their completions first.',
    );
    setTestLocale('zh-CN');
    expect(serverErrorText(sent('conflict', 'licence_consumed_many', { count: 2, licence: 'Sales Cloud' }))).toBe(
      '有 2 个目录条目占用“Sales Cloud”：请先修改这些条目。',
    );
  });

  it('says the server’s validation issues by their kind and bounds, naming the form’s field', () => {
    const parsed = requestCreateArgs.safeParse({
      requestId: crypto.randomUUID(),
      connectionId: 'conn-sf',
      permissions: ['object:Contract:read'],
      page: null,
      justification: '   ',
      durationDays: 7,
    });
    expect(parsed.success).toBe(false);
    // What the server's validation hook sends (server/src/env.ts), prefixed as /api/mutations does.
    const issues = issuesOf(parsed.error!, 'mutations.0.args');
    const body = { code: 'invalid_input', message: `${issues[0]!.field}: ${issues[0]!.message}`, field: issues[0]!.field, issues };
    expect(body.field).toBe('mutations.0.args.justification');
    setTestLocale('zh-CN');
    expect(serverErrorText(body, 400)).toBe('请填写申请理由。');
    setTestLocale('en');
    expect(serverErrorText(body, 400)).toBe('The reason for the request is required.');
  });

  it('says a custom check by its kind: a choice, or a reason a denial needs', () => {
    const deny = decisionRecordArgs.safeParse({ requestId: crypto.randomUUID(), outcome: 'deny', reason: '', durationDays: null });
    const choice = requestCreateArgs.safeParse({
      requestId: crypto.randomUUID(),
      connectionId: 'conn-sf',
      permissions: ['object:Contract:read'],
      page: null,
      justification: 'Renewal',
      durationDays: 14,
    });
    const body = (error: z.ZodError | undefined) => {
      const issues = issuesOf(error!, 'mutations.0.args');
      return { code: 'invalid_input', message: issues[0]!.message, field: issues[0]!.field, issues };
    };
    setTestLocale('zh-CN');
    expect(serverErrorText(body(deny.error), 400)).toBe('请填写拒绝理由。');
    expect(serverErrorText(body(choice.error), 400)).toBe('期限不是允许的选项。');
    setTestLocale('en');
    expect(serverErrorText(body(choice.error), 400)).toBe('The duration is not one of the allowed choices.');
  });

  it('says errors without a reason by their code, and an unknown code in the person’s language', () => {
    setTestLocale('zh-CN');
    expect(serverErrorText({ code: 'forbidden', message: 'Only admins can do that.' }, 403)).toBe('您无权执行此操作。');
    expect(serverErrorText({ code: 'teapot', message: 'I am a teapot.' }, 418)).toBe('服务器出错（418）。');
    expect(serverErrorText({ code: 'teapot', message: 'I am a teapot.' })).toBe('服务器拒绝了此操作（teapot）。');
    // A reason this extension does not know yet falls back to the code.
    expect(serverErrorText({ code: 'conflict', message: 'Newer.', reason: 'something_new' }, 409)).toBe('服务器上的内容已发生变化。请重新加载后重试。');
    setTestLocale('en');
    // English readers get the server's own sentence for a code the extension does not know.
    expect(serverErrorText({ code: 'teapot', message: 'I am a teapot.' }, 418)).toBe('I am a teapot.');
  });

  it('leaves out parameters a newer server adds', () => {
    setTestLocale('en');
    expect(
      serverErrorText({ ...sent('forbidden', 'not_requestable', { key: 'object:Contract:delete' }), params: { key: 'object:Contract:delete', aaa: 'zzz' } }),
    ).toBe('object:Contract:delete cannot be requested; ask an administrator.');
  });
});
