/**
 * Flags on CRM user pages (administrators). On a page the adapter (or the admins' page rules) reads as
 * `user-list` or `user-record`, every link to one user is read for the user id in its URL — never the
 * link's text: names and emails stay on the page — and the background answers which of those users
 * have open findings. Each gets a chip beside the link (on a user's own page, beside the heading too);
 * the chip opens the findings, where the admin can accept a risk or remediate it. Runs in frames too:
 * Salesforce Setup shows its user list in a Classic page framed inside Lightning.
 */
import { render } from 'preact';
import { detectWith, genericAdapter, userIdInLink, type CrmAdapter, type DetectedPage, type PageRule } from '@accesslens/shared/crm';
import type { FlagsPage, Result } from '@accesslens/shared';
import type { ContentScriptContext } from 'wxt/utils/content-script-context';
import { createShadowUi, type ShadowUi } from '../utils/shadow-ui';
import { browser } from 'wxt/browser';
import { ask } from '../utils/messaging';
import type { FlagChip, FlagsAnswer, FlagsDetailAnswer, PageRulesAnswer, PortMessage } from '../utils/protocol';
import type { UiError } from '@accesslens/shared';
import { CHIP_HOST_ATTR, createChip, updateChip, type Chip } from './chips';
import { Detail } from './Detail';
import css from './style.css?inline';

const SHADOW_MODE: ShadowRootMode = import.meta.env.ACCESSLENS_E2E ? 'open' : 'closed';

/** Elements that make one row of a user list: one chip per user per row. */
const ROW = 'tr, [role="row"], li, lyte-exptable-tr, [data-test-id="user-row"]';
/** User ids per question (the background's and server's limit). */
const CHUNK = 500;

const isUserPage = (d: DetectedPage | null): d is DetectedPage => !!d && (d.pageKind === 'user-list' || d.pageKind === 'user-record');

