/**
 * Notifications: organisation webhooks in each platform's format (signatures checked by a local receiver
 * that answers as the platform does), retried from the durable outbox; email over SMTP caught by a local
 * SMTP server, in the recipient's language; secrets never returned.
 */
import { webhookResponse, webhooksResponse, type AccessRequest } from '@accesslens/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { startSmtpCatcher, startWebhookReceiver, type SmtpCatcher, type WebhookReceiver } from '../lifecycle/test-receivers.ts';
import { createMutation, decisionMutation, harness, type Harness } from '../testing.ts';

let h: Harness | undefined;
let receiver: WebhookReceiver | undefined;
let smtp: SmtpCatcher | undefined;
afterEach(async () => {
  await h?.close();
  await receiver?.close();
  await smtp?.close();
  h = receiver = smtp = undefined;
});

const FEISHU_SECRET = 'feishu-signing-secret-0123';
const DINGTALK_SECRET = 'SEC0123456789abcdef-dingtalk';

describe('organisation webhooks', () => {
  it('Slack, Teams, Feishu (signed), DingTalk (signed) and WeCom each get the event in their format, once', async () => {
    h = await harness();
    receiver = await startWebhookReceiver({ feishu: FEISHU_SECRET, dingtalk: DINGTALK_SECRET });
    const cara = await h.signIn('cara@acme.test');
    const hooks = [
      { platform: 'slack', name: 'Slack #access', url: `${receiver.url}/slack/services/T000/B000/XXXX` },
      { platform: 'teams', name: 'Teams Access', url: `${receiver.url}/teams/workflows/abc` },
      { platform: 'feishu', name: '飞书 审批群', url: `${receiver.url}/feishu/open-apis/bot/v2/hook/hook-token-1`, secret: FEISHU_SECRET, language: 'zh-CN' },
      { platform: 'dingtalk', name: '钉钉', url: `${receiver.url}/dingtalk/robot/send?access_token=ding-token-1`, secret: DINGTALK_SECRET, language: 'zh-CN' },
      { platform: 'wecom', name: '企业微信', url: `${receiver.url}/wecom/cgi-bin/webhook/send?key=wecom-key-1`, language: 'zh-CN' },
    ];
    for (const hook of hooks) {
      const res = await h.post(cara, '/api/admin/webhooks', hook);
      expect(res.status, await res.clone().text()).toBe(201);
      const { webhook } = webhookResponse.parse(await res.json());
      expect(webhook).toMatchObject({ platform: hook.platform, secret: hook.secret ? 'set' : 'not set', enabled: true });
    }
    // Secrets and the secret parts of URLs are never returned.
    const listed = await (await h.get(cara, '/api/admin/webhooks')).text();
    for (const secret of [FEISHU_SECRET, DINGTALK_SECRET, 'ding-token-1', 'wecom-key-1', 'hook-token-1', 'XXXX']) expect(listed).not.toContain(secret);
    expect(webhooksResponse.parse(JSON.parse(listed)).webhooks.map((w) => w.urlHint)).toContain(`${receiver.url}/slack/…`);
    // Only administrators; a secret for an unsigned platform is refused.
    const ava = await h.signIn('ava@acme.test');
    expect((await h.get(ava, '/api/admin/webhooks')).status).toBe(403);
    const bad = await h.post(cara, '/api/admin/webhooks', { platform: 'slack', name: 'x', url: `${receiver.url}/slack/x`, secret: 'nope' });
    expect(bad.status).toBe(400);

    const m = createMutation({ permissions: ['object:Contract:read'], justification: 'Globex renewal is due this week.' });
    expect((await h.mutate(ava, [m])).results[0]!.status).toBe('applied');
    await h.lifecycle.runDue();
    expect(receiver.posts.map((p) => p.platform).sort()).toEqual(['dingtalk', 'feishu', 'slack', 'teams', 'wecom']);
    const by = (platform: string) => receiver!.posts.find((p) => p.platform === platform)!;
    expect(by('feishu').signatureOk).toBe(true);
    expect(by('dingtalk').signatureOk).toBe(true);
    expect(by('dingtalk').query.get('access_token')).toBe('ding-token-1');
    expect(by('slack').body).toMatchObject({ text: 'Ava Chen asks for access on Acme Salesforce', blocks: expect.any(Array) });
    expect((by('teams').body as { attachments: { contentType: string; content: { type: string } }[] }).attachments[0]).toMatchObject({
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: { type: 'AdaptiveCard' },
    });
    expect(by('feishu').body).toMatchObject({ msg_type: 'post' });
    expect(by('wecom').body).toMatchObject({ msgtype: 'markdown' });
    // Who, which permission and why, in the webhook's language — never the page or the record.
    const slackText = JSON.stringify(by('slack').body);
    expect(slackText).toContain('Read Contracts');
    expect(slackText).toContain('Globex renewal is due this week.');
    const zh = JSON.stringify(by('wecom').body);
    expect(zh).toContain('查看合同');
    expect(zh).toContain('申请');
    for (const p of receiver.posts) {
      expect(JSON.stringify(p.body)).not.toContain('800xx000001AbCdAAK');
      expect(JSON.stringify(p.body)).not.toContain('lightning');
    }
    // Delivered once: running again sends nothing more.
    await h.lifecycle.runDue();
    expect(receiver.posts).toHaveLength(5);
    const states = await h.db.execute("SELECT state, COUNT(*) AS n FROM notification_outbox WHERE channel = 'webhook' GROUP BY state");
    expect(states.rows.map((r) => [String(r.state), Number(r.n)])).toEqual([['sent', 5]]);
  });

  it('a failed delivery is retried with backoff from the outbox; a wrong signing secret is refused by the platform and retried', async () => {
    h = await harness();
    receiver = await startWebhookReceiver({ feishu: FEISHU_SECRET });
    const cara = await h.signIn('cara@acme.test');
    await h.post(cara, '/api/admin/webhooks', { platform: 'slack', name: 'Slack', url: `${receiver.url}/slack/hook`, events: ['request.submitted'] });
    const wrong = webhookResponse.parse(
      await (
        await h.post(cara, '/api/admin/webhooks', {
          platform: 'feishu',
          name: 'Feishu',
          url: `${receiver.url}/feishu/hook`,
          secret: 'not-the-secret',
          events: ['request.submitted'],
        })
      ).json(),
    ).webhook;
    receiver.failNext('slack', 1);
    const ava = await h.signIn('ava@acme.test');
    await h.mutate(ava, [createMutation()]);
    await h.lifecycle.runDue();
    const rows = async () =>
      (
        await h!.db.execute(
          "SELECT recipient, state, attempts, last_error, next_attempt_at FROM notification_outbox WHERE channel = 'webhook' ORDER BY recipient",
        )
      ).rows;
    const now = h.clock.now().getTime();
    for (const r of await rows()) {
      expect(r.state).toBe('queued');
      expect(Number(r.attempts)).toBe(1);
      expect(r.next_attempt_at).toBe(new Date(now + 30_000).toISOString());
    }
    expect((await rows()).map((r) => String(r.last_error))).toEqual(
      expect.arrayContaining([expect.stringContaining('HTTP 500'), expect.stringContaining('19021')]),
    );
    h.clock.advance(31_000);
    await h.lifecycle.runDue();
    const slack = (await rows()).find((r) => String(r.recipient) !== wrong.id)!;
    expect(slack.state).toBe('sent');
    // The right secret: the next retry goes through.
    expect((await h.patch(cara, `/api/admin/webhooks/${wrong.id}`, { secret: FEISHU_SECRET })).status).toBe(200);
    h.clock.advance(61_000);
    await h.lifecycle.runDue();
    expect((await rows()).map((r) => String(r.state))).toEqual(['sent', 'sent']);
    expect(receiver.posts.filter((p) => p.platform === 'feishu').map((p) => p.signatureOk)).toEqual([false, false, true]);
    const view = webhookResponse.parse(await (await h.get(cara, `/api/admin/webhooks/${wrong.id}`)).json()).webhook;
    expect(view.lastDelivery).toMatchObject({ state: 'sent' });
    // The outbox, for administrators.
    const outbox = (await (await h.get(cara, '/api/admin/notifications?state=sent')).json()) as { notifications: { event: string }[] };
    expect(outbox.notifications.filter((n) => n.event === 'request.submitted')).toHaveLength(2);
  });
});

