/**
 * The request lifecycle in the real popup and settings, against the real server (in this process, so the
 * test moves its clock): Ben asks a question from a queue card and Ava answers it from her popup; browser
 * notifications observed through the extension itself (`chrome.notifications.getAll` in its service
 * worker: the notifications the extension created and that still exist — no stub); a kind turned off in
 * settings stays silent; Ben sets an out-of-office delegate in settings and a new request goes to Dan; a
 * reminder and then an escalation after the server's clock is moved, on Ava's timeline and as Ben's
 * notification; axe-core finds nothing serious or critical in the popup or the settings.
 *
 * Bulk approval of 50 in the popup is covered by approver-queue.test.ts ("select all, approve all, undo all;
 * then approve all for real").
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { startServer as startAccessLens, type RunningServer } from '@accesslens/server/server';
import { ApiClient, DEMO } from '../support/server.ts';
import { captureFailure, fireAlarm, launchWithExtension, signIn, type ExtensionBrowser } from '../support/browser.ts';

const HOUR_MS = 3_600_000;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let dir: string;
let server: RunningServer;
let url: string;
/** The server's clock: real time plus what the test moved it by. */
let offset = 0;
let ava: ExtensionBrowser;
let ben: ExtensionBrowser;

async function api(who: { email: string; password: string }) {
  const client = new ApiClient(url);
  await client.signIn(who.email, who.password);
  return client;
}

/** Ava asks for one key routed to her manager Ben (from a Contract page), through the API. */
async function avaRequests(key: string, justification: string): Promise<string> {
  const requestId = randomUUID();
  const res = await (await api(DEMO.ava)).mutate({
    id: randomUUID(),
    name: 'request.create',
    args: {
      requestId,
      connectionId: 'sf-acme',
      permissions: [key],
      page: {
        url: 'https://acme.lightning.force.com/lightning/r/Contract/800xx000001AbCdAAK/view',
        object: 'Contract',
        recordId: '800xx000001AbCdAAK',
        denialText: 'Insufficient Privileges',
      },
      justification,
      durationDays: 30,
    },
  });
  expect(res.json.results[0].status).toBe('applied');
  return requestId;
}

async function requestOnServer(id: string) {
  const slice = (await (await api(DEMO.ava)).sync()).json;
  return slice.requests.find((r: { id: string }) => r.id === id);
}

/** The ids of the notifications the extension shows now, read in its own service worker. */
const notificationIds = (browser: ExtensionBrowser) =>
  browser.worker.evaluate(async () =>
    Object.keys(await (globalThis as unknown as { chrome: { notifications: { getAll(): Promise<Record<string, boolean>> } } }).chrome.notifications.getAll()),
  );

/**
 * What the background shows after its periodic pull — the 30 s alarm played by the test instead of waited
 * for — for someone with nothing of AccessLens open.
 */
async function afterPull<T>(browser: ExtensionBrowser, read: (browser: ExtensionBrowser) => Promise<T>): Promise<T> {
  await fireAlarm(browser, 'accesslens-sync');
  return read(browser);
}
const notificationIdsAfterPull = (browser: ExtensionBrowser) => afterPull(browser, notificationIds);

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the extension remembers as already notified (background/notifications.ts `seenItem`). */
const notified = (browser: ExtensionBrowser) =>
  browser.worker.evaluate(
    async () => ((await (globalThis as any).chrome.storage.local.get('notified')) as { notified?: { personId: string; keys: string[] } }).notified ?? null,
  );

/** axe-core in the page: violations of impact serious or critical. */
async function seriousViolations(page: Page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(c: Document, o: object): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] }> };
      }
    ).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'accesslens-e2e-'));
  server = await startAccessLens({
    port: 0,
    hostname: '127.0.0.1',
    databaseUrl: `file:${join(dir, 'accesslens.db')}`,
    seed: 'demo',
    mail: null,
    now: () => new Date(Date.now() + offset),
    env: { ...process.env, NODE_ENV: 'test' },
  });
  url = `http://127.0.0.1:${server.port}`;
  [ava, ben] = await Promise.all([launchWithExtension({}), launchWithExtension({})]);
  // Signed in before anything happens, and their first pull done (what was there then is old news; what
  // comes after is notified).
  await (await signIn(ava, url, DEMO.ava.email, DEMO.ava.password, DEMO.ava.name)).close();
  await (await signIn(ben, url, DEMO.ben.email, DEMO.ben.password, DEMO.ben.name)).close();
  for (const [browser, personId] of [
    [ava, 'p-ava'],
    [ben, 'p-ben'],
  ] as const)
    await until(`${personId}'s first pull`, async () => (await notified(browser))?.personId === personId);
}, 120_000);

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await captureFailure(ctx.task.name, { ava, ben });
});