export async function startFlags(ctx: ContentScriptContext, builtIn: CrmAdapter | null): Promise<void> {
  let rules: readonly PageRule[] = [];
  const rulesAnswer = await ask<PageRulesAnswer>({ type: 'page.rules' });
  if (ctx.isInvalid) return;
  if (rulesAnswer.ok) rules = rulesAnswer.rules;
  if (!builtIn && rules.length === 0) return;
  const adapter = builtIn ?? genericAdapter(rules);
  const detect = (href: string) => {
    const d = detectWith(adapter, href, rules);
    return isUserPage(d) ? d : null;
  };

  if (document.readyState === 'loading')
    await new Promise<void>((resolve) => ctx.addEventListener(document, 'DOMContentLoaded', () => resolve(), { once: true }));
  if (ctx.isInvalid) return;

  let detected = detect(location.href);
  let page: FlagsPage | null = detected ? pageOf(detected, location.href) : null;

  /** Chips by the element they follow (a link, or a user page's heading). */
  const chips = new Map<Element, Chip>();
  /** Links already read, with the id their href named (re-read only when the href changes). */
  const read = new WeakMap<Element, { href: string; id: string | null }>();
  let answer: FlagsAnswer | null = null;
  /**
   * What this document learned per user id (null: no open finding). Rows drawn again (sorted, filtered,
   * paged back) get their chips at once from it; the background's answer follows and corrects it.
   */
  const users = new Map<string, FlagChip | null>();

  // ---------- reading the page ----------

  /** The element each user's chip follows: the first link to them in each row, and on their own page its heading. */
  const targets = (): Map<Element, string> => {
    const out = new Map<Element, string>();
    if (!detected) return out;
    const seen = new Set<string>(); // `row index|id`
    const rows = new Map<Element, number>();
    for (const a of document.querySelectorAll('a[href]')) {
      const href = a.getAttribute('href') ?? '';
      let memo = read.get(a);
      if (!memo || memo.href !== href) {
        memo = { href, id: userIdInLink(adapter, href, location.href, rules) };
        read.set(a, memo);
      }
      if (!memo.id) continue;
      const row = a.closest(ROW) ?? a;
      let n = rows.get(row);
      if (n === undefined) rows.set(row, (n = rows.size));
      const key = `${n}|${memo.id}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.set(a, memo.id);
    }
    // A user's own page (in the top frame: Setup frames the same user's Classic page below it).
    if (detected.pageKind === 'user-record' && detected.recordId && window === window.top) {
      const heading = document.querySelector('h1, [role="heading"][aria-level="1"], h2');
      if (heading) out.set(heading, detected.recordId);
    }
    return out;
  };

  // ---------- drawing ----------

  const removeChip = (el: Element) => {
    chips.get(el)?.host.remove();
    chips.delete(el);
  };
  const clearAll = () => {
    for (const el of [...chips.keys()]) removeChip(el);
    closeDetail();
  };

  const draw = (wanted: Map<Element, string>) => {
    for (const [el, chip] of chips) {
      const id = wanted.get(el);
      if (id === undefined || id !== chip.externalUserId || !users.get(id) || !el.isConnected) removeChip(el);
    }
    for (const [el, id] of wanted) {
      const user = users.get(id);
      if (!user) continue;
      let chip = chips.get(el);
      if (!chip) {
        chip = createChip(id, openDetail);
        chips.set(el, chip);
      }
      updateChip(chip, user.severity, user.count);
      // Beside the name: after the link; at the end of a heading.
      const placed = el.tagName === 'A' ? chip.host.previousSibling === el : chip.host.parentElement === el;
      if (!placed) {
        if (el.tagName === 'A') el.after(chip.host);
        else el.append(chip.host);
      }
    }
  };

  // ---------- asking ----------

  let busy = false;
  let again = false;
  let generation = 0;
  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const gen = generation;
        if (!page) return;
        const wanted = targets();
        const ids = [...new Set(wanted.values())];
        if (answer?.admin) draw(wanted); // what is known already, at once
        const answers: { ids: string[]; result: Result<FlagsAnswer> }[] = [];
        for (let i = 0; i === 0 || i < ids.length; i += CHUNK) {
          const chunk = ids.slice(i, i + CHUNK);
          answers.push({ ids: chunk, result: await ask<FlagsAnswer>({ type: 'flags.query', page, externalUserIds: chunk }) });
        }
        if (ctx.isInvalid || gen !== generation) continue;
        const first = answers[0]!.result;
        if (!first.ok || !first.admin) {
          // Not an administrator (or not signed in): nothing is drawn.
          answer = first.ok ? first : answer;
          users.clear();
          clearAll();
          return;
        }
        answer = first;
        for (const a of answers) {
          if (!a.result.ok) continue; // keep what was known for these
          for (const id of a.ids) users.set(id, null);
          for (const u of a.result.users) users.set(u.externalUserId, u);
        }
        listen();
        draw(wanted);
        if (openFor) void loadDetail();
      } while (again);
    } finally {
      busy = false;
    }
  };

  // ---------- the detail ----------

  let ui: ShadowUi | null = null;
  let openFor: { id: string; chip: Chip } | null = null;
  /** What the open detail shows; null while it is being asked for. */
  let shown: { answer: FlagsDetailAnswer | null; error: UiError | null } | null = null;

  async function loadDetail() {
    if (!openFor || !page) return;
    const id = openFor.id;
    const r = await ask<FlagsDetailAnswer>({ type: 'flags.detail', page, externalUserId: id });
    if (openFor?.id !== id) return;
    shown = r.ok ? { answer: r, error: null } : { answer: null, error: r.error };
    paintDetail();
  }

  async function openDetail(chip: Chip) {
    openFor = { id: chip.externalUserId, chip };
    if (!ui) {
      ui = createShadowUi(ctx, {
        name: 'accesslens-flags',
        mode: SHADOW_MODE,
        css,
        isolateEvents: true,
        onRemove: (container) => render(null, container),
      });
      if (ctx.isInvalid) return;
    }
    shown = null;
    ui.mount();
    paintDetail();
    void loadDetail();
  }

  function closeDetail() {
    if (!openFor) return;
    const back = openFor.chip.button;
    openFor = null;
    ui?.remove();
    if (back.isConnected) back.focus();
  }

  function paintDetail() {
    if (!openFor || !ui?.uiContainer || !page) return;
    const p = page;
    render(
      <Detail
        externalUserId={openFor.id}
        loading={shown === null}
        error={shown?.error ?? null}
        user={shown?.answer?.user ?? null}
        offline={(shown?.answer?.offline ?? false) || (answer?.offline ?? false)}
        onClose={closeDetail}
        actions={{
          accept: async (findingId, reason, expiresAt) => {
            const r = await ask<{ findingId: string; status: string; expiresAt: string | null }>({
              type: 'flags.accept',
              page: p,
              findingId,
              reason,
              expiresAt,
            });
            if (r.ok) await refresh();
            return r;
          },
          remediate: async (findingId, side) => {
            const r = await ask<{ taskIds: string[]; requestIds: string[] }>({ type: 'flags.remediate', page: p, findingId, ...(side ? { side } : {}) });
            if (r.ok) await refresh();
            return r;
          },
        }}
      />,
      ui.uiContainer,
    );
  }

  // ---------- following the page ----------

  let scheduled = false;
  const schedule = () => {
    if (scheduled || !page) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      void refresh();
    });
  };
  const ours = (n: Node) => n instanceof Element && n.hasAttribute(CHIP_HOST_ATTR);
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') return schedule();
      for (const n of r.addedNodes) if (!ours(n)) return schedule();
      for (const n of r.removedNodes) if (!ours(n) && chips.size > 0) return schedule();
    }
  });
  observer.observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ['href'] });
  ctx.onInvalidated(() => observer.disconnect());

  // The admin's slice changed (a finding accepted elsewhere, a sync): ask again (answered from the cache).
  let listening = false;
  function listen() {
    if (listening) return;
    listening = true;
    const connect = () => {
      if (ctx.isInvalid) return;
      let port: ReturnType<typeof browser.runtime.connect>;
      try {
        port = browser.runtime.connect({ name: 'overlay' });
      } catch {
        return;
      }
      port.onMessage.addListener((m: PortMessage) => {
        if (m?.type === 'slice.changed') schedule();
      });
      port.onDisconnect.addListener(() => {
        if (!ctx.isInvalid)
          ctx.setTimeout(() => {
            connect();
            schedule();
          }, 1000);
      });
      ctx.onInvalidated(() => port.disconnect());
    };
    connect();
  }

  let lastHref = location.href;
  const onNavigated = () => {
    if (location.href === lastHref) return;
    lastHref = location.href;
    generation++;
    detected = detect(location.href);
    page = detected ? pageOf(detected, location.href) : null;
    if (!page) clearAll();
    else schedule();
  };
  const navigation = (globalThis as { navigation?: EventTarget }).navigation;
  if (navigation) ctx.addEventListener(navigation, 'currententrychange' as never, onNavigated);
  else {
    ctx.addEventListener(window, 'popstate', onNavigated);
    ctx.addEventListener(window, 'hashchange', onNavigated);
    ctx.setInterval(onNavigated, 500);
  }

  if (page) await refresh();
}

/** What the background may know of the page: no query or fragment, no text. */
function pageOf(d: DetectedPage, href: string): FlagsPage {
  const url = new URL(href);
  return { url: `${url.origin}${url.pathname}`, crm: d.crm, tenant: d.tenant, pageKind: d.pageKind as FlagsPage['pageKind'] };
}
