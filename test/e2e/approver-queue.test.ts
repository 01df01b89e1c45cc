/**
 * The approver's queue cleared fast, in the real popup against the real server: dozens of requests from
 * several CRMs, filtered by CRM, searched, handled from the keyboard, approved all at once — and each
 * decision can be taken back for a few seconds, in which case the server never hears of it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { ApiClient, DEMO, startServer, type RunningServer } from '../support/server.ts';
import { captureFailure, launchWithExtension, signIn, type ExtensionBrowser } from '../support/browser.ts';

let server: RunningServer;
let ben: ExtensionBrowser;
/** Request ids waiting for Ben, by connection. */
const forBen = new Map<string, string[]>();
let total = 0;

const benApi = () => {
  const api = new ApiClient(server.url);
  return api.signIn(DEMO.ben.email, DEMO.ben.password).then(() => api);
};

/** Requests in Ben's slice that are open and name him in their open stage. */
async function waitingForBen(): Promise<{ id: string; connectionId: string; status: string }[]> {
  const slice = (await (await benApi()).sync()).json;
  return slice.requests.filter((r: any) => r.status === 'pending' && r.stages.some((s: any) => !s.decision && s.approverIds.includes(slice.me.id)));
}

async function statusesOf(ids: string[]): Promise<string[]> {
  const slice = (await (await benApi()).sync()).json;
  return ids.map((id) => slice.requests.find((r: any) => r.id === id)?.status ?? 'missing');
}

/** Mutations the background has not yet delivered (held ones included), read from the popup's own storage. */
const outboxLength = (popup: Page) =>
  popup.evaluate(async () => {
    const chromeApi = (globalThis as unknown as { chrome: { storage: { local: { get(k: string): Promise<Record<string, unknown[] | undefined>> } } } }).chrome;
    return ((await chromeApi.storage.local.get('outbox')).outbox ?? []).filter((e) => !(e as { delivered: boolean }).delivered).length;
  });

beforeAll(async () => {
  server = await startServer();
  // Ava and Cara ask for everything their catalogs offer that they lack; what their manager Ben must decide is the queue.
  for (const who of [DEMO.ava, DEMO.cara]) {
    const api = new ApiClient(server.url);
    await api.signIn(who.email, who.password);
    const slice = (await api.sync()).json;
    const mutations = slice.catalog
      .filter((c: any) => !c.key.startsWith('system:'))
      .map((c: any) => ({
        id: randomUUID(),
        name: 'request.create',
        args: {
          requestId: randomUUID(),
          connectionId: c.connectionId,
          permissions: [c.key],
          page: null,
          justification: `Quarter-end work needs ${c.key}`,
          durationDays: 7,
        },
      }));
    for (let i = 0; i < mutations.length; i += 50) await api.mutate(...mutations.slice(i, i + 50));
  }
  for (const r of await waitingForBen()) forBen.set(r.connectionId, [...(forBen.get(r.connectionId) ?? []), r.id]);
  total = [...forBen.values()].reduce((n, ids) => n + ids.length, 0);
  ben = await launchWithExtension({});
  await (await signIn(ben, server.url, DEMO.ben.email, DEMO.ben.password, DEMO.ben.name)).close();
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { ben });
});

afterAll(async () => {
  await Promise.allSettled([ben?.close()]);
  await server?.dispose();
});

describe('approver queue', () => {
  it('filters by CRM, searches, and the keyboard approves one, which "u" takes back before it is sent', async () => {
    expect(total).toBeGreaterThanOrEqual(50);
    expect(forBen.size).toBeGreaterThan(1);
    const popup = await ben.open('popup.html');
    const items = popup.getByTestId('al-queue-item');
    await expect.poll(() => items.count(), { timeout: 30_000 }).toBe(total);
    // Several cards fit in the popup at once.
    const visible = await items.evaluateAll((els) => els.filter((el) => el.getBoundingClientRect().bottom <= window.innerHeight).length);
    expect(visible).toBeGreaterThanOrEqual(4);

    const [connectionId, ids] = [...forBen.entries()].find(([id]) => id !== 'sf-acme')!;
    await popup.getByTestId('al-queue-filter').selectOption(connectionId);
    await expect.poll(() => items.count()).toBe(ids.length);
    await popup.getByTestId('al-queue-filter').selectOption('');
    await popup.getByTestId('al-queue-search').fill('Account');
    await expect.poll(() => items.count()).toBeLessThan(total);
    expect(await items.count()).toBeGreaterThan(0);
    for (const text of await items.allTextContents()) expect(text).toMatch(/Account/);
    await popup.getByTestId('al-queue-search').fill('');
    await expect.poll(() => items.count()).toBe(total);

    // Keyboard: j moves down, a approves the card in focus, u takes it back.
    await popup.getByTestId('al-queue-search').press('Escape');
    await popup.keyboard.press('j');
    const second = await items.nth(1).getAttribute('data-request-id');
    await expect.poll(() => popup.evaluate(() => document.activeElement?.getAttribute('data-request-id') ?? null)).toBe(second);
    await popup.keyboard.press('a');
    await expect.poll(() => items.count()).toBe(total - 1);
    await popup.getByTestId('al-undo-bar').waitFor();
    await popup.keyboard.press('u');
    await expect.poll(() => items.count()).toBe(total);
    // Taken back before it was sent: the background's outbox no longer holds it, and the server still has it pending.
    await expect.poll(() => outboxLength(popup)).toBe(0);
    await expect(statusesOf([second!])).resolves.toEqual(['pending']);
    await popup.close();
  });

  it('select all, approve all, undo all; then approve all for real and the server has every one', async () => {
    const popup = await ben.open('popup.html');
    const items = popup.getByTestId('al-queue-item');
    await expect.poll(() => items.count(), { timeout: 30_000 }).toBe(total);
    await popup.getByTestId('al-select-all').check();
    await popup.getByTestId('al-bulk-approve').click();
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBe(0);
    await popup.getByTestId('al-undo').click();
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBe(total);
    const all = [...forBen.values()].flat();
    await expect.poll(() => outboxLength(popup)).toBe(0);
    expect(new Set(await statusesOf(all))).toEqual(new Set(['pending']));

    await popup.getByTestId('al-select-all').check();
    await popup.getByTestId('al-bulk-approve').click();
    await expect.poll(() => items.count(), { timeout: 10_000 }).toBe(0);
    await popup.getByTestId('al-queue-empty').waitFor();
    // Once the hold passes, every decision reaches the server: nothing waits for Ben any more. (A request
    // with a later stage, such as a Quote edit that the Deal Desk approves next, stays pending for them.)
    await expect.poll(async () => (await waitingForBen()).length, { timeout: 60_000, interval: 1_000 }).toBe(0);
    expect((await statusesOf(all)).every((s) => ['pending', 'approved', 'fulfilled'].includes(s))).toBe(true);
    expect((await statusesOf(all)).filter((s) => s !== 'pending').length).toBeGreaterThanOrEqual(total - 5);
    await popup.close();
  });
});
