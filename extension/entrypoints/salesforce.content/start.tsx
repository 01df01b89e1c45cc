/**
 * The content script's wiring: follow the page (first load and single-page navigations), mount the
 * overlay on recognised pages only, and hand it what the page shows. Everything is tied to `ctx`.
 */
import { render } from 'preact';
import type { ObservedPage, Result } from '@accesslens/shared';
import type { ContentScriptContext } from 'wxt/utils/content-script-context';
import { createShadowRootUi } from 'wxt/utils/content-script-ui/shadow-root';
import { ask } from '../../utils/messaging';
import type { PageDecideAnswer } from '../../utils/protocol';
import { Overlay } from './Overlay';
import { observedPageOf, watchForDenial } from './page-watch';
import type { Navigation } from './perf';

export async function startOverlay(ctx: ContentScriptContext): Promise<void> {
  let nav: Navigation = { id: 0, kind: 'document' };
  let page = observedPageOf(location.href);

  // Ask the background right away, while the shadow root's styles load.
  let prefetched: { key: string; answer: Promise<Result<PageDecideAnswer>> } | null = page
    ? { key: JSON.stringify(page), answer: ask<PageDecideAnswer>({ type: 'page.decide', page }) }
    : null;
  const decide = (p: ObservedPage): Promise<Result<PageDecideAnswer>> => {
    if (prefetched && prefetched.key === JSON.stringify(p)) {
      const { answer } = prefetched;
      prefetched = null;
      return answer;
    }
    return ask<PageDecideAnswer>({ type: 'page.decide', page: p });
  };

  const ui = await createShadowRootUi<HTMLElement>(ctx, {
    name: 'accesslens-overlay',
    mode: 'open',
    position: 'inline',
    anchor: 'body',
    append: 'last',
    // Keystrokes typed in the overlay must not trigger the CRM's own shortcuts.
    isolateEvents: true,
    onMount: (container) => container,
    onRemove: (container) => {
      if (container) render(null, container);
    },
  });
  if (ctx.isInvalid) return;

  let mounted = false;
  const paint = () => {
    if (!page) {
      if (mounted) ui.remove();
      mounted = false;
      return;
    }
    if (!mounted) ui.mount();
    mounted = true;
    render(<Overlay key={nav.id} page={page} nav={nav} host={ui.shadowHost} decide={decide} />, ui.uiContainer);
  };

  let navAbort: AbortController | null = null;
  const begin = (href: string, next: Navigation) => {
    navAbort?.abort();
    nav = next;
    page = observedPageOf(href);
    paint();
    if (!page) return;
    navAbort = new AbortController();
    const signal = AbortSignal.any([ctx.signal, navAbort.signal]);
    watchForDenial(signal, (text) => {
      if (nav.id !== next.id || !page) return;
      page = { ...page, denialText: text };
      paint();
    });
  };

  begin(location.href, nav);
  let count = 0;
  ctx.addEventListener(window, 'wxt:locationchange', (event) => {
    begin(event.newUrl.href, { id: ++count, kind: 'spa', startedAt: performance.now() });
  });
}
