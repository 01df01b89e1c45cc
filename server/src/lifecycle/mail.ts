/**
 * Email over SMTP (nodemailer), configured by the environment:
 * - ACCESSLENS_SMTP_URL: `smtp://user:pass@host:587` (STARTTLS when offered), `smtps://…:465` (TLS), or
 *   `smtp://host:25` without credentials. Unset: no email is sent (messages are marked skipped).
 * - ACCESSLENS_MAIL_FROM: the sender, e.g. `AccessLens <accesslens@acme.example>` (required with a URL).
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { Locale } from '@accesslens/shared';
import { renderHtml, renderText, type RenderedMessage } from './messages.ts';

export interface MailSettings {
  url: string;
  from: string;
}

export class MailConfigError extends Error {
  override name = 'MailConfigError';
}

export function mailSettingsFromEnv(env: Record<string, string | undefined>): MailSettings | null {
  const url = env.ACCESSLENS_SMTP_URL?.trim();
  if (!url) return null;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MailConfigError('ACCESSLENS_SMTP_URL must be a URL such as smtp://user:password@mail.example.com:587 or smtps://…:465.');
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:')
    throw new MailConfigError(`ACCESSLENS_SMTP_URL must start with smtp:// or smtps:// (got ${parsed.protocol}//).`);
  const from = env.ACCESSLENS_MAIL_FROM?.trim();
  if (!from) throw new MailConfigError('ACCESSLENS_MAIL_FROM is required with ACCESSLENS_SMTP_URL (e.g. "AccessLens <accesslens@example.com>").');
  return { url, from };
}

export class Mailer {
  readonly #transport: Transporter;
  constructor(readonly settings: MailSettings) {
    this.#transport = nodemailer.createTransport(settings.url);
  }

  async send(to: { name: string; email: string }, message: RenderedMessage, locale: Locale, messageId: string): Promise<void> {
    await this.#transport.sendMail({
      from: this.settings.from,
      to: { name: to.name, address: to.email },
      subject: message.title,
      text: renderText(message),
      html: renderHtml(message, locale),
      messageId: `<${messageId}@accesslens>`,
      headers: { 'Content-Language': locale, 'X-AccessLens-Notification': messageId },
    });
  }

  close(): void {
    this.#transport.close();
  }
}