afterAll(async () => {
  await Promise.allSettled([ava?.close(), ben?.close()]);
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the lifecycle in the popup', () => {
  it('Ben asks a question from his queue, Ava answers it from hers; both are told by browser notifications', async () => {
    const id = await avaRequests('object:Contract:read', 'Renewal for Globex is due this week.');
    const benPopup = await ben.open('popup.html');
    // Focus starts inside the popup: shortcuts work at once.
    await expect.poll(() => benPopup.evaluate(() => document.activeElement !== document.body && document.activeElement !== null)).toBe(true);
    const card = benPopup.locator(`[data-testid="al-queue-item"][data-request-id="${id}"]`);
    await card.waitFor({ timeout: 30_000 });
    // Ben's background told him too (read at once: the browser takes a shown notification away after a while).
    await expect.poll(() => notificationIds(ben), { timeout: 30_000, interval: 250 }).toContain(`al:${id}:new-item:0`);
    await expect.poll(() => card.getByTestId('al-card-hints').textContent()).toContain('Contract');
    // "q" opens the card in focus at its question.
    await card.focus();
    await benPopup.keyboard.press('q');
    await expect.poll(() => benPopup.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null)).toBe('al-question');
    // Asking needs a question.
    await card.getByTestId('al-ask').click();
    await expect.poll(() => card.getByTestId('al-error').textContent()).toContain('question');
    await card.getByTestId('al-question').fill('Which account is the renewal for?');
    await card.getByTestId('al-ask').click();
    await card.waitFor({ state: 'detached' });
    await benPopup.getByTestId('al-undo-bar').waitFor();
    // Sent once the undo hold passes.
    await expect.poll(async () => (await requestOnServer(id))?.status, { timeout: 30_000 }).toBe('needs-info');
    expect((await requestOnServer(id)).needsInfo).toMatchObject({ askedBy: 'p-ben', question: 'Which account is the renewal for?' });
    // Ben's decisions.
    await benPopup.getByTestId('al-history').locator('summary').click();
    await benPopup.locator(`[data-testid="al-history-item"][data-request-id="${id}"][data-outcome="needs-info"]`).waitFor({ timeout: 15_000 });

    // Ava, who has nothing of AccessLens open: her background's periodic pull (30 s) brings the news and
    // shows it as browser notifications.
    await expect
      .poll(() => notificationIdsAfterPull(ava), { timeout: 30_000, interval: 250 })
      .toEqual(expect.arrayContaining([`al:${id}:submitted`, expect.stringMatching(new RegExp(`^al:${id}:needs-info:`))]));
    const avaPopup = await ava.open('popup.html');
    const mine = avaPopup.locator(`[data-testid="al-my-request"][data-request-id="${id}"]`);
    await expect.poll(() => mine.getAttribute('data-status'), { timeout: 30_000 }).toBe('needs-info');
    expect(await mine.getByTestId('al-question-text').textContent()).toContain('Which account is the renewal for?');
    await mine.getByTestId('al-send-answer').click();
    await expect.poll(() => mine.getByTestId('al-error').textContent()).toContain('answer');
    await mine.getByTestId('al-answer').fill('Globex Corporation, contract 800xx000001AbCd');
    await mine.getByTestId('al-send-answer').click();
    await expect.poll(() => mine.getAttribute('data-status')).toBe('pending');
    await expect.poll(async () => (await requestOnServer(id))?.status, { timeout: 30_000 }).toBe('pending');
    expect((await requestOnServer(id)).timeline.map((e: { kind: string }) => e.kind)).toEqual(['submitted', 'needs-info', 'answered']);
    // Back in Ben's queue (live: the server pokes his extension).
    await card.waitFor({ timeout: 30_000 });

    // The card shows the question and Ava's answer.
    // (Still open from "q": the queue keeps which card is open while it is away.)
    if ((await card.getByTestId('al-queue-open').getAttribute('aria-expanded')) !== 'true') await card.getByTestId('al-queue-open').click();
    await expect
      .poll(() => card.getByTestId('al-card-qa').locator('li').allTextContents())
      .toEqual([
        expect.stringMatching(/Ben Ortiz asked a question .*: Which account is the renewal for\?/),
        expect.stringMatching(/Ava Chen answered .*: Globex Corporation/),
      ]);
    // axe-core: Ben's popup with a card open and his decisions shown; Ava's with her requests.
    expect(await seriousViolations(benPopup)).toEqual([]);
    await mine.locator('summary').first().click();
    expect(await seriousViolations(avaPopup)).toEqual([]);
    await Promise.all([benPopup.close(), avaPopup.close()]);
  });

  it('a kind turned off in settings is not shown; the others still are', async () => {
    const options = await ava.open('options.html');
    const approved = options.getByTestId('al-notify-approved');
    await approved.waitFor({ timeout: 15_000 });
    await approved.uncheck();
    expect(await seriousViolations(options)).toEqual([]);
    await options.close();

    const id = await avaRequests('object:Order:read', 'Order follow-up for Initech.');
    await expect.poll(() => notificationIdsAfterPull(ava), { timeout: 30_000, interval: 250 }).toContain(`al:${id}:submitted`);
    const benApi = await api(DEMO.ben);
    const res = await benApi.mutate({
      id: randomUUID(),
      name: 'decision.record',
      args: { requestId: id, outcome: 'approve', reason: null, durationDays: null },
    });
    expect(res.json.results[0].status).toBe('applied');
    // Ava's extension saw the approval (remembered as seen) without showing it.
    await expect.poll(async () => (await afterPull(ava, notified))?.keys ?? [], { timeout: 30_000, interval: 250 }).toContain(`${id}:approved`);
    expect(await notificationIds(ava)).not.toContain(`al:${id}:approved`);
  });

  it('Ben sets an out-of-office delegate in settings: a new request goes to Dan, not to him', async () => {
    const options = await ben.open('options.html');
    const section = options.getByTestId('al-delegation');
    await section.getByTestId('al-delegate').waitFor({ timeout: 15_000 });
    await section.getByTestId('al-delegation-save').click();
    await expect.poll(() => section.getByTestId('al-error').textContent()).toContain('delegate');
    await section.getByTestId('al-delegate').selectOption('p-dan');
    await section.getByTestId('al-delegation-note').fill('Offsite');
    await section.getByTestId('al-delegation-save').click();
    const item = section.getByTestId('al-delegation-item');
    await item.waitFor({ timeout: 15_000 });
    expect(await item.getAttribute('data-active')).toBe('true');
    expect(await item.textContent()).toContain('Dan Wu');
    expect(await seriousViolations(options)).toEqual([]);

    const id = await avaRequests('object:Contract:create', 'New contract for Umbrella.');
    const stage = (await requestOnServer(id)).stages[0];
    expect(stage).toMatchObject({ approverIds: ['p-dan'], delegates: [{ approverId: 'p-ben', delegateId: 'p-dan' }] });
    const dan = await api(DEMO.dan);
    const danSlice = (await dan.sync()).json;
    expect(danSlice.requests.some((r: { id: string }) => r.id === id)).toBe(true);
    // Not in Ben's popup queue.
    const benPopup = await ben.open('popup.html');
    await benPopup.getByTestId('al-sync-status').waitFor();
    await benPopup.evaluate(() => (globalThis as any).chrome.runtime.sendMessage({ type: 'sync.now' }));
    expect(await benPopup.locator(`[data-testid="al-queue-item"][data-request-id="${id}"]`).count()).toBe(0);
    await benPopup.close();

    // Ended from settings: it stays on record, no longer in force.
    await item.getByTestId('al-delegation-end').click();
    await section.getByTestId('al-delegation-none').waitFor({ timeout: 15_000 });
    await options.close();
  });

  it("a reminder and then an escalation, with the server clock moved: on Ava's timeline and as Ben's notification", async () => {
    const id = await avaRequests('object:Case:create', 'Escalated customer case for Hooli.');
    // Ben has nothing of AccessLens open: his periodic pull brings it.
    await expect.poll(() => notificationIdsAfterPull(ben), { timeout: 30_000, interval: 250 }).toContain(`al:${id}:new-item:0`);
    offset += 25 * HOUR_MS;
    await server.lifecycle.runDue();
    const reminded = await requestOnServer(id);
    const remindedAt = reminded.timeline.find((e: { kind: string }) => e.kind === 'reminded').at;
    await expect.poll(() => notificationIdsAfterPull(ben), { timeout: 30_000, interval: 250 }).toContain(`al:${id}:reminder:${remindedAt}`);
    const avaPopup = await ava.open('popup.html');
    const mine = avaPopup.locator(`[data-testid="al-my-request"][data-request-id="${id}"]`);
    await expect.poll(() => mine.getByTestId('al-latest-step').textContent(), { timeout: 30_000 }).toMatch(/Ben Ortiz was reminded/);

    offset += 48 * HOUR_MS;
    await server.lifecycle.runDue();
    expect((await requestOnServer(id)).timeline.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(['submitted', 'reminded', 'escalated']));
    await expect.poll(() => mine.getByTestId('al-latest-step').textContent(), { timeout: 30_000 }).toMatch(/Escalated to Cara Diaz/);
    await mine.locator('summary').first().click();
    const timeline = await mine.getByTestId('al-timeline').locator('li').allTextContents();
    expect(timeline.some((l) => /Ben Ortiz was reminded/.test(l))).toBe(true);
    expect(timeline.some((l) => /Escalated to Cara Diaz/.test(l))).toBe(true);
    await avaPopup.close();
  });
});
