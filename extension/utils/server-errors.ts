/**
 * The server's errors said in the person's language. The server sends a coarse `code`, an English `message`
 * for API clients and, where it knows exactly what failed, a `reason` with `params` (shared/src/server-errors.ts);
 * validation errors carry each issue's kind and bounds. This renders those from the extension's own strings
 * (`serverError.*`, `validation.*`) and never shows the English sentence to someone reading Chinese.
 */
import { REQUEST_STATUSES, type ApiError } from '@accesslens/shared';
import { isServerErrorReason, serverErrorParamNames, type ServerErrorParams, type ServerErrorReason } from '@accesslens/shared/server-errors';
import { locale, t, type MessageKey } from './i18n';
import { detailMessage, fieldLabel, pathOf } from './validation';

type ServerErrorKey = Extract<MessageKey, `serverError.${string}`>;

/** The extension's string for each reason: the compiler insists on one per reason. */
const REASON_KEYS: Record<ServerErrorReason, ServerErrorKey> = {
  invalid_credentials: 'serverError.invalidCredentials',
  sign_in_rate_limited: 'serverError.signInRateLimited',
  token_missing: 'serverError.sessionExpired',
  session_expired: 'serverError.sessionExpired',
  invalid_json: 'serverError.badRequest',
  payload_too_large: 'serverError.payloadTooLarge',
  internal: 'serverError.internal',
  route_not_found: 'serverError.routeNotFound',
  request_not_found: 'serverError.requestNotFound',
  own_request: 'serverError.ownRequest',
  filed_by_you: 'serverError.filedByYou',
  approved_earlier_stage: 'serverError.approvedEarlierStage',
  not_waiting_for_you: 'serverError.notWaitingForYou',
  request_not_pending: 'serverError.requestNotPending',
  awaiting_answer: 'serverError.awaitingAnswer',
  approve_longer: 'serverError.approveLonger',
  cancel_not_yours: 'serverError.cancelNotYours',
  mutation_id_used: 'serverError.mutationIdUsed',
  request_id_taken: 'serverError.requestIdTaken',
  no_approver: 'serverError.noApprover',
  connection_not_found: 'serverError.connectionNotFound',
  no_account: 'serverError.noAccount',
  not_in_catalog: 'serverError.notInCatalog',
  not_requestable: 'serverError.notRequestable',
  already_held: 'serverError.alreadyHeld',
  day_in_future: 'serverError.dayInFuture',
  day_too_old: 'serverError.dayTooOld',
};

/** Errors without a reason (older servers, other routes): said by their code. */
const CODE_KEYS: Record<string, ServerErrorKey> = {
  invalid_credentials: 'serverError.invalidCredentials',
  unauthenticated: 'serverError.sessionExpired',
  forbidden: 'serverError.forbidden',
  not_found: 'serverError.notFound',
  conflict: 'serverError.conflict',
  rate_limited: 'serverError.rateLimited',
  invalid_json: 'serverError.badRequest',
  bad_request: 'serverError.badRequest',
  payload_too_large: 'serverError.payloadTooLarge',
  internal: 'serverError.internal',
  policy_blocked: 'serverError.policyBlocked',
  duplicate_request: 'serverError.duplicateRequest',
};

/** A message whose placeholders are given at run time (the reason's params, checked against the string by the tests). */
const tAny = t as (key: MessageKey, params?: Record<string, string | number>) => string;

/** Params as the person reads them: a request's status in their language. */
function localParams(params: ServerErrorParams): ServerErrorParams {
  const out = { ...params };
  const status = out.status;
  if (typeof status === 'string' && (REQUEST_STATUSES as readonly string[]).includes(status))
    out.status = t(`requestStatus.${status as (typeof REQUEST_STATUSES)[number]}`);
  return out;
}

/**
 * A server error as a sentence in the browser's language. `status`: the HTTP status it came with; none for a
 * mutation the server rejected inside a 200 answer.
 */
export function serverErrorText(error: ApiError['error'], status?: number): string {
  if (isServerErrorReason(error.reason)) {
    // Exactly the reason's params, in the order `t()` numbers them: a newer server's extra ones are left out.
    const given = localParams(error.params ?? {});
    const params = Object.fromEntries(serverErrorParamNames(error.reason).map((n) => [n, given[n] ?? '']));
    return tAny(REASON_KEYS[error.reason], params);
  }
  if (error.code === 'invalid_input') {
    const first = error.issues?.find((i) => i.field === error.field) ?? error.issues?.[0];
    if (first?.detail) return detailMessage(first.detail, pathOf(first.field));
    return t('validation.invalid', { field: fieldLabel(pathOf(error.field ?? '')) });
  }
  const key = Object.hasOwn(CODE_KEYS, error.code) ? CODE_KEYS[error.code] : undefined;
  if (key) return tAny(key);
  // A code this extension does not know: English readers get the server's own sentence; others a sentence
  // in their language with the status.
  if (locale() === 'en' && error.message) return error.message;
  return status === undefined ? t('serverError.refused', { code: error.code }) : t('error.server', { status });
}
