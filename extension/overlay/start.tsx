/**
 * The one overlay, for every CRM: each CRM's content script hands it its adapter (or null for an
 * in-house CRM read by the admins' page rules). It follows the page (first load and single-page or hash
 * navigations, from the browser's own events: a page script cannot fake them), mounts the overlay on
 * pages about an object's records, and hands it what the page shows. Everything is tied to `ctx`.
 */
import { render } from 'preact';
import { genericAdapter, type CrmAdapter, type PageRule } from '@accesslens/shared/crm';
import type { ObservedPage, Result } from '@accesslens/shared';
import type { ContentScriptContext } from 'wxt/utils/content-script-context';
import { createShadowUi } from '../utils/shadow-ui';
import { ask } from '../utils/messaging';
import type { PageDecideAnswer, PageRulesAnswer } from '../utils/protocol';
import { Overlay } from './Overlay';
import { live, type LiveCheck } from './live';
import { detect, observedPageOf, watchForDenial } from './page';
import type { Navigation } from './perf';
import css from './style.css?inline';

/**
 * Production builds render in a closed shadow root, so the CRM page's own scripts cannot read the
 * panel or reach its controls. End-to-end test builds (`ACCESSLENS_E2E=1`) keep it open for Playwright.
 */
const SHADOW_MODE: ShadowRootMode = import.meta.env.ACCESSLENS_E2E ? 'open' : 'closed';

/** How long after a page (or a navigation) a refusal may still appear. */
const SETTLE_MS = 2500;

const sameRules = (a: readonly PageRule[], b: readonly PageRule[]) => JSON.stringify(a) === JSON.stringify(b);

/** `liveCheck`: how this CRM's page asks its current-user API whether a grant works (none: the page answers). */
export async function startOverlay(ctx: ContentScriptContext, builtIn: CrmAdapter | null, liveCheck?: LiveCheck): Promise<void> {
  live.check = liveCheck ?? null;
  let rules: readonly PageRule[] = [];
  let adapter: CrmAdapter;
  if (builtIn) adapter = builtIn;
  else {
    // An in-house CRM: nothing is known about its pages until the admins' rules arrive.
    const answer = await ask<PageRulesAnswer>({ type: 'page.rules' });
    if (!answer.ok || ctx.isInvalid) return;
    rules = answer.rules;
    adapter = genericAdapter(rules);
  }
  const observe = (href: string) => {
    const detected = detect(adapter, href, rules);
    return { detected, page: observedPageOf(detected, href) };
  };

  let nav: Navigation = { id: 0, kind: 'document' };
  let current = observe(location.href);
  let page = current.page;

  // Ask the background right away, while the shadow root is being made.
  let prefetched: { key: string; answer: Promise<Result<PageDecideAnswer>> } | null = page
    ? { key: JSON.stringify(page), answer: ask<PageDecideAnswer>({ type: 'page.decide', page }) }
    : null;
  // Answers this document has had, by what they depend on: a single-page navigation to another record of
  // an object seen before shows its answer at once (stale-while-revalidate; the refresh follows).
  const known = new Map<string, PageDecideAnswer>();
  const answerKey = (p: ObservedPage) => JSON.stringify([p.crm, p.tenant, p.pageKind, p.object, p.denialText]);
  const decide = async (p: ObservedPage): Promise<Result<PageDecideAnswer>> => {
    let answer: Promise<Result<PageDecideAnswer>>;
    if (prefetched && prefetched.key === JSON.stringify(p)) {
      answer = prefetched.answer;
      prefetched = null;
    } else {
      answer = ask<PageDecideAnswer>({ type: 'page.decide', page: p });
    }
    const result = await answer;
    if (result.ok) {
      const { ok: _ok, ...rest } = result;
      known.set(answerKey(p), rest);
    }
    // The admins' rules for this host changed how it reads: read the page again with them.
    if (result.ok && !sameRules(result.rules, rules)) {
      rules = result.rules;
      queueMicrotask(() => begin(location.href, { id: ++count, kind: 'spa', startedAt: performance.now() }));
    }
    return result;
  };

  // The content script starts at document_start so the question above is on its way while the page
  // parses; the overlay goes into the page once its body exists.
  if (document.readyState === 'loading')
    await new Promise<void>((resolve) => ctx.addEventListener(document, 'DOMContentLoaded', () => resolve(), { once: true }));
  if (ctx.isInvalid) return;

  const ui = createShadowUi(ctx, {
    name: 'accesslens-overlay',
    mode: SHADOW_MODE,
    css,
    // Keystrokes typed in the overlay must not trigger the CRM's own shortcuts.
    isolateEvents: true,
    onRemove: (container) => render(null, container),
  });
  if (ctx.isInvalid) return;

  /** No refusal has shown for a while since this page loaded (or navigated): what the access check waits for. */
  let settled = false;
  let mounted = false;
  const paint = () => {
    if (!page) {
      if (mounted) ui.remove();
      mounted = false;
      return;
    }
    if (!mounted) ui.mount();
    mounted = true;
    render(
      <Overlay key={nav.id} page={page} settled={settled} initial={known.get(answerKey(page)) ?? null} nav={nav} host={ui.shadowHost} decide={decide} />,
      ui.uiContainer,
    );
  };

  let navAbort: AbortController | null = null;
  let count = 0;
  let lastHref = location.href;
  const begin = (href: string, next: Navigation) => {
    navAbort?.abort();
    lastHref = href;
    nav = next;
    current = observe(href);
    page = current.page;
    // Ask now, not once the overlay has rendered: effects run only after the next frame.
    if (page && next.kind === 'spa') prefetched = { key: JSON.stringify(page), answer: ask<PageDecideAnswer>({ type: 'page.decide', page }) };
    settled = false;
    paint();
    if (!page || !current.detected) return;
    navAbort = new AbortController();
    const signal = AbortSignal.any([ctx.signal, navAbort.signal]);
    const phrases = rules.filter((r) => r.host === location.host.toLowerCase()).flatMap((r) => r.denialPhrases);
    watchForDenial(signal, { adapter, phrases }, (text) => {
      if (nav.id !== next.id || !page) return;
      page = { ...page, denialText: text };
      paint();
    });
    // CRMs render their refusal within a moment of showing a page; none by then, the page is let in.
    ctx.setTimeout(() => {
      if (nav.id !== next.id || !page || page.denialText) return;
      settled = true;
      paint();
    }, SETTLE_MS);
  };

  begin(location.href, nav);
  const onNavigated = () => {
    if (location.href === lastHref) return;
    begin(location.href, { id: ++count, kind: 'spa', startedAt: performance.now() });
  };
  // The Navigation API reports pushState, replaceState, back/forward and hash changes alike.
  const navigation = (globalThis as { navigation?: EventTarget }).navigation;
  if (navigation) ctx.addEventListener(navigation, 'currententrychange' as never, onNavigated);
  else {
    ctx.addEventListener(window, 'popstate', onNavigated);
    ctx.addEventListener(window, 'hashchange', onNavigated);
    ctx.setInterval(onNavigated, 500); // pushState has no event without the Navigation API
  }
}
