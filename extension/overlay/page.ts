/**
 * What the content script learns about its page: the adapter's pure URL checks (and the admins' page
 * rules), plus a bounded watch for the CRM's own denial phrase. Only identifiers leave the page: the
 * URL without query or fragment, CRM, tenant, page kind, object, record id, and the known phrase.
 */
import { denialWith, detectWith, type CrmAdapter, type DetectedPage, type PageRule } from '@accesslens/shared/crm';
import type { ObservedPage } from '@accesslens/shared';

/** Page kinds the overlay explains: an object's records. */
const OBJECT_PAGES: ReadonlySet<DetectedPage['pageKind']> = new Set(['record', 'record-edit', 'new', 'home', 'list']);

/** Reads `href` with the CRM's adapter (an in-house CRM's is made of its page rules) and the admins' overrides. */
export function detect(adapter: CrmAdapter, href: string, rules: readonly PageRule[]): DetectedPage | null {
  return detectWith(adapter, href, rules);
}

/** The page as the background may know it, or null when the overlay has nothing to explain here. */
export function observedPageOf(detected: DetectedPage | null, href: string, denialText: string | null = null): ObservedPage | null {
  if (!detected || !detected.object || !OBJECT_PAGES.has(detected.pageKind)) return null;
  const url = new URL(href);
  return {
    url: `${url.origin}${url.pathname}`,
    crm: detected.crm,
    tenant: detected.tenant,
    pageKind: detected.pageKind,
    object: detected.object,
    recordId: detected.recordId,
    denialText,
  };
}

/** Where refusals are shown whatever the CRM: alerts and dialogs. */
const COMMON_REGIONS = ['[role="alert"]', '[role="alertdialog"]', '[role="dialog"]'];
/** Text read from one region at most: a refusal is a short message near its start. */
const MAX_TEXT = 4000;
/** Regions examined per batch of DOM changes at most. */
const MAX_REGIONS = 40;

export interface DenialWatch {
  /** Whose denial regions and phrases: the page's CRM adapter. */
  adapter: Pick<CrmAdapter, 'denialRegions' | 'denialPhrases'>;
  /** Phrases besides the adapter's own (from the admins' page rules for this host). */
  phrases: readonly string[];
  /** Give up after this long: a denial is rendered soon after navigation or not at all. */
  timeoutMs?: number;
  root?: ParentNode & Node;
}

/**
 * Calls `onFound` once with the matched phrase if the page shows (now or within the timeout) a known
 * denial message. Reads only the text of the adapter's denial regions — the ones present now and the
 * ones that appear or change — never the whole page's rendered text (which would force layout on
 * every change of a large CRM page).
 */
export function watchForDenial(signal: AbortSignal, watch: DenialWatch, onFound: (phrase: string) => void): void {
  if (signal.aborted) return;
  const selector = [...new Set([...watch.adapter.denialRegions, ...COMMON_REGIONS])].join(', ');
  const root = watch.root ?? document;
  let done = false;
  let pending = new Set<Element>();
  let scheduled = false;

  const check = (regions: Iterable<Element>) => {
    let n = 0;
    for (const region of regions) {
      if (done || n++ >= MAX_REGIONS) return;
      const text = (region.textContent ?? '').slice(0, MAX_TEXT);
      const found = text && denialWith(watch.adapter, text, watch.phrases);
      if (found) {
        stop();
        onFound(found);
        return;
      }
    }
  };
  const flush = () => {
    scheduled = false;
    const regions = pending;
    pending = new Set();
    check(regions);
  };
  const consider = (node: Node) => {
    const el = node instanceof Element ? node : node.parentElement;
    if (!el) return;
    const region = el.closest(selector);
    if (region) pending.add(region);
    else if (node instanceof Element) for (const inner of node.querySelectorAll(selector)) pending.add(inner);
  };
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'characterData') consider(r.target);
      else for (const node of r.addedNodes) consider(node);
    }
    if (pending.size > 0 && !scheduled) {
      scheduled = true;
      // One look per burst of changes: SPAs render a view in many small mutations.
      queueMicrotask(flush);
    }
  });
  const stop = () => {
    done = true;
    observer.disconnect();
    clearTimeout(timeout);
  };
  const timeout = setTimeout(stop, watch.timeoutMs ?? 15_000);
  signal.addEventListener('abort', stop, { once: true });
  observer.observe(root, { childList: true, subtree: true, characterData: true });
  check(root.querySelectorAll(selector));
}
