/**
 * Organisation webhooks in each chat platform's own format, signed where the platform signs:
 * - Slack incoming webhook: `{text, blocks}` (Block Kit section/context blocks), no signature (the URL is
 *   the secret). Slack API docs, "Sending messages using incoming webhooks".
 * - Microsoft Teams: a Workflows webhook ("When a Teams webhook request is received", which replaces
 *   Office 365 connectors) takes `{type: "message", attachments: [{contentType:
 *   "application/vnd.microsoft.card.adaptive", content: <Adaptive Card 1.4>}]}`. No signature.
 * - Feishu/Lark custom bot: `{timestamp, sign, msg_type: "post", content}`; with a signing secret,
 *   sign = base64(HMAC-SHA256(key = `${timestamp}\n${secret}`, message = "")), timestamp in seconds.
 *   Feishu open platform, "Custom bot usage guide", section "Signature verification".
 * - DingTalk custom robot: `{msgtype: "markdown", markdown: {title, text}}`; with a signing secret the URL
 *   gets `&timestamp=<ms>&sign=<urlencode(base64(HMAC-SHA256(key = secret, message = `${timestamp}\n${secret}`)))>`.
 *   DingTalk open platform, "Custom robot security settings", section "Signature".
 * - WeCom (企业微信) group robot: `{msgtype: "markdown", markdown: {content}}`, no signature (the key in the URL).
 *   WeCom developer docs, "群机器人配置说明".
 * Feishu, DingTalk and WeCom answer HTTP 200 with an error code in the body: 0 is success.
 */
import { createHmac } from 'node:crypto';
import type { Locale, WebhookPlatform } from '@accesslens/shared';
import { renderMarkdown, type RenderedMessage } from './messages.ts';

export interface WebhookRequest {
  url: string;
  body: unknown;
}

export function feishuSign(timestampSeconds: string, secret: string): string {
  return createHmac('sha256', `${timestampSeconds}\n${secret}`).update('').digest('base64');
}

export function dingtalkSign(timestampMs: string, secret: string): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64');
}

/** The HTTP request for one message to one webhook, at `now`. */
export function webhookRequest(platform: WebhookPlatform, url: string, secret: string | null, m: RenderedMessage, locale: Locale, now: Date): WebhookRequest {
  switch (platform) {
    case 'slack':
      return {
        url,
        body: {
          text: m.title,
          blocks: [
            { type: 'header', text: { type: 'plain_text', text: m.title.slice(0, 150), emoji: false } },
            {
              type: 'section',
              fields: m.facts.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${slackEscape(k)}*\n${slackEscape(v).slice(0, 1900)}` })),
            },
            ...(m.action ? [{ type: 'context', elements: [{ type: 'mrkdwn', text: slackEscape(m.action) }] }] : []),
          ],
        },
      };
    case 'teams':
      return {
        url,
        body: {
          type: 'message',
          attachments: [
            {
              contentType: 'application/vnd.microsoft.card.adaptive',
              contentUrl: null,
              content: {
                $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
                type: 'AdaptiveCard',
                version: '1.4',
                lang: locale,
                body: [
                  { type: 'TextBlock', text: m.title, weight: 'Bolder', size: 'Medium', wrap: true },
                  { type: 'FactSet', facts: m.facts.map(([k, v]) => ({ title: k, value: v })) },
                  ...(m.action ? [{ type: 'TextBlock', text: m.action, wrap: true, isSubtle: true }] : []),
                ],
              },
            },
          ],
        },
      };
    case 'feishu': {
      const timestamp = String(Math.floor(now.getTime() / 1000));
      const post = {
        title: m.title,
        content: [...m.facts.map(([k, v]) => [{ tag: 'text', text: `${k}: ${v}` }]), ...(m.action ? [[{ tag: 'text', text: m.action }]] : [])],
      };
      return {
        url,
        body: {
          ...(secret ? { timestamp, sign: feishuSign(timestamp, secret) } : {}),
          msg_type: 'post',
          content: { post: { [locale === 'zh-CN' ? 'zh_cn' : 'en_us']: post } },
        },
      };
    }
    case 'dingtalk': {
      let target = url;
      if (secret) {
        const timestamp = String(now.getTime());
        const u = new URL(url);
        u.searchParams.set('timestamp', timestamp);
        u.searchParams.set('sign', dingtalkSign(timestamp, secret));
        target = u.toString();
      }
      return { url: target, body: { msgtype: 'markdown', markdown: { title: m.title, text: renderMarkdown(m).replaceAll('\n', '\n\n') } } };
    }
    case 'wecom':
      return { url, body: { msgtype: 'markdown', markdown: { content: renderMarkdown(m).slice(0, 4096) } } };
  }
}

const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Whether the platform's answer means delivered (Feishu, DingTalk, WeCom: HTTP 200 with code 0). */
export function platformAccepted(platform: WebhookPlatform, status: number, text: string): { ok: boolean; error: string | null } {
  if (status < 200 || status >= 300) return { ok: false, error: `HTTP ${status}: ${text.slice(0, 300)}` };
  if (platform === 'slack' || platform === 'teams') return { ok: true, error: null };
  try {
    const body = JSON.parse(text) as { code?: number; StatusCode?: number; errcode?: number; msg?: string; errmsg?: string };
    const code = body.code ?? body.StatusCode ?? body.errcode ?? 0;
    return code === 0 ? { ok: true, error: null } : { ok: false, error: `${platform} refused it: ${code} ${body.msg ?? body.errmsg ?? ''}`.trim() };
  } catch {
    return { ok: true, error: null };
  }
}

/** Where a webhook posts, without its secret parts: scheme, host and the first path segment. */
export function urlHint(url: string): string {
  const u = new URL(url);
  const first = u.pathname.split('/').filter(Boolean)[0];
  return `${u.protocol}//${u.host}/${first ? `${first}/…` : ''}`;
}
