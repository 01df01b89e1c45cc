/**
 * What the content script learns about its page, as pure URL checks (shared `parseSalesforceUrl`)
 * plus a bounded watch for the CRM's own denial message. Only identifiers leave the page: the URL
 * without query or fragment, object, record id, view, and the known denial phrase that matched.
 */
import { detectDenial, detectWith, salesforce, type ObservedPage } from '@accesslens/shared';

const VIEWS: Record<string, string> = { record: 'view', 'record-edit': 'edit', new: 'new', home: 'home', list: 'list' };

export function observedPageOf(href: string, denialText: string | null = null): ObservedPage | null {
  const page = detectWith(salesforce, href);
  const view = page ? VIEWS[page.pageKind] : undefined;
  if (!page || !view || !page.object) return null;
  const url = new URL(href);
  return {
    url: `${url.origin}${url.pathname}`,
    object: page.object,
    recordId: page.recordId,
    view,
    denialText,
  };
}

export function findDenialText(text: string): string | null {
  return detectDenial('salesforce', text);
}

export interface DenialWatchOptions {
  /** Give up after this long: a denial is rendered soon after navigation or not at all. */
  timeoutMs?: number;
  debounceMs?: number;
  root?: () => HTMLElement | null;
}

/**
 * Calls `onFound` once with the matched phrase if the page shows (now or within the timeout) a known
 * denial message. Lightning renders asynchronously, so DOM changes are watched, debounced.
 */
export function watchForDenial(signal: AbortSignal, onFound: (text: string) => void, options: DenialWatchOptions = {}): void {
  const { timeoutMs = 15_000, debounceMs = 120, root = () => document.body } = options;
  if (signal.aborted) return;
  let debounce: ReturnType<typeof setTimeout> | null = null;
  let done = false;
  const stop = () => {
    done = true;
    observer.disconnect();
    if (debounce) clearTimeout(debounce);
    clearTimeout(timeout);
  };
  const check = () => {
    debounce = null;
    if (done) return;
    const found = findDenialText(root()?.innerText ?? '');
    if (found) {
      stop();
      onFound(found);
    }
  };
  const observer = new MutationObserver(() => {
    if (!debounce && !done) debounce = setTimeout(check, debounceMs);
  });
  const timeout = setTimeout(stop, timeoutMs);
  signal.addEventListener('abort', stop, { once: true });
  const target = root() ?? document.documentElement;
  observer.observe(target, { childList: true, subtree: true, characterData: true });
  check();
}
