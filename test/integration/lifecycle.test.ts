/**
 * Notifications from two server processes on one libsql server (sqld): every event reaches each
 * recipient exactly once — an email caught by a local SMTP server, a signed webhook post checked by a
 * local receiver — whichever process wrote the event and whichever claimed the message.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { startSqld, type RunningSqld } from '@accesslens/server/testing-sqld';
import { startSmtpCatcher, startWebhookReceiver, type SmtpCatcher, type WebhookReceiver } from '@accesslens/server/lifecycle/test-receivers';

const FEISHU_SECRET = 'integration-feishu-secret';
let sqld: RunningSqld;
let smtp: SmtpCatcher;
let receiver: WebhookReceiver;
let a: RunningServer;
let b: RunningServer;

beforeAll(async () => {
  sqld = await startSqld();
  smtp = await startSmtpCatcher();
  receiver = await startWebhookReceiver({ feishu: FEISHU_SECRET });
  const env = { ACCESSLENS_SMTP_URL: smtp.url, ACCESSLENS_MAIL_FROM: 'AccessLens <accesslens@acme.test>' };
  [a, b] = await Promise.all([startServer({ databaseUrl: sqld.url, env }), startServer({ databaseUrl: sqld.url, env })]);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([a?.dispose(), b?.dispose()]);
  await Promise.allSettled([smtp?.close(), receiver?.close()]);
  await sqld?.stop();
});

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the notification outbox on two server processes', () => {
  it('delivers each email and each webhook post exactly once', async () => {
    const cara = new ApiClient(a.url);
    await cara.signIn(DEMO.cara.email, DEMO.cara.password);
    for (const hook of [
      { platform: 'slack', name: 'Slack', url: `${receiver.url}/slack/services/T/B/secret`, events: ['request.submitted'] },
      {
        platform: 'feishu',
        name: 'Feishu',
        url: `${receiver.url}/feishu/open-apis/bot/v2/hook/abc`,
        secret: FEISHU_SECRET,
        events: ['request.submitted'],
        language: 'zh-CN',
      },
    ])
      expect((await cara.call('POST', '/api/admin/webhooks', hook)).status).toBe(201);

    // Ava writes through A, Eli (as Ava's colleague, also Ben's report) through B: 12 requests to Ben.
    const ava = new ApiClient(a.url);
    await ava.signIn(DEMO.ava.email, DEMO.ava.password);
    const eli = new ApiClient(b.url);
    await eli.signIn('eli@acme.test', 'eli-demo-2026');
    const keys = ['object:Contract:read', 'object:Contract:edit', 'object:Order:read', 'object:Order:edit', 'object:Campaign:edit', 'object:Case:edit'];
    const justifications: string[] = [];
    for (const [client, who] of [
      [ava, 'ava'],
      [eli, 'eli'],
    ] as const) {
      const mutations = keys.map((key) => {
        const justification = `${who} needs ${key} for the renewal ${randomUUID().slice(0, 8)}`;
        justifications.push(justification);
        return {
          id: randomUUID(),
          name: 'request.create',
          args: { requestId: randomUUID(), connectionId: 'sf-acme', permissions: [key], page: null, justification, durationDays: 30 },
        };
      });
      const res = await client.mutate(...mutations);
      expect(res.json.results.map((r: { status: string }) => r.status)).toEqual(Array(keys.length).fill('applied'));
    }

    const pending = async () => {
      const q = await cara.call('GET', '/api/admin/notifications?limit=500');
      return (q.json.notifications as { state: string }[]).filter((n) => n.state === 'queued' || n.state === 'sending').length;
    };
    await until('every message delivered', async () => smtp.mails.length >= 12 && receiver.posts.length >= 24 && (await pending()) === 0);
    // A while longer: nothing arrives twice.
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await pending()).toBe(0);

    expect(smtp.mails).toHaveLength(12);
    expect(new Set(smtp.mails.map((m) => m.messageId)).size).toBe(12);
    for (const m of smtp.mails) expect(m.to && 'text' in m.to ? m.to.text : '').toContain('ben@acme.test');
    for (const j of justifications) expect(smtp.mails.filter((m) => (m.text ?? '').includes(j))).toHaveLength(1);

    expect(receiver.posts).toHaveLength(24);
    for (const platform of ['slack', 'feishu']) {
      const posts = receiver.posts.filter((p) => p.platform === platform);
      expect(posts).toHaveLength(12);
      for (const j of justifications) expect(posts.filter((p) => JSON.stringify(p.body).includes(j))).toHaveLength(1);
    }
    expect(receiver.posts.filter((p) => p.platform === 'feishu').every((p) => p.signatureOk === true)).toBe(true);
    const sent = await cara.call('GET', '/api/admin/notifications?state=sent&limit=500');
    expect(sent.json.notifications).toHaveLength(36);
  });
});
