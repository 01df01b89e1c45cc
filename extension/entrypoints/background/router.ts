/**
 * The trust boundary. Every message is parsed with the shared schemas before any handler runs;
 * what a message may ask depends on who sent it, and the page's host comes from the browser's
 * sender record, never from the message.
 */
import { contentMessage, extensionPageMessage, type ContentMessage, type ExtensionPageMessage, type Result, type UiError } from '@accesslens/shared';
import type { z } from 'zod';
import { t } from '../../utils/i18n';
import { invalidInput } from '../../utils/validation';
import type { ConnectionsAnswer, PageRulesAnswer, SyncAnswer } from '../../utils/protocol';
import { consoleApi } from './console-api';
import { inHouseHosts } from './in-house';
import { chosenConnectionsItem } from './storage';
import { popupState, submitDecision, undoDecisions } from './approver';
import { authMethods, authStatus, signIn, signInWithSso, signOut, type AuthDeps } from './auth';
import { flagsAccept, flagsDetail, flagsQuery, flagsRemediate, type FlagsDeps } from './flags';
import { previewRequest } from './preview';
import { pageRules } from './page';
import { answerRequest, cancelRequest, directReports, pageDecide, reportProblem, submitRequest, type RequesterDeps } from './requester';
import { createDelegation, endDelegation, extendGrant, listDelegations, requestAgain } from './lifecycle';
import { pageCheck, type LiveCheckDeps } from './live-check';

/** The parts of `runtime.MessageSender` the router trusts. */
export interface Sender {
  id?: string;
  url?: string;
  /** `cookieStoreId`: Firefox names the tab's cookie store (containers, private windows); Chrome leaves it out. */
  tab?: { id?: number; url?: string; cookieStoreId?: string };
}

export type Incoming = { from: 'content'; message: ContentMessage; host: string; storeId?: string } | { from: 'page'; message: ExtensionPageMessage };

function invalid(issues?: z.ZodError): { ok: false; error: UiError } {
  if (issues) return invalidInput(issues, 'invalid_message');
  return { ok: false, error: { code: 'invalid_message', message: t('error.invalidMessage') } };
}

/** Host with its port when not the default (`localhost:8788`), as page rules and connections name it. */
function hostOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    return null;
  }
}

/** Decides who sent a message and whether it may be handled at all. */
export function classify(raw: unknown, sender: Sender, self: { id: string; origin: string }): { ok: true; value: Incoming } | { ok: false; error: UiError } {
  if (sender.id !== self.id) return invalid();
  if (sender.url?.startsWith(self.origin)) {
    const parsed = extensionPageMessage.safeParse(raw);
    return parsed.success ? { ok: true, value: { from: 'page', message: parsed.data } } : invalid(parsed.error);
  }
  if (!sender.tab) return invalid();
  // Content scripts: only content messages, and only about the page they run in.
  const host = hostOf(sender.url ?? sender.tab.url);
  if (!host) return invalid();
  const parsed = contentMessage.safeParse(raw);
  if (!parsed.success) return invalid(parsed.error);
  const message = parsed.data;
  if ('page' in message && hostOf(message.page.url) !== host) return invalid();
  const storeId = sender.tab.cookieStoreId;
  return { ok: true, value: { from: 'content', message, host, ...(storeId ? { storeId } : {}) } };
}

export interface RouterDeps extends RequesterDeps, AuthDeps, FlagsDeps, LiveCheckDeps {
  openOptionsPage: () => Promise<void>;
}

export async function route(deps: RouterDeps, incoming: Incoming): Promise<Result<object>> {
  const { replica } = deps;
  if (incoming.from === 'content') {
    const { message, host } = incoming;
    switch (message.type) {
      case 'page.decide':
        return pageDecide(deps, host, message.page);
      case 'page.rules': {
        const answer: Result<PageRulesAnswer> = { ok: true, rules: pageRules(await replica.view(), host) };
        return answer;
      }
      case 'request.submit':
        return submitRequest(deps, host, message);
      case 'request.preview':
        return previewRequest(deps, host, message);
      case 'sync.now':
        return syncNow(replica);
      case 'page.check':
        return pageCheck(deps, host, message.page, incoming.storeId);
      case 'request.reportProblem':
        return reportProblem(deps, host, message);
      case 'request.answer':
        return answerRequest(deps, message);
      case 'people.reports':
        return directReports(deps);
      case 'options.open':
        await deps.openOptionsPage();
        return { ok: true };
      case 'flags.query':
        return flagsQuery(deps, host, message.page, message.externalUserIds);
      case 'flags.detail':
        return flagsDetail(deps, host, message.page, message.externalUserId);
      case 'flags.accept':
        return flagsAccept(deps, host, message);
      case 'flags.remediate':
        return flagsRemediate(deps, host, message);
    }
  }
  const { message } = incoming;
  switch (message.type) {
    case 'auth.status':
      return authStatus(deps);
    case 'auth.methods':
      return authMethods(deps, message);
    case 'auth.signIn':
      return signIn(deps, message);
    case 'auth.signInSso':
      return signInWithSso(deps, message);
    case 'auth.signOut':
      return signOut(deps);
    case 'popup.state':
      return popupState(deps);
    case 'decision.submit':
      return submitDecision(deps, message);
    case 'decisions.undo':
      return undoDecisions(deps, message.mutationIds);
    case 'request.cancel':
      return cancelRequest(deps, message.requestId);
    case 'request.answer':
      return answerRequest(deps, message);
    case 'request.again':
      return requestAgain(deps, message);
    case 'request.extend':
      return extendGrant(deps, message);
    case 'delegations.list':
      return listDelegations(deps);
    case 'delegations.create':
      return createDelegation(deps, message);
    case 'delegations.end':
      return endDelegation(deps, message.id);
    case 'sync.now':
      return syncNow(replica);
    case 'connections.state':
      return connectionsState(replica);
    case 'connections.choose': {
      const chosen = { ...(await chosenConnectionsItem.getValue()) };
      if (message.connectionId === null) delete chosen[message.kind];
      else chosen[message.kind] = message.connectionId;
      await chosenConnectionsItem.setValue(chosen);
      return connectionsState(replica);
    }
    case 'console.api':
      return consoleApi(deps, message);
  }
}

async function connectionsState(replica: RouterDeps['replica']): Promise<Result<ConnectionsAnswer>> {
  const view = await replica.view();
  return {
    ok: true,
    connections: (view?.connections ?? []).map((c) => ({ id: c.id, kind: c.kind, name: c.name, tenant: c.tenant ?? null })),
    inHouse: await inHouseHosts(view),
    chosen: await chosenConnectionsItem.getValue(),
  };
}

async function syncNow(replica: RouterDeps['replica']): Promise<Result<SyncAnswer>> {
  await replica.syncNow({ force: true });
  return { ok: true, sync: await replica.syncStatus() };
}

/**
 * classify + route, never throwing: a handler's crash becomes an error answer that says nothing of the
 * crash (its text may carry internals — storage keys, server details — and content scripts run on
 * pages we do not control); the details go to the background's own console.
 */
export async function handleMessage(deps: RouterDeps, raw: unknown, sender: Sender, self: { id: string; origin: string }): Promise<Result<object>> {
  const incoming = classify(raw, sender, self);
  if (!incoming.ok) return incoming;
  try {
    return await route(deps, incoming.value);
  } catch (e) {
    console.error(`[accesslens] handling ${incoming.value.message.type} failed:`, e);
    return { ok: false, error: { code: 'internal', message: t('error.internal') } };
  }
}
