/** How UIs (overlay, popup, options) talk to the background. */
import { browser } from 'wxt/browser';
import type { ContentMessageInput, ExtensionPageMessageInput, Result } from '@accesslens/shared';
import { t } from './i18n';

export async function ask<T>(message: ContentMessageInput | ExtensionPageMessageInput): Promise<Result<T>> {
  try {
    const answer = (await browser.runtime.sendMessage(message)) as Result<T> | undefined;
    return answer ?? { ok: false, error: { code: 'no_response', message: t('error.noResponse') } };
  } catch {
    return { ok: false, error: { code: 'no_response', message: t('error.noResponse') } };
  }
}