describe('email', () => {
  it('goes over SMTP to the approver in their language, and to the requester when decided', async () => {
    smtp = await startSmtpCatcher();
    h = await harness({ mail: { url: smtp.url, from: 'AccessLens <accesslens@acme.test>' } });
    const ben = await h.signIn('ben@acme.test');
    const ava = await h.signIn('ava@acme.test');
    expect((await h.patch(ben, '/api/me/preferences', { language: 'zh-CN' })).status).toBe(200);
    expect((await h.pull(ben)).me?.language).toBe('zh-CN');
    const bad = await h.patch(ben, '/api/me/preferences', { language: 'fr' });
    expect(bad.status).toBe(400);

    const m = createMutation({ permissions: ['object:Contract:read'], justification: 'Globex renewal is due this week.' });
    await h.mutate(ava, [m]);
    await h.lifecycle.runDue();
    expect(smtp.mails).toHaveLength(1);
    const toBen = smtp.mails[0]!;
    expect(toBen.to && 'text' in toBen.to ? toBen.to.text : '').toContain('ben@acme.test');
    expect(toBen.from?.text).toContain('accesslens@acme.test');
    expect(toBen.subject).toBe('Ava Chen 申请 Acme Salesforce 的访问权限');
    expect(toBen.text).toContain('查看合同');
    expect(toBen.text).toContain('Globex renewal is due this week.');
    expect(toBen.text).not.toContain('800xx000001AbCdAAK');
    expect(toBen.html || '').toContain('<table>');

    await h.mutate(ben, [decisionMutation(m.args.requestId, 'deny', { reason: '请说明是哪份合同。' })]);
    await h.lifecycle.runDue();
    expect(smtp.mails).toHaveLength(2);
    const toAva = smtp.mails[1]!;
    expect(toAva.subject).toBe('Ben Ortiz denied your access request');
    expect(toAva.text).toContain('Reason: 请说明是哪份合同。');
    expect(toAva.text).toContain('Read Contracts');
    const rows = await h.db.execute("SELECT state FROM notification_outbox WHERE channel = 'email'");
    expect(rows.rows.map((r) => String(r.state))).toEqual(['sent', 'sent']);
    // Every step is also in sync for the extension: the status and the timeline.
    const r = (await h.pull(ava)).requests.find((x) => x.id === m.args.requestId) as AccessRequest;
    expect(r.timeline?.map((e) => e.kind)).toEqual(['submitted', 'denied']);
  });

  it('without SMTP settings, email messages are marked skipped (nothing is lost silently: the outbox says why)', async () => {
    h = await harness();
    const ava = await h.signIn('ava@acme.test');
    await h.mutate(ava, [createMutation()]);
    await h.lifecycle.runDue();
    const rows = await h.db.execute("SELECT state, last_error FROM notification_outbox WHERE channel = 'email'");
    expect(rows.rows.map((r) => [String(r.state), String(r.last_error)])).toEqual([['skipped', 'email is not configured (ACCESSLENS_SMTP_URL)']]);
  });
});
