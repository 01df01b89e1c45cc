/**
 * Server errors as reasons with parameters, said once here. The HTTP error shape keeps its coarse `code`
 * (`forbidden`, `conflict`…) and its English `message` for API clients; beside them the server sends the
 * `reason` below and its `params`, and a client that speaks to people renders those from its own strings
 * (the extension: `serverError.<reason>` in en and zh-CN). Nothing parses the English sentence.
 *
 * Validation errors (`invalid_input`) carry, per issue, the zod issue's kind and bounds (`IssueDetail`), so a
 * client can say "Justification is required" in its own language too.
 *
 * Plain data (zod for types only): safe to import from content scripts.
 */
import type { z } from 'zod';

/** Each reason's English sentence; `{name}` is a parameter. */
export const SERVER_ERRORS = {
  /** Sign-in: unknown email, wrong password or an inactive person (one answer for all three). */
  invalid_credentials: 'The email or password is incorrect.',
  sign_in_rate_limited: 'Too many failed sign-in attempts. Try again in {seconds} seconds.',
  token_missing: 'Missing bearer token.',
  session_expired: 'The session is invalid or has expired. Sign in again.',
  invalid_json: 'The request body is not valid JSON.',
  payload_too_large: 'The request body is larger than 1 MB.',
  internal: 'Something went wrong on the server.',
  route_not_found: 'No route for {method} {path}.',
  request_not_found: 'There is no such request.',
  own_request: 'You cannot decide your own request.',
  filed_by_you: 'You cannot decide a request you filed.',
  approved_earlier_stage: 'You approved an earlier stage of this request: another approver must decide this one.',
  not_waiting_for_you: 'This request is not waiting for you.',
  /** status: the request's status (`REQUEST_STATUSES`). */
  request_not_pending: 'This request is no longer pending (it is {status}).',
  awaiting_answer: 'This request is waiting for the requester to answer a question.',
  approve_longer: 'You can shorten the grant but not lengthen it: at most {days} days.',
  cancel_not_yours: 'Only the requester can cancel a request.',
  mutation_id_used: 'This mutation id was already used.',
  request_id_taken: 'A request with this id already exists.',
  no_approver: 'Nobody can approve this request under the current policy.',
  connection_not_found: 'There is no CRM connection "{connectionId}".',
  /** connection: the connection's name. */
  no_account: 'You have no active account on {connection}.',
  not_in_catalog: '{key} is not in the permission catalog of {connection}.',
  not_requestable: '{key} cannot be requested; ask an administrator.',
  already_held: 'You already have {key}.',
  day_in_future: 'The day is in the future.',
  day_too_old: 'The day is more than {days} days ago.',
} as const;

export type ServerErrorReason = keyof typeof SERVER_ERRORS;
export type ServerErrorParams = Record<string, string | number>;
export const SERVER_ERROR_REASONS = Object.keys(SERVER_ERRORS) as ServerErrorReason[];

export function isServerErrorReason(reason: unknown): reason is ServerErrorReason {
  return typeof reason === 'string' && Object.hasOwn(SERVER_ERRORS, reason);
}

/** The `{name}` parameters a reason's sentence takes. */
export function serverErrorParamNames(reason: ServerErrorReason): string[] {
  return [...SERVER_ERRORS[reason].matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}

/** The English sentence for a reason and its params (a missing param stays as `{name}`). */
export function serverErrorMessage(reason: ServerErrorReason, params: ServerErrorParams = {}): string {
  return SERVER_ERRORS[reason].replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

/**
 * What a validation issue was about, from zod's issue: its kind (`too_small`, `too_big`, `invalid_format`,
 * `invalid_type`, `invalid_value`, `custom`…), what it measured (`origin`: string, array, number…) and its
 * bound or format. Enough for a client to say it in its own words.
 */
export interface IssueDetail {
  code: string;
  origin?: string;
  minimum?: number;
  maximum?: number;
  format?: string;
  expected?: string;
  /** Nothing given where something is needed (invalid_type of undefined, or a custom check of kind required). */
  missing?: boolean;
}

/** The kind and bounds of a zod issue (its English message aside), for clients that say it in their own words. */
export function detailOf(issue: z.core.$ZodIssue): IssueDetail {
  // A custom check says what kind of check it is in its params (`{ kind: 'choice' | 'required' }`).
  const kind = issue.code === 'custom' ? (issue.params as { kind?: unknown } | undefined)?.kind : undefined;
  if (kind === 'choice') return { code: 'invalid_value' };
  if (kind === 'required') return { code: 'custom', missing: true };
  const detail: IssueDetail = { code: issue.code };
  if ('origin' in issue && typeof issue.origin === 'string') detail.origin = issue.origin;
  if (issue.code === 'too_small' && Number.isFinite(Number(issue.minimum))) detail.minimum = Number(issue.minimum);
  if (issue.code === 'too_big' && Number.isFinite(Number(issue.maximum))) detail.maximum = Number(issue.maximum);
  if (issue.code === 'invalid_format') detail.format = issue.format;
  if (issue.code === 'invalid_type') {
    detail.expected = issue.expected;
    // zod leaves the input out of issues (reportInput is off); its own wording still says "received undefined".
    if (/received undefined$/.test(issue.message)) detail.missing = true;
  }
  return detail;
}
