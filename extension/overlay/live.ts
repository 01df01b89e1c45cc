/**
 * How this CRM's page asks "does the grant work now?" of the CRM's own current-user API (set once by the
 * CRM's content script; none = the page answers: reloaded, its refusal watched for).
 */
import type { ObservedPage } from '@accesslens/shared';
import { ask } from '../utils/messaging';
import type { LiveCheckAnswer } from '../utils/protocol';

export type LiveCheck = (page: ObservedPage) => Promise<LiveCheckAnswer>;

export const live: { check: LiveCheck | null } = { check: null };

/** Salesforce: the background asks (it alone may read the org's session cookie); the page gets the verdict. */
export const askBackground: LiveCheck = async (page) => {
  const answer = await ask<LiveCheckAnswer>({ type: 'page.check', page });
  return answer.ok ? { verdict: answer.verdict, unavailable: answer.unavailable } : { verdict: null, unavailable: 'unreachable' };
};
